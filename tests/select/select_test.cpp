#include "curate/select/select.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "curate/util/error.h"
#include "test_helpers.h"

namespace curate::select {
namespace {

using testing::Examples;
using testing::ThreadRanks;
using Indices = std::vector<int64_t>;

const std::vector<std::string> kOneSource = {"s"};
const std::vector<std::string> kOneDomain = {"d"};

// k_rule = candidates: these tests plant clusters and fix k by the candidates (k = n / per_cluster) so
// that k-means finds them whatever the budget; the default rule (k from the allocation) is tested in
// TempClusterCountFollowsTheAllocation.
SelectOptions options_for(const std::string& method, int64_t budget, int64_t per_cluster = 4) {
  SelectOptions options;
  const options::Group table = select_table(options);
  for (const options::Entry& entry : table.entries()) {  // select.method, by name as in a config
    if (entry.key == "select.method") std::get<options::EnumField>(entry.field).set(method);
  }
  options.budget = budget;
  options.per_cluster = per_cluster;
  options.k_rule = KRule::kCandidates;
  return options;
}

SelectResult run(const Examples& e, const SelectOptions& options) {
  return select(e.view(), kOneSource, kOneDomain, options);
}

// Three clusters in (mean_loss[0], mean_loss[1]): A = 0-1 near (0, 0), B = 2-4 near (10, 10) with
// loss rises b = 0.3, 0.1, 0.2, C = 5-9 near (20, 20) with b = -0.1, -0.5, -0.2, -0.3, -0.4.
Examples three_clusters() {
  Examples e;
  e.add(0, {0.0f, 0.05f});
  e.add(0, {0.1f, 0.1f});
  for (float b : {0.3f, 0.1f, 0.2f}) e.add(0, {10.0f, 10.0f + b});
  for (float b : {-0.1f, -0.5f, -0.2f, -0.3f, -0.4f}) e.add(0, {20.0f, 20.0f + b});
  return e;
}

TEST(Select, TempSmallestClusterFirstWithSignFlip) {
  // 10 candidates, per_cluster 3 -> k = 3; budget 7. Smallest first: A (2) gets 7 / 3 = 2 and is taken
  // whole; B (3) gets 5 / 2 = 2: its top brittleness 0.3 and 0.2 (examples 2, 4); C (5) gets 3 / 1 = 3.
  // C's mean rise is negative, so b is negated: largest falls -0.5, -0.4, -0.3 (examples 6, 9, 8).
  const SelectResult r = run(three_clusters(), options_for("temp", 7, 3));
  EXPECT_EQ(r.selected, (Indices{0, 1, 2, 4, 6, 8, 9}));
  EXPECT_EQ(r.cluster[2], r.cluster[3]);
  EXPECT_NE(r.cluster[0], r.cluster[2]);
  EXPECT_NE(r.cluster[5], r.cluster[2]);
  EXPECT_NEAR(r.score[6], 0.5f, 1e-5);  // negated rise
  EXPECT_NEAR(r.score[2], 0.3f, 1e-5);
  ASSERT_EQ(r.allocation.size(), 2u);
  EXPECT_EQ(r.allocation[1].allocated, 7);
}

TEST(Select, TempClusterCountFollowsTheAllocation) {
  // The reference's rule: k = max(1, allocated / per_cluster), at most the candidates. Budget 7 with
  // per_cluster 2 gives k = 3 (the planted clusters, same picks as above); per_cluster 3 gives k = 2.
  SelectOptions options = options_for("temp", 7, 2);
  options.k_rule = KRule::kAllocated;
  SelectResult r = run(three_clusters(), options);
  EXPECT_EQ(r.selected, (Indices{0, 1, 2, 4, 6, 8, 9}));
  EXPECT_EQ(*std::max_element(r.cluster.begin(), r.cluster.end()), 2);
  options.per_cluster = 3;
  r = run(three_clusters(), options);
  EXPECT_EQ(*std::max_element(r.cluster.begin(), r.cluster.end()), 1);
  // Budget 9 of 10 with per_cluster 1: k = 9 clusters of 10 points.
  options.budget = 9;
  options.per_cluster = 1;
  r = run(three_clusters(), options);
  EXPECT_EQ(*std::max_element(r.cluster.begin(), r.cluster.end()), 8);
  EXPECT_EQ(r.selected.size(), 9u);
  // Budget >= candidates: everything, no k-means; budget 0 cannot be asked for, a zero share can
  // (see BudgetsMetExactlyPerGroup).
  options.budget = 10;
  r = run(three_clusters(), options);
  EXPECT_EQ(r.selected.size(), 10u);
  EXPECT_EQ(std::count(r.cluster.begin(), r.cluster.end(), -1), 10);
}

TEST(Budget, CountsAndFractionsAsWritten) {
  EXPECT_EQ(parse_budget("1000").count, 1000);
  EXPECT_FALSE(parse_budget("1000").is_fraction());
  EXPECT_FALSE(parse_budget("1").is_fraction());  // an integer is a count, never 100%
  for (const char* text : {"10%", "0.1", "0.10", ".1"}) {
    const Budget b = parse_budget(text);
    EXPECT_TRUE(b.is_fraction()) << text;
    EXPECT_EQ(b.text, text);
    EXPECT_EQ(b.resolve(95), 9) << text;  // floor(9.5), exact
    EXPECT_EQ(b.resolve(100), 10) << text;
  }
  EXPECT_EQ(parse_budget("29%").resolve(100), 29);  // 0.29 x 100 in doubles is 28.999...
  EXPECT_EQ(parse_budget("12.5%").resolve(8), 1);
  EXPECT_EQ(parse_budget("1%").resolve(10), 1);  // at least one example
  EXPECT_EQ(parse_budget("100%").resolve(7), 7);
  EXPECT_EQ(parse_budget("1.0").resolve(7), 7);
  for (const char* bad : {"", "0", "-5", "0%", "101%", "1.5", "ten", "10 %", "5.", "%", "1e3"}) {
    EXPECT_THROW(parse_budget(bad), ConfigError) << bad;
  }
  SelectOptions options;
  const options::Group table = select_table(options);
  for (const options::Entry& entry : table.entries()) {
    if (entry.key == "select.budget") std::get<options::EnumField>(entry.field).set("10%");
  }
  EXPECT_EQ(options.budget.text, "10%");
  EXPECT_EQ(options::value_text(table.entries().front().field), "10%");  // the fingerprint's text: as written
}

TEST(Select, FractionBudgetResolvesAgainstTheCandidates) {
  // 10 examples, 8 candidates: 50% selects 4, reported as the budget in force; 0.5 selects the same.
  Examples e = three_clusters();
  e.kept[0] = e.kept[1] = 0;
  SelectOptions options = options_for("random", 1);
  options.budget = parse_budget("50%");
  const SelectResult r = run(e, options);
  EXPECT_EQ(r.selected.size(), 4u);
  EXPECT_EQ(r.budget, 4);
  EXPECT_TRUE(r.shortfall.empty()) << r.shortfall;
  options.budget = parse_budget("0.5");
  EXPECT_EQ(run(e, options).selected, r.selected);
  options.budget = 4;
  EXPECT_EQ(run(e, options).selected, r.selected);
}

TEST(Select, TempEqualClusterMeansCountAsFalling) {
  // One cluster (per_cluster large) of four: first 1 2 3 4 (mean 2.5), last 4 3 2 1 (mean 2.5). Equal
  // means count as falling (the reference): ranked by first - last = -3 -1 1 3, so budget 2 takes
  // examples 3 and 2 (not 0 and 1 as the rising rule last - first would).
  Examples e;
  for (float f : {1.0f, 2.0f, 3.0f, 4.0f}) e.add(0, {f, 5.0f - f});
  SelectOptions options = options_for("temp", 2, 100);
  options.k_rule = KRule::kAllocated;
  const SelectResult r = run(e, options);
  EXPECT_EQ(r.selected, (Indices{2, 3}));
  EXPECT_FLOAT_EQ(r.score[3], 3.0f);
}

TEST(Select, TempSingletonsFillTheLeftoverAtRandom) {
  // Singletons at (0, 0) and (50, 50); cluster C = 2-5 near (20, 20). n = 6, per_cluster 2 -> k = 3.
  Examples e;
  e.add(0, {0.0f, 0.0f});
  e.add(0, {50.0f, 50.0f});
  for (float b : {-0.1f, -0.4f, -0.2f, -0.3f}) e.add(0, {20.0f, 20.0f + b});
  // Budget 3: C alone gets 3 / 1 = 3 (largest falls: 3, 5, 4); no singleton.
  SelectResult r = run(e, options_for("temp", 3, 2));
  EXPECT_EQ(r.selected, (Indices{3, 4, 5}));
  EXPECT_TRUE(std::isnan(r.score[0]));
  EXPECT_GE(r.cluster[0], 0);
  // Budget 5: C is taken whole (4), the 1 left goes to one random singleton.
  r = run(e, options_for("temp", 5, 2));
  ASSERT_EQ(r.selected.size(), 5u);
  EXPECT_EQ(std::count_if(r.selected.begin(), r.selected.end(), [](int64_t i) { return i >= 2; }), 4);
  // Some seed picks each singleton.
  std::set<int64_t> picked;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    SelectOptions options = options_for("temp", 5, 2);
    options.seed = seed;
    picked.insert(run(e, options).selected.front());
  }
  EXPECT_EQ(picked, (std::set<int64_t>{0, 1}));
}

// Five examples of one source: reasoning 10 50 30 50 20; difficulty 1 3 2 2.5 0.5 (median 2);
// mean_loss 2 at the first checkpoint, 1.5 2.5 1 1.9 2 at the last (drops 0.5 -0.5 1 0.1 0).
Examples five() {
  Examples e;
  const std::vector<int64_t> reasoning = {10, 50, 30, 50, 20};
  const std::vector<float> difficulty = {1, 3, 2, 2.5f, 0.5f}, last = {1.5f, 2.5f, 1, 1.9f, 2};
  for (std::size_t i = 0; i < 5; ++i) {
    e.add(0, {2.0f, last[i]});
    e.reasoning_tokens[i] = reasoning[i];
    e.difficulty[i] = difficulty[i];
  }
  return e;
}

TEST(Select, Baselines) {
  const Examples e = five();
  EXPECT_EQ(run(e, options_for("longest", 2)).selected, (Indices{1, 3}));
  EXPECT_EQ(run(e, options_for("longest", 3)).selected, (Indices{1, 2, 3}));
  EXPECT_EQ(run(e, options_for("difficulty", 2)).selected, (Indices{1, 3}));
  // |difficulty - 2| = 1 1 0 0.5 1.5: 2, 3, then the tie 0 / 1 goes to example 0.
  EXPECT_EQ(run(e, options_for("middle-perplexity", 2)).selected, (Indices{2, 3}));
  EXPECT_EQ(run(e, options_for("middle-perplexity", 3)).selected, (Indices{0, 2, 3}));
  EXPECT_EQ(run(e, options_for("learnability", 2)).selected, (Indices{0, 2}));
  EXPECT_NEAR(run(e, options_for("learnability", 2)).score[2], 1.0f, 1e-6);
  const SelectResult random = run(e, options_for("random", 3));
  EXPECT_EQ(random.selected.size(), 3u);
  EXPECT_EQ(run(e, options_for("random", 3)).selected, random.selected);
  std::set<Indices> seen;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    SelectOptions options = options_for("random", 3);
    options.seed = seed;
    seen.insert(run(e, options).selected);
  }
  EXPECT_GT(seen.size(), 3u);
}

