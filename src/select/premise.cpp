#include "curate/select/premise.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "curate/util/error.h"
#include "curate/util/hash.h"
#include "curate/util/strings.h"
#include "random.h"

namespace curate::select {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The analysed rows: their unit gradients [n, D] and their group, cluster, difficulty, features.
struct Rows {
  std::size_t d = 0, f = 0;
  std::vector<float> unit;  // [n, D]
  std::vector<int32_t> group, cluster;
  std::vector<float> difficulty, features;  // [n], [n, F]
  std::size_t size() const { return group.size(); }
  const float* at(std::size_t i) const { return unit.data() + i * d; }
};

void check_sizes(const PremiseInput& in) {
  const std::size_t g = in.group.size();
  const auto d = static_cast<std::size_t>(in.dim), f = static_cast<std::size_t>(in.feature_dim);
  const bool indexed = !in.gradient_row.empty();
  if (in.dim < 1 || in.feature_dim < 1 || in.gradients.size() % d != 0 || (!indexed && in.gradients.size() != g * d) ||
      (indexed && in.gradient_row.size() != g) || in.cluster.size() != g || in.features.size() != g * f ||
      in.difficulty.size() != g) {
    throw DataError(cat("premise_test: inconsistent sizes: ", g, " groups, ", in.cluster.size(), " clusters, ",
                        in.difficulty.size(), " difficulties, ", in.gradients.size(), " gradient values (D = ", in.dim,
                        "), ", in.features.size(), " feature values (F = ", in.feature_dim, ")"));
  }
}

Rows analysed_rows(const PremiseInput& in) {
  Rows rows;
  rows.d = static_cast<std::size_t>(in.dim);
  rows.f = static_cast<std::size_t>(in.feature_dim);
  for (std::size_t i = 0; i < in.group.size(); ++i) {
    if (in.cluster[i] < 0 || in.group[i] < 0) continue;
    const auto row = in.gradient_row.empty() ? i : static_cast<std::size_t>(in.gradient_row[i]);
    if (row >= in.gradients.size() / rows.d) {
      throw DataError(cat("premise_test: row ", i, " names gradient row ", in.gradient_row[i], " of ",
                          in.gradients.size() / rows.d));
    }
    const std::span<const float> g = in.gradients.subspan(row * rows.d, rows.d);
    double squares = 0.0;
    for (float v : g) squares += static_cast<double>(v) * v;
    if (!(squares > 0.0) || !std::isfinite(squares)) continue;
    const double norm = std::sqrt(squares);
    for (float v : g) rows.unit.push_back(static_cast<float>(v / norm));
    rows.group.push_back(in.group[i]);
    rows.cluster.push_back(in.cluster[i]);
    rows.difficulty.push_back(in.difficulty[i]);
    for (std::size_t k = 0; k < rows.f; ++k) rows.features.push_back(in.features[i * rows.f + k]);
  }
  return rows;
}

double dot(const float* a, const float* b, std::size_t d) {
  double sum = 0.0;
  for (std::size_t k = 0; k < d; ++k) sum += static_cast<double>(a[k]) * b[k];
  return sum;
}

double dot(const float* a, const std::vector<double>& b) {
  double sum = 0.0;
  for (std::size_t k = 0; k < b.size(); ++k) sum += static_cast<double>(a[k]) * b[k];
  return sum;
}

// Per row: the summed cosine to, and the number of, partners of each pair class.
struct PairSums {
  std::vector<double> same, other, random;
  std::vector<int64_t> n_same, n_other, n_random;
};

PairSums pair_sums(const Rows& rows, const std::vector<int32_t>& label) {
  const std::size_t n = rows.size();
  std::map<std::pair<int32_t, int32_t>, std::size_t> cluster_index;
  std::map<int32_t, std::size_t> group_index;
  for (std::size_t i = 0; i < n; ++i) {
    cluster_index.emplace(std::pair{rows.group[i], label[i]}, cluster_index.size());
    group_index.emplace(rows.group[i], group_index.size());
  }
  std::vector<std::vector<double>> cluster_sum(cluster_index.size(), std::vector<double>(rows.d, 0.0));
  std::vector<std::vector<double>> group_sum(group_index.size(), std::vector<double>(rows.d, 0.0));
  std::vector<double> all(rows.d, 0.0);
  std::vector<int64_t> cluster_size(cluster_index.size(), 0), group_size(group_index.size(), 0);
  std::vector<std::size_t> c_of(n), g_of(n);
  for (std::size_t i = 0; i < n; ++i) {  // sums in row order: the same bits every time
    c_of[i] = cluster_index.at({rows.group[i], label[i]});
    g_of[i] = group_index.at(rows.group[i]);
    ++cluster_size[c_of[i]];
    ++group_size[g_of[i]];
    for (std::size_t k = 0; k < rows.d; ++k) {
      cluster_sum[c_of[i]][k] += rows.at(i)[k];
      group_sum[g_of[i]][k] += rows.at(i)[k];
      all[k] += rows.at(i)[k];
    }
  }
  PairSums s;
  for (std::size_t i = 0; i < n; ++i) {
    const double self = dot(rows.at(i), rows.at(i), rows.d);
    const double in_cluster = dot(rows.at(i), cluster_sum[c_of[i]]);
    s.same.push_back(in_cluster - self);
    s.other.push_back(dot(rows.at(i), group_sum[g_of[i]]) - in_cluster);
    s.random.push_back(dot(rows.at(i), all) - self);
    s.n_same.push_back(cluster_size[c_of[i]] - 1);
    s.n_other.push_back(group_size[g_of[i]] - cluster_size[c_of[i]]);
    s.n_random.push_back(static_cast<int64_t>(n) - 1);
  }
  return s;
}

// Sum of weight[i] * value[i] / sum of weight[i] * count[i]; NaN when no pair counts.
double weighted_mean(const std::vector<double>& value, const std::vector<int64_t>& count,
                     const std::vector<int64_t>& weight) {
  double sum = 0.0, pairs = 0.0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    sum += static_cast<double>(weight[i]) * value[i];
    pairs += static_cast<double>(weight[i]) * static_cast<double>(count[i]);
  }
  return pairs > 0 ? sum / pairs : kNaN;
}

