// Counter-based noise: the tensor path equals the scalar definition, pieces equal the whole, and the
// values are standard normal.
#include "curate/model/noise.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "curate/util/hash.h"

namespace curate::model {
namespace {

TEST(Noise, TensorValuesAreTheScalarDefinition) {
  const uint64_t stream = 0x0123456789abcdefull;
  const int64_t first = (int64_t{1} << 33) - 1000, count = 200000;  // counters above 2^32 too
  torch::Tensor values = standard_normal(stream, first, count, torch::kCPU);
  ASSERT_EQ(values.scalar_type(), torch::kFloat32);
  ASSERT_EQ(values.numel(), count);
  const float* got = values.data_ptr<float>();
  int64_t different = 0;
  for (int64_t i = 0; i < count; ++i) {
    const float want = standard_normal_at(stream, static_cast<uint64_t>(first + i));
    if (std::memcmp(&want, &got[i], sizeof want) != 0) {
      ++different;  // torch's vectorized float64 log/cos may differ from libm by an ulp before rounding
      EXPECT_LE(std::abs(want - got[i]), 2e-7f * std::max(1.0f, std::abs(want))) << i;
    }
  }
  EXPECT_LE(different, count / 10000) << different << " of " << count << " values differ by an ulp";
}

TEST(Noise, DeviceIntegerArithmeticIsSplitMix64) {
  // The tensor operations a GPU runs, here on the CPU, against SplitMix64 in uint64_t arithmetic.
  for (uint64_t stream : {uint64_t{0}, uint64_t{0xfedcba9876543210ull}}) {
    const int64_t first = (int64_t{1} << 40) - 3000, count = 100000;
    torch::Tensor h = counter_hashes(stream, first, count, torch::kCPU);
    const int64_t* got = h.data_ptr<int64_t>();
    for (int64_t i = 0; i < count; ++i) {
      const uint64_t want = mix64(stream + static_cast<uint64_t>(first + i) * 0x9e3779b97f4a7c15ull);
      ASSERT_EQ(std::bit_cast<uint64_t>(got[i]), want) << i;
    }
  }
}

TEST(Noise, PiecesEqualTheWholeAndStreamsDiffer) {
  torch::Tensor whole = standard_normal(7, 100, 5000, torch::kCPU);
  torch::Tensor pieces =
      torch::cat({standard_normal(7, 100, 1234, torch::kCPU), standard_normal(7, 1334, 3766, torch::kCPU)});
  EXPECT_TRUE(torch::equal(whole, pieces));
  EXPECT_FALSE(torch::equal(whole, standard_normal(8, 100, 5000, torch::kCPU)));
  EXPECT_EQ(standard_normal(7, 0, 0, torch::kCPU).numel(), 0);
}

TEST(Noise, ValuesAreStandardNormal) {
  torch::Tensor z = standard_normal(42, 0, 1 << 22, torch::kCPU).to(torch::kFloat64);
  EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.003);
  EXPECT_NEAR(z.std().item<double>(), 1.0, 0.002);
  EXPECT_NEAR((z.abs() > 2).to(torch::kFloat64).mean().item<double>(), 0.0455, 0.001);
  EXPECT_NEAR((z.abs() > 3).to(torch::kFloat64).mean().item<double>(), 0.0027, 0.0002);
  EXPECT_NEAR((z * z * z * z).mean().item<double>(), 3.0, 0.03);  // kurtosis of a normal
  EXPECT_LT(z.abs().max().item<double>(), 6.77);                  // u1 >= 2^-33: |z| <= 6.764
  // Neighbouring counters are uncorrelated.
  torch::Tensor lag = (z.slice(0, 1) * z.slice(0, 0, -1)).mean();
  EXPECT_NEAR(lag.item<double>(), 0.0, 0.003);
}

}  // namespace
}  // namespace curate::model
