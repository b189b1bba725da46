// What the selection report shows, gathered on rank 0 from the result file, the selection and the
// dataset (report::ReportData): totals, allocation, calibration, pass costs, settings, the funnel and
// curves per source, and a handful of examples per source with their text and why they were or were
// not taken.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "curate/config/options.h"
#include "curate/data/prompt.h"
#include "curate/data/record.h"
#include "curate/report/report.h"
#include "curate/select/options.h"
#include "curate/select/select.h"
#include "curate/store/hdf5.h"
#include "results/output_files.h"
#include "selection/columns.h"

namespace curate::service {

// The settings the report reads: its part of the job's Options (report_settings).
struct ReportSettings {
  std::string model, tokenizer, device;
  std::filesystem::path dataset, index;  // data.path and its record index
  data::DataOptions data;
  data::PromptOptions prompt;
  select::FilterOptions filter;
  select::SelectOptions select;
  double calibration_low = 0, calibration_high = 0;        // pass.calibration_low/high
  int gaussian_checkpoint = 0;                             // pass.gaussian_checkpoint
  std::vector<std::pair<std::string, std::string>> table;  // the settings the report lists, name and value
};
ReportSettings report_settings(const Options& options, const RunFiles& run);

// Rank 0. `f` is the complete result file `results`; `in` its columns; `files` the selection's
// files, linked from its report by their paths relative to the report's folder; `select_seconds` the
// time the selection took on `ranks` ranks. Reads the records of the examples shown from the dataset
// and tokenizes them with the tokenizer (when that fails, the start of the reasoning text is shown
// instead, with a warning). Throws StoreError for a result file that lacks what the report reads.
report::ReportData gather_report(const store::H5File& f, const ReportSettings& settings, const SelectionColumns& in,
                                 const select::SelectResult& result, const SelectionFiles& files,
                                 const std::filesystem::path& results, double select_seconds, int ranks);

// The premise test (select/premise.h) of `result`'s loss-pattern clusters on the complete /gradients
// of `f` (read into `in`), seeded by select.seed; without numbers, a note saying what to run, when the
// file has no complete /gradients, the method does not cluster, or it clusters on the gradients
// themselves (select.features = gradients). premise_gather.cpp.
report::Premise gather_premise(const store::H5File& f, const select::SelectOptions& options, const SelectionColumns& in,
                               const select::SelectResult& result);

}  // namespace curate::service
