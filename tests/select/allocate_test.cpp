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
  // 60 examples. Budget 20 (no group saturates):
  //   domains: e^0.866 = 2.377 : 1 -> 14.08, 5.92 -> 14, 5; leftover 1 to domain 0 (capacities 60 = 60,
  //   lower index) -> 15, 5.
  //   domain 0 (15): 1 : e^1.414 = 4.113 -> 2.93, 12.07 -> 2, 12; leftover to source 10 -> 3, 12.
  // (A flat softmax over the three sources would give 3, 13, 4.)
  const std::vector<GroupStats> groups = {stats(0, 10, 30, 1, 1), stats(0, 11, 30, 1, 2), stats(1, 20, 60, 1, 1)};
  const Allocation a = allocate_hierarchical(groups, 20, 1.0);
  EXPECT_EQ(a.allocated, (Alloc{3, 12, 5}));
  ASSERT_EQ(a.rows.size(), 5u);
  EXPECT_EQ(a.rows[0].level, "domain");
  EXPECT_EQ(a.rows[0].domain, 0);
  EXPECT_EQ(a.rows[0].source, -1);
  EXPECT_EQ(a.rows[0].examples, 60);
  EXPECT_NEAR(a.rows[0].score, std::sqrt(0.75), 1e-12);
  EXPECT_NEAR(a.rows[0].share, 14.0784, 1e-4);
  EXPECT_EQ(a.rows[0].allocated, 15);
  EXPECT_EQ(a.rows[1].level, "source");
  EXPECT_EQ(a.rows[1].source, 10);
  EXPECT_NEAR(a.rows[2].score, std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(a.rows[2].share, 12.0664, 1e-4);
  EXPECT_EQ(a.rows[2].allocated, 12);
  EXPECT_EQ(a.rows[3].level, "domain");
  EXPECT_EQ(a.rows[3].allocated, 5);
  EXPECT_EQ(a.rows[4].source, 20);
  EXPECT_EQ(a.rows[4].allocated, 5);
  EXPECT_EQ(allocate(std::vector<double>{0, std::sqrt(2.0), 0}, Alloc{30, 30, 60}, 20, 1.0), (Alloc{3, 13, 4}));
}

}  // namespace
}  // namespace curate::select
