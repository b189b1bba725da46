// What the selection report shows, gathered on rank 0 from the result file, the selection and the
// dataset (report::ReportData): totals, allocation, calibration, pass costs, settings, the funnel and
// curves per source, and a handful of examples per source with their text and why they were or were
// not taken.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "curate/config/options.h"
#include "curate/report/report.h"
#include "curate/select/select.h"
#include "curate/store/hdf5.h"

namespace curate::service {

// Views of the selection's per-example arrays: N records, C profile checkpoints (reduce.cpp owns them).
struct ReportInputs {
  int64_t checkpoints = 0;
  std::span<const std::string> source_names, domain_names;
  std::span<const int32_t> source, domain;  // [N] ids into the names
  std::span<const uint8_t> kept;            // [N] candidates: kept by the difficulty filter, status ok
  std::span<const float> difficulty;        // [N]
  std::span<const float> mean_loss;         // [C, N] profile means, NaN where not profiled
};

// Rank 0. `f` is the complete result file; `outputs` the selection's files (label, path), linked from
// the report at `report` by their paths relative to its folder; `select_seconds` the time the
// selection took on `ranks` ranks. Reads the records of the examples shown from options.run.dataset
// and tokenizes them with options.run.tokenizer (when that fails, the start of the reasoning text is
// shown instead, with a warning). Throws StoreError for a result file that lacks /examples.
report::ReportData gather_report(const store::H5File& f, const Options& options, const ReportInputs& in,
                                 const select::SelectResult& result,
                                 const std::vector<std::pair<std::string, std::filesystem::path>>& outputs,
                                 const std::filesystem::path& report, double select_seconds, int ranks);

}  // namespace curate::service
