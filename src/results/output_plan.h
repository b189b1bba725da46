// What rank 0 does with the result file and journal it finds before a run writes anything: resume,
// rebuild from the journal (and the .base copy of a finished file), refuse, or start over.
// The journal's records (header, units, clean mark) are described in journal_records.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "curate/comm/mpi.h"
#include "curate/config/options.h"

namespace curate::service {

std::filesystem::path journal_path(const Options& options);  // OUTPUT.journal
std::filesystem::path base_path(const Options& options);     // OUTPUT.base
// Where the record index of a run is cached: next to the output file (OUTPUT.index).
std::filesystem::path index_cache_path(const Options& options);
// Where the content hashes of the input files are cached (HashCache): OUTPUT.hashes.
std::filesystem::path hash_cache_path(const Options& options);

// Refuses (ConfigError, exit 2), before anything is written or moved: an empty output.path or one that
// names a folder; a result file or companion (.journal, .lock, .base, .index, .hashes) that is a folder,
// not a regular file, or an input (data.path, model.path, model.tokenizer, perturb.target; through links
// too); and one that exists but is not a file curate_dist made, recognised by content (the result file
// and .base: HDF5 with the results' format attribute; the others by their magic bytes; an empty file
// holds nothing to lose). Every later move, replacement or removal acts only on files that passed.
void check_result_files(const Options& options);
// check_result_files on rank 0 (the files change once it starts writing, so other ranks could see them
// half made), its verdict on every rank (collective): ranks other than 0 throw ConfigError with rank
// 0's message, rank 0 its own error.
void check_result_files(const Options& options, const comm::Comm& comm);

struct OutputPlan {
  bool new_journal = false;   // start the journal anew (with its header)
  bool snapshot = false;      // copy the result file to OUTPUT.base first (header 'B'): the file is
                              // trusted but no journal holds its units, so a kill must not lose them
  bool restore_base = false;  // the file is rebuilt: from OUTPUT.base, then the journal's units
};

// Whether the result file of a finished run (resumable with fingerprint `print`, no journal beside it,
// no --fresh) already stores every pass options.run.stage scores: such a rerun only re-selects, so the
// file is neither written nor copied (no OUTPUT.base snapshot).
bool stage_stored(const Options& options, const std::string& print, uint64_t records);

// Decides what to do with an existing result file and journal of a run with fingerprint `print` over
// `records` records (`files`: its input_files_text, for a refusal's detail); may move a damaged file
// aside, or delete a file a kill left unclosed. With run.fresh every existing result file is moved aside
// (OUTPUT.discarded-TIME) and the journal dropped (check_result_files has vouched for both). A file of another
// configuration in which nothing was stored (a run that failed before its first unit) is replaced, and so is its
// journal when that holds no unit. Throws ConfigError (a foreign file without --fresh) or StoreError (a damaged file no
// journal can rebuild).
OutputPlan prepare_output(const Options& options, const std::string& print, uint64_t records,
                          const std::string& files = "");

// Carries out the file side of `plan` (old journal and base removed, snapshot taken or restored) and
// returns the journal's path. Runs before the journal or result file is opened. Throws StoreError
// when a copy fails or a journal's base copy is missing.
std::filesystem::path apply_output_plan(const Options& options, const OutputPlan& plan);

}  // namespace curate::service
