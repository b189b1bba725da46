#include "curate/dist/mpi.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <thread>

#include "curate/util/error.h"

namespace curate::dist {
namespace {

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  throw DistError(std::string(call) + " failed on rank " + std::to_string(rank) + ": " + std::string(text, length));
}

}  // namespace

Environment::Environment(int& argc, char**& argv) {
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

Environment::~Environment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Comm Comm::world() {
  int rank = 0, size = 1;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
  return Comm(rank, size);
}

void Comm::send(int dest, int tag, std::span<const std::byte> data) const {
  check(MPI_Send(data.data(), static_cast<int>(data.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD), "MPI_Send");
}

std::optional<Message> Comm::receive(double timeout_seconds, int source) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  MPI_Status status;
  int flag = 0;
  auto pause = std::chrono::microseconds(50);
  for (;;) {
    check(MPI_Iprobe(source >= 0 ? source : MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe");
    if (flag) break;
    if (timeout_seconds > 0 && std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));  // idle ranks must not spin a core
  }
  int count = 0;
  check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
  Message message;
  message.source = status.MPI_SOURCE;
  message.tag = status.MPI_TAG;
  message.data.resize(static_cast<std::size_t>(count));
  check(MPI_Recv(message.data.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE),
        "MPI_Recv");
  return message;
}

void Comm::barrier() const { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

std::string Comm::broadcast(const std::string& text) const {
  uint64_t size = text.size();
  check(MPI_Bcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  std::string out = rank_ == 0 ? text : std::string(size, '\0');
  check(MPI_Bcast(out.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
  return out;
}

void Comm::broadcast_bytes(std::vector<std::byte>& data) const {
  uint64_t size = data.size();
  check(MPI_Bcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  if (rank_ != 0) data.resize(size);
  constexpr uint64_t kPiece = uint64_t{1} << 30;
  for (uint64_t at = 0; at < size; at += kPiece) {
    const int n = static_cast<int>(std::min(kPiece, size - at));
    check(MPI_Bcast(data.data() + at, n, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
  }
}

void Comm::allgather(std::span<int32_t> all, std::span<const int64_t> first) const {
  if (first.size() != static_cast<std::size_t>(size_) + 1 || first.back() != static_cast<int64_t>(all.size()) ||
      all.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw DistError("allgather: row ranges do not match the array (" + std::to_string(all.size()) + " elements)");
  }
  std::vector<int> counts(static_cast<std::size_t>(size_)), displacements(static_cast<std::size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    displacements[static_cast<std::size_t>(r)] = static_cast<int>(first[static_cast<std::size_t>(r)]);
    counts[static_cast<std::size_t>(r)] = static_cast<int>(first[static_cast<std::size_t>(r) + 1] - first[static_cast<std::size_t>(r)]);
  }
  check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all.data(), counts.data(), displacements.data(), MPI_INT32_T,
                       MPI_COMM_WORLD),
        "MPI_Allgatherv");
}

void Comm::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();  // MPI_Abort does not return; keep [[noreturn]] honest if it does
}

}  // namespace curate::dist