// Linear interpolation between order statistics (numpy's default), of the finite values.
Interval percentile_interval(std::vector<double> values) {
  std::erase_if(values, [](double v) { return !std::isfinite(v); });
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) {
    const double pos = q * static_cast<double>(values.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(pos));
    const std::size_t above = std::min(below + 1, values.size() - 1);
    return values[below] + (pos - static_cast<double>(below)) * (values[above] - values[below]);
  };
  return {at(0.025), at(0.975)};
}

// Pair means and their gaps, with bootstrap intervals (the same draws for every clustering).
PremiseNumbers pair_numbers(const Rows& rows, const std::vector<int32_t>& label, const PremiseOptions& options) {
  const PairSums s = pair_sums(rows, label);
  const std::size_t n = rows.size();
  PremiseNumbers out;
  const std::vector<int64_t> ones(n, 1);
  out.same_cluster = weighted_mean(s.same, s.n_same, ones);
  out.other_cluster = weighted_mean(s.other, s.n_other, ones);
  out.random = weighted_mean(s.random, s.n_random, ones);
  for (std::size_t i = 0; i < n; ++i) {
    out.same_pairs += s.n_same[i], out.other_pairs += s.n_other[i], out.random_pairs += s.n_random[i];
  }
  out.same_pairs /= 2, out.other_pairs /= 2, out.random_pairs /= 2;
  out.gap = out.same_cluster - out.random;
  out.gap_other = out.same_cluster - out.other_cluster;
  std::mt19937_64 rng(hash_seed(options.seed, "premise bootstrap"));
  std::vector<double> gaps, gaps_other;
  std::vector<int64_t> weight(n);
  for (int b = 0; b < options.bootstrap && n > 0; ++b) {
    std::fill(weight.begin(), weight.end(), 0);
    for (std::size_t j = 0; j < n; ++j) ++weight[detail::uniform_index(rng, n)];
    const double same = weighted_mean(s.same, s.n_same, weight);
    gaps.push_back(same - weighted_mean(s.random, s.n_random, weight));
    gaps_other.push_back(same - weighted_mean(s.other, s.n_other, weight));
  }
  out.gap_interval = percentile_interval(std::move(gaps));
  out.gap_other_interval = percentile_interval(std::move(gaps_other));
  return out;
}

