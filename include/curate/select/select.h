// Budgeted selection: the budget is split across domains and sources (allocate_hierarchical), then
// each source picks its share of its candidates with the chosen method.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "curate/select/allocate.h"
#include "curate/select/kmeans.h"
#include "curate/select/options.h"

namespace curate::select {

// Per-example arrays of N examples and C profile checkpoints (views: the caller owns the data and
// keeps it alive during select). [C, N] arrays are row-major: value of example i at checkpoint c is
// at c * N + i. Columns that select_reads does not name for the options in force may be empty.
struct SelectInput {
  int64_t checkpoints = 0;                    // C >= 1
  std::span<const int32_t> source;            // [N] index into source_names
  std::span<const int32_t> domain;            // [N] index into domain_names
  std::span<const uint8_t> kept;              // [N] difficulty filter output; only kept examples are candidates
  std::span<const int64_t> reasoning_tokens;  // [N] full reasoning length (tokens)
  std::span<const int64_t> full_length;       // [N] tokens of the whole example (token budgets)
  std::span<const float> difficulty;          // [N] mean loss of the first 100 tokens at the difficulty checkpoint
  std::span<const float> mean_loss;           // [C, N] mean loss of the first 1,000 reasoning tokens
  std::span<const float> mean_loss_first;     // [C, N] mean loss of the first 100 reasoning tokens
  // The projected gradients of --stage gradients (select.features = gradients clusters on them).
  int64_t gradient_dim = 0;               // D; 0: none
  std::span<const int64_t> gradient_row;  // [N] row of `gradients` of each example, -1: not sampled
  std::span<const float> gradients;       // [G, D] row-major
};

struct SelectResult {
  std::vector<int64_t> selected;  // example indices, ascending
  std::vector<int32_t>
      cluster;               // [N] k-means cluster within its source ((source, cluster) is unique), -1 if not clustered
  std::vector<float> score;  // [N] ranking key of the method (higher is taken first), NaN if none
  std::vector<AllocationRow> allocation;  // the budget split, for reports (row.clamped: see allocate.h)
  bool loss_not_rising = false;           // the candidates' mean mean_loss_first at the last checkpoint is not
                                          // above every other checkpoint's: the reference stops there
                                          // (assertion); curate_dist goes on and logs a warning
  int64_t budget = 0;                     // the budget in force: select.token_budget (tokens), or select.budget
                                          // resolved against the candidates (resolved_budget)
  std::string shortfall;                  // why fewer examples (or tokens) than the budget were selected; "" when met
};

// The columns of SelectInput that select() reads under `options`: checkpoints, source, domain, kept
// and mean_loss_first always (the groups, their allocation and the loss check), the others by method
// and options as marked. A column not named may be empty: select() neither checks nor reads it.
struct SelectReads {
  bool reasoning_tokens = false;  // longest
  bool full_length = false;       // select.token_budget (an item's cost)
  bool difficulty = false;        // middle-perplexity, difficulty
  bool mean_loss = false;         // temp (its pick and loss features), learnability, s2l on loss features
  bool gradients = false;         // temp and s2l on select.features = gradients: gradient_dim, _row, gradients
};
SelectReads select_reads(const SelectOptions& options);

// The rows the per-source k-means of temp and s2l clusters, [members, feature_dim] row-major, for
// `members` (example indices of one group): select.features = loss gives the C mean_loss values (NaN
// -> 0); gradients gives the example's projected gradient scaled to unit length (k-means then follows
// the cosine). With select.standardize, each feature is then standardised over the members ((x - mean)
// / std, population std, std 0 -> 1). Every member must have a gradient row under gradients.
std::vector<float> cluster_features(const SelectInput& input, std::span<const int64_t> members,
                                    const SelectOptions& options);
int64_t feature_dim(const SelectInput& input, const SelectOptions& options);  // C or D

// select.token_budget when set, else select.budget resolved against the candidates (kept examples):
// a count as given, a fraction as Budget::resolve.
int64_t resolved_budget(const SelectInput& input, const SelectOptions& options);

// Why `result` selects less than the budget asks (examples, or tokens under select.token_budget): the
// candidates are fewer (or shorter) than the budget, or the budget is below the shortest candidate, or
// the items left did not fit the shares. "" when the budget is met.
std::string budget_shortfall(const SelectInput& input, const SelectResult& result, const SelectOptions& options);

// Selects examples. NaN losses count as 0 (the reference's nan -> 0). Groups are the (domain,
// source) pairs of the candidates, ordered by domain name then source name; each gets its
// allocate_hierarchical share (select.allocation), with group score from mean_loss_first at the first
// and last checkpoint and capacity = its candidates (or their full_length under select.token_budget).
// Within a group, by method:
//   temp: nothing when allocated 0, everything when allocated >= capacity (within_path); otherwise
//     k-means (k by select.k_rule, default max(1, allocated / per_cluster), at most the candidates) of
//     cluster_features (the C mean_loss values, or the projected gradients), then
//     pick_in_clusters (within.h) on the first and last mean_loss; under a token budget, budget
//     still left goes to the other candidates at random.
//   Baselines on the same allocation: random; longest (reasoning_tokens); middle-perplexity
//     (difficulty closest to the source's median); difficulty (highest); learnability
//     (mean_loss[0] - mean_loss[C-1]); s2l (the temp clusters, round-robin over clusters in random
//     order, a random member each time). NaN keys rank last.
// Items are taken in ranked order while they fit (cost 1, or full_length under a token budget), so
// with an example budget a group allocated m examples gets exactly m (m <= its candidates).
// Same input, options and seed give the same bits whatever the order of the names, the number of
// processes sharing k-means rows (`sharing`) or threads: random streams are seeded by hash_seed(seed,
// source name). With `sharing` select is collective: every rank calls it with the same options and
// names, and the same candidates (kept rows) in the same order with the same values of the columns
// select_reads names. The rows that are not candidates, and the other columns, may differ or be left
// out: a rank whose result is not used may pass only the candidates (its result then indexes them).
// A selection that misses its budget sets result.shortfall (budget_shortfall) and logs it as a warning.
// Throws ConfigError for invalid options, and under select.features = gradients when there are no
// gradient rows or a candidate has none (naming how many); DataError for inconsistent sizes or ids.
SelectResult select(const SelectInput& input, std::span<const std::string> source_names,
                    std::span<const std::string> domain_names, const SelectOptions& options,
                    const RowSharing* sharing = nullptr);

}  // namespace curate::select
