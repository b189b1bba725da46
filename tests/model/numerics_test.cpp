// Non-finite weights are found in every float dtype, named by tensor, file and row; uniform losses
// are recognised.
#include "curate/model/numerics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::model {
namespace {

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(T)};
}

TEST(NonFinite, CountsNanAndInfInEachFloatType) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<float> f32(1000, 1.5f);  // more than one block of 256
  EXPECT_EQ(count_non_finite(DType::kF32, bytes_of(f32)).count(), 0);
  f32[600] = nan, f32[700] = -inf, f32[999] = nan;
  NonFinite found = count_non_finite(DType::kF32, bytes_of(f32));
  EXPECT_EQ(found.nan, 2);
  EXPECT_EQ(found.inf, 1);
  EXPECT_EQ(found.first, 600);
  f32[999] = std::numeric_limits<float>::max();  // large but finite
  EXPECT_EQ(count_non_finite(DType::kF32, bytes_of(f32)).count(), 2);

  std::vector<double> f64(10, 0.0);
  f64[3] = std::numeric_limits<double>::infinity();
  EXPECT_EQ(count_non_finite(DType::kF64, bytes_of(f64)).inf, 1);

  std::vector<uint16_t> bf16(300, 0x3f80);  // 1.0
  bf16[5] = 0x7fc0;                         // NaN
  bf16[299] = 0xff80;                       // -Inf (in the tail after the first block)
  found = count_non_finite(DType::kBF16, bytes_of(bf16));
  EXPECT_EQ(found.nan, 1);
  EXPECT_EQ(found.inf, 1);
  EXPECT_EQ(found.first, 5);
  bf16[5] = 0x7f7f;  // largest finite bfloat16
  EXPECT_EQ(count_non_finite(DType::kBF16, bytes_of(bf16)).count(), 1);

  std::vector<uint16_t> f16(4, 0x3c00);  // 1.0
  f16[2] = 0x7c01;                       // NaN
  EXPECT_EQ(count_non_finite(DType::kF16, bytes_of(f16)).nan, 1);
  EXPECT_EQ(count_non_finite(DType::kBF16, bytes_of(f16)).count(), 0);  // the same bits are finite bfloat16

  std::vector<uint16_t> ints(4, 0xffff);  // integers are never non-finite
  EXPECT_EQ(count_non_finite(DType::kI16, bytes_of(ints)).count(), 0);
}

TEST(NonFinite, UnalignedBytesAreRead) {
  std::vector<std::byte> raw(1 + 600 * sizeof(float));
  std::vector<float> values(600, 2.0f);
  values[400] = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(raw.data() + 1, values.data(), values.size() * sizeof(float));
  EXPECT_EQ(count_non_finite(DType::kF32, std::span(raw).subspan(1)).first, 400);
}

TEST(NonFinite, RequireFiniteNamesTensorFileAndRow) {
  TensorInfo info;
  info.name = "model.embed_tokens.weight";
  info.dtype = DType::kF32;
  info.shape = {30, 10};
  std::vector<float> values(300, 0.25f);
  EXPECT_NO_THROW(require_finite(info, bytes_of(values), "model.safetensors"));
  values[175] = values[176] = values[299] = std::numeric_limits<float>::quiet_NaN();
  try {
    require_finite(info, bytes_of(values), "/models/q/model-00001-of-00002.safetensors");
    FAIL() << "NaN weights were accepted";
  } catch (const ModelError& e) {
    EXPECT_STREQ(e.what(),
                 "tensor 'model.embed_tokens.weight' in /models/q/model-00001-of-00002.safetensors has 3 NaN values "
                 "(first at row 17): the weights are damaged; download the shard again");
    EXPECT_EQ(e.exit_code(), 4);
  }
  info.shape = {300};
  values[175] = std::numeric_limits<float>::infinity();
  try {
    require_finite(info, bytes_of(values), "f");
    FAIL() << "infinite weights were accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("has 2 NaN values and 1 infinite value (first at index 175)"),
              std::string::npos)
        << e.what();
  }
}

TEST(NonFinite, ATensorOfAnUnchangedFileIsScannedOnce) {
  curate::testing::ScratchDir dir;
  const auto file = dir / "model.safetensors";
  curate::testing::write_file(file, "stands for a shard");
  TensorInfo info;
  info.name = "lm_head.weight";
  info.dtype = DType::kF32;
  info.shape = {4};
  std::vector<float> values(4, 1.0f);
  require_finite_once(info, bytes_of(values), file);
  values[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NO_THROW(require_finite_once(info, bytes_of(values), file));  // remembered: not read again
  info.name = "model.norm.weight";                                     // another tensor of the file is scanned
  EXPECT_THROW(require_finite_once(info, bytes_of(values), file), ModelError);
  info.name = "lm_head.weight";
  curate::testing::write_file(file, "stands for a new download");  // a changed file is scanned again
  EXPECT_THROW(require_finite_once(info, bytes_of(values), file), ModelError);
}

TEST(LooksUniform, LossesAtTheLogOfTheVocabulary) {
  const double uniform = std::log(151936.0);  // 11.93 nats
  EXPECT_TRUE(looks_uniform(uniform, 151936));
  EXPECT_TRUE(looks_uniform(uniform * 1.03, 151936));
  EXPECT_FALSE(looks_uniform(uniform * 1.2, 151936));  // worse than uniform: confidently wrong, not flat
  EXPECT_FALSE(looks_uniform(1.8, 151936));            // a working model
  EXPECT_FALSE(looks_uniform(std::nan(""), 151936));
  EXPECT_FALSE(looks_uniform(0.0, 1));
  EXPECT_TRUE(looks_uniform(uniform * 1.1, 151936, 0.15));
}

TEST(AllLossesUniform, EveryTokenAtTheLogOfTheVocabulary) {
  const auto uniform = static_cast<float>(std::log(512.0));
  std::vector<float> losses(20, uniform);
  EXPECT_TRUE(all_losses_uniform(losses, 512));
  losses[3] = std::nanf("");  // NaN is counted elsewhere, not here
  EXPECT_TRUE(all_losses_uniform(losses, 512));
  EXPECT_FALSE(all_losses_uniform(std::span<const float>(losses).first(10), 512));  // too few tokens to tell
  EXPECT_FALSE(all_losses_uniform(losses, 1000));                                   // another vocabulary
  EXPECT_FALSE(all_losses_uniform(losses, 1));
  losses[7] = uniform + 0.01f;  // one token off: the model still tells tokens apart
  EXPECT_FALSE(all_losses_uniform(losses, 512));
  // Heavy noise: the mean is ln(vocab), but the tokens spread around it.
  std::vector<float> noisy;
  for (int k = 0; k < 64; ++k) noisy.push_back(uniform + (k % 2 ? 0.5f : -0.5f));
  EXPECT_TRUE(looks_uniform(uniform, 512));
  EXPECT_FALSE(all_losses_uniform(noisy, 512));
}

}  // namespace
}  // namespace curate::model
