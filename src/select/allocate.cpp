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

// The mean rounded to float32 (the reference takes float32 means), NaN without values.
double float32_mean(double sum, int64_t count) {
  if (count <= 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(static_cast<float>(sum / static_cast<double>(count)));
}

void check_split(std::span<const double> scores, std::span<const int64_t> capacity, int64_t budget,
                 double temperature) {
  if (scores.size() != capacity.size()) {
    throw DataError(cat("budget allocation: ", scores.size(), " scores but ", capacity.size(), " capacities"));
  }
  if (budget < 0) throw ConfigError(cat("budget allocation: the budget ", budget, " is negative"));
  if (!(temperature > 0.0)) throw ConfigError(cat("budget allocation: temperature ", temperature, " must be > 0"));
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (capacity[i] < 0) throw DataError(cat("budget allocation: group ", i, " has negative capacity ", capacity[i]));
    if (scores[i] == std::numeric_limits<double>::infinity()) {
      throw DataError(cat("budget allocation: group ", i, " has an infinite score; its losses are not finite"));
    }
  }
}

// numpy's pairwise_sum for float64 (numpy/core/src/umath/loops_utils.h), block size 128.
double pairwise_sum(const double* a, std::size_t n) {
  if (n < 8) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += a[i];
    return sum;
  }
  if (n <= 128) {
    double r[8];
    for (std::size_t j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - n % 8; i += 8) {
      for (std::size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += a[i];
    return sum;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

}  // namespace

Shares water_fill(std::span<const double> scores, std::span<const int64_t> capacity, int64_t budget,
                  double temperature) {
  check_split(scores, capacity, budget, temperature);
  const std::size_t n = scores.size();
  int64_t total = 0;
  for (std::size_t i = 0; i < n; ++i) total += capacity[i];
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

double numpy_sum(std::span<const double> values) {
  if (values.empty()) return 0.0;
  return values[0] + pairwise_sum(values.data() + 1, values.size() - 1);
}

Shares reference_split(std::span<const double> scores, std::span<const int64_t> capacity, int64_t budget,
                       double temperature) {
  check_split(scores, capacity, budget, temperature);
  const std::size_t n = scores.size();
  Shares result{std::vector<double>(n, 0.0), std::vector<int64_t>(n, 0)};
  if (n == 0) return result;
  std::vector<double> weight(n);
  for (std::size_t i = 0; i < n; ++i) weight[i] = std::exp(std::isnan(scores[i]) ? 0.0 : scores[i] / temperature);
  const double total = numpy_sum(weight);
  std::vector<double> p(n);
  for (std::size_t i = 0; i < n; ++i) {
    p[i] = weight[i] / total;
    result.share[i] = p[i] * static_cast<double>(budget);
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return capacity[a] < capacity[b]; });
  std::vector<uint8_t> open(n, 1);  // not visited yet: its p still counts in the denominator
  int64_t remaining = budget;
  for (std::size_t i : order) {
    const auto requested = static_cast<int64_t>(p[i] * static_cast<double>(budget));
    if (capacity[i] < requested) {
      result.allocated[i] = capacity[i];
    } else {
      double open_sum = 0.0;  // Python's sum() over the dict in input order
      for (std::size_t j = 0; j < n; ++j) {
        if (open[j]) open_sum += p[j];
      }
      const auto given = static_cast<int64_t>(p[i] / open_sum * static_cast<double>(remaining));
      result.allocated[i] = std::min(given, capacity[i]);
    }
    remaining -= result.allocated[i];
    open[i] = 0;
  }
  for (auto it = order.rbegin(); it != order.rend() && remaining > 0; ++it) {
    const int64_t add = std::min(remaining, capacity[*it] - result.allocated[*it]);
    if (add > 0) {
      result.allocated[*it] += add;
      remaining -= add;
    }
  }
  return result;
}

double group_score(double mean_first, double mean_last, bool* clamped) {
  const double score = std::sqrt((mean_last - mean_first) * mean_last);
  if (clamped != nullptr) *clamped = std::isnan(score);
  return std::isnan(score) ? 0.0 : score;
}

AllocationMode parse_allocation_mode(const std::string& name) {
  if (name == "reference") return AllocationMode::kReference;
  if (name == "water-fill") return AllocationMode::kWaterFill;
  throw ConfigError(cat("select.allocation = '", name, "' is unknown; use reference or water-fill"));
}

int64_t reference_k(int64_t allocated, int64_t per_cluster) {
  return std::max<int64_t>(1, allocated / std::max<int64_t>(1, per_cluster));
}

Allocation allocate_hierarchical(std::span<const GroupStats> groups, int64_t budget, double temperature,
                                 AllocationMode mode) {
  const auto split = [&](std::span<const double> score, std::span<const int64_t> capacity, int64_t units) {
    return mode == AllocationMode::kReference ? reference_split(score, capacity, units, temperature)
                                              : water_fill(score, capacity, units, temperature);
  };
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
  std::vector<uint8_t> domain_clamped(domains);
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
    bool clamped = false;
    domain_score[d] =
        group_score(float32_mean(p.sum_first, p.count_first), float32_mean(p.sum_last, p.count_last), &clamped);
    domain_clamped[d] = clamped;
    domain_capacity[d] = p.capacity;
  }
  const Shares across = split(domain_score, domain_capacity, budget);

  Allocation result;
  result.allocated.assign(groups.size(), 0);
  for (std::size_t d = 0; d < domains; ++d) {
    result.rows.push_back({"domain", domain_ids[d], -1, pooled[d].examples, domain_score[d], domain_clamped[d] != 0,
                           across.share[d], across.allocated[d]});
    std::vector<double> score;
    std::vector<uint8_t> clamped;
    std::vector<int64_t> capacity;
    for (std::size_t g : members[d]) {
      const GroupStats& s = groups[g];
      bool nan = false;
      score.push_back(
          group_score(float32_mean(s.sum_first, s.count_first), float32_mean(s.sum_last, s.count_last), &nan));
      clamped.push_back(nan);
      capacity.push_back(s.capacity);
    }
    const Shares within = split(score, capacity, across.allocated[d]);
    for (std::size_t j = 0; j < members[d].size(); ++j) {
      const GroupStats& s = groups[members[d][j]];
      result.allocated[members[d][j]] = within.allocated[j];
      result.rows.push_back(
          {"source", s.domain, s.source, s.examples, score[j], clamped[j] != 0, within.share[j], within.allocated[j]});
    }
  }
  return result;
}

}  // namespace curate::select
