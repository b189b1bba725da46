// search_noise as a pure function of a ratio oracle: bracketing, bisection, giving up.
#include "job/noise_search.h"

#include <gtest/gtest.h>

#include <cmath>

namespace curate::service {
namespace {

// A model whose loss ratio at total std s is 1 + (s / 0.01)^2: 2 at 0.01, 3 at 0.0141.
double quadratic(double std) { return 1 + (std / 0.01) * (std / 0.01); }

TEST(NoiseSearchTest, AStartInTheBandIsTheAnswer) {
  int calls = 0;
  const NoiseSearch s = search_noise([&](double std) { return ++calls, quadratic(std); }, {.start = 0.012});
  ASSERT_TRUE(s.found);
  EXPECT_EQ(*s.found, 0.012);
  EXPECT_EQ(calls, 1);
}

TEST(NoiseSearchTest, TooLittleNoiseBracketsUpThenBisects) {
  // 0.002 -> 1.04, 0.008 -> 1.64, 0.032 -> 11.2: bracket [0.008, 0.032]; sqrt(0.008 * 0.032) = 0.016 -> 3.56;
  // sqrt(0.008 * 0.016) = 0.0113 -> 2.28: in the band.
  const NoiseSearch s = search_noise(quadratic, {.start = 0.002});
  ASSERT_TRUE(s.found);
  EXPECT_EQ(*s.found, 0.0113);
  std::vector<double> tried;
  for (const NoiseProbe& p : s.probes) tried.push_back(p.std);
  EXPECT_EQ(tried, (std::vector<double>{0.002, 0.008, 0.032, 0.016, 0.0113}));
  const double ratio = s.probes.back().ratio;
  EXPECT_TRUE(ratio >= 2 && ratio <= 3) << ratio;
}

TEST(NoiseSearchTest, TooMuchNoiseBracketsDown) {
  const NoiseSearch s = search_noise(quadratic, {.start = 0.5});
  ASSERT_TRUE(s.found);
  EXPECT_GE(quadratic(*s.found), 2);
  EXPECT_LE(quadratic(*s.found), 3);
  EXPECT_LT(s.probes[1].std, s.probes[0].std);
}

TEST(NoiseSearchTest, ANarrowBandIsReachedByBisection) {
  const NoiseSearch s = search_noise(quadratic, {.start = 1e-4, .low = 2.4, .high = 2.5});
  ASSERT_TRUE(s.found) << describe_probes(s.probes);
  EXPECT_GE(quadratic(*s.found), 2.4);
  EXPECT_LE(quadratic(*s.found), 2.5);
}

TEST(NoiseSearchTest, ARatioThatNeverRisesGivesUpAtTheLargestStd) {
  const NoiseSearch s = search_noise([](double) { return 1.0; }, {.start = 8e-3});
  EXPECT_FALSE(s.found);
  EXPECT_LE(s.probes.back().std, 1.0);
  EXPECT_EQ(s.probes.size(), 4u);  // 0.008, 0.032, 0.128, 0.512; 2.05 is past `most`
}

TEST(NoiseSearchTest, AStepThatJumpsOverTheBandStopsWhenNoStdIsLeftBetween) {
  // The ratio jumps from 1 to 10 at 0.01: no std of 3 digits lies between 0.00999 and 0.01.
  const NoiseSearch s = search_noise([](double std) { return std < 0.01 ? 1.0 : 10.0; }, {.start = 1e-3});
  EXPECT_FALSE(s.found);
  EXPECT_LE(s.probes.size(), 16u);
}

TEST(NoiseSearchTest, ProbesAreRoundedToThePrintedDigits) {
  EXPECT_EQ(describe_probes({{0.0113137, 2.25}, {0.032, 11.24}}), "std 0.0113 -> 2.25, std 0.032 -> 11.24");
  const NoiseSearch s = search_noise(quadratic, {.start = 0.0021234});
  EXPECT_EQ(s.probes.front().std, 0.00212);
}

}  // namespace
}  // namespace curate::service
