#include "methods.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "curate/select/allocate.h"
#include "curate/select/within.h"
#include "curate/util/hash.h"
#include "random.h"

namespace curate::select::detail {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Takes ranked items for one group and remembers what it took.
class Taker {
 public:
  Taker(const SelectInput& input, const Group& group, SelectResult& result)
      : input_(input), group_(group), result_(result) {}

  // Takes the items of `ranked` in order while each one's cost fits in what is left of `limit`;
  // stops at the first that does not fit. Returns the units used.
  int64_t take(std::span<const int64_t> ranked, int64_t limit) {
    int64_t used = 0;
    for (int64_t i : ranked) {
      const int64_t cost = group_.tokens ? input_.full_length[static_cast<std::size_t>(i)] : 1;
      if (cost > limit - used) break;
      used += cost;
      result_.selected.push_back(i);
      taken_.push_back(i);
    }
    return used;
  }

 private:
  const SelectInput& input_;
  const Group& group_;
  SelectResult& result_;
  std::vector<int64_t> taken_;
};

float value(std::span<const float> table, const SelectInput& input, int64_t checkpoint, int64_t example) {
  return table[static_cast<std::size_t>(checkpoint * static_cast<int64_t>(input.source.size()) + example)];
}

// mean_loss at the last checkpoint minus at the first (NaN when either is NaN).
double loss_rise(const SelectInput& input, int64_t example) {
  return static_cast<double>(value(input.mean_loss, input, input.checkpoints - 1, example)) -
         static_cast<double>(value(input.mean_loss, input, 0, example));
}

// `items` sorted by key descending, NaN keys last, ties by lower example index; key[j] belongs to
// items[j]. Writes the keys to result.score.
std::vector<int64_t> rank_by(std::span<const int64_t> items, std::span<const double> key, SelectResult& result) {
  std::vector<std::size_t> order(items.size());
  for (std::size_t j = 0; j < order.size(); ++j) order[j] = j;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const bool nan_a = std::isnan(key[a]), nan_b = std::isnan(key[b]);
    if (nan_a != nan_b) return nan_b;
    if (!nan_a && key[a] != key[b]) return key[a] > key[b];
    return items[a] < items[b];
  });
  std::vector<int64_t> ranked(items.size());
  for (std::size_t j = 0; j < order.size(); ++j) {
    ranked[j] = items[order[j]];
    result.score[static_cast<std::size_t>(items[j])] = static_cast<float>(key[j]);
  }
  return ranked;
}

int64_t cost(const SelectInput& input, const Group& group, int64_t example) {
  return group.tokens ? input.full_length[static_cast<std::size_t>(example)] : 1;
}

int64_t capacity(const SelectInput& input, const Group& group) {
  int64_t total = 0;
  for (int64_t i : group.members) total += cost(input, group, i);
  return total;
}

// The number of clusters: select.k_rule = allocated gives max(1, allocated / per_cluster) (under a
// token budget the allocation in examples is estimated as allocated x candidates / capacity),
// candidates gives max(1, candidates / per_cluster); both at most the candidates.
int64_t cluster_count(const SelectInput& input, const Group& group, const SelectOptions& options) {
  const auto n = static_cast<int64_t>(group.members.size());
  int64_t units = n;
  if (options.k_rule == KRule::kAllocated) {
    units = group.allocated;
    if (group.tokens) {
      const int64_t total = capacity(input, group);
      units = total > 0 ? static_cast<int64_t>(static_cast<double>(group.allocated) * static_cast<double>(n) /
                                               static_cast<double>(total))
                        : 0;
    }
  }
  return std::min(n, reference_k(units, options.per_cluster));
}