TEST(Select, RandomDrawsArePortable) {
  // Fixed values (seed 0, source "s"): the draws depend only on std::mt19937_64 and hash_seed.
  Examples e;
  for (int i = 0; i < 10; ++i) e.add(0, {static_cast<float>(i), 2.0f * static_cast<float>(i)});
  EXPECT_EQ(run(e, options_for("random", 4)).selected, (Indices{1, 3, 4, 6}));
}

TEST(Select, S2lIsRoundRobinOverClusters) {
  // Budget 3 over the three clusters: one member of each.
  for (uint64_t seed = 0; seed < 5; ++seed) {
    SelectOptions options = options_for("s2l", 3, 3);
    options.seed = seed;
    const SelectResult r = run(three_clusters(), options);
    ASSERT_EQ(r.selected.size(), 3u);
    std::set<int32_t> clusters;
    for (int64_t i : r.selected) clusters.insert(r.cluster[static_cast<std::size_t>(i)]);
    EXPECT_EQ(clusters.size(), 3u) << "seed " << seed;
  }
  // Budget 7: A (2) is exhausted after two rounds, so B and C give 3 and 2, or 2 and 3.
  const SelectResult r = run(three_clusters(), options_for("s2l", 7, 3));
  EXPECT_EQ(std::count_if(r.selected.begin(), r.selected.end(), [](int64_t i) { return i < 2; }), 2);
}

