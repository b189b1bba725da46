// Rank 0 of a scoring job: plans the passes (calibration, difficulty, profile), hands their units out
// through a Scheduler (or scores them itself with one rank) and stores results through a ResultSink.
// Torch-free: it reaches the workers through a WorkerLink and scores locally through a LocalScorer, so
// tests drive it with fakes and a fake clock (tests/job/coordinator_test.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "curate/config/options.h"
#include "curate/store/journal.h"
#include "curate/util/content_hash.h"
#include "job/noise_search.h"
#include "job/scheduler.h"
#include "results/result_sink.h"

namespace curate::service {

// Set by request_stop() (job.h): passes hand out no more units, collect those in flight, then throw
// Interrupted.
extern std::atomic<bool> stop_requested;

// Scores one unit on rank 0 itself (a job of one rank): Worker::score in a job, a fake in tests.
// Throws what the worker throws.
using LocalScorer = std::function<UnitResult(const Unit&)>;

// Who scores the units, and the clock. The link and what `local` refers to must outlive the Coordinator.
struct Crew {
  WorkerLink& link;                              // the worker ranks 1..link.workers(); unused when `local` is set
  LocalScorer local;                             // set: rank 0 is the only rank and scores every unit itself
  std::function<double()> now = steady_seconds;  // seconds, monotonic: timeouts, flushes, progress, pass costs
};

class Coordinator {
 public:
  // Builds a coordinator in steps, each after the previous succeeded: the output's lock
  // (OUTPUT.lock), the run's fingerprint (the inputs hashed once, by content; `dataset` is the record
  // index's content hash), the result sink (open_result_sink: output plan, journal, result file) and
  // the scheduler. No sink when the result file already stores every pass of the stage (stage_stored):
  // run() then only stops the workers. --stage gradients first requires the scored result file of this
  // configuration (ConfigError otherwise, before anything is written; require_gradient_input). Throws ConfigError,
  // ModelError (an input that cannot be read) or StoreError.
  static std::unique_ptr<Coordinator> create(const Options& options, Crew crew, uint64_t records,
                                             const ContentHash& dataset);
  // A coordinator over a prepared sink (what create() ends with; tests pass their own `lock`, may be null).
  Coordinator(const Options& options, Crew crew, uint64_t records, std::unique_ptr<store::RunLock> lock,
              std::unique_ptr<ResultSink> sink);

  // Runs the passes options.run.stage asks for, then stops the workers (telling them whether the
  // selection follows). Throws Interrupted after a requested stop, Error subclasses on failures:
  // DataError (exit 3) when the calibration misses its band (unless perturb.allow_calibration_miss)
  // or the noise search finds no std in it; the calibration is stored first.
  void run();
  // Stops the workers (see Scheduler::finish); needs no unit in flight.
  void finish(bool then_select = false) { scheduler_.finish(then_select); }
  // Makes the file durable and marks it whole in the journal (ResultSink::seal).
  void seal() {
    if (sink_) sink_->seal();
  }
  bool workers_busy() const { return scheduler_.workers_busy(); }

 private:
  PassPlan plan(Pass pass, std::vector<model::CheckpointKey> slots, int64_t tokens,
                std::vector<uint64_t> positions) const;
  PassPlan difficulty_plan(int checkpoint) const;
  PassPlan profile_plan();
  int gaussian_checkpoint();
  model::CheckpointKey gaussian(int checkpoint) const;
  double search_max_std();
  std::vector<float> score_sample(const std::vector<model::CheckpointKey>& slots, const std::vector<uint64_t>& sample);
  int store_calibration(const PassPlan& calibration);
  void require_calibration_met(const std::string& miss, int chosen) const;
  void print_calibrated_std() const;
  void run_pass(const PassPlan& p);
  void queue_units(const PassPlan& p, const std::vector<uint8_t>& done);
  // --stage gradients (gradient_stage.cpp): the sample's plan under the stage's settings, then its pass.
  void run_gradients();

  // Seconds on the crew's clock since the reading `start`.
  double elapsed_since(double start) const { return now_() - start; }

  const Options& options_;
  uint64_t records_;
  LocalScorer local_;  // set when rank 0 is the only rank
  std::function<double()> now_;
  int ranks_;                             // in the job: 1 with a local scorer, else the workers + rank 0
  std::unique_ptr<store::RunLock> lock_;  // released after the file is closed
  std::unique_ptr<ResultSink> sink_;
  Scheduler scheduler_;
  std::optional<double> searched_std_;     // perturb.gaussian_max_std found by the noise search (or stored)
  std::vector<NoiseProbe> search_probes_;  // this run's search, stored with the calibration table
};

// --stage gradients adds /gradients to an existing result file: throws ConfigError (exit 2) when
// options.run.output is missing, holds another configuration, its difficulty pass is unfinished, or (without
// --fresh) its /gradients were made under other gradient settings. `print`/`files`: as for check_resume.
void require_gradient_input(const Options& options, const std::string& print, uint64_t records,
                            const std::string& files);

}  // namespace curate::service
