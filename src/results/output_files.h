// The names of every file a run and each of its selections write, in one place: nothing else spells a
// suffix. A run's files sit beside its result file (output.path); a selection's files beside its
// records (select.output), named after the selection's own stem, so that two selections (two
// methods, seeds or budgets) made from one result file never share a file.
//   run:        OUTPUT, OUTPUT.journal, OUTPUT.lock, OUTPUT.base, OUTPUT.index, OUTPUT.hashes
//   selection:  SEL.selected.jsonl[.gz|.zst] (or any select.output), SEL.selected_ids.txt, SEL.scores.tsv,
//               SEL.summary.json, SEL.report.html, SEL.examples.html, SEL.selection.h5, and the folder's
//               dataset_info.json
// SEL is select.output without .jsonl[.gz|.zst] and without a trailing ".selected": the default
// select.output (OUTPUT's stem + .selected.jsonl) keeps the names of a run's first selection.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "curate/config/options.h"

namespace curate::service {

// The result file and its companions.
struct RunFiles {
  std::string stem;  // output.path without .h5/.hdf5
  std::filesystem::path result, journal, lock, base, index, hashes;

  static RunFiles of(const std::string& output);
  // The companions (not the result file) with what each is, for messages.
  std::vector<std::pair<std::string, std::filesystem::path>> companions() const;
};

// One selection's files.
struct SelectionFiles {
  std::string stem;  // SEL (above)
  std::filesystem::path selected, ids, scores, summary, report, examples, selection, dataset_info;
  std::string dataset_name;  // its entry in dataset_info.json: the records' file name without .jsonl[.gz|.zst]

  static SelectionFiles of(const std::string& selected);
  // Every file with the option or name that sets it, for messages.
  std::vector<std::pair<std::string, std::filesystem::path>> named() const;
  // The files the selection file lists and vouches for (records, ids, scores, summary, report, examples).
  std::vector<std::filesystem::path> listed() const;
};

struct OutputFiles {
  RunFiles run;
  SelectionFiles selection;

  static OutputFiles of(const Options& options);  // output.path and select.output (validate() fills its default)
};

// The selection file of a run's first selection (the default select.output), which a new result
// file links /selection to until a selection is made.
std::filesystem::path default_selection_file(const std::string& output);

}  // namespace curate::service
