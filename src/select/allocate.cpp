#include "curate/select/allocate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::select {
namespace {

// Scores with NaN and -inf replaced by the minimum finite score (0 if none).
std::vector<double> effective_scores(std::span<const double> scores) {
  double lowest = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (scores[i] == std::numeric_limits<double>::infinity()) {
      throw DataError(cat("budget allocation: group ", i, " has an infinite score; its losses are not finite"));
    }
    if (std::isfinite(scores[i])) lowest = std::min(lowest, scores[i]);
  }
  if (!std::isfinite(lowest)) lowest = 0.0;
  std::vector<double> result(scores.begin(), scores.end());
  for (double& s : result) {
    if (!std::isfinite(s)) s = lowest;
  }
  return result;
}

double mean_or_nan(double sum, int64_t count) {
  return count > 0 ? sum / static_cast<double>(count) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

Shares water_fill(std::span<const double> scores, std::span<const int64_t> capacity, int64_t budget,
                  double temperature) {
  if (scores.size() != capacity.size()) {
    throw DataError(cat("budget allocation: ", scores.size(), " scores but ", capacity.size(), " capacities"));
  }
  if (budget < 0) throw ConfigError(cat("budget allocation: the budget ", budget, " is negative"));
  if (!(temperature > 0.0)) throw ConfigError(cat("budget allocation: temperature ", temperature, " must be > 0"));
  const std::size_t n = scores.size();
  int64_t total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (capacity[i] < 0) throw DataError(cat("budget allocation: group ", i, " has negative capacity ", capacity[i]));
    total += capacity[i];
  }
  Shares result{std::vector<double>(n, 0.0), std::vector<int64_t>(n, 0)};
  if (budget >= total) {
    for (std::size_t i = 0; i < n; ++i) {
      result.share[i] = static_cast<double>(capacity[i]);
      result.allocated[i] = capacity[i];
    }
    return result;
  }
  const std::vector<double> score = effective_scores(scores);
  std::vector<std::size_t> active;
  for (std::size_t i = 0; i < n; ++i) {
    if (capacity[i] > 0) active.push_back(i);
  }
  std::vector<uint8_t> saturated(n, 0);
  int64_t remaining = budget;
  std::vector<double> weight(n);
  // remaining < capacity of the active groups throughout, so some group always stays unsaturated.
  while (!active.empty()) {
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t i : active) top = std::max(top, score[i] / temperature);
    double sum = 0.0;
    for (std::size_t i : active) sum += weight[i] = std::exp(score[i] / temperature - top);
    std::vector<std::size_t> rest;
    for (std::size_t i : active) {
      result.share[i] = static_cast<double>(remaining) * weight[i] / sum;
      if (static_cast<double>(capacity[i]) <= result.share[i]) {
        saturated[i] = 1;
      } else {
        rest.push_back(i);
      }
    }
    if (rest.size() == active.size()) break;
    for (std::size_t i : active) {
      if (saturated[i]) {
        result.share[i] = static_cast<double>(capacity[i]);
        remaining -= capacity[i];
      }
    }
    active = std::move(rest);
  }
  int64_t given = 0;
  for (std::size_t i = 0; i < n; ++i) {
    result.allocated[i] = saturated[i] ? capacity[i] : static_cast<int64_t>(std::floor(result.share[i]));
    given += result.allocated[i];
  }
  std::vector<std::size_t> by_capacity(n);
  std::iota(by_capacity.begin(), by_capacity.end(), std::size_t{0});
  std::stable_sort(by_capacity.begin(), by_capacity.end(),
                   [&](std::size_t a, std::size_t b) { return capacity[a] > capacity[b]; });
  for (int64_t leftover = budget - given; leftover > 0;) {
    for (std::size_t i : by_capacity) {
      if (leftover == 0) break;
      if (result.allocated[i] < capacity[i]) {
        ++result.allocated[i];
        --leftover;
      }
    }
  }
  return result;
}

std::vector<int64_t> allocate(std::span<const double> scores, std::span<const int64_t> capacity, int64_t budget,
                              double temperature) {
  return water_fill(scores, capacity, budget, temperature).allocated;
}

double group_score(double mean_first, double mean_last) {
  if (std::isnan(mean_first) || std::isnan(mean_last)) return 0.0;
  return std::sqrt(std::max(0.0, mean_last - mean_first) * mean_last);
}

Allocation allocate_hierarchical(std::span<const GroupStats> groups, int64_t budget, double temperature) {
  // Domains in order of first appearance, each with its groups in input order.
  std::vector<int32_t> domain_ids;
  std::vector<std::vector<std::size_t>> members;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto it = std::find(domain_ids.begin(), domain_ids.end(), groups[g].domain);
    if (it == domain_ids.end()) {
      domain_ids.push_back(groups[g].domain);
      members.emplace_back();
      it = domain_ids.end() - 1;
    }
    members[static_cast<std::size_t>(it - domain_ids.begin())].push_back(g);
  }
  const std::size_t domains = domain_ids.size();
  std::vector<GroupStats> pooled(domains);
  std::vector<double> domain_score(domains);
  std::vector<int64_t> domain_capacity(domains);
  for (std::size_t d = 0; d < domains; ++d) {
    GroupStats& p = pooled[d];
    for (std::size_t g : members[d]) {
      p.examples += groups[g].examples;
      p.capacity += groups[g].capacity;
      p.sum_first += groups[g].sum_first;
      p.count_first += groups[g].count_first;
      p.sum_last += groups[g].sum_last;
      p.count_last += groups[g].count_last;
    }
    domain_score[d] = group_score(mean_or_nan(p.sum_first, p.count_first), mean_or_nan(p.sum_last, p.count_last));
    domain_capacity[d] = p.capacity;
  }
  const Shares across = water_fill(domain_score, domain_capacity, budget, temperature);

  Allocation result;
  result.allocated.assign(groups.size(), 0);
  for (std::size_t d = 0; d < domains; ++d) {
    result.rows.push_back({"domain", domain_ids[d], -1, pooled[d].examples, domain_score[d], across.share[d],
                           across.allocated[d]});
    std::vector<double> score;
    std::vector<int64_t> capacity;
    for (std::size_t g : members[d]) {
      const GroupStats& s = groups[g];
      score.push_back(group_score(mean_or_nan(s.sum_first, s.count_first), mean_or_nan(s.sum_last, s.count_last)));
      capacity.push_back(s.capacity);
    }
    const Shares within = water_fill(score, capacity, across.allocated[d], temperature);
    for (std::size_t j = 0; j < members[d].size(); ++j) {
      const GroupStats& s = groups[members[d][j]];
      result.allocated[members[d][j]] = within.allocated[j];
      result.rows.push_back({"source", s.domain, s.source, s.examples, score[j], within.share[j], within.allocated[j]});
    }
  }
  return result;
}

}  // namespace curate::select
