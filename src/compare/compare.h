// --stage compare: one selection per method and seed at select.budget from one finished result file,
// a held-out split drawn before any selection, the comparison page, and the plan of the A/B fine-tune
// that launch/ab.sh and slurm/ab.sbatch run. Torch-free. Files, in compare.output (default STEM.compare/):
//   heldout.jsonl, heldout.ids.txt   the held-out split (the records' own bytes, input order)
//   NAME.jsonl, NAME.ids.txt          each distinct selection (NAME: method, or method-sSEED when seeded)
//   dataset_info.json                 a LLaMA-Factory entry per file above (merged into an existing one)
//   compare.json                      every number of the page, the selections, and the A/B plan (tasks,
//                                     hyperparameters, evaluation sets); ab/results.json when the A/B ran
//   compare.html                      the comparison page (static, escaped; with the A/B tables when run)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "curate/comm/mpi.h"
#include "curate/config/options.h"

namespace curate::compare {

// Record positions of a held-out split of `wanted` among the rows with scored[i] = 1, stratified by
// source: source s gets floor(wanted * n_s / n) rows, the remainder one each to the sources with the
// largest fractional part (ties: lower source index); within a source, a partial Fisher-Yates shuffle
// seeded by hash_seed(seed, source name). Ascending. Throws ConfigError naming compare.eval_examples
// when wanted >= the scored rows. source[i] indexes source_names.
std::vector<std::size_t> draw_heldout(std::span<const int32_t> source, std::span<const uint8_t> scored,
                                      std::span<const std::string> source_names, int64_t wanted, uint64_t seed);

// Jaccard index |a ∩ b| / |a ∪ b| of two ascending index lists (1 when both are empty).
double jaccard(std::span<const int64_t> a, std::span<const int64_t> b);

// Every rank (collective only in the error broadcast): rank 0 reads the complete result file
// options.run.output (the same checks as --stage select), draws the held-out split, runs
// select::select for each method and seed of options.compare with the held-out rows out of the pool,
// and writes the files above (all staged, renamed together). Throws ConfigError for an incomplete or
// foreign result file or bad [compare] settings, StoreError when an output cannot be written.
void run_compare(const service::Options& options, const comm::Comm& comm);

}  // namespace curate::compare
