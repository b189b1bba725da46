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
// Throws ConfigError for invalid options, DataError for mismatched sizes or negative source ids.
std::vector<uint8_t> difficulty_filter(std::span<const float> difficulty, std::span<const int32_t> source,
                                       const FilterOptions& options);

// 1-D k-means of `sorted` (ascending, finite, non-empty): k' = min(k, distinct values) centroids
// initialised at the quantiles (j + 0.5) / k', Lloyd until no assignment changes or 100 iterations;
// ties go to the lower centroid index, an empty cluster keeps its centroid, means in double.
// Returns the k' centroids; assign[i] (resized to sorted.size()) receives the cluster of sorted[i].
std::vector<double> kmeans_1d(std::span<const double> sorted, int k, std::vector<int32_t>& assign);

// numpy.quantile(sorted, q) with the default "linear" method; `sorted` ascending and non-empty.
double quantile_linear(std::span<const double> sorted, double q);

}  // namespace curate::select
