// MPI wrapped once: the only file that includes <mpi.h> is src/comm/mpi.cpp. Failures throw
// DistError naming the call, the rank and MPI's error string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace curate::comm {

// MPI_Init_thread (funneled) on construction, MPI_Finalize on destruction. One per process.
class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
};

struct Message {
  int source = -1;
  int tag = 0;
  std::vector<std::byte> data;
};

// MPI_COMM_WORLD (never freed), or a communicator made from it (freed with its last copy; copies share
// it). Every operation acts on this communicator; "rank 0" is rank 0 of this communicator.
class Comm {
 public:
  static Comm world();

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Blocking standard-mode send of `data` to `dest` with `tag`.
  void send(int dest, int tag, std::span<const std::byte> data) const;
  // The next message from any rank (or from `source` when >= 0), polling until it arrives or
  // `timeout_seconds` pass (<= 0: wait forever). nullopt on timeout.
  std::optional<Message> receive(double timeout_seconds, int source = -1) const;
  void barrier() const;
  // Rank 0's string on every rank.
  std::string broadcast(const std::string& text) const;
  // Rank 0's bytes on every rank: `data` is resized on the others. Any size (sent in pieces under 1 GiB).
  void broadcast_bytes(std::vector<std::byte>& data) const;
  // Rank 0's vector of trivially copyable T on every rank.
  template <typename T>
  void broadcast(std::vector<T>& values) const {
    std::vector<std::byte> bytes;
    if (rank_ == 0)
      bytes.assign(reinterpret_cast<const std::byte*>(values.data()),
                   reinterpret_cast<const std::byte*>(values.data() + values.size()));
    broadcast_bytes(bytes);
    if (rank_ != 0) {
      values.resize(bytes.size() / sizeof(T));
      if (!bytes.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());  // no null pointers to memcpy
    }
  }
  // Every rank passes `all` (the same length everywhere) with its own elements
  // [first[rank], first[rank + 1]) filled; on return every element is filled on every rank.
  // `first` has size() + 1 ascending entries, first[0] = 0, first[size()] = all.size().
  void allgather(std::span<int32_t> all, std::span<const int64_t> first) const;
  // Ends every rank of the job with `code` (MPI_Abort); for failures a rank cannot report otherwise.
  [[noreturn]] void abort(int code) const;

  // The communicator of `ranks` (ranks of this communicator, strictly ascending, this rank among
  // them), made with MPI_Comm_create_group: collective over the listed ranks only, so ranks left out
  // (the coordinator) take no part. Throws DistError when the list is malformed or lacks this rank.
  Comm subgroup(std::span<const int> ranks) const;
  // The ranks of this communicator that share this node's memory (MPI_Comm_split_type with
  // MPI_COMM_TYPE_SHARED), in the order of their ranks here. Collective over this communicator.
  Comm split_shared() const;
  // This process's rank in MPI_COMM_WORLD (for messages that name a rank).
  static int world_rank();

  struct Handle;  // an owned MPI_Comm (defined in mpi.cpp)

 private:
  friend class Outbox;
  friend std::optional<int> agree_exit_code(const Comm& comm, int code, double timeout_seconds);
  static Comm adopt(std::shared_ptr<const Handle> handle);  // a Comm over a newly made communicator
  Comm(int rank, int size) : rank_(rank), size_(size) {}
  int rank_;
  int size_;
  std::shared_ptr<const Handle> handle_;  // null for MPI_COMM_WORLD
};

// Collective: rank 0 runs `attempt` (checks, reads) while the other ranks wait for its verdict.
// Returns true on every rank when it succeeded. When it threw a curate::Error, rank 0 rethrows it
// (its own class, message and exit code) and every other rank returns false (rank 0 reports).
// Other exceptions propagate on rank 0 unbroadcast: they end the job (MPI_Abort in main).
bool rank0_attempt(const Comm& comm, const std::function<void()>& attempt);

// Collective at the end of a job: every rank's exit `code` gathered (MPI_Iallgather, polled) so that
// all ranks leave with the same code through MPI_Finalize, never MPI_Abort. Returns the job's code on
// every rank: rank 0's when it is not 0, else the first non-zero code of the others (by rank), else 0.
// Nothing when the gather does not complete within `timeout_seconds` (> 0; 0 waits without a limit):
// a dead or hung rank, and the caller then aborts the job (Comm::abort).
std::optional<int> agree_exit_code(const Comm& comm, int code, double timeout_seconds);

// Sends that return at once (MPI_Isend), for a sender that must not wait until a busy receiver posts
// its receive: a message above the eager limit goes by rendezvous, and a blocking send of it waits
// for the receiver. Owns each message's bytes until its send completes. Messages to one rank arrive in
// the order they were sent, through an Outbox or Comm::send alike (MPI's non-overtaking rule).
class Outbox {
 public:
  explicit Outbox(const Comm& comm);
  // Waits up to 10 s for the sends in flight (their receivers take them in that time unless dead);
  // any still pending are then abandoned with their buffers, which MPI may still read.
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  void send(int dest, int tag, std::vector<std::byte> data);
  // Frees the buffers of completed sends; returns how many are still in flight.
  std::size_t reap();

 private:
  struct Pending;
  Comm comm_;
  std::vector<std::unique_ptr<Pending>> pending_;
};

}  // namespace curate::comm