// k-means clusters of the group's members (k = cluster_count): the member lists of every cluster
// index 0..k-1 (some possibly empty), each ascending. Sets result.cluster.
std::vector<std::vector<int64_t>> clusters(const SelectInput& input, const Group& group, const SelectOptions& options,
                                           const RowSharing* sharing, SelectResult& result) {
  const auto n = static_cast<int64_t>(group.members.size());
  KMeansOptions kmeans_options;
  kmeans_options.k = cluster_count(input, group, options);
  kmeans_options.iterations = options.iterations;
  kmeans_options.init = options.init;
  kmeans_options.seed = hash_seed(group.seed, "kmeans");
  kmeans_options.threads = options.threads;
  const KMeansResult fit =
      kmeans(cluster_features(input, group.members, options), n, feature_dim(input, options), kmeans_options, sharing);
  std::vector<std::vector<int64_t>> members(static_cast<std::size_t>(kmeans_options.k));
  for (std::size_t r = 0; r < group.members.size(); ++r) {
    members[static_cast<std::size_t>(fit.assign[r])].push_back(group.members[r]);
    result.cluster[static_cast<std::size_t>(group.members[r])] = fit.assign[r];
  }
  return members;
}

// mean_loss with NaN read as 0 (the reference replaces NaN by 0 before selecting).
float profile(const SelectInput& input, int64_t checkpoint, int64_t example) {
  const float v = value(input.mean_loss, input, checkpoint, example);
  return std::isnan(v) ? 0.0f : v;
}

// temp: the reference's path (nothing, everything, or k-means) and pick_in_clusters on the k-means
// clusters. Under a token budget, budget left after the clusters and the one-member fill goes to
// the other candidates at random (with an example budget nothing is ever left there).
void select_temp(const SelectInput& input, const Group& group, const SelectOptions& options, const RowSharing* sharing,
                 SelectResult& result) {
  const WithinPath path = within_path(group.allocated, capacity(input, group));
  if (path == WithinPath::kTakeNone) return;
  if (path == WithinPath::kTakeAll) {
    result.selected.insert(result.selected.end(), group.members.begin(), group.members.end());
    return;
  }
  const std::vector<std::vector<int64_t>> cluster = clusters(input, group, options, sharing, result);
  const std::size_t n = group.members.size();
  std::vector<float> first(n), last(n);
  std::vector<int64_t> label(n), costs(n);
  for (std::size_t j = 0; j < n; ++j) {
    const int64_t i = group.members[j];
    first[j] = profile(input, 0, i);
    last[j] = profile(input, input.checkpoints - 1, i);
    label[j] = result.cluster[static_cast<std::size_t>(i)];
    costs[j] = cost(input, group, i);
  }
  std::mt19937_64 rng(hash_seed(group.seed, "fill"));
  const ClusterPicks picks = pick_in_clusters(first, last, label, costs, group.allocated, rng);
  std::vector<uint8_t> taken(n, 0);
  int64_t used = 0;
  for (int64_t j : picks.taken) {
    taken[static_cast<std::size_t>(j)] = 1;
    used += costs[static_cast<std::size_t>(j)];
    result.selected.push_back(group.members[static_cast<std::size_t>(j)]);
  }
  for (std::size_t j = 0; j < n; ++j) result.score[static_cast<std::size_t>(group.members[j])] = picks.key[j];
  if (!group.tokens) return;
  std::vector<int64_t> rest;
  for (std::size_t j = 0; j < n; ++j) {
    if (!taken[j]) rest.push_back(group.members[j]);
  }
  shuffle(rest, rng);
  Taker(input, group, result).take(rest, group.allocated - used);
}

// s2l: the temp clusters; round-robin over the non-empty clusters in random order, each cluster's
// members in random order.
void select_s2l(const SelectInput& input, const Group& group, const SelectOptions& options, const RowSharing* sharing,
                SelectResult& result) {
  std::vector<std::vector<int64_t>> cluster = clusters(input, group, options, sharing, result);
  std::erase_if(cluster, [](const std::vector<int64_t>& members) { return members.empty(); });
  std::mt19937_64 rng(hash_seed(group.seed, "s2l"));
  shuffle(cluster, rng);
  std::size_t rounds = 0;
  for (auto& members : cluster) {
    shuffle(members, rng);
    rounds = std::max(rounds, members.size());
  }
  std::vector<int64_t> order;
  for (std::size_t round = 0; round < rounds; ++round) {
    for (const auto& members : cluster) {
      if (round < members.size()) order.push_back(members[round]);
    }
  }
  Taker(input, group, result).take(order, group.allocated);
}

