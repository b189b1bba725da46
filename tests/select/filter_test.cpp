#include "curate/select/filter.h"

#include <gtest/gtest.h>

#include <cmath>

#include "curate/util/error.h"

namespace curate::select {
namespace {

using Flags = std::vector<uint8_t>;
const float kNaN = std::nanf("");

// These tests are about the per-source rules: the small-source rule (whole_budget) is off, else every
// tiny test source would be kept whole (see SmallSourcesKeptWhole).
FilterOptions kmeans_options(int k, int keep) {
  FilterOptions options;
  options.k = k;
  options.keep = keep;
  options.whole_budget = 0;
  return options;
}

TEST(Filter, TwoMeansKeepsTheHighCluster) {
  // Source 0: 1.0 1.1 1.2 | 5.0 5.2 (initial centroids: quantiles 0.25, 0.75 = 1.1, 5.0), NaN never kept.
  // Source 1: 2 3 4 | 10: initial 2.75 and 5.5; 4 is nearer 2.75 (1.25 < 1.5); centroids become 3, 10.
  const std::vector<float> loss = {1.0f, 5.2f, 1.1f, 5.0f, 1.2f, kNaN, 2, 3, 4, 10};
  const std::vector<int32_t> source = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
  EXPECT_EQ(difficulty_filter(loss, source, kmeans_options(2, 1)), (Flags{0, 1, 0, 1, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(difficulty_filter(loss, source, kmeans_options(2, 2)), (Flags{1, 1, 1, 1, 1, 0, 1, 1, 1, 1}));
}

TEST(Filter, KMeans1DCentroidsAndKeepCount) {
  const std::vector<double> sorted = {2, 3, 4, 10};
  std::vector<int32_t> assign;
  EXPECT_EQ(kmeans_1d(sorted, 2, assign), (std::vector<double>{3, 10}));
  EXPECT_EQ(assign, (std::vector<int32_t>{0, 0, 0, 1}));
  // Three clusters 1 2 | 5 6 | 10 11; keep = 2 keeps the two highest.
  const std::vector<float> loss = {10, 1, 5, 11, 2, 6};
  const std::vector<int32_t> source(6, 0);
  EXPECT_EQ(difficulty_filter(loss, source, kmeans_options(3, 2)), (Flags{1, 0, 1, 1, 0, 1}));
  EXPECT_EQ(difficulty_filter(loss, source, kmeans_options(3, 1)), (Flags{1, 0, 0, 1, 0, 0}));
}

TEST(Filter, FewerDistinctValuesThanK) {
  std::vector<int32_t> assign;
  EXPECT_EQ(kmeans_1d(std::vector<double>{3, 3, 3}, 2, assign).size(), 1u);
  // One distinct value: one cluster, kept whole.
  EXPECT_EQ(difficulty_filter(std::vector<float>{3, 3, 3}, std::vector<int32_t>{0, 0, 0}, kmeans_options(2, 1)),
            (Flags{1, 1, 1}));
  // Two distinct values with k = 3: two clusters, the higher kept.
  EXPECT_EQ(difficulty_filter(std::vector<float>{1, 1, 4}, std::vector<int32_t>{0, 0, 0}, kmeans_options(3, 1)),
            (Flags{0, 0, 1}));
}

TEST(Filter, QuantileMatchesNumpyLinear) {
  EXPECT_DOUBLE_EQ(quantile_linear(std::vector<double>{1, 2, 3, 4, 5}, 0.3), 2.2);  // numpy.quantile: 2.2
  EXPECT_DOUBLE_EQ(quantile_linear(std::vector<double>{1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile_linear(std::vector<double>{1, 2, 3, 4}, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(quantile_linear(std::vector<double>{1, 2, 3, 4}, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(quantile_linear(std::vector<double>{7}, 0.9), 7.0);

  FilterOptions options;
  options.method = FilterMethod::kQuantile;
  options.whole_budget = 0;
  const std::vector<float> loss = {4, 1, 3, 2, kNaN, 100};
  const std::vector<int32_t> source = {0, 0, 0, 0, 0, 1};
  options.quantile = 0.5;  // source 0: 2.5
  EXPECT_EQ(difficulty_filter(loss, source, options), (Flags{1, 0, 1, 0, 0, 1}));
  options.quantile = 0.25;  // 1.75
  EXPECT_EQ(difficulty_filter(loss, source, options), (Flags{1, 0, 1, 1, 0, 1}));
  options.quantile = 1.0;  // the maximum
  EXPECT_EQ(difficulty_filter(loss, source, options), (Flags{1, 0, 0, 0, 0, 1}));
}

TEST(Filter, SmallSourcesKeptWhole) {
  // The reference's rule (TEMP selector.py:566-580): sizes (finite values) A = 6, B = 2, C = 3, D = 1.
  // whole_budget 9: D (1 <= 9 / 4 = 2) whole, left 8; B (2 <= 8 / 3 = 2) whole, left 6; C (3 <= 6 / 2)
  // whole, left 3; A (6 > 3 / 1) goes through 2-means: 1 1 1 | 9 9 9 keeps the 9s.
  std::vector<float> loss;
  std::vector<int32_t> source;
  auto add = [&](int32_t s, std::vector<float> values) {
    for (float v : values) loss.push_back(v), source.push_back(s);
  };
  add(0, {1, 1, 1, 9, 9, 9});
  add(1, {1, 5});
  add(2, {1, 2, kNaN, 7});  // NaN: not counted, never kept
  add(3, {4});
  FilterOptions options = kmeans_options(2, 1);
  options.whole_budget = 9;
  EXPECT_EQ(difficulty_filter(loss, source, options), (Flags{0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1}));
  // whole_budget 4: D (1 <= 1) whole, left 3; B (2 > 3 / 3 = 1) and the larger ones are not: 2-means.
  options.whole_budget = 4;
  EXPECT_EQ(difficulty_filter(loss, source, options), (Flags{0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1}));
  // Ascending size, ties by source id; a source that does not fit changes nothing.
  const std::vector<std::vector<int64_t>> rows = {{0, 1}, {2, 3}, {4}};
  EXPECT_EQ(whole_sources(rows, 5), (Flags{1, 1, 1}));  // source 2 (1 <= 5/3), 0 (2 <= 4/2), 1 (2 <= 2/1)
  EXPECT_EQ(whole_sources(rows, 4), (Flags{0, 0, 1}));  // source 2 (1 <= 4/3); then 2 > 3/2 twice
  EXPECT_EQ(whole_sources(rows, 0), (Flags{0, 0, 0}));  // off
}

TEST(Filter, NoneKeepsFiniteValues) {
  FilterOptions options;
  options.method = FilterMethod::kNone;
  EXPECT_EQ(difficulty_filter(std::vector<float>{1, kNaN, 0}, std::vector<int32_t>{0, 1, 2}, options),
            (Flags{1, 0, 1}));
}

TEST(Filter, BadInputThrows) {
  EXPECT_THROW(difficulty_filter(std::vector<float>{1}, std::vector<int32_t>{0, 0}, FilterOptions{}), DataError);
  EXPECT_THROW(difficulty_filter(std::vector<float>{1}, std::vector<int32_t>{-1}, FilterOptions{}), DataError);
  EXPECT_THROW(difficulty_filter(std::vector<float>{1}, std::vector<int32_t>{0}, kmeans_options(2, 3)), ConfigError);
  FilterOptions options;
  try {
    // The method is parsed by its table entry (filter_table), which names the key and the choices.
    const options::Group table = filter_table(options);
    const options::Entry& method = table.entries().front();
    ASSERT_EQ(method.key, "filter.method");
    std::get<options::EnumField>(method.field).set("median");
    FAIL() << "unknown method accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("filter.method"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("quantile"), std::string::npos) << e.what();
  }
  options = FilterOptions{};
  options.quantile = 1.5;
  EXPECT_THROW(validate(options), ConfigError);
}

}  // namespace
}  // namespace curate::select