// Pairs of distinct rows in the same group: every one, or max_pairs drawn.
std::vector<std::pair<std::size_t, std::size_t>> group_pairs(const Rows& rows, const PremiseOptions& options) {
  std::map<int32_t, std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < rows.size(); ++i) members[rows.group[i]].push_back(i);
  std::vector<const std::vector<std::size_t>*> groups;
  std::vector<int64_t> cumulative;  // pairs in groups[0..g]
  int64_t total = 0;
  for (const auto& [group, rows_of] : members) {
    const auto m = static_cast<int64_t>(rows_of.size());
    if (m < 2) continue;
    total += m * (m - 1) / 2;
    groups.push_back(&rows_of);
    cumulative.push_back(total);
  }
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  if (total <= options.max_pairs) {
    for (const auto* g : groups) {
      for (std::size_t a = 0; a < g->size(); ++a) {
        for (std::size_t b = a + 1; b < g->size(); ++b) pairs.emplace_back((*g)[a], (*g)[b]);
      }
    }
    return pairs;
  }
  std::mt19937_64 rng(hash_seed(options.seed, "premise pairs"));
  for (int64_t p = 0; p < options.max_pairs; ++p) {
    const auto k = static_cast<int64_t>(detail::uniform_index(rng, static_cast<uint64_t>(total)));
    const auto g =
        static_cast<std::size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), k) - cumulative.begin());
    const std::vector<std::size_t>& m = *groups[g];
    const std::size_t a = detail::uniform_index(rng, m.size());
    std::size_t b = detail::uniform_index(rng, m.size() - 1);
    if (b >= a) ++b;
    pairs.emplace_back(m[a], m[b]);
  }
  return pairs;
}

// Spearman of `distance(a, b)` against the pairs' cosines; pairs with a non-finite distance left out.
template <typename Distance>
std::pair<double, int64_t> distance_spearman(const std::vector<std::pair<std::size_t, std::size_t>>& pairs,
                                             const std::vector<double>& cosine, Distance distance) {
  std::vector<double> x, y;
  for (std::size_t p = 0; p < pairs.size(); ++p) {
    const double dist = distance(pairs[p].first, pairs[p].second);
    if (!std::isfinite(dist) || !std::isfinite(cosine[p])) continue;
    x.push_back(dist);
    y.push_back(cosine[p]);
  }
  return {spearman(x, y), static_cast<int64_t>(x.size())};
}

// Control: each group's labels shuffled among its rows (the same cluster sizes).
std::vector<int32_t> random_labels(const Rows& rows, uint64_t seed) {
  std::map<int32_t, std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < rows.size(); ++i) members[rows.group[i]].push_back(i);
  std::vector<int32_t> label(rows.size());
  std::mt19937_64 rng(hash_seed(seed, "premise random clusters"));
  for (const auto& [group, m] : members) {
    std::vector<int32_t> labels;
    for (std::size_t i : m) labels.push_back(rows.cluster[i]);
    detail::shuffle(labels, rng);
    for (std::size_t j = 0; j < m.size(); ++j) label[m[j]] = labels[j];
  }
  return label;
}

// Control: each group cut into as many difficulty quantile bins as it has loss-pattern clusters (rows
// sorted by difficulty, NaN last, ties by row; bin = floor(rank x k / rows)).
std::vector<int32_t> difficulty_labels(const Rows& rows) {
  std::map<int32_t, std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < rows.size(); ++i) members[rows.group[i]].push_back(i);
  std::vector<int32_t> label(rows.size());
  for (auto& [group, m] : members) {
    std::vector<int32_t> distinct;
    for (std::size_t i : m) distinct.push_back(rows.cluster[i]);
    std::sort(distinct.begin(), distinct.end());
    const auto k = static_cast<std::size_t>(std::unique(distinct.begin(), distinct.end()) - distinct.begin());
    std::stable_sort(m.begin(), m.end(), [&](std::size_t a, std::size_t b) {
      const float da = rows.difficulty[a], db = rows.difficulty[b];
      if (std::isnan(da) != std::isnan(db)) return std::isnan(db);
      return !std::isnan(da) && da < db;
    });
    for (std::size_t r = 0; r < m.size(); ++r) label[m[r]] = static_cast<int32_t>(r * k / m.size());
  }
  return label;
}