TEST(Select, TokenBudgetTakesWhileItFits) {
  Examples e = five();
  e.full_length = {50, 40, 30, 20, 10};
  SelectOptions options = options_for("longest", 1);
  options.token_budget = 75;  // longest first: example 1 (40), then 3 (20) fits, then 2 (30) does not: stop
  EXPECT_EQ(run(e, options).selected, (Indices{1, 3}));
  options.token_budget = 1000;  // above the capacity (150): everything
  EXPECT_EQ(run(e, options).selected.size(), 5u);
}

TEST(Select, ABudgetThatIsNotMetSaysWhy) {
  Examples e = five();
  e.full_length = {50, 40, 30, 20, 10};
  SelectOptions options = options_for("longest", 3);
  EXPECT_EQ(run(e, options).shortfall, "");  // met
  options.budget = 8;
  EXPECT_NE(run(e, options).shortfall.find("the 5 candidates hold only 5 examples"), std::string::npos);
  options.token_budget = 1;
  const SelectResult nothing = run(e, options);
  EXPECT_TRUE(nothing.selected.empty());
  EXPECT_NE(nothing.shortfall.find("the budget selects nothing"), std::string::npos) << nothing.shortfall;
  EXPECT_NE(nothing.shortfall.find("below the shortest candidate's 10 tokens"), std::string::npos) << nothing.shortfall;
  options.token_budget = 75;  // 60 taken: example 2 (30) does not fit what is left
  const SelectResult partial = run(e, options);
  EXPECT_NE(partial.shortfall.find("selected 60 tokens of the 75 asked"), std::string::npos) << partial.shortfall;
  e.kept = {0, 0, 0, 0, 0};
  options.token_budget = 0;
  EXPECT_NE(run(e, options).shortfall.find("no example is a candidate"), std::string::npos);
}

