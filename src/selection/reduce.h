// The reduction stage around the scoring passes: the difficulty filter between the difficulty and
// the profile pass, and the budgeted selection after the profile pass.
#pragma once

#include <cstdint>
#include <vector>

#include "curate/comm/mpi.h"
#include "curate/config/options.h"
#include "curate/select/options.h"
#include "curate/store/hdf5.h"

namespace curate::service {

// Rank 0, after a complete difficulty pass: logs the records it did not score, by skip reason with
// count and first line (malformed, ids outside the vocabulary, prompts too long, ...); throws
// DataError (exit 3) naming them when it scored none, so that no empty selection ends with exit 0.
void require_scored_examples(const store::H5File& file, const std::string& dataset);

// Rank 0, after a complete difficulty pass: runs the filter on /difficulty/mean_loss per source and
// returns which records the profile pass scores, u8 [N] (1 kept); logs how many. Deterministic, so a
// resumed run finds the same set; the caller stores it (ResultSink::write_filter). Throws ConfigError
// when the difficulty pass is incomplete.
std::vector<uint8_t> run_difficulty_filter(const store::H5File& file, const select::FilterOptions& options,
                                           uint64_t records);

// Every rank (collective): rank 0 reads the complete result file options.run.output and shares its
// per-example columns (columns.h); k-means rows are shared across the ranks; rank 0 writes every file
// of the selection named after select.output's stem (output_files.h: records, ids, scores, summary,
// report, SEL.selection.h5, the dataset_info.json entry), never another selection's, then points the
// result file's /selection at SEL.selection.h5. The result does not depend on the number of ranks.
// Throws ConfigError when a pass is incomplete, the file belongs to another configuration, or
// SEL.selection.h5 belongs to another selection. Takes the whole Options and hands each step its part.
void run_selection(const Options& options, const comm::Comm& comm);

}  // namespace curate::service
