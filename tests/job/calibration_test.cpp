// choose_checkpoint and calibration_sample: the calibration's decisions without any file.
#include "job/calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

const float kNaN = std::nanf("");

TEST(ChooseCheckpointTest, TheFirstRatioInTheBandWins) {
  // 3 slots (base, gaussian 1, gaussian 2) x 2 examples: ratios 1, 1.5, 1.6; band [1.4, 1.7].
  const std::vector<float> loss = {2, 2, 3, 3, 3.2f, 3.2f};
  const CheckpointChoice c = choose_checkpoint(loss, 3, 1.4, 1.7);
  EXPECT_EQ(c.chosen, 1);
  EXPECT_EQ(c.means, (std::vector<float>{2, 3, 3.2f}));
  EXPECT_FLOAT_EQ(c.ratios[1], 1.5f);
  EXPECT_FLOAT_EQ(c.ratios[2], 1.6f);
}

TEST(ChooseCheckpointTest, OutsideTheBandTheClosestToItsMiddleWins) {
  // ratios 1, 1.1, 3, 2.2; band [1.5, 2] (middle 1.75): 2.2 is closest.
  const std::vector<float> loss = {1, 1.1f, 3, 2.2f};
  EXPECT_EQ(choose_checkpoint(loss, 4, 1.5, 2.0).chosen, 3);
}

TEST(ChooseCheckpointTest, AMissedBandNamesTheRatiosSeenAndTheRangeToTry) {
  const std::vector<float> in_band = {2, 2, 3, 3};  // ratio 1.5 in [1.4, 1.7]
  const CheckpointChoice met = choose_checkpoint(in_band, 2, 1.4, 1.7);
  EXPECT_FALSE(met.missed);
  EXPECT_EQ(calibration_miss(met, 1.4, 1.7, std::vector<double>{2e-3}), "");
  // Too little noise: ratios 1, 1.01, 1.04 at stds 0.002, 0.004 for a wanted 2-3. ratio - 1 grows as
  // std^2, so the curve reaches 2 at 0.02 and 3 at 0.02 * sqrt(2).
  const std::vector<float> weak = {1, 1, 1.01f, 1.01f, 1.04f, 1.04f};
  const CheckpointChoice low = choose_checkpoint(weak, 3, 2, 3);
  EXPECT_TRUE(low.missed);
  EXPECT_EQ(low.chosen, 2);
  const std::vector<double> stds = {2e-3, 4e-3};
  const auto range = extrapolate_std_range(stds, low.ratios, 2, 3);
  ASSERT_TRUE(range);
  EXPECT_NEAR(range->first, 0.02, 1e-4);
  EXPECT_NEAR(range->second, 0.02 * std::sqrt(2.0), 2e-4);
  const std::string miss = calibration_miss(low, 2, 3, stds);
  EXPECT_NE(miss.find("calibration missed its target: best ratio 1.04 at gaussian 2, wanted 2-3"), std::string::npos)
      << miss;
  EXPECT_NE(miss.find("ratios seen: std 0.002 -> 1.01, std 0.004 -> 1.04"), std::string::npos) << miss;
  EXPECT_NE(miss.find("at std 0.02-0.0283: try perturb.gaussian_max_std = 0.0283"), std::string::npos) << miss;
  EXPECT_NE(miss.find("gaussian_max_std = auto"), std::string::npos) << miss;
  // Too much noise: ratio 5 then 9 at stds 0.002, 0.004 (ratio - 1 ~ std^1): the band lies below.
  const CheckpointChoice high = choose_checkpoint(std::vector<float>{1, 5, 9}, 3, 2, 3);
  EXPECT_TRUE(high.missed);
  const auto down = extrapolate_std_range(stds, high.ratios, 2, 3);
  ASSERT_TRUE(down);
  EXPECT_NEAR(down->first, 5e-4, 1e-6);
  EXPECT_NEAR(down->second, 1e-3, 1e-6);
  // No measurable effect: no curve to extrapolate, ten times the noise instead.
  const CheckpointChoice flat = choose_checkpoint(std::vector<float>{1, 1, 1}, 3, 2, 3);
  EXPECT_FALSE(extrapolate_std_range(stds, flat.ratios, 2, 3));
  EXPECT_NE(calibration_miss(flat, 2, 3, stds).find("try perturb.gaussian_max_std = 0.04"), std::string::npos);
}

TEST(ChooseCheckpointTest, OnlyExamplesScoredAtEveryCheckpointCount) {
  // Example 1 has no loss at gaussian 1: it must not count at the base either.
  const std::vector<float> loss = {2, 100, 3, kNaN};
  const CheckpointChoice c = choose_checkpoint(loss, 2, 1.4, 1.6);
  EXPECT_EQ(c.means, (std::vector<float>{2, 3}));
  EXPECT_EQ(c.chosen, 1);
}

TEST(ChooseCheckpointTest, NoCompleteExampleIsADataError) {
  const std::vector<float> loss = {2, kNaN, kNaN, 3};
  EXPECT_THROW_WITH(choose_checkpoint(loss, 2, 1, 2), DataError, "no example of the sample has reasoning tokens");
}

TEST(CalibrationSampleTest, DrawsDistinctSortedPositionsBySeed) {
  const std::vector<uint64_t> a = calibration_sample(100, 10, 7);
  ASSERT_EQ(a.size(), 10u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<uint64_t>(a.begin(), a.end()).size(), 10u);
  EXPECT_LT(a.back(), 100u);
  EXPECT_EQ(calibration_sample(100, 10, 7), a);
  EXPECT_NE(calibration_sample(100, 10, 8), a);
  EXPECT_EQ(calibration_sample(3, 10, 7), (std::vector<uint64_t>{0, 1, 2}));  // fewer records than asked
}

}  // namespace
}  // namespace curate::service
