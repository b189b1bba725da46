// The files the selection stage writes, the guard that keeps them off every input and off each
// other, and the record export. Rank 0 only.
//   STEM.selected.jsonl[.gz|.zst]  the selected records (select.output), input order
//   STEM.selected_ids.txt          their ids (data.id_field, or line numbers), one a line, escaped
//   STEM.scores.tsv                one row per record: ids, groups, difficulty, filter, cluster, losses
//   STEM.summary.json, STEM.report.html, STEM.selection.h5 (/selection), and the folder's dataset_info.json
// STEM is output.path without .h5/.hdf5 (run_file.h: output_stem).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "curate/config/options.h"
#include "curate/select/export.h"

namespace curate::service {

struct SelectionPaths {
  std::filesystem::path selected, ids, scores, summary, report, selection, dataset_info;
  // Every output with the option or name that sets it, for messages.
  std::vector<std::pair<std::string, std::filesystem::path>> named() const;
};
SelectionPaths selection_paths(const Options& options);

// Throws ConfigError (exit 2) naming both paths when an output of the selection is the dataset, the
// result file or one of its companions (.journal, .lock, .base, .index, .hashes), a file inside the
// model, tokenizer or fine-tuned model folder, or another output; when the result file or a companion
// lies inside one of those folders; and when another result file shares the stem (r.h5 beside r.hdf5 or r). Files are
// compared by identity (device and inode) when both exist, else by their weakly canonical paths.
void check_output_paths(const Options& options);

// The selected records at `positions` (record index positions, ascending = input order), written
// to `path` (a temporary the caller renames): each record's own bytes and "\n" with select.format =
// input, else select::convert_record's line; compressed as select.compress says. Returns the
// LLaMA-Factory shape of what was written (nullopt with a logged reason when there is none).
std::optional<select::TrainerShape> write_selected_records(const Options& options,
                                                           const std::vector<std::size_t>& positions,
                                                           const std::filesystem::path& path);

// An exclusive flock on `path` (created when missing, never removed: removing would let a waiter
// lock a file no one else sees), held until destruction. Waits up to `seconds`, then throws StoreError
// naming the file.
class WaitingLock {
 public:
  WaitingLock(const std::filesystem::path& path, double seconds);
  ~WaitingLock();
  WaitingLock(const WaitingLock&) = delete;
  WaitingLock& operator=(const WaitingLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace curate::service
