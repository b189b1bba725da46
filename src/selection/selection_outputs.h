// Every file a selection writes (output_files.h names them: SEL.selected.jsonl[.gz|.zst] or any
// select.output, SEL.selected_ids.txt, SEL.scores.tsv, SEL.summary.json, SEL.report.html,
// SEL.examples.html, SEL.selection.h5, and its entry in the folder's dataset_info.json). Rank 0 only.
//   records       the selected records, input order: their own bytes (select.format = input) or converted
//   ids           their ids (data.id_field, or line numbers), one a line, TSV-escaped
//   scores        one row per record: id, line, groups, difficulty, filter, cluster, losses, selected
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "curate/data/record.h"
#include "curate/report/report.h"
#include "curate/select/export.h"
#include "curate/select/options.h"
#include "curate/select/select.h"
#include "results/output_files.h"
#include "selection/columns.h"
#include "selection/output_checks.h"

namespace curate::service {

// Where the selected records come from and how they are written.
struct RecordSource {
  std::filesystem::path dataset;  // data.path
  std::filesystem::path index;    // its record index (RunFiles::index)
  const data::DataOptions& data;
  const select::ExportOptions& exported;
};

// The selected records at `positions` (record index positions, ascending = input order), written
// to `path` (a temporary the caller renames): each record's own bytes and "\n" with select.format =
// input, else select::convert_record's line; compressed as select.compress says. Returns the
// LLaMA-Factory shape of what was written (nullopt with a logged reason when there is none).
std::optional<select::TrainerShape> write_selected_records(const RecordSource& source,
                                                           const std::vector<std::size_t>& positions,
                                                           const std::filesystem::path& path);

// The examples page of a selection (report.h ExamplesPage): the selected examples in dataset order, at
// most report::kMaxExampleRows, with their columns and the beginning of their reasoning text, read from
// `source` in one pass (a record that no longer parses says so in its row). examples_page.cpp.
report::ExamplesPage examples_page(const RecordSource& source, const SelectionColumns& columns,
                                   const select::SelectResult& result, const SelectionFiles& files,
                                   const std::filesystem::path& results);

// Writes every file of the selection `files` together (staged, then renamed, SEL.selection.h5 last,
// so a failure leaves the previous files of this selection whole and never touches another
// selection's): the records, ids, scores table (`checkpoints`: the profile checkpoints' names),
// summary and report (from `report`), the examples page (examples_page), the selection file and the dataset_info.json
// entry. `results` is the result file's path, recorded in the selection file and relative paths. Throws StoreError or
// DataError naming the file that failed.
void write_selection_outputs(const SelectionFiles& files, const std::filesystem::path& results,
                             const SelectionColumns& columns, const std::vector<std::string>& checkpoints,
                             const select::SelectResult& result, const select::SelectOptions& options,
                             const RecordSource& source, const report::ReportData& report);

// The result file's /selection now points at `files.selection` (relative to the result file), and
// /selections lists it; its settings attribute becomes `settings` (settings_ini of the selecting run).
// Opens `results` for writing (no other handle may be open in this process). A result file that
// cannot be written keeps its old link: logged as a warning naming both files.
void relink_selection(const std::filesystem::path& results, const SelectionFiles& files, const std::string& settings);

}  // namespace curate::service
