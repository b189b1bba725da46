#include "curate/select/allocate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "curate/util/error.h"

namespace curate::select {
namespace {

using Alloc = std::vector<int64_t>;

TEST(Allocate, SoftmaxWithRedistribution) {
  // scores 0, 0, ln 2 -> weights 1 : 1 : 2, budget 40 -> shares 10, 10, 20. Group 2 (capacity 10 <= 20)
  // is taken whole; the other 30 are shared again 1 : 1 -> 15, 15.
  const double ln2 = std::log(2.0);
  EXPECT_EQ(allocate(std::vector<double>{0, 0, ln2}, Alloc{100, 100, 10}, 40, 1.0), (Alloc{15, 15, 10}));
  // Same, but group 1 (capacity 12 <= 15) saturates in the second round; group 0 gets 40 - 10 - 12 = 18.
  EXPECT_EQ(allocate(std::vector<double>{0, 0, ln2}, Alloc{100, 12, 10}, 40, 1.0), (Alloc{18, 12, 10}));
  const Shares shares = water_fill(std::vector<double>{0, 0, ln2}, Alloc{100, 12, 10}, 40, 1.0);
  EXPECT_DOUBLE_EQ(shares.share[0], 18.0);
  EXPECT_DOUBLE_EQ(shares.share[1], 12.0);
}

TEST(Allocate, RoundingLeftoversGoToLargestGroupsWithRoom) {
  // Equal scores: 10 / 3 = 3.33 each -> floors 3, 3, 3; the 1 left goes to the largest capacity,
  // ties by index: group 1 (capacity 9) before group 2 (capacity 9).
  EXPECT_EQ(allocate(std::vector<double>{0, 0, 0}, Alloc{5, 9, 9}, 10, 1.0), (Alloc{3, 4, 3}));
  EXPECT_EQ(allocate(std::vector<double>{0, 0, 0}, Alloc{5, 9, 9}, 11, 1.0), (Alloc{3, 4, 4}));
  // Temperature 2: scores ln 3, 0 -> weights sqrt(3) : 1 -> 8 x 0.634 = 5.07 and 2.93 -> 5, 2; the
  // leftover goes to group 1 (capacity 200 > 100).
  EXPECT_EQ(allocate(std::vector<double>{std::log(3.0), 0}, Alloc{100, 200}, 8, 2.0), (Alloc{5, 3}));
  // Temperature 1: weights 3 : 1 -> exactly 6, 2.
  EXPECT_EQ(allocate(std::vector<double>{std::log(3.0), 0}, Alloc{100, 200}, 8, 1.0), (Alloc{6, 2}));
}

TEST(Allocate, EdgeCases) {
  // Budget at or above the total capacity: every group gets its capacity.
  EXPECT_EQ(allocate(std::vector<double>{5, 1}, Alloc{3, 4}, 7, 1.0), (Alloc{3, 4}));
  EXPECT_EQ(allocate(std::vector<double>{5, 1}, Alloc{3, 4}, 100, 1.0), (Alloc{3, 4}));
  // Empty groups get nothing; a NaN score counts as the lowest finite score.
  EXPECT_EQ(allocate(std::vector<double>{9, 0, 0}, Alloc{0, 10, 10}, 4, 1.0), (Alloc{0, 2, 2}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(allocate(std::vector<double>{nan, 1, 2}, Alloc{50, 50, 50}, 30, 1.0),
            allocate(std::vector<double>{1, 1, 2}, Alloc{50, 50, 50}, 30, 1.0));
  EXPECT_EQ(allocate(std::vector<double>{nan, nan}, Alloc{10, 10}, 6, 1.0), (Alloc{3, 3}));
  // Huge scores do not overflow (stable softmax).
  EXPECT_EQ(allocate(std::vector<double>{1000, 1000}, Alloc{10, 10}, 6, 1.0), (Alloc{3, 3}));
  EXPECT_TRUE(allocate({}, {}, 5, 1.0).empty());
}

TEST(Allocate, SumsToBudgetWithinCapacity) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t groups = 1 + rng() % 12;
    std::vector<double> score(groups);
    Alloc capacity(groups);
    for (std::size_t g = 0; g < groups; ++g) {
      score[g] = static_cast<double>(rng() % 1000) / 100.0;
      capacity[g] = static_cast<int64_t>(rng() % 50);
    }
    const int64_t total = std::accumulate(capacity.begin(), capacity.end(), int64_t{0});
    const int64_t budget = static_cast<int64_t>(rng() % 400);
    const Alloc a = allocate(score, capacity, budget, 0.5 + static_cast<double>(trial % 4));
    EXPECT_EQ(std::accumulate(a.begin(), a.end(), int64_t{0}), std::min(budget, total));
    for (std::size_t g = 0; g < groups; ++g) {
      EXPECT_GE(a[g], 0);
      EXPECT_LE(a[g], capacity[g]);
    }
  }
}

TEST(Allocate, BadInputThrows) {
  EXPECT_THROW(allocate(std::vector<double>{0}, Alloc{1, 2}, 1, 1.0), DataError);
  EXPECT_THROW(allocate(std::vector<double>{0}, Alloc{-1}, 1, 1.0), DataError);
  EXPECT_THROW(allocate(std::vector<double>{0}, Alloc{1}, -1, 1.0), ConfigError);
  EXPECT_THROW(allocate(std::vector<double>{0}, Alloc{1}, 1, 0.0), ConfigError);
  EXPECT_THROW(allocate(std::vector<double>{std::numeric_limits<double>::infinity(), 0}, Alloc{5, 5}, 1, 1.0),
               DataError);
}

TEST(Allocate, GroupScore) {
  EXPECT_DOUBLE_EQ(group_score(1.0, 3.0), std::sqrt(6.0));  // sqrt((3 - 1) * 3)
  EXPECT_EQ(group_score(3.0, 1.0), 0.0);                    // loss falls: no rise
  EXPECT_EQ(group_score(std::nan(""), 2.0), 0.0);
}

GroupStats stats(int32_t domain, int32_t source, int64_t examples, double first, double last) {
  GroupStats s;
  s.domain = domain;
  s.source = source;
  s.examples = s.capacity = examples;
  s.sum_first = first * static_cast<double>(examples);
  s.sum_last = last * static_cast<double>(examples);
  s.count_first = s.count_last = examples;
  return s;
}

TEST(Allocate, HierarchicalDomainThenSource) {
  // Domain 0: sources 10 (means 1 -> 1, score 0) and 11 (1 -> 2, score sqrt(2) = 1.414), 30 examples
  // each; pooled means 1 -> 1.5, score sqrt(0.5 x 1.5) = 0.866. Domain 1: source 20 (1 -> 1, score 0),
  // 60 examples. Budget 20 (no group fills up).
  // Reference split (the default):
  //   domains: p = e^0.866 / (e^0.866 + 1) = 0.704, 0.296; capacities equal, so domain 0 first:
  //   int(0.704 x 20) = 14, then domain 1 gets int(1.0 x 6) = 6 (the last group takes what is left).
  //   domain 0 (14): p = 1 / (1 + e^1.414) = 0.196, 0.804 -> int(0.196 x 14) = 2, then 12.
  const std::vector<GroupStats> groups = {stats(0, 10, 30, 1, 1), stats(0, 11, 30, 1, 2), stats(1, 20, 60, 1, 1)};
  const Allocation a = allocate_hierarchical(groups, 20, 1.0);
  EXPECT_EQ(a.allocated, (Alloc{2, 12, 6}));
  ASSERT_EQ(a.rows.size(), 5u);
  EXPECT_EQ(a.rows[0].level, "domain");
  EXPECT_EQ(a.rows[0].domain, 0);
  EXPECT_EQ(a.rows[0].source, -1);
  EXPECT_EQ(a.rows[0].examples, 60);
  EXPECT_NEAR(a.rows[0].score, std::sqrt(0.75), 1e-12);
  EXPECT_NEAR(a.rows[0].share, 14.0784, 1e-4);
  EXPECT_EQ(a.rows[0].allocated, 14);
  EXPECT_FALSE(a.rows[0].clamped);
  EXPECT_EQ(a.rows[1].level, "source");
  EXPECT_EQ(a.rows[1].source, 10);
  EXPECT_NEAR(a.rows[2].score, std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(a.rows[2].share, 11.2620, 1e-4);
  EXPECT_EQ(a.rows[2].allocated, 12);
  EXPECT_EQ(a.rows[3].level, "domain");
  EXPECT_EQ(a.rows[3].allocated, 6);
  EXPECT_EQ(a.rows[4].source, 20);
  EXPECT_EQ(a.rows[4].allocated, 6);
  // Water-filling (select.allocation = water-fill): shares 14.08, 5.92 -> 14, 5, the leftover unit to
  // domain 0 (capacities 60 = 60, lower index) -> 15, 5; domain 0 (15): 2.93, 12.07 -> 2, 12, the
  // leftover to source 10 -> 3, 12.
  const Allocation w = allocate_hierarchical(groups, 20, 1.0, AllocationMode::kWaterFill);
  EXPECT_EQ(w.allocated, (Alloc{3, 12, 5}));
  EXPECT_EQ(w.rows[0].allocated, 15);
  EXPECT_EQ(allocate(std::vector<double>{0, std::sqrt(2.0), 0}, Alloc{30, 30, 60}, 20, 1.0), (Alloc{3, 13, 4}));
}

TEST(Allocate, ReferenceSplitCapsOnceAndOverflowsToTheLargest) {
  // Scores ln 1, ln 2, ln 7 -> p = 0.1, 0.2, 0.7; budget 10 -> requests 1, 2, 7. Capacities 50, 3, 2: visited by
  // capacity 2 (group 2: 2 < 7, capped at 2), 3 (group 1: p 0.2 / (0.1 + 0.2) x 8 = 5.33 -> 5, at most 3), 50 (group
  // 0: 1.0 x 5 = 5). Nothing is left.
  const std::vector<double> scores = {0.0, std::log(2.0), std::log(7.0)};
  EXPECT_EQ(reference_split(scores, Alloc{50, 3, 2}, 10, 1.0).allocated, (Alloc{5, 3, 2}));
  // Capacities 1, 3, 50: group 0 (1 >= 1) gets int(0.1 x 10) = 1; group 1 (3 >= 2): 0.2 / 0.9 x 9 = 2;
  // group 2: 1.0 x 7 = 7.
  EXPECT_EQ(reference_split(scores, Alloc{1, 3, 50}, 10, 1.0).allocated, (Alloc{1, 2, 7}));
  // Three equal scores, budget 2: requests int(2/3) = 0; s0: int(1/3 x 2) = 0, s1: int(1/2 x 2) = 1,
  // s2: 1 (the reference's a0005: 0, 1, 1, not 1, 1, 0).
  EXPECT_EQ(reference_split(std::vector<double>{1, 1, 1}, Alloc{100, 100, 100}, 2, 1.0).allocated, (Alloc{0, 1, 1}));
  // Budget above the total: each capped at its capacity, nothing else to give.
  EXPECT_EQ(reference_split(std::vector<double>{0, 0}, Alloc{3, 4}, 100, 1.0).allocated, (Alloc{3, 4}));
  // A capped group's overflow goes to the largest groups with room, largest first.
  // Scores ln 8, 0, 0 -> p = 0.8, 0.1, 0.1; budget 10, capacities 2, 5, 6: group 0 (2 < 8) capped at 2;
  // group 1: 0.1 / 0.2 x 8 = 4; group 2: 1.0 x 4 = 4; nothing left. Capacities 2, 3, 4 (total 9):
  // group 1 gets 4 -> at most 3, group 2: 1.0 x 5 = 5 -> at most 4; 1 left, no room.
  EXPECT_EQ(reference_split(std::vector<double>{std::log(8.0), 0, 0}, Alloc{2, 5, 6}, 10, 1.0).allocated,
            (Alloc{2, 4, 4}));
  EXPECT_EQ(reference_split(std::vector<double>{std::log(8.0), 0, 0}, Alloc{2, 3, 4}, 10, 1.0).allocated,
            (Alloc{2, 3, 4}));
  // Scores 0, 0, budget 9, capacities 3, 100: requests int(4.5) = 4; group 0 (3 < 4) capped at 3,
  // group 1 gets int(1.0 x 6) = 6.
  EXPECT_EQ(reference_split(std::vector<double>{0, 0}, Alloc{3, 100}, 9, 1.0).allocated, (Alloc{3, 6}));
  // A NaN score counts as 0.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(reference_split(std::vector<double>{nan, 0}, Alloc{10, 10}, 4, 1.0).allocated, (Alloc{2, 2}));
}

TEST(Allocate, FallingMeanIsClampedAndFlagged) {
  bool clamped = false;
  EXPECT_EQ(group_score(2.0, 1.0, &clamped), 0.0);  // sqrt((1 - 2) x 1) is NaN: the reference raises
  EXPECT_TRUE(clamped);
  EXPECT_EQ(group_score(1.0, 3.0, &clamped), std::sqrt(6.0));
  EXPECT_FALSE(clamped);
  const std::vector<GroupStats> groups = {stats(0, 0, 10, 2, 1), stats(0, 1, 10, 1, 2)};
  const Allocation a = allocate_hierarchical(groups, 4, 1.0);
  EXPECT_FALSE(a.rows[0].clamped);  // pooled 1.5 -> 1.5: score 0, not NaN
  EXPECT_TRUE(a.rows[1].clamped);
  EXPECT_FALSE(a.rows[2].clamped);
  EXPECT_EQ(reference_k(0, 4), 1);
  EXPECT_EQ(reference_k(7, 4), 1);
  EXPECT_EQ(reference_k(8, 4), 2);
  EXPECT_EQ(reference_k(257, 1), 257);
}

TEST(Allocate, NumpySum) {
  // The first value plus numpy's pairwise sum of the other 19: 8 accumulators over values 1..16,
  // combined pairwise, then values 17..19 one by one.
  std::vector<double> tenths(20, 0.1);
  double r[8] = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};  // values 1..8 of the 19 after the first
  for (int j = 0; j < 8; ++j) r[j] += 0.1;                 // values 9..16
  double expected = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (int j = 0; j < 3; ++j) expected += 0.1;
  EXPECT_EQ(numpy_sum(tenths), 0.1 + expected);
  EXPECT_EQ(numpy_sum(std::vector<double>{1, 2, 3}), 6.0);
  EXPECT_EQ(numpy_sum({}), 0.0);
}

}  // namespace
}  // namespace curate::select
