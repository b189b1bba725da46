// Rank 0's hand-out of units to worker ranks: pending units, free worker slots, the units each worker
// holds, checkpoint affinity, timeouts, per-rank rates and the final stop. It talks to the workers
// only through a WorkerLink, so it can be tested with a fake one; it never stores results (the
// caller's callback does) and never reads a clock but the one it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "curate/comm/mpi.h"
#include "curate/util/clock.h"
#include "job/protocol.h"

namespace curate::service {

// What the scheduler needs of the communicator. Worker ranks are 1..workers().
class WorkerLink {
 public:
  virtual ~WorkerLink() = default;
  virtual int workers() const = 0;
  // Sends an encoded Unit (kUnit) without waiting for the worker to receive it.
  virtual void send_unit(int rank, std::vector<std::byte> unit) = 0;
  // Sends kStop with its flag: then_select = the worker joins the selection stage after it.
  virtual void send_stop(int rank, bool then_select) = 0;
  // The next message from any worker, or nothing after `timeout_seconds`.
  virtual std::optional<comm::Message> receive(double timeout_seconds) = 0;
};

// The WorkerLink of an MPI job: rank 0 of `comm` to its other ranks; units go out through a
// comm::Outbox (kept until this link is destroyed).
class MpiWorkerLink final : public WorkerLink {
 public:
  explicit MpiWorkerLink(const comm::Comm& comm) : comm_(comm), outbox_(comm) {}
  int workers() const override { return comm_.size() - 1; }
  void send_unit(int rank, std::vector<std::byte> unit) override { outbox_.send(rank, kUnit, std::move(unit)); }
  void send_stop(int rank, bool then_select) override;
  std::optional<comm::Message> receive(double timeout_seconds) override { return comm_.receive(timeout_seconds); }

 private:
  const comm::Comm& comm_;
  comm::Outbox outbox_;
};

class Scheduler {
 public:
  // Units a worker holds at once: the next one waits in its MPI receive queue while it scores the
  // current one, so a worker never waits for a round trip to rank 0.
  static constexpr int kUnitsPerWorker = 2;

  // `worker_timeout`: seconds a busy worker may stay silent, and the wait in finish() for workers that
  // never asked for work. `now`: the clock (seconds).
  Scheduler(WorkerLink& link, double worker_timeout, std::function<double()> now = steady_seconds);

  // Queues a unit to hand out. A worker gets the oldest pending unit of the checkpoint it holds; when
  // there is none (or it holds none), the oldest unit of the checkpoint with the most pending units per
  // worker holding it (ties: the checkpoint queued first), so that workers spread over the checkpoints
  // and each switches (a regeneration of the perturbed model) as rarely as possible.
  void add(Unit unit);
  std::size_t pending() const { return pending_count_; }
  // Forgets the units not handed out yet (a stop was requested); units in flight stay.
  void drop_pending();
  // Takes the next pending unit, for rank 0 working alone (no workers).
  std::optional<Unit> take();

  // Hands pending units to free worker slots, waits up to `wait_seconds` for one message and handles
  // it: a result goes to `store` (while its worker still holds the unit, so a throwing `store` leaves
  // it busy), then frees that slot; a request frees kUnitsPerWorker slots of its rank. Throws DistError
  // with the worker's text for kFailure, naming rank and unit for a result of a unit it does not hold
  // first, naming rank and tag for any other message.
  void step(double wait_seconds, const std::function<void(const UnitResult&)>& store);
  // Throws DistError naming rank, checkpoint and unit when a worker has held its oldest unit longer
  // than worker_timeout since it was handed out (or since its previous result). Looks at most once a
  // second of the clock (it visits every worker); calls in between return at once.
  void check_timeouts() const;

  bool workers_busy() const;
  std::size_t in_flight() const;
  // "; slowest rank R at X tokens/s" once two workers returned results since reset_rates(), else "".
  std::string slowest_rank() const;
  void reset_rates() { rates_.clear(); }

  // Stops every worker once it holds no unit (needs none in flight): free ones at once, the others
  // when they first ask for work, waiting up to worker_timeout for them. Throws DistError when some
  // never ask, or on a failure or unexpected message.
  void finish(bool then_select);

 private:
  struct Busy {
    Unit unit;
    double since;  // when the worker started it (assigned, or its previous unit returned)
  };
  struct RankRate {
    int64_t tokens = 0;
    double seconds = 0;
  };
  void assign();
  // The queue a free worker of rank `rank` takes its next unit from (pending_count_ > 0).
  std::deque<Unit>& queue_for(int rank);
  // Workers holding `checkpoint` and not stopped (kept up to date as held_ and stopped_ change).
  int& holders(const model::CheckpointKey& checkpoint);
  void hold(int rank, const model::CheckpointKey& checkpoint);
  void release(int rank);  // a stopped or failed worker holds no checkpoint
  void handle_result(int rank, const UnitResult& result, const std::function<void(const UnitResult&)>& store);
  void stop(int rank, bool then_select);
  // A worker's kFailure: it counts as stopped (it exits) and its error is rethrown with its exit code.
  [[noreturn]] void fail(int rank, comm::Reader& reader);

  WorkerLink& link_;
  double worker_timeout_;
  std::function<double()> now_;
  // Pending units by checkpoint, checkpoints in the order first queued, units in the order queued.
  std::vector<std::pair<model::CheckpointKey, std::deque<Unit>>> pending_;
  std::size_t pending_count_ = 0;
  std::vector<std::pair<model::CheckpointKey, int>> holders_;
  std::size_t in_flight_ = 0;  // units held by workers, all ranks
  mutable double next_timeout_check_ = -1e300;
  std::vector<int> ready_;                // one entry per free unit slot of a worker
  std::map<int, std::deque<Busy>> busy_;  // units each worker holds, oldest first
  std::map<int, model::CheckpointKey> held_;
  std::map<int, RankRate> rates_;  // per worker since reset_rates()
  std::set<int> stopped_;          // workers sent kStop
};

}  // namespace curate::service