TEST(Select, OnlyKeptExamplesAreCandidates) {
  Examples e = five();
  e.kept = {1, 0, 1, 0, 1};
  const SelectResult r = run(e, options_for("difficulty", 10));
  EXPECT_EQ(r.selected, (Indices{0, 2, 4}));
  EXPECT_EQ(r.cluster[1], -1);
  EXPECT_TRUE(std::isnan(r.score[1]));
}

// n examples over 3 sources in 2 domains; loss curves from 40 patterns (C = 8) with noise.
Examples synthetic(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53); };
  Examples e;
  e.checkpoints = 8;
  std::vector<float> base(40), slope(40);
  for (std::size_t p = 0; p < 40; ++p) {
    base[p] = 0.5f + 3.0f * uniform();
    slope[p] = -0.3f + 0.6f * uniform();
  }
  e.mean_loss.resize(static_cast<std::size_t>(8 * n));
  e.mean_loss_first.resize(e.mean_loss.size());
  for (int64_t i = 0; i < n; ++i) {
    const std::size_t p = rng() % 40;
    e.source.push_back(static_cast<int32_t>(rng() % 3));
    e.domain.push_back(e.source.back() == 2 ? 1 : 0);
    e.kept.push_back(rng() % 5 != 0);
    e.reasoning_tokens.push_back(static_cast<int64_t>(rng() % 1000));
    e.full_length.push_back(e.reasoning_tokens.back() + 100);
    e.difficulty.push_back(base[p] + 0.1f * uniform());
    for (int64_t c = 0; c < 8; ++c) {
      const auto at = static_cast<std::size_t>(c * n + i);
      e.mean_loss[at] = base[p] + slope[p] * static_cast<float>(c) + 0.05f * uniform();
      e.mean_loss_first[at] = e.mean_loss[at] + 0.2f * uniform();
    }
  }
  return e;
}

const std::vector<std::string> kSources = {"alpha", "beta", "gamma"};
const std::vector<std::string> kDomains = {"math", "code"};

TEST(Select, BudgetsMetExactlyPerGroup) {
  const Examples e = synthetic(3000, 1);
  int64_t candidates = 0;
  for (uint8_t k : e.kept) candidates += k;
  for (const auto& [method, value] : kSelectMethods) {
    for (int64_t budget : {1, 37, 500, 100000}) {
      const SelectResult r = select(e.view(), kSources, kDomains, options_for(method, budget));
      EXPECT_EQ(static_cast<int64_t>(r.selected.size()), std::min(budget, candidates)) << method << " " << budget;
      EXPECT_TRUE(std::is_sorted(r.selected.begin(), r.selected.end()));
      EXPECT_EQ(std::adjacent_find(r.selected.begin(), r.selected.end()), r.selected.end());
      std::map<int32_t, int64_t> per_source;
      for (int64_t i : r.selected) {
        ASSERT_TRUE(e.kept[static_cast<std::size_t>(i)]);
        ++per_source[e.source[static_cast<std::size_t>(i)]];
      }
      for (const AllocationRow& row : r.allocation) {
        if (row.level == "source") {
          EXPECT_EQ(per_source[row.source], row.allocated) << method << " " << row.source;
        }
      }
    }
  }
}

