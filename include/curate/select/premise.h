// The method's second principle, measured (issue 28): examples with similar loss patterns (the same
// k-means cluster of their source) should have similar gradients. Given the projected gradients of a
// sample of examples (--stage gradients), their loss-pattern clusters and features, and their
// difficulty, premise_test compares the gradient cosine of pairs in the same cluster with other pairs,
// and does the same for two controls. Pure, torch-free, deterministic bits for the same input and seed.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>

namespace curate::select {

// G rows, one per sampled example. Rows with cluster -1, or a gradient that is zero or not finite, are
// left out (PremiseResult::examples counts the others).
struct PremiseInput {
  int64_t dim = 0;                    // D >= 1
  std::span<const float> gradients;   // [G, D] row-major (or [R, D]: gradient_row): projected gradients
  std::span<const int32_t> group;     // [G] the selection's group (source) of each row, >= 0
  std::span<const int32_t> cluster;   // [G] loss-pattern cluster within the group, -1: not clustered
  int64_t feature_dim = 0;            // F >= 1
  std::span<const float> features;    // [G, F] the loss-pattern features the k-means clustered
  std::span<const float> difficulty;  // [G] difficulty score (NaN: unknown, sorts last)
  // [G] the row of `gradients` of each row, so that a larger table is read in place; empty: row i is
  // gradients' row i (then gradients is [G, D]).
  std::span<const int64_t> gradient_row;
};

struct PremiseOptions {
  uint64_t seed = 0;           // bootstrap draws, pair sample, random control
  int bootstrap = 1000;        // bootstrap replicates (>= 1)
  int64_t max_pairs = 100000;  // Spearman: pairs sampled (seeded, with replacement) beyond this many
};

// A percentile bootstrap interval (2.5% and 97.5%, linear interpolation between order statistics).
struct Interval {
  double low = NAN, high = NAN;
};

// The numbers of one clustering of the analysed rows (the loss patterns, or a control). Cosines are of
// the projected gradients; a pair mean is over unordered pairs of distinct rows.
struct PremiseNumbers {
  int64_t same_pairs = 0, other_pairs = 0, random_pairs = 0;
  double same_cluster = NAN;   // pairs in the same group and the same cluster
  double other_cluster = NAN;  // pairs in the same group, different clusters
  double random = NAN;         // every pair of analysed rows (any groups)
  double gap = NAN;            // same_cluster - random
  Interval gap_interval;       // bootstrap over rows (below)
  double gap_other = NAN;      // same_cluster - other_cluster
  Interval gap_other_interval;
  double spearman = NAN;       // rank correlation of the clustering's distance and the cosine (below)
  int64_t spearman_pairs = 0;  // pairs behind `spearman`
};

struct PremiseResult {
  int64_t rows = 0;                    // G
  int64_t examples = 0;                // rows analysed
  int64_t groups = 0;                  // groups with an analysed row
  int64_t clusters = 0;                // loss-pattern clusters with an analysed row
  PremiseNumbers loss;                 // the loss-pattern clusters
  PremiseNumbers random_clusters;      // control: each group's labels shuffled (same cluster sizes)
  PremiseNumbers difficulty_clusters;  // control: each group split into as many difficulty quantile bins
  bool testable = false;               // some group has a same-cluster and an other-cluster pair
  bool holds = false;                  // both loss-pattern gaps' intervals lie above 0 (below)
  std::string verdict;                 // one sentence stating whether the premise holds, with the numbers
};

// The test. Pair means are exact (every pair, through per-cluster sums of unit gradients). The interval
// resamples the analysed rows with replacement (`bootstrap` times) and recomputes each pair mean as
// sum over drawn rows of their pair sums / sum of their pair counts (partners stay the full sample);
// replicates where a mean is undefined are dropped. Spearman: pairs of distinct analysed rows in the
// same group (every such pair, or max_pairs drawn: group by pair count, then two distinct rows);
// distance = Euclidean between feature rows (loss), |difficulty difference| (difficulty control; pairs
// with a NaN difficulty left out); none for the random control (NaN). A premise that holds gives a
// negative Spearman (closer loss patterns, more similar gradients).
// The verdict asks both gaps' intervals to lie above 0: pairs of one source tend to be more alike than
// random pairs whatever the clusters (the random control shows it), so the gap to random pairs alone
// would credit the clusters with the source's effect; the gap to the same source's other clusters
// does not. Throws DataError for inconsistent sizes.
PremiseResult premise_test(const PremiseInput& input, const PremiseOptions& options);

// Spearman's rank correlation of paired finite samples (average ranks for ties); NaN when fewer than
// two pairs or a sample is constant. Throws DataError when the sizes differ.
double spearman(std::span<const double> x, std::span<const double> y);

}  // namespace curate::select
