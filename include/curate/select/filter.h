// Difficulty filter: keeps, per source, the examples whose early-reasoning loss is high enough to be
// worth profiling. Deterministic (no random choice).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "curate/select/options.h"

namespace curate::select {

// Kept flags (1 = kept) for N examples. `difficulty` [N]: mean loss of the first 100 reasoning tokens
// (NaN = not scored: never kept); `source` [N]: source id (>= 0). Sources are filtered independently:
//   kmeans:   1-D k-means of the source's finite values (see kmeans_1d), keep the members of the
//             `keep` non-empty clusters with the highest centroids;
//   quantile: keep value >= the source's `quantile` quantile (numpy's default linear interpolation);
//   none:     keep every finite value.
// Before that, the reference's small-source rule (options.whole_budget > 0, see whole_sources): a
// source small enough is kept whole (its finite values) without the per-source rule.
// Throws ConfigError for invalid options, DataError for mismatched sizes or negative source ids.
std::vector<uint8_t> difficulty_filter(std::span<const float> difficulty, std::span<const int32_t> source,
                                       const FilterOptions& options);

// The reference's small-source rule (TEMP selector.py:566-580): the non-empty sources (rows[s] = the
// rows of source s) visited by ascending row count (ties: lower source id); with `left` starting at
// `budget`, a source with at most left / (sources not kept whole) rows is kept whole and its rows
// are taken off `left`; others change nothing. Returns 1 per source kept whole; budget 0: none.
std::vector<uint8_t> whole_sources(const std::vector<std::vector<int64_t>>& rows, int64_t budget);

// 1-D k-means of `sorted` (ascending, finite, non-empty): k' = min(k, distinct values) centroids
// initialised at the quantiles (j + 0.5) / k', Lloyd until no assignment changes or 100 iterations;
// ties go to the lower centroid index, an empty cluster keeps its centroid, means in double.
// Returns the k' centroids; assign[i] (resized to sorted.size()) receives the cluster of sorted[i].
std::vector<double> kmeans_1d(std::span<const double> sorted, int k, std::vector<int32_t>& assign);

// numpy.quantile(sorted, q) with the default "linear" method; `sorted` ascending and non-empty.
double quantile_linear(std::span<const double> sorted, double q);

}  // namespace curate::select
