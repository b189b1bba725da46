#include "curate/select/within.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "curate/util/error.h"
#include "curate/util/strings.h"
#include "random.h"

namespace curate::select {

WithinPath within_path(int64_t allocated, int64_t capacity) {
  if (allocated <= 0) return WithinPath::kTakeNone;
  if (allocated >= capacity) return WithinPath::kTakeAll;
  return WithinPath::kClusters;
}

const char* path_name(WithinPath path) {
  switch (path) {
    case WithinPath::kTakeNone:
      return "take_none";
    case WithinPath::kTakeAll:
      return "take_all";
    case WithinPath::kClusters:
      return "kmeans";
  }
  return "?";
}

ClusterPicks pick_in_clusters(std::span<const float> first, std::span<const float> last, std::span<const int64_t> label,
                              std::span<const int64_t> cost, int64_t budget, std::mt19937_64& rng) {
  const std::size_t n = first.size();
  if (last.size() != n || label.size() != n || cost.size() != n) {
    throw DataError(cat("cluster picks: ", n, " first values, ", last.size(), " last values, ", label.size(),
                        " labels and ", cost.size(), " costs; all must have one per candidate"));
  }
  std::map<int64_t, std::vector<int64_t>> members;  // label -> ascending positions
  for (std::size_t j = 0; j < n; ++j) members[label[j]].push_back(static_cast<int64_t>(j));
  std::vector<const std::vector<int64_t>*> order;  // clusters of >= 2 members, ascending label
  std::vector<int64_t> singletons;                 // ascending position
  for (const auto& [id, rows] : members) {
    if (rows.size() >= 2)
      order.push_back(&rows);
    else
      singletons.push_back(rows.front());
  }
  std::sort(singletons.begin(), singletons.end());
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return a->size() < b->size(); });

  ClusterPicks picks;
  picks.key.assign(n, std::numeric_limits<float>::quiet_NaN());
  picks.singleton_pool = static_cast<int64_t>(singletons.size());
  // Takes `ranked` in order while each cost fits in `limit`; returns the units used.
  auto take = [&](std::span<const int64_t> ranked, int64_t limit) {
    int64_t used = 0;
    for (int64_t j : ranked) {
      const int64_t c = cost[static_cast<std::size_t>(j)];
      if (c > limit - used) break;
      used += c;
      picks.taken.push_back(j);
    }
    return used;
  };
  int64_t remaining = budget;
  auto clusters_left = static_cast<int64_t>(order.size());
  for (const std::vector<int64_t>* rows : order) {
    double sum_first = 0.0, sum_last = 0.0;
    for (int64_t j : *rows) {
      sum_first += first[static_cast<std::size_t>(j)];
      sum_last += last[static_cast<std::size_t>(j)];
    }
    const auto size = static_cast<double>(rows->size());
    const bool rising = sum_first / size < sum_last / size;
    for (int64_t j : *rows) {
      const auto i = static_cast<std::size_t>(j);
      picks.key[i] = rising ? last[i] - first[i] : first[i] - last[i];
    }
    std::vector<int64_t> ranked = *rows;
    std::stable_sort(ranked.begin(), ranked.end(), [&](int64_t a, int64_t b) {  // NaN keys last
      const float ka = picks.key[static_cast<std::size_t>(a)], kb = picks.key[static_cast<std::size_t>(b)];
      return std::isnan(kb) ? !std::isnan(ka) : ka > kb;
    });
    remaining -= take(ranked, remaining / clusters_left--);
  }
  detail::shuffle(singletons, rng);
  const std::size_t before = picks.taken.size();
  take(singletons, remaining);
  picks.from_fill = static_cast<int64_t>(picks.taken.size() - before);
  return picks;
}

}  // namespace curate::select
