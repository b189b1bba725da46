// What rank 0 does with the result file and journal it finds before a run writes anything: resume,
// rebuild from the journal (and the .base copy of a finished file), refuse, or start over.
// The journal's records (header, units, clean mark) are described in journal_records.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "curate/config/options.h"

namespace curate::service {

std::filesystem::path journal_path(const Options& options);  // OUTPUT.journal
std::filesystem::path base_path(const Options& options);     // OUTPUT.base
// Where the record index of a run is cached: next to the output file (OUTPUT.index).
std::filesystem::path index_cache_path(const Options& options);
// Where the content hashes of the input files are cached (HashCache): OUTPUT.hashes.
std::filesystem::path hash_cache_path(const Options& options);

struct OutputPlan {
  bool new_journal = false;   // start the journal anew (with its header)
  bool snapshot = false;      // copy the result file to OUTPUT.base first (header 'B'): the file is
                              // trusted but no journal holds its units, so a kill must not lose them
  bool restore_base = false;  // the file is rebuilt: from OUTPUT.base, then the journal's units
};

// Decides what to do with an existing result file and journal of a run with fingerprint `print` over
// `records` records (`files`: its input_files_text, for a refusal's detail); may move a damaged file
// aside, or delete a file a kill left unclosed. With run.fresh every existing result file is moved aside
// (OUTPUT.discarded-TIME) and the journal dropped. A file of another configuration in which nothing was
// stored (a run that failed before its first unit) is replaced, and so is its journal when that holds
// no unit. Throws ConfigError (a foreign file without --fresh) or StoreError (a damaged file no journal
// can rebuild).
OutputPlan prepare_output(const Options& options, const std::string& print, uint64_t records,
                          const std::string& files = "");

// Carries out the file side of `plan` (old journal and base removed, snapshot taken or restored) and
// returns the journal's path. Runs before the journal or result file is opened. Throws StoreError
// when a copy fails or a journal's base copy is missing.
std::filesystem::path apply_output_plan(const Options& options, const OutputPlan& plan);

}  // namespace curate::service
