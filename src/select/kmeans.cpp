#include "curate/select/kmeans.h"

#include <nanoflann.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "curate/util/error.h"
#include "curate/util/parallel.h"
#include "curate/util/strings.h"
#include "random.h"

namespace curate::select {
namespace {

constexpr std::size_t kRowsPerTask = 4096;        // rows per parallel_for item
constexpr std::size_t kLeafSize = 20;             // KD-tree leaf size (measured: 10-40 within 10%)
constexpr std::size_t kParallelInitRows = 65536;  // below this, k-means++ runs on one thread (one pass per
                                                  // centroid: starting threads would cost more than it saves)

// Squared L2 distance in double, summed in dimension order: the one distance of the k-means (tree
// search, warm start and k-means++ alike), so equal distances compare equal.
inline double squared_distance(const float* a, const float* b, std::size_t d) {
  double sum = 0.0;
  for (std::size_t j = 0; j < d; ++j) {
    const double t = static_cast<double>(a[j]) - static_cast<double>(b[j]);
    sum += t * t;
  }
  return sum;
}

// nanoflann dataset adaptor over centroids [k, d].
struct CentroidCloud {
  const float* data;
  std::size_t k;
  std::size_t d;
  std::size_t kdtree_get_point_count() const { return k; }
  float kdtree_get_pt(std::size_t index, std::size_t dim) const { return data[index * d + dim]; }
  template <class BoundingBox>
  bool kdtree_get_bbox(BoundingBox&) const {
    return false;
  }
};

// nanoflann metric: squared_distance.
struct SquaredL2 {
  using ElementType = float;
  using DistanceType = double;
  const CentroidCloud& cloud;
  explicit SquaredL2(const CentroidCloud& c) : cloud(c) {}
  double evalMetric(const float* a, uint32_t index, std::size_t size, double = -1) const {
    return squared_distance(a, cloud.data + static_cast<std::size_t>(index) * cloud.d, size);
  }
  template <typename U, typename V>
  double accum_dist(U a, V b, std::size_t) const {
    const double t = static_cast<double>(a) - static_cast<double>(b);
    return t * t;
  }
};

using CentroidTree = nanoflann::KDTreeSingleIndexAdaptor<SquaredL2, CentroidCloud, -1, uint32_t>;
#if NANOFLANN_VERSION >= 0x150
using SearchParameters = nanoflann::SearchParameters;  // nanoflann 1.5 renamed it (eps 0 = exact search)
#else
using SearchParameters = nanoflann::SearchParams;
#endif

// nanoflann result set keeping the nearest (distance, index) pair, so that an exact tie goes to the
// lower index. nanoflann offers a point only when its distance is < worstDist(), so worstDist() is
// the next double above the best distance: points at exactly that distance still arrive.
class NearestSet {
 public:
  using DistanceType = double;
  using IndexType = uint32_t;
  // Starts from a known candidate (the row's previous centroid), which only tightens the pruning:
  // the search still finds the exact nearest.
  NearestSet(double distance, uint32_t index) : distance_(distance), worst_(above(distance)), index_(index) {}
  bool addPoint(double distance, uint32_t index) {
    if (distance < distance_ || (distance == distance_ && index < index_)) {
      distance_ = distance;
      worst_ = above(distance);
      index_ = index;
    }
    return true;
  }
  double worstDist() const { return worst_; }
  bool full() const { return true; }
  void sort() {}  // nanoflann >= 1.5 calls it; one entry is always sorted
  uint32_t index() const { return index_; }