TEST(Select, SameBitsAcrossRankCountsAndNameOrder) {
  const Examples e = synthetic(2000, 2);
  for (const char* method : {"temp", "s2l"}) {
    SelectOptions options = options_for(method, 300);
    options.seed = 17;
    options.standardize = std::string(method) == "temp";
    const SelectResult alone = select(e.view(), kSources, kDomains, options);
    for (int ranks : {1, 2, 4}) {
      const auto shared = ThreadRanks::run<SelectResult>(
          ranks, [&](const RowSharing& sharing) { return select(e.view(), kSources, kDomains, options, &sharing); });
      for (const SelectResult& r : shared) {
        EXPECT_EQ(r.selected, alone.selected) << method << " " << ranks << " ranks";
        EXPECT_EQ(r.cluster, alone.cluster) << method << " " << ranks << " ranks";
      }
    }
    // Renumbered sources (names listed in another order) select the same examples.
    Examples renamed = e;
    for (int32_t& s : renamed.source) s = 2 - s;
    const std::vector<std::string> reversed(kSources.rbegin(), kSources.rend());
    EXPECT_EQ(select(renamed.view(), reversed, kDomains, options).selected, alone.selected) << method;
    options.threads = 2;
    EXPECT_EQ(select(e.view(), kSources, kDomains, options).selected, alone.selected) << method;
  }
}

// select.features = gradients: 60 examples of one source whose loss patterns form 3 groups and whose
// gradients point along (i % 4): the clusters follow the gradients, the same bits on 1 and 3 ranks, and
// a candidate without a gradient row is refused.
TEST(Select, GradientFeaturesClusterOnTheGradientsOnAnyNumberOfRanks) {
  Examples e;
  for (int i = 0; i < 60; ++i) {
    const auto band = static_cast<float>(i / 20) * 5.0f;
    e.add(0, {band + 0.01f * static_cast<float>(i % 7), band + 1.0f});
  }
  std::vector<float> gradients;
  std::vector<int64_t> row(60);
  for (int i = 0; i < 60; ++i) {
    for (int k = 0; k < 8; ++k) gradients.push_back(k == i % 4 ? 2.0f : 0.01f * static_cast<float>((i + k) % 3));
    row[static_cast<std::size_t>(i)] = i;
  }
  SelectOptions options = options_for("temp", 8, /*per_cluster=*/15);  // k = 4
  options.features = SelectFeatures::kGradients;
  SelectInput input = e.view();
  input.gradient_dim = 8;
  input.gradient_row = row;
  input.gradients = gradients;
  const SelectResult alone = select(input, kOneSource, kOneDomain, options);
  for (std::size_t i = 0; i < 60; ++i) {
    for (std::size_t j = 0; j < 60; ++j)
      EXPECT_EQ(alone.cluster[i] == alone.cluster[j], i % 4 == j % 4) << i << " " << j;
  }
  const auto shared = ThreadRanks::run<SelectResult>(
      3, [&](const RowSharing& sharing) { return select(input, kOneSource, kOneDomain, options, &sharing); });
  for (const SelectResult& r : shared) {
    EXPECT_EQ(r.selected, alone.selected);
    EXPECT_EQ(r.cluster, alone.cluster);
  }
  options.features = SelectFeatures::kLoss;
  EXPECT_NE(select(input, kOneSource, kOneDomain, options).cluster, alone.cluster);
  options.features = SelectFeatures::kGradients;
  row[7] = -1;
  EXPECT_THROW(select(input, kOneSource, kOneDomain, options), ConfigError);
  input.gradient_dim = 0;
  EXPECT_THROW(select(input, kOneSource, kOneDomain, options), ConfigError);
  options.method = SelectMethod::kRandom;  // a method that does not cluster ignores the features
  EXPECT_NO_THROW(select(input, kOneSource, kOneDomain, options));
}

TEST(Select, BadInputThrows) {
  const Examples e = five();
  try {
    run(e, options_for("perplexity", 2));
    FAIL() << "unknown method accepted";
  } catch (const ConfigError& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("select.method"), std::string::npos) << what;
    EXPECT_NE(what.find("middle-perplexity"), std::string::npos) << what;
  }
  EXPECT_THROW(run(e, options_for("temp", 0)), ConfigError);
  EXPECT_THROW(run(e, options_for("temp", 2, 0)), ConfigError);
  Examples bad = e;
  bad.difficulty.pop_back();
  EXPECT_THROW(run(bad, options_for("difficulty", 2)), DataError);
  EXPECT_NO_THROW(run(bad, options_for("temp", 2)));  // a column temp does not read is not checked (select_reads)
  bad = e;
  bad.source[0] = 1;  // only one source name
  EXPECT_THROW(run(bad, options_for("temp", 2)), DataError);
  const std::vector<std::string> twice = {"s", "s"};
  EXPECT_THROW(select(e.view(), twice, kOneDomain, options_for("temp", 2)), DataError);
}

}  // namespace
}  // namespace curate::select
