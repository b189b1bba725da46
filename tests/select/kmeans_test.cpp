#include "curate/select/kmeans.h"

#include <gtest/gtest.h>

#include <random>

#include "curate/util/error.h"
#include "test_helpers.h"

namespace curate::select {
namespace {

using testing::adjusted_rand_index;
using testing::ThreadRanks;

// n points around `clusters` loss patterns: centres in [0, 8]^d at least 2 apart, uniform noise in
// [-0.02, 0.02] per coordinate, from a portable generator; labels receive each point's true centre.
std::vector<float> planted(int64_t n, int64_t d, int64_t clusters, uint64_t seed, std::vector<int32_t>& labels) {
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  std::vector<double> centre;
  while (static_cast<int64_t>(centre.size()) < clusters * d) {
    std::vector<double> p(static_cast<std::size_t>(d));
    for (double& v : p) v = 8.0 * uniform();
    bool apart = true;
    for (std::size_t c = 0; apart && c < centre.size(); c += p.size()) {
      double squares = 0;
      for (std::size_t j = 0; j < p.size(); ++j) squares += (p[j] - centre[c + j]) * (p[j] - centre[c + j]);
      apart = squares >= 4.0;
    }
    if (apart) centre.insert(centre.end(), p.begin(), p.end());
  }
  std::vector<float> x(static_cast<std::size_t>(n * d));
  labels.resize(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    labels[static_cast<std::size_t>(i)] = static_cast<int32_t>(i % clusters);
    for (int64_t j = 0; j < d; ++j) {
      x[static_cast<std::size_t>(i * d + j)] =
          static_cast<float>(centre[static_cast<std::size_t>((i % clusters) * d + j)] + 0.04 * uniform() - 0.02);
    }
  }
  return x;
}

TEST(KMeans, RowRange) {
  EXPECT_EQ(row_range(10, 0, 3), (std::pair<int64_t, int64_t>{0, 4}));
  EXPECT_EQ(row_range(10, 1, 3), (std::pair<int64_t, int64_t>{4, 7}));
  EXPECT_EQ(row_range(10, 2, 3), (std::pair<int64_t, int64_t>{7, 10}));
  EXPECT_EQ(row_range(2, 3, 4), (std::pair<int64_t, int64_t>{2, 2}));
}

TEST(KMeans, ResolvesAuto) {
  EXPECT_EQ(resolve_init("auto", 10000, 20000), "kmeans++");  // n k = 2e8
  EXPECT_EQ(resolve_init("auto", 10001, 20000), "random");
  EXPECT_EQ(resolve_init("random", 10, 2), "random");
}

TEST(KMeans, TwoObviousClusters) {
  const std::vector<float> x = {0.0f, 0.1f, 10.0f, 10.2f, 0.2f};
  for (const char* init : {"kmeans++", "random"}) {
    KMeansOptions options;
    options.k = 2;
    options.init = init;
    const KMeansResult r = kmeans(x, 5, 1, options);
    EXPECT_EQ(r.assign[0], r.assign[1]);
    EXPECT_EQ(r.assign[0], r.assign[4]);
    EXPECT_EQ(r.assign[2], r.assign[3]);
    EXPECT_NE(r.assign[0], r.assign[2]);
    EXPECT_TRUE(r.converged);
    EXPECT_NEAR(r.centroids[static_cast<std::size_t>(r.assign[0])], 0.1f, 1e-6);
    EXPECT_NEAR(r.centroids[static_cast<std::size_t>(r.assign[2])], 10.1f, 1e-6);
  }
}

TEST(KMeans, TiesGoToTheLowestCentroid) {
  // k = n: the three rows are the centroids, two of them equal; both zero rows join the lower index
  // of the two equal centroids, the other keeps its centroid with no member.
  const std::vector<float> x = {0, 0, 0, 0, 5, 5};
  for (uint64_t seed = 0; seed < 6; ++seed) {
    KMeansOptions options;
    options.k = 3;
    options.init = "random";
    options.seed = seed;
    const KMeansResult r = kmeans(x, 3, 2, options);
    int32_t lowest_zero = -1;
    for (int32_t c = 0; c < 3 && lowest_zero < 0; ++c) {
      if (r.centroids[static_cast<std::size_t>(2 * c)] == 0.0f) lowest_zero = c;
    }
    EXPECT_EQ(r.assign[0], lowest_zero) << "seed " << seed;
    EXPECT_EQ(r.assign[1], lowest_zero) << "seed " << seed;
    EXPECT_EQ(r.centroids[static_cast<std::size_t>(2 * r.assign[2])], 5.0f);
  }
}

TEST(KMeans, RecoversPlantedClusters) {
  std::vector<int32_t> truth;
  const std::vector<float> x = planted(3000, 8, 50, 11, truth);
  for (uint64_t seed : {1, 2, 3}) {
    KMeansOptions options;
    options.k = 50;
    options.init = "auto";  // kmeans++ at this size
    options.seed = seed;
    const KMeansResult r = kmeans(x, 3000, 8, options);
    EXPECT_GE(adjusted_rand_index(truth, r.assign), 0.95) << "seed " << seed;
  }
  EXPECT_EQ(adjusted_rand_index(truth, truth), 1.0);
}

TEST(KMeans, SameSeedSameBitsAnyThreadCount) {
  std::vector<int32_t> truth;
  const std::vector<float> x = planted(20000, 8, 500, 5, truth);
  KMeansOptions options;
  options.k = 5000;
  options.seed = 9;
  options.init = "random";
  const KMeansResult one = kmeans(x, 20000, 8, options);
  options.threads = 3;
  const KMeansResult three = kmeans(x, 20000, 8, options);
  EXPECT_EQ(one.assign, three.assign);
  EXPECT_EQ(one.centroids, three.centroids);
  options.seed = 10;
  EXPECT_NE(kmeans(x, 20000, 8, options).assign, one.assign);
}

TEST(KMeans, SharedRowsGiveTheUnsharedResult) {
  std::vector<int32_t> truth;
  const std::vector<float> x = planted(2001, 8, 40, 21, truth);
  KMeansOptions options;
  options.k = 400;
  options.seed = 4;
  options.iterations = 30;
  const KMeansResult alone = kmeans(x, 2001, 8, options);
  EXPECT_GT(alone.iterations, 1);
  for (int ranks : {2, 3}) {
    const std::vector<KMeansResult> shared = ThreadRanks::run<KMeansResult>(
        ranks, [&](const RowSharing& sharing) { return kmeans(x, 2001, 8, options, &sharing); });
    for (const KMeansResult& r : shared) {
      EXPECT_EQ(r.assign, alone.assign) << ranks << " ranks";
      EXPECT_EQ(r.centroids, alone.centroids) << ranks << " ranks";
      EXPECT_EQ(r.iterations, alone.iterations);
    }
  }
}

TEST(KMeans, PortableBits) {
  // Fixed values: the draws use only std::mt19937_64 output (fixed by the standard), so every
  // platform and standard library must give exactly these.
  std::vector<float> x;
  for (int i = 0; i < 12; ++i) x.push_back(static_cast<float>((i * 7) % 12));  // 0 7 2 9 4 11 6 1 8 3 10 5
  KMeansOptions options;
  options.k = 3;
  options.seed = 5;
  const KMeansResult r = kmeans(x, 12, 1, options);
  EXPECT_EQ(r.assign, (std::vector<int32_t>{1, 0, 1, 0, 2, 0, 2, 1, 0, 2, 0, 2}));
  EXPECT_EQ(r.centroids, (std::vector<float>{9, 1, 4.5f}));
}

TEST(KMeans, BadInputThrows) {
  const std::vector<float> x = {0, 1, 2, 3};
  KMeansOptions options;
  options.k = 5;
  EXPECT_THROW(kmeans(x, 4, 1, options), ConfigError);
  options.k = 0;
  EXPECT_THROW(kmeans(x, 4, 1, options), ConfigError);
  options.k = 2;
  EXPECT_THROW(kmeans(x, 3, 1, options), DataError);
  options.init = "farthest";
  EXPECT_THROW(kmeans(x, 4, 1, options), ConfigError);
  options.init = "kmeans++";
  const std::vector<float> bad = {0, std::nanf(""), 2, 3};
  EXPECT_THROW(kmeans(bad, 4, 1, options), DataError);
  EXPECT_TRUE(kmeans({}, 0, 3, options).assign.empty());
}

}  // namespace
}  // namespace curate::select
