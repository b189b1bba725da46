// The premise test (premise.h) on constructed gradients whose answer is known: clusters aligned with
// gradient directions, clusters unrelated to them, a hand-computed Spearman, exact pair means, and
// the bootstrap's determinism.
#include "curate/select/premise.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "curate/util/error.h"

namespace curate::select {
namespace {

// G rows in `groups` groups of `clusters` clusters of `per_cluster` rows. Each cluster has a random
// gradient direction and a loss-pattern centre; a row is its cluster's direction plus noise. Its
// difficulty is unrelated to the cluster. `labels_follow_gradients` false: the cluster labels are
// shuffled within each group, so that they say nothing about the gradients.
struct Planted {
  int64_t dim = 32, feature_dim = 3;
  std::vector<float> gradients, features, difficulty;
  std::vector<int32_t> group, cluster;

  Planted(int groups, int clusters, int per_cluster, bool labels_follow_gradients, uint64_t seed = 1) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;  // test data only: portability of the draws does not matter
    for (int g = 0; g < groups; ++g) {
      std::vector<int32_t> labels;
      for (int c = 0; c < clusters; ++c) {
        std::vector<double> direction(static_cast<std::size_t>(dim)), centre(static_cast<std::size_t>(feature_dim));
        for (double& v : direction) v = normal(rng);
        for (double& v : centre) v = 3.0 * normal(rng);
        for (int m = 0; m < per_cluster; ++m) {
          for (double v : direction) gradients.push_back(static_cast<float>(v + 0.7 * normal(rng)));
          for (double v : centre) features.push_back(static_cast<float>(v + 0.3 * normal(rng)));
          difficulty.push_back(static_cast<float>(1.0 + normal(rng)));
          group.push_back(g);
          labels.push_back(c);
        }
      }
      if (!labels_follow_gradients) std::shuffle(labels.begin(), labels.end(), rng);
      cluster.insert(cluster.end(), labels.begin(), labels.end());
    }
  }
  PremiseInput input() const { return {dim, gradients, group, cluster, feature_dim, features, difficulty}; }
};

TEST(PremiseTest, ClustersAlignedWithGradientDirectionsHoldAndTheRandomControlDoesNot) {
  const Planted planted(/*groups=*/3, /*clusters=*/4, /*per_cluster=*/12, /*labels_follow_gradients=*/true);
  const PremiseResult r = premise_test(planted.input(), {});
  EXPECT_EQ(r.examples, 144);
  EXPECT_EQ(r.groups, 3);
  EXPECT_EQ(r.clusters, 12);
  EXPECT_GT(r.loss.same_cluster, 0.5);
  EXPECT_NEAR(r.loss.random, 0.0, 0.1);
  EXPECT_GT(r.loss.gap_interval.low, 0.4);
  EXPECT_GT(r.loss.gap_other_interval.low, 0.4);
  EXPECT_LE(r.loss.gap_interval.low, r.loss.gap);
  EXPECT_GE(r.loss.gap_interval.high, r.loss.gap);
  EXPECT_TRUE(r.testable);
  EXPECT_TRUE(r.holds);
  EXPECT_NE(r.verdict.find("The premise holds on this run"), std::string::npos) << r.verdict;
  // Closer loss patterns, more similar gradients.
  EXPECT_LT(r.loss.spearman, -0.3);
  EXPECT_EQ(r.loss.spearman_pairs, 3 * (48 * 47 / 2));
  // Random members with the same sizes, and difficulty bins (difficulty is noise here): no gap to the
  // other clusters of the source; their gap to random pairs is the source's own effect (pairs of one
  // source share a cluster direction a quarter of the time), which is why the verdict needs both.
  EXPECT_NEAR(r.random_clusters.gap_other, 0.0, 0.05);
  EXPECT_LT(r.random_clusters.gap_other_interval.low, 0.0);
  EXPECT_GT(r.random_clusters.gap_other_interval.high, 0.0);
  EXPECT_GT(r.random_clusters.gap_interval.low, 0.0);
  EXPECT_NEAR(r.difficulty_clusters.gap_other, 0.0, 0.05);
  EXPECT_TRUE(std::isnan(r.random_clusters.spearman));
  EXPECT_NEAR(r.difficulty_clusters.spearman, 0.0, 0.1);
}

TEST(PremiseTest, ClustersUnrelatedToTheGradientsDoNotHold) {
  const Planted planted(3, 4, 12, /*labels_follow_gradients=*/false);
  const PremiseResult r = premise_test(planted.input(), {});
  EXPECT_LT(r.loss.gap_other_interval.low, 0.0);
  EXPECT_GT(r.loss.gap_other_interval.high, 0.0);
  EXPECT_GT(r.loss.gap_interval.low, 0.0);  // the source's effect alone
  EXPECT_FALSE(r.holds);
  EXPECT_NE(r.verdict.find("The premise does not hold on this run"), std::string::npos) << r.verdict;
  EXPECT_NE(r.verdict.find("the first interval includes 0, the second lies above 0"), std::string::npos) << r.verdict;
}

// Two sources whose clusters share the label 0 but not their gradients: same-cluster pairs are pairs
// of one source (cosine 1), never across sources (cosine 0).
TEST(PremiseTest, SameClusterPairsStayInTheirSource) {
  const std::vector<float> gradients = {1, 0, 2, 0, 0, 1, 0, 3};  // rows (1,0) (2,0) | (0,1) (0,3)
  const std::vector<int32_t> group = {0, 0, 1, 1}, cluster = {0, 0, 0, 0};
  const std::vector<float> features = {0, 0, 1, 1}, difficulty = {1, 2, 3, 4};
  const PremiseResult r = premise_test({2, gradients, group, cluster, 1, features, difficulty}, {});
  EXPECT_EQ(r.loss.same_pairs, 2);
  EXPECT_EQ(r.loss.random_pairs, 6);
  EXPECT_EQ(r.loss.other_pairs, 0);
  EXPECT_DOUBLE_EQ(r.loss.same_cluster, 1.0);
  EXPECT_DOUBLE_EQ(r.loss.random, 2.0 / 6.0);
  EXPECT_TRUE(std::isnan(r.loss.other_cluster));
  EXPECT_DOUBLE_EQ(r.loss.gap, 2.0 / 3.0);
}

TEST(PremiseTest, RowsWithoutAClusterOrAGradientAreLeftOut) {
  const std::vector<float> gradients = {1, 0, 1, 0, 0, 0, 0, 1, 0, 1};
  const std::vector<int32_t> group = {0, 0, 0, 0, 0}, cluster = {0, 0, 1, -1, 1};
  const std::vector<float> features(5, 0.0f), difficulty(5, 1.0f);
  const PremiseResult r = premise_test({2, gradients, group, cluster, 1, features, difficulty}, {});
  EXPECT_EQ(r.rows, 5);
  EXPECT_EQ(r.examples, 3);  // row 2 has a zero gradient, row 3 no cluster
  EXPECT_EQ(r.loss.same_pairs, 1);
}

TEST(PremiseTest, IndexedGradientRowsGiveTheSameBits) {
  const Planted planted(2, 3, 8, true);
  const PremiseResult direct = premise_test(planted.input(), {});
  // The same rows reversed in a larger table, read through gradient_row.
  const auto d = static_cast<std::size_t>(planted.dim), g = planted.group.size();
  std::vector<float> table((g + 1) * d, 9.0f);
  std::vector<int64_t> row(g);
  for (std::size_t i = 0; i < g; ++i) {
    row[i] = static_cast<int64_t>(g - i);
    std::copy_n(planted.gradients.begin() + static_cast<std::ptrdiff_t>(i * d), d,
                table.begin() + static_cast<std::ptrdiff_t>((g - i) * d));
  }
  PremiseInput input = planted.input();
  input.gradients = table;
  input.gradient_row = row;
  const PremiseResult indexed = premise_test(input, {});
  EXPECT_EQ(indexed.verdict, direct.verdict);
  EXPECT_EQ(std::memcmp(&indexed.loss.gap, &direct.loss.gap, sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&indexed.loss.spearman, &direct.loss.spearman, sizeof(double)), 0);
  row[0] = static_cast<int64_t>(g + 1);  // outside the table
  EXPECT_THROW(premise_test(input, {}), DataError);
}

TEST(PremiseTest, TooFewRowsSayTheTestCannotBeRun) {
  const std::vector<float> gradients = {1, 0, 0, 1};
  const std::vector<int32_t> group = {0, 1}, cluster = {0, 0};  // no source with two clusters
  const std::vector<float> features(2, 0.0f), difficulty(2, 1.0f);
  const PremiseResult r = premise_test({2, gradients, group, cluster, 1, features, difficulty}, {});
  EXPECT_FALSE(r.testable);
  EXPECT_FALSE(r.holds);
  EXPECT_NE(r.verdict.find("cannot be tested"), std::string::npos) << r.verdict;
}

TEST(PremiseTest, SpearmanMatchesAHandComputedCaseWithTies) {
  // y ranks 1, 2, 3.5, 5, 3.5 against 1..5: sum dx dy = 8, sum dx^2 = 10, sum dy^2 = 9.5.
  const std::vector<double> x = {1, 2, 3, 4, 5}, y = {5, 6, 7, 8, 7};
  EXPECT_NEAR(spearman(x, y), 8.0 / std::sqrt(95.0), 1e-15);
  const std::vector<double> down = {10, 9, 8, 7, 6};
  EXPECT_DOUBLE_EQ(spearman(x, down), -1.0);
  EXPECT_TRUE(std::isnan(spearman(x, std::vector<double>(5, 1.0))));
  EXPECT_THROW(spearman(x, std::span<const double>(down).first(4)), DataError);
}

TEST(PremiseTest, TheBootstrapAndThePairSampleRepeatTheirBitsAndFollowTheSeed) {
  const Planted planted(2, 3, 20, true);
  PremiseOptions options;
  options.seed = 5;
  options.max_pairs = 300;  // fewer than the 2 x 60 x 59 / 2 pairs: sampled
  const PremiseResult a = premise_test(planted.input(), options), b = premise_test(planted.input(), options);
  EXPECT_EQ(a.loss.spearman_pairs, 300);
  const auto same_bits = [](double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; };
  EXPECT_TRUE(same_bits(a.loss.gap_interval.low, b.loss.gap_interval.low));
  EXPECT_TRUE(same_bits(a.loss.gap_interval.high, b.loss.gap_interval.high));
  EXPECT_TRUE(same_bits(a.random_clusters.gap, b.random_clusters.gap));
  EXPECT_TRUE(same_bits(a.loss.spearman, b.loss.spearman));
  EXPECT_EQ(a.verdict, b.verdict);
  options.seed = 6;
  const PremiseResult c = premise_test(planted.input(), options);
  EXPECT_TRUE(same_bits(a.loss.gap, c.loss.gap));  // exact: no draw behind it
  EXPECT_FALSE(same_bits(a.loss.gap_interval.low, c.loss.gap_interval.low));
  EXPECT_FALSE(same_bits(a.loss.spearman, c.loss.spearman));
}

TEST(PremiseTest, InconsistentSizesAreRefused) {
  const Planted planted(1, 2, 3, true);
  PremiseInput input = planted.input();
  input.difficulty = input.difficulty.first(2);
  EXPECT_THROW(premise_test(input, {}), DataError);
}

}  // namespace
}  // namespace curate::select
