// Rank 0 of a scoring job: plans the passes (calibration, difficulty, profile), hands their units out
// through a Scheduler (or scores them itself with one rank) and stores results through a ResultSink.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "curate/comm/mpi.h"
#include "curate/config/options.h"
#include "curate/store/journal.h"
#include "curate/util/content_hash.h"
#include "job/scheduler.h"
#include "job/worker.h"
#include "results/result_sink.h"

namespace curate::service {

// Set by request_stop() (job.h): passes hand out no more units, collect those in flight, then throw
// Interrupted.
extern std::atomic<bool> stop_requested;

class Coordinator {
 public:
  // Builds a coordinator in steps, each after the previous succeeded: the output's lock
  // (OUTPUT.lock), the run's fingerprint (the inputs hashed once, by content; `dataset` is the record
  // index's content hash), the result sink (open_result_sink: output plan, journal, result file), the
  // scheduler, and a local worker when `comm` has one rank. Throws ConfigError, ModelError (an input
  // that cannot be read) or StoreError.
  static std::unique_ptr<Coordinator> create(const Options& options, const comm::Comm& comm, uint64_t records,
                                             const ContentHash& dataset);

  // Runs the passes options.run.stage asks for, then stops the workers (telling them whether the
  // selection follows). Throws Interrupted after a requested stop, Error subclasses on failures.
  void run();
  // Stops the workers (see Scheduler::finish); needs no unit in flight.
  void finish(bool then_select = false) { scheduler_.finish(then_select); }
  // Makes the file durable and marks it whole in the journal (ResultSink::seal).
  void seal() { sink_->seal(); }
  bool workers_busy() const { return scheduler_.workers_busy(); }

 private:
  Coordinator(const Options& options, const comm::Comm& comm, uint64_t records, std::unique_ptr<store::RunLock> lock,
              std::unique_ptr<ResultSink> sink);

  PassPlan plan(Pass pass, std::vector<model::CheckpointKey> slots, int64_t tokens,
                std::vector<uint64_t> positions) const;
  PassPlan difficulty_plan(int checkpoint) const;
  PassPlan profile_plan();
  int gaussian_checkpoint();
  int store_calibration(const PassPlan& calibration);
  void run_pass(const PassPlan& p);
  void queue_units(const PassPlan& p, const std::vector<uint8_t>& done);

  const Options& options_;
  const comm::Comm& comm_;
  uint64_t records_;
  MpiWorkerLink link_;                    // destroyed last: its Outbox waits for units in flight
  std::unique_ptr<store::RunLock> lock_;  // released after the file is closed
  std::unique_ptr<ResultSink> sink_;
  Scheduler scheduler_;
  std::unique_ptr<Worker> local_;  // rank 0 scores itself when it is the only rank
};

}  // namespace curate::service
