#include "curate/comm/mpi.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <limits>
#include <thread>

#include "curate/util/error.h"

namespace curate::comm {
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

struct Comm::Handle {
  MPI_Comm comm = MPI_COMM_NULL;
  explicit Handle(MPI_Comm c) : comm(c) {}
  ~Handle() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

namespace {

MPI_Comm native(const std::shared_ptr<const Comm::Handle>& handle) { return handle ? handle->comm : MPI_COMM_WORLD; }

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
  check(MPI_Send(data.data(), static_cast<int>(data.size()), MPI_BYTE, dest, tag, native(handle_)), "MPI_Send");
}

std::optional<Message> Comm::receive(double timeout_seconds, int source) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  MPI_Status status;
  int flag = 0;
  auto pause = std::chrono::microseconds(50);
  for (;;) {
    check(MPI_Iprobe(source >= 0 ? source : MPI_ANY_SOURCE, MPI_ANY_TAG, native(handle_), &flag, &status),
          "MPI_Iprobe");
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
  check(MPI_Recv(message.data.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, native(handle_),
                 MPI_STATUS_IGNORE),
        "MPI_Recv");
  return message;
}

void Comm::barrier() const { check(MPI_Barrier(native(handle_)), "MPI_Barrier"); }

std::string Comm::broadcast(const std::string& text) const {
  uint64_t size = text.size();
  check(MPI_Bcast(&size, 1, MPI_UINT64_T, 0, native(handle_)), "MPI_Bcast");
  std::string out = rank_ == 0 ? text : std::string(size, '\0');
  check(MPI_Bcast(out.data(), static_cast<int>(size), MPI_CHAR, 0, native(handle_)), "MPI_Bcast");
  return out;
}

void Comm::broadcast_bytes(std::vector<std::byte>& data) const {
  uint64_t size = data.size();
  check(MPI_Bcast(&size, 1, MPI_UINT64_T, 0, native(handle_)), "MPI_Bcast");
  if (rank_ != 0) data.resize(size);
  constexpr uint64_t kPiece = uint64_t{1} << 30;
  for (uint64_t at = 0; at < size; at += kPiece) {
    const int n = static_cast<int>(std::min(kPiece, size - at));
    check(MPI_Bcast(data.data() + at, n, MPI_BYTE, 0, native(handle_)), "MPI_Bcast");
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
    counts[static_cast<std::size_t>(r)] =
        static_cast<int>(first[static_cast<std::size_t>(r) + 1] - first[static_cast<std::size_t>(r)]);
  }
  check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all.data(), counts.data(), displacements.data(), MPI_INT32_T,
                       native(handle_)),
        "MPI_Allgatherv");
}

void Comm::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);  // the whole job, whatever this communicator
  std::abort();                     // MPI_Abort does not return; keep [[noreturn]] honest if it does
}

Comm Comm::adopt(std::shared_ptr<const Handle> handle) {  // owns it from here, even if a check throws
  const MPI_Comm made = handle->comm;
  MPI_Comm_set_errhandler(made, MPI_ERRORS_RETURN);
  Comm out(0, 0);
  check(MPI_Comm_rank(made, &out.rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(made, &out.size_), "MPI_Comm_size");
  out.handle_ = std::move(handle);
  return out;
}

Comm Comm::subgroup(std::span<const int> ranks) const {
  bool ordered = !ranks.empty() && ranks.front() >= 0 && ranks.back() < size_;
  for (std::size_t i = 1; i < ranks.size(); ++i) ordered = ordered && ranks[i - 1] < ranks[i];
  if (!ordered || !std::binary_search(ranks.begin(), ranks.end(), rank_)) {
    throw DistError("subgroup: rank " + std::to_string(world_rank()) +
                    " is not in the requested ranks, or they are not ascending ranks of the communicator");
  }
  MPI_Group all, part;
  check(MPI_Comm_group(native(handle_), &all), "MPI_Comm_group");
  const int rc = MPI_Group_incl(all, static_cast<int>(ranks.size()), ranks.data(), &part);
  MPI_Group_free(&all);
  check(rc, "MPI_Group_incl");
  MPI_Comm made = MPI_COMM_NULL;
  const int created = MPI_Comm_create_group(native(handle_), part, /*tag=*/7301, &made);
  MPI_Group_free(&part);
  check(created, "MPI_Comm_create_group");
  return adopt(std::make_shared<const Handle>(made));
}

Comm Comm::split_shared() const {
  MPI_Comm made = MPI_COMM_NULL;
  check(MPI_Comm_split_type(native(handle_), MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &made), "MPI_Comm_split_type");
  return adopt(std::make_shared<const Handle>(made));
}

struct Outbox::Pending {
  std::vector<std::byte> data;
  MPI_Request request = MPI_REQUEST_NULL;
};

Outbox::Outbox(const Comm& comm) : comm_(comm) {}

Outbox::~Outbox() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  try {
    while (reap() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  } catch (const Error&) {  // a failed send: nothing to wait for
  }
  for (auto& p : pending_) {
    if (p->request != MPI_REQUEST_NULL) MPI_Request_free(&p->request);
    p.release();  // NOLINT: abandoned on purpose, MPI may still read the bytes
  }
}

void Outbox::send(int dest, int tag, std::vector<std::byte> data) {
  reap();
  auto p = std::make_unique<Pending>();
  p->data = std::move(data);
  check(MPI_Isend(p->data.data(), static_cast<int>(p->data.size()), MPI_BYTE, dest, tag, native(comm_.handle_),
                  &p->request),
        "MPI_Isend");
  pending_.push_back(std::move(p));
}

std::size_t Outbox::reap() {
  for (std::size_t i = 0; i < pending_.size();) {  // not erase_if: a throwing test must leave every entry whole
    int done = 0;
    check(MPI_Test(&pending_[i]->request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) {
      pending_[i] = std::move(pending_.back());
      pending_.pop_back();
    } else {
      ++i;
    }
  }
  return pending_.size();
}

int Comm::world_rank() {
  int rank = -1;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  return rank;
}

bool rank0_attempt(const Comm& comm, const std::function<void()>& attempt) {
  std::string failure;
  std::exception_ptr error;
  if (comm.rank() == 0) {
    try {
      attempt();
    } catch (const Error& e) {
      failure = *e.what() ? e.what() : "rank 0 failed";  // empty means success on the wire
      error = std::current_exception();
    }
  }
  failure = comm.broadcast(failure);
  if (failure.empty()) return true;
  if (error) std::rethrow_exception(error);
  return false;
}

std::optional<int> agree_exit_code(const Comm& comm, int code, double timeout_seconds) {
  std::vector<int> codes(static_cast<std::size_t>(comm.size()), 0);
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallgather(&code, 1, MPI_INT, codes.data(), 1, MPI_INT, native(comm.handle_), &request), "MPI_Iallgather");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  auto pause = std::chrono::microseconds(50);
  for (int done = 0;;) {
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) break;
    if (timeout_seconds > 0 && std::chrono::steady_clock::now() > deadline) return std::nullopt;  // the job aborts
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
  if (codes[0] != 0) return codes[0];
  for (int c : codes) {
    if (c != 0) return c;
  }
  return 0;
}

}  // namespace curate::comm
