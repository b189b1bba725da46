#include "curate/select/filter.h"

#include <algorithm>
#include <cmath>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::select {

double quantile_linear(std::span<const double> sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  const double t = position - static_cast<double>(below);
  const double a = sorted[below], b = sorted[above];
  // numpy's _lerp: a + (b - a) t, computed from the upper end when t >= 0.5.
  return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
}

std::vector<double> kmeans_1d(std::span<const double> sorted, int k, std::vector<int32_t>& assign) {
  std::size_t distinct = sorted.empty() ? 0 : 1;
  for (std::size_t i = 1; i < sorted.size(); ++i) distinct += sorted[i] != sorted[i - 1];
  const auto clusters = static_cast<std::size_t>(std::min<std::size_t>(static_cast<std::size_t>(k), distinct));
  std::vector<double> centroid(clusters);
  for (std::size_t j = 0; j < clusters; ++j) {
    centroid[j] = quantile_linear(sorted, (static_cast<double>(j) + 0.5) / static_cast<double>(clusters));
  }
  assign.assign(sorted.size(), -1);
  std::vector<double> sum(clusters);
  std::vector<int64_t> count(clusters);
  for (int iteration = 0; iteration < 100 && clusters > 0; ++iteration) {
    bool changed = false;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      int32_t best = 0;
      for (std::size_t j = 1; j < clusters; ++j) {
        if (std::abs(sorted[i] - centroid[j]) < std::abs(sorted[i] - centroid[best])) best = static_cast<int32_t>(j);
      }
      changed |= assign[i] != best;
      assign[i] = best;
    }
    if (!changed) break;
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(count.begin(), count.end(), 0);
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      sum[static_cast<std::size_t>(assign[i])] += sorted[i];
      ++count[static_cast<std::size_t>(assign[i])];
    }
    for (std::size_t j = 0; j < clusters; ++j) {
      if (count[j] > 0) centroid[j] = sum[j] / static_cast<double>(count[j]);
    }
  }
  return centroid;
}

namespace {

// The kmeans rule for one source (`sorted` values of `rows`): sets kept[rows[i]] for the members of
// the `keep` non-empty clusters with the highest centroids (ties: lower cluster index).
void keep_top_clusters(std::span<const double> sorted, std::span<const int64_t> rows, const FilterOptions& options,
                       std::vector<uint8_t>& kept) {
  std::vector<int32_t> assign;
  const std::vector<double> centroid = kmeans_1d(sorted, options.k, assign);
  std::vector<int64_t> members(centroid.size());
  for (int32_t a : assign) ++members[static_cast<std::size_t>(a)];
  std::vector<std::size_t> order;
  for (std::size_t j = 0; j < centroid.size(); ++j) {
    if (members[j] > 0) order.push_back(j);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return centroid[a] > centroid[b]; });
  std::vector<uint8_t> top(centroid.size(), 0);
  for (std::size_t j = 0; j < order.size() && j < static_cast<std::size_t>(options.keep); ++j) top[order[j]] = 1;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (top[static_cast<std::size_t>(assign[i])]) kept[static_cast<std::size_t>(rows[i])] = 1;
  }
}

}  // namespace

std::vector<uint8_t> whole_sources(const std::vector<std::vector<int64_t>>& rows, int64_t budget) {
  std::vector<uint8_t> whole(rows.size(), 0);
  if (budget <= 0) return whole;
  std::vector<std::size_t> order;
  for (std::size_t s = 0; s < rows.size(); ++s) {
    if (!rows[s].empty()) order.push_back(s);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return rows[a].size() < rows[b].size(); });
  int64_t left = budget;
  auto open = static_cast<int64_t>(order.size());  // sources not kept whole
  for (std::size_t s : order) {
    const auto size = static_cast<int64_t>(rows[s].size());
    if (size <= left / open) {
      whole[s] = 1;
      left -= size;
      --open;
      if (open == 0) break;
    }
  }
  return whole;
}

std::vector<uint8_t> difficulty_filter(std::span<const float> difficulty, std::span<const int32_t> source,
                                       const FilterOptions& options) {
  validate(options);
  if (difficulty.size() != source.size()) {
    throw DataError(cat("difficulty filter: ", difficulty.size(), " difficulty values but ", source.size(),
                        " source ids; both must have one value per example"));
  }
  int32_t sources = 0;
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source[i] < 0) throw DataError(cat("difficulty filter: example ", i, " has negative source id ", source[i]));
    sources = std::max(sources, source[i] + 1);
  }
  // Rows of each source with a finite value, sorted by (value, row).
  std::vector<std::vector<int64_t>> rows(static_cast<std::size_t>(sources));
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (std::isfinite(difficulty[i])) rows[static_cast<std::size_t>(source[i])].push_back(static_cast<int64_t>(i));
  }
  std::vector<uint8_t> kept(source.size(), 0);
  const std::vector<uint8_t> whole = whole_sources(rows, options.whole_budget);
  std::vector<double> sorted;
  for (std::size_t s = 0; s < rows.size(); ++s) {
    auto& members = rows[s];
    if (members.empty()) continue;
    if (whole[s]) {
      for (int64_t row : members) kept[static_cast<std::size_t>(row)] = 1;
      continue;
    }
    std::stable_sort(members.begin(), members.end(), [&](int64_t a, int64_t b) {
      return difficulty[static_cast<std::size_t>(a)] < difficulty[static_cast<std::size_t>(b)];
    });
    sorted.resize(members.size());
    for (std::size_t i = 0; i < members.size(); ++i) sorted[i] = difficulty[static_cast<std::size_t>(members[i])];
    if (options.method == FilterMethod::kKmeans) {
      keep_top_clusters(sorted, members, options, kept);
    } else if (options.method == FilterMethod::kQuantile) {
      const double threshold = quantile_linear(sorted, options.quantile);
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (sorted[i] >= threshold) kept[static_cast<std::size_t>(members[i])] = 1;
      }
    } else {
      for (int64_t row : members) kept[static_cast<std::size_t>(row)] = 1;
    }
  }
  return kept;
}

}  // namespace curate::select