 private:
  static double above(double d) { return std::nextafter(d, std::numeric_limits<double>::infinity()); }
  double distance_;
  double worst_;
  uint32_t index_;
};

// Nearest centroid of `row` (ties: lowest index); `previous` is the row's centroid in the last
// iteration, or -1.
int32_t nearest(const CentroidTree& tree, const CentroidCloud& cloud, const float* row, int32_t previous) {
  NearestSet found(std::numeric_limits<double>::infinity(), std::numeric_limits<uint32_t>::max());
  if (previous >= 0) {
    found = NearestSet(squared_distance(row, cloud.data + static_cast<std::size_t>(previous) * cloud.d, cloud.d),
                       static_cast<uint32_t>(previous));
  }
  tree.findNeighbors(found, row, SearchParameters{});
  return static_cast<int32_t>(found.index());
}

std::vector<float> init_kmeanspp(std::span<const float> x, std::size_t n, std::size_t d, std::size_t k,
                                 std::mt19937_64& rng, int threads) {
  std::vector<float> centroids(k * d);
  std::vector<double> closest(n);
  auto pick = [&](std::size_t c, std::size_t row) {
    std::copy_n(x.data() + row * d, d, centroids.data() + c * d);
    const float* centre = centroids.data() + c * d;
    const std::size_t tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
    parallel_for(
        tasks, n >= kParallelInitRows ? threads : 1, [] { return 0; },
        [&](int, std::size_t task) {
          const std::size_t end = std::min(n, (task + 1) * kRowsPerTask);
          for (std::size_t i = task * kRowsPerTask; i < end; ++i) {
            const double dist = squared_distance(x.data() + i * d, centre, d);
            closest[i] = c == 0 ? dist : std::min(closest[i], dist);
          }
        });
  };
  pick(0, static_cast<std::size_t>(detail::uniform_index(rng, n)));
  for (std::size_t c = 1; c < k; ++c) {
    double total = 0.0;
    for (double v : closest) total += v;
    std::size_t row = 0;
    if (!(total > 0.0)) {
      row = static_cast<std::size_t>(detail::uniform_index(rng, n));  // every row coincides with a centroid
    } else {
      const double target = detail::uniform_real(rng) * total;
      double cumulative = 0.0;
      row = n;
      for (std::size_t i = 0; i < n; ++i) {
        if (closest[i] > 0.0) row = i;  // last positive row: the fallback when rounding overshoots
        cumulative += closest[i];
        if (cumulative > target && closest[i] > 0.0) break;
      }
    }
    pick(c, row);
  }
  return centroids;
}

std::vector<float> init_random(std::span<const float> x, std::size_t n, std::size_t d, std::size_t k,
                               std::mt19937_64& rng) {
  std::vector<float> centroids(k * d);
  const std::vector<int64_t> rows =
      detail::sample_without_replacement(static_cast<int64_t>(n), static_cast<int64_t>(k), rng);
  for (std::size_t c = 0; c < k; ++c) {
    std::copy_n(x.data() + static_cast<std::size_t>(rows[c]) * d, d, centroids.data() + c * d);
  }
  return centroids;
}

}  // namespace

std::string resolve_init(const std::string& init, int64_t n, int64_t k) {
  if (init != "auto") return init;
  return static_cast<double>(n) * static_cast<double>(k) <= kAutoKMeansPlusPlus ? "kmeans++" : "random";
}

std::pair<int64_t, int64_t> row_range(int64_t n, int rank, int size) {
  const int64_t base = n / size, extra = n % size;
  auto first = [&](int64_t r) { return r * base + std::min(r, extra); };
  return {first(rank), first(static_cast<int64_t>(rank) + 1)};
}

KMeansResult kmeans(std::span<const float> features, int64_t n, int64_t d, const KMeansOptions& options,
                    const RowSharing* sharing) {
  if (n < 0 || d < 1 || static_cast<int64_t>(features.size()) != n * d) {
    throw DataError(
        cat("kmeans: ", features.size(), " feature values do not form ", n, " rows of ", d, " dimensions (d >= 1)"));
  }
  if (n > 0 && (options.k < 1 || options.k > n)) {
    throw ConfigError(cat("kmeans: k = ", options.k, " must be between 1 and the number of rows (", n, ")"));
  }
  const std::string init = resolve_init(options.init, n, options.k);
  if (init != "kmeans++" && init != "random") {
    throw ConfigError(cat("kmeans: init '", options.init, "' is unknown; use kmeans++, random or auto"));
  }
  if (options.iterations < 1) throw ConfigError(cat("kmeans: iterations = ", options.iterations, " must be >= 1"));
  for (std::size_t i = 0; i < features.size(); ++i) {
    if (!std::isfinite(features[i])) {
      throw DataError(cat("kmeans: feature ", i % static_cast<std::size_t>(d), " of row ",
                          i / static_cast<std::size_t>(d), " is not finite; replace missing values first"));
    }
  }
  KMeansResult result;
  if (n == 0) return result;
  const auto rows = static_cast<std::size_t>(n), dims = static_cast<std::size_t>(d);
  const auto k = static_cast<std::size_t>(options.k);
  std::mt19937_64 rng(options.seed);
  result.centroids = init == "kmeans++" ? init_kmeanspp(features, rows, dims, k, rng, options.threads)
                                        : init_random(features, rows, dims, k, rng);
  const auto [first, last] =
      sharing != nullptr ? row_range(n, sharing->rank(), sharing->size()) : std::pair<int64_t, int64_t>{0, n};
  result.assign.assign(rows, -1);
  std::vector<int32_t> next(rows, -1);
  std::vector<double> sum(k * dims);
  std::vector<int64_t> count(k);
  for (int iteration = 0; iteration < options.iterations; ++iteration) {
    const CentroidCloud cloud{result.centroids.data(), k, dims};
    const CentroidTree tree(static_cast<int32_t>(dims), cloud, nanoflann::KDTreeSingleIndexAdaptorParams(kLeafSize));
    const auto begin = static_cast<std::size_t>(first), end = static_cast<std::size_t>(last);
    const std::size_t tasks = (end - begin + kRowsPerTask - 1) / kRowsPerTask;
    parallel_for(
        tasks, options.threads, [] { return 0; },
        [&](int, std::size_t task) {
          const std::size_t stop = std::min(end, begin + (task + 1) * kRowsPerTask);
          for (std::size_t i = begin + task * kRowsPerTask; i < stop; ++i) {
            next[i] = nearest(tree, cloud, features.data() + i * dims, result.assign[i]);
          }
        });
    if (sharing != nullptr) sharing->allgather(next);
    result.iterations = iteration + 1;
    const bool changed = next != result.assign;
    result.assign.swap(next);
    if (!changed) {
      result.converged = true;
      break;
    }
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(count.begin(), count.end(), 0);
    for (std::size_t i = 0; i < rows; ++i) {
      const auto c = static_cast<std::size_t>(result.assign[i]);
      ++count[c];
      for (std::size_t j = 0; j < dims; ++j) sum[c * dims + j] += features[i * dims + j];
    }
    for (std::size_t c = 0; c < k; ++c) {
      if (count[c] == 0) continue;
      for (std::size_t j = 0; j < dims; ++j) {
        result.centroids[c * dims + j] = static_cast<float>(sum[c * dims + j] / static_cast<double>(count[c]));
      }
    }
  }
  return result;
}

}  // namespace curate::select
