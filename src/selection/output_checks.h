// The guard that keeps a selection's files off every input and off each other, and the lock that
// lets selections writing into one folder take turns. Rank 0 only (check_output_paths: every rank).
#pragma once

#include <filesystem>

#include "curate/config/options.h"
#include "results/output_files.h"

namespace curate::service {

// Throws ConfigError (exit 2) naming both paths when an output of the selection is the dataset, the
// result file or one of its companions (.journal, .lock, .base, .index, .hashes), a file inside the
// model, tokenizer or fine-tuned model folder, or another output; when the result file or a companion
// lies inside one of those folders; and when another result file shares the stem (r.h5 beside r.hdf5 or r). Files are
// compared by identity (device and inode) when both exist, else by their weakly canonical paths.
void check_output_paths(const Options& options);

// Rank 0, before a selection writes: throws ConfigError when SEL.selection.h5 exists and belongs to
// another selection (other records file, e.g. select.output run.jsonl beside run.selected.jsonl, whose
// stems are both "run"): writing would leave that selection's records beside this one's companions.
void check_selection_owner(const SelectionFiles& files);

// An exclusive flock on the folder `folder` (nothing is created in it, so nothing is left behind),
// held until destruction. Waits up to `seconds`, then throws StoreError naming the folder.
class FolderLock {
 public:
  FolderLock(const std::filesystem::path& folder, double seconds);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace curate::service