// The ranking key of a single-key baseline for example i (higher is taken first).
std::vector<double> baseline_keys(const SelectInput& input, const Group& group, SelectMethod method) {
  std::vector<double> key(group.members.size());
  double median = kNaN;
  if (method == SelectMethod::kMiddlePerplexity) {
    std::vector<double> finite;
    for (int64_t i : group.members) {
      const float d = input.difficulty[static_cast<std::size_t>(i)];
      if (std::isfinite(d)) finite.push_back(d);
    }
    std::sort(finite.begin(), finite.end());
    const std::size_t m = finite.size();
    if (m > 0) median = m % 2 == 1 ? finite[m / 2] : (finite[m / 2 - 1] + finite[m / 2]) / 2.0;  // numpy.median
  }
  for (std::size_t j = 0; j < key.size(); ++j) {
    const auto i = static_cast<std::size_t>(group.members[j]);
    if (method == SelectMethod::kLongest) {
      key[j] = static_cast<double>(input.reasoning_tokens[i]);
    } else if (method == SelectMethod::kMiddlePerplexity) {
      key[j] = -std::abs(static_cast<double>(input.difficulty[i]) - median);
    } else if (method == SelectMethod::kDifficulty) {
      key[j] = input.difficulty[i];
    } else {  // learnability
      key[j] = -loss_rise(input, group.members[j]);
    }
  }
  return key;
}

}  // namespace

void select_group(const SelectInput& input, const Group& group, const SelectOptions& options, const RowSharing* sharing,
                  SelectResult& result) {
  if (options.method == SelectMethod::kTemp) {
    select_temp(input, group, options, sharing, result);
  } else if (options.method == SelectMethod::kS2l) {
    select_s2l(input, group, options, sharing, result);
  } else if (options.method == SelectMethod::kRandom) {
    std::vector<int64_t> order(group.members.begin(), group.members.end());
    std::mt19937_64 rng(hash_seed(group.seed, "random"));
    shuffle(order, rng);
    Taker(input, group, result).take(order, group.allocated);
  } else {
    const std::vector<double> key = baseline_keys(input, group, options.method);
    Taker(input, group, result).take(rank_by(group.members, key, result), group.allocated);
  }
}

}  // namespace curate::select::detail

namespace curate::select {

int64_t feature_dim(const SelectInput& input, const SelectOptions& options) {
  return options.features == SelectFeatures::kGradients ? input.gradient_dim : input.checkpoints;
}

std::vector<float> cluster_features(const SelectInput& input, std::span<const int64_t> members,
                                    const SelectOptions& options) {
  const auto n = members.size(), dims = static_cast<std::size_t>(feature_dim(input, options));
  std::vector<float> x(n * dims);
  if (options.features == SelectFeatures::kGradients) {
    for (std::size_t r = 0; r < n; ++r) {
      const auto row = static_cast<std::size_t>(input.gradient_row[static_cast<std::size_t>(members[r])]);
      const std::span<const float> g = input.gradients.subspan(row * dims, dims);
      double squares = 0.0;
      for (float v : g) squares += static_cast<double>(v) * v;
      const double scale = squares > 0.0 ? 1.0 / std::sqrt(squares) : 0.0;
      for (std::size_t c = 0; c < dims; ++c) x[r * dims + c] = static_cast<float>(g[c] * scale);
    }
  } else {
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t c = 0; c < dims; ++c) {
        const float v = detail::value(input.mean_loss, input, static_cast<int64_t>(c), members[r]);
        x[r * dims + c] = std::isfinite(v) ? v : 0.0f;
      }
    }
  }
  if (!options.standardize) return x;
  for (std::size_t c = 0; c < dims; ++c) {
    double sum = 0.0, squares = 0.0;
    for (std::size_t r = 0; r < n; ++r) sum += x[r * dims + c];
    const double mean = sum / static_cast<double>(n);
    for (std::size_t r = 0; r < n; ++r) squares += (x[r * dims + c] - mean) * (x[r * dims + c] - mean);
    double std = std::sqrt(squares / static_cast<double>(n));
    if (std == 0.0) std = 1.0;
    for (std::size_t r = 0; r < n; ++r) x[r * dims + c] = static_cast<float>((x[r * dims + c] - mean) / std);
  }
  return x;
}

}  // namespace curate::select