std::string fixed(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

std::string interval_text(double value, const Interval& i) {
  return cat(fixed(value), " (95% interval ", fixed(i.low), " to ", fixed(i.high), ")");
}

const char* where(const Interval& i) { return i.low > 0 ? "lies above 0" : i.high < 0 ? "lies below 0" : "includes 0"; }

std::string verdict(const PremiseResult& r) {
  const PremiseNumbers& x = r.loss;
  if (!r.testable) {
    return cat("The premise cannot be tested on this run: of ", r.rows, " sampled examples, ", r.examples,
               " are in a loss-pattern cluster with a nonzero gradient, and no source has two of them in one cluster "
               "and one in another; sample more examples (gradients.examples) or select with a method that clusters "
               "(temp, s2l).");
  }
  const std::string numbers =
      cat("pairs in the same loss-pattern cluster have mean gradient cosine ", fixed(x.same_cluster),
          ", pairs of the same source in other clusters ", fixed(x.other_cluster), " and random pairs ",
          fixed(x.random), " (", r.examples, " examples); the gap to other clusters is ",
          interval_text(x.gap_other, x.gap_other_interval), ", to random pairs ", interval_text(x.gap, x.gap_interval));
  const std::string controls =
      cat("Controls, gap to other clusters: clusters of random members ",
          interval_text(r.random_clusters.gap_other, r.random_clusters.gap_other_interval),
          ", clusters of the difficulty score alone ",
          interval_text(r.difficulty_clusters.gap_other, r.difficulty_clusters.gap_other_interval), ".");
  if (r.holds) return cat("The premise holds on this run: ", numbers, "; both intervals lie above 0. ", controls);
  return cat("The premise does not hold on this run: ", numbers, "; the first interval ", where(x.gap_other_interval),
             ", the second ", where(x.gap_interval), ". ", controls);
}

}  // namespace

double spearman(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size()) throw DataError(cat("spearman: ", x.size(), " x values but ", y.size(), " y values"));
  const std::size_t n = x.size();
  if (n < 2) return kNaN;
  const auto ranks = [n](std::span<const double> v) {
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> rank(n);
    for (std::size_t i = 0; i < n;) {
      std::size_t j = i;
      while (j + 1 < n && v[order[j + 1]] == v[order[i]]) ++j;
      const double average = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
      for (std::size_t t = i; t <= j; ++t) rank[order[t]] = average;
      i = j + 1;
    }
    return rank;
  };
  const std::vector<double> rx = ranks(x), ry = ranks(y);
  const double mean = (static_cast<double>(n) + 1.0) / 2.0;
  double sxy = 0.0, sxx = 0.0, syy = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) * (rx[i] - mean);
    syy += (ry[i] - mean) * (ry[i] - mean);
  }
  if (sxx == 0.0 || syy == 0.0) return kNaN;
  return sxy / std::sqrt(sxx * syy);
}

PremiseResult premise_test(const PremiseInput& input, const PremiseOptions& options) {
  check_sizes(input);
  if (options.bootstrap < 1 || options.max_pairs < 1) {
    throw DataError(cat("premise_test: bootstrap = ", options.bootstrap, " and max_pairs = ", options.max_pairs,
                        " must be at least 1"));
  }
  const Rows rows = analysed_rows(input);
  PremiseResult r;
  r.rows = static_cast<int64_t>(input.group.size());
  r.examples = static_cast<int64_t>(rows.size());
  std::map<int32_t, int> groups;
  std::map<std::pair<int32_t, int32_t>, int> clusters;
  for (std::size_t i = 0; i < rows.size(); ++i) groups[rows.group[i]], clusters[{rows.group[i], rows.cluster[i]}];
  r.groups = static_cast<int64_t>(groups.size());
  r.clusters = static_cast<int64_t>(clusters.size());

  r.loss = pair_numbers(rows, rows.cluster, options);
  r.random_clusters = pair_numbers(rows, random_labels(rows, options.seed), options);
  r.difficulty_clusters = pair_numbers(rows, difficulty_labels(rows), options);

  const auto pairs = group_pairs(rows, options);
  std::vector<double> cosine;
  cosine.reserve(pairs.size());
  for (const auto& [a, b] : pairs) cosine.push_back(dot(rows.at(a), rows.at(b), rows.d));
  std::tie(r.loss.spearman, r.loss.spearman_pairs) =
      distance_spearman(pairs, cosine, [&](std::size_t a, std::size_t b) {
        double squares = 0.0;
        for (std::size_t k = 0; k < rows.f; ++k) {
          const double diff = static_cast<double>(rows.features[a * rows.f + k]) - rows.features[b * rows.f + k];
          squares += diff * diff;
        }
        return std::sqrt(squares);
      });
  std::tie(r.difficulty_clusters.spearman, r.difficulty_clusters.spearman_pairs) =
      distance_spearman(pairs, cosine, [&](std::size_t a, std::size_t b) {
        return std::abs(static_cast<double>(rows.difficulty[a]) - rows.difficulty[b]);
      });
  r.testable = r.loss.same_pairs > 0 && r.loss.other_pairs > 0 && std::isfinite(r.loss.gap_other_interval.low) &&
               std::isfinite(r.loss.gap_interval.low);
  r.holds = r.testable && r.loss.gap_interval.low > 0 && r.loss.gap_other_interval.low > 0;
  r.verdict = verdict(r);
  return r;
}

}  // namespace curate::select
