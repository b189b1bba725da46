// The temp method's rule inside one source, given its clusters (the reference's learnability branch,
// TEMP selector.py:791-909): which path a source takes, and which candidates each cluster gives.
// Shared by select (clusters from k-means) and the conformance check (clusters from a fixture).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace curate::select {

enum class WithinPath {
  kTakeNone,  // allocated 0: nothing taken, no k-means
  kTakeAll,   // allocated >= the source's capacity: every candidate taken, no k-means
  kClusters,  // k-means, then pick_in_clusters
};

// The path of a source allocated `allocated` units out of `capacity` (candidates, or their tokens).
WithinPath within_path(int64_t allocated, int64_t capacity);

// Name as the fixtures write it: take_none, take_all, kmeans.
const char* path_name(WithinPath path);

struct ClusterPicks {
  std::vector<int64_t> taken;  // candidate positions, in taking order (random fill last)
  int64_t from_fill = 0;       // the last from_fill entries of `taken` came from the random fill
  int64_t singleton_pool = 0;  // one-member clusters
  std::vector<float> key;      // [n] ranking key (brittleness, float32), NaN for one-member clusters
};

// n candidates; first[j], last[j]: the candidate's mean loss at the first and the last profile
// checkpoint (float32, NaN already replaced by 0); label[j]: its cluster (any integers); cost[j]: its
// budget units (1 under an example budget). Clusters of >= 2 members are visited by ascending size
// (ties: ascending label); cluster i of m gets quota = remaining / (m - i). A cluster ranks its
// members by last - first (float32) descending, or by first - last when its mean first >= its mean
// last (equality counts as falling; means in double); ties by lower position. It gives its ranked
// members while their cost fits in the quota (all of them when they fit) and what it gave leaves
// `remaining`. What is left is then drawn uniformly from the one-member clusters (`rng`, in
// ascending position order before the shuffle) while it fits. Budget never goes back to clusters
// of >= 2 members. Throws DataError for mismatched sizes.
ClusterPicks pick_in_clusters(std::span<const float> first, std::span<const float> last, std::span<const int64_t> label,
                              std::span<const int64_t> cost, int64_t budget, std::mt19937_64& rng);

}  // namespace curate::select
