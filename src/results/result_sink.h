// Rank 0's storage of a run: the journal (OUTPUT.journal, journal_records.h) and the HDF5 result file
// (RunFile, layout.h). The only writer of both: every unit goes to the journal first (one append),
// then into the file; seal() and checkpoint() make both durable.
// keep() hands the unit to a writer thread behind a bounded queue, so that rank 0's receive loop does
// not wait on the disk; every other member first waits until the queue is empty (drain), so the HDF5
// library is only ever used by one thread at a time. A unit still in the queue at a kill -9 is in
// neither file: the next run schedules it again, as a unit in flight on a worker.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "curate/config/options.h"
#include "curate/store/journal.h"
#include "results/layout.h"
#include "results/run_file.h"

namespace curate::service {

class ResultSink {
 public:
  // Takes the journal and result file that open_result_sink() prepared. The writer thread sleeps
  // `write_delay_seconds` before each unit (test.writer_delay_seconds: a slow disk).
  ResultSink(std::unique_ptr<store::Journal> journal, std::unique_ptr<RunFile> file, double write_delay_seconds = 0);
  // Stores what is queued (errors logged), then stops the writer.
  ~ResultSink();
  ResultSink(const ResultSink&) = delete;
  ResultSink& operator=(const ResultSink&) = delete;

  // Creates the pass's datasets when missing; returns its done flags [slots × units]. Keeps a copy
  // of `plan` for the writer: the plan keep() stores with.
  std::vector<uint8_t> open_pass(const PassPlan& plan);
  // Queues a result of `plan`, which must equal the last open_pass()'s, for the writer thread, which
  // stores it first in the journal (one write), then in the HDF5 file (data, then its done flag).
  // Except for kGradients, the writer prepares it once (stored_unit.h: means, NaN flags, losses in the
  // file's type) and both get that: the journal holds no more than the file stores.
  // Returns at once unless kQueueBytes of losses are queued. Rethrows the writer's first error.
  void keep(const PassPlan& plan, UnitResult result);
  // Waits until every queued result is stored; rethrows the writer's first error (then again on
  // every later call: the files hold what was stored before it).
  void drain();
  // Folds into the file the journal's units of `plan` whose flag in `done` (as open_pass returned it)
  // is 0 (for kGradients: of the plan's settings tag), and sets those flags; then checkpoints if any were folded in.
  // Returns how many. Reads kStored records and kUnit ones (the gradient stage's, and every unit of a
  // journal an older curate_dist wrote); throws DistError for a record it cannot decode.
  int64_t replay(const PassPlan& plan, std::vector<uint8_t>& done);
  // Syncs the journal and flushes the file.
  void checkpoint();
  // checkpoint(), then a clean mark in the journal (synced): the next run may trust the file. For a
  // run that ends by a signal or an error; a kill -9 never gets here.
  void seal();

  // (Re)writes /filter when `kept` differs from the stored one; flushes.
  void write_filter(const std::vector<uint8_t>& kept, const std::string& method);
  void write_calibration(const layout::CalibrationTable& table);
  void write_noise_search(const layout::NoiseSearchTable& search);
  void add_pass_cost(Pass pass, const layout::PassCost& cost);
  // Removes /gradients (--stage gradients --fresh under other gradient settings); flushes.
  void drop_gradients();
  void flush();

  // The result file, after drain().
  const store::H5File& file();

  // Bytes of queued losses above which keep() waits for the writer (at least one unit is queued).
  static constexpr std::size_t kQueueBytes = 64u << 20;

 private:
  struct Queued {
    std::shared_ptr<const PassPlan> plan;
    UnitResult result;
    std::size_t bytes;
  };
  void write_loop();

  std::unique_ptr<store::Journal> journal_;
  std::unique_ptr<RunFile> file_;
  double write_delay_seconds_ = 0;
  std::shared_ptr<const PassPlan> plan_;  // the last open_pass()'s; queued units share it
  std::mutex mutex_;
  std::condition_variable changed_;  // the queue, busy_, error_ or stopping_ changed
  std::deque<Queued> queue_;         // guarded by mutex_
  std::size_t queued_bytes_ = 0;     // guarded by mutex_
  bool busy_ = false;                // guarded by mutex_: the writer holds a unit taken from the queue
  bool stopping_ = false;            // guarded by mutex_
  std::exception_ptr error_;         // guarded by mutex_: the writer's first failure; it stores nothing after
  std::thread writer_;               // last: starts once the members above exist
};

// Prepares the output of a run with fingerprint `print` over `records` records, in this order (each
// step only after the previous one succeeded, so that a kill at any point leaves a state the next
// run's prepare_output() handles): decide (prepare_output), move files (apply_output_plan), open the
// journal, write and sync a new journal's header, and only then open or create the result file.
// The caller holds the output's RunLock. `files` (fingerprint.h input_files_text) goes into a new file
// and names changed input files in a refusal; the file's settings attribute is (re)written from `options`
// (layout.h). Throws what those steps throw (ConfigError, StoreError).
// options.test.writer_delay_seconds slows the writer thread (tests and benchmarks of a slow disk).
std::unique_ptr<ResultSink> open_result_sink(const Options& options, const std::string& print, uint64_t records,
                                             const std::string& files = "");

}  // namespace curate::service
