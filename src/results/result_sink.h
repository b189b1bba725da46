// Rank 0's storage of a run: the journal (OUTPUT.journal, journal_records.h) and the HDF5 result file
// (RunFile, layout.h). The only writer of both: every unit goes to the journal first (one append),
// then into the file; seal() and checkpoint() make both durable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "curate/config/options.h"
#include "curate/store/journal.h"
#include "results/layout.h"
#include "results/run_file.h"

namespace curate::service {

class ResultSink {
 public:
  // Takes the journal and result file that open_result_sink() prepared.
  ResultSink(std::unique_ptr<store::Journal> journal, std::unique_ptr<RunFile> file);

  // Creates the pass's datasets when missing; returns its done flags [slots × units].
  std::vector<uint8_t> open_pass(const PassPlan& plan) { return file_->open_pass(plan); }
  // Stores a result: first in the journal (one write), then in the HDF5 file (data, then its done flag).
  void keep(const PassPlan& plan, const UnitResult& result);
  // Folds into the file the journal's units of `plan` whose flag in `done` (as open_pass returned it)
  // is 0 (for kGradients: of the plan's settings tag), and sets those flags; then checkpoints if any were folded in.
  // Returns how many.
  int64_t replay(const PassPlan& plan, std::vector<uint8_t>& done);
  // Syncs the journal and flushes the file.
  void checkpoint();
  // checkpoint(), then a clean mark in the journal (synced): the next run may trust the file. For a
  // run that ends by a signal or an error; a kill -9 never gets here.
  void seal();

  // (Re)writes /filter when `kept` differs from the stored one; flushes.
  void write_filter(const std::vector<uint8_t>& kept, const std::string& method);
  void write_calibration(const layout::CalibrationTable& table);
  void add_pass_cost(Pass pass, const layout::PassCost& cost);
  // Removes /gradients (--stage gradients --fresh under other gradient settings); flushes.
  void drop_gradients();
  void flush() { file_->flush(); }

  const store::H5File& file() const { return file_->file(); }

 private:
  std::unique_ptr<store::Journal> journal_;
  std::unique_ptr<RunFile> file_;
};

// Prepares the output of a run with fingerprint `print` over `records` records, in this order (each
// step only after the previous one succeeded, so that a kill at any point leaves a state the next
// run's prepare_output() handles): decide (prepare_output), move files (apply_output_plan), open the
// journal, write and sync a new journal's header, and only then open or create the result file.
// The caller holds the output's RunLock. `files` (fingerprint.h input_files_text) goes into a new file
// and names changed input files in a refusal. Throws what those steps throw (ConfigError, StoreError).
std::unique_ptr<ResultSink> open_result_sink(const Options& options, const std::string& print, uint64_t records,
                                             const std::string& files = "");

}  // namespace curate::service
