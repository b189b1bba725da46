// Weights read from a model folder: a NaN written into a stored tensor stops the load with the
// tensor, file and row named (exit 4) instead of turning every loss into NaN.
#include "curate/model/weights.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "curate/model/decoder.h"
#include "curate/model/scorer.h"
#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::model {
namespace {

using curate::testing::ScratchDir;

// Overwrites element `index` of tensor `name` in `dir`/model.safetensors with `value` (float32 storage).
void poke(const std::filesystem::path& dir, const std::string& name, int64_t index, float value) {
  uint64_t offset = 0;
  {
    SafetensorsFile file(dir / "model.safetensors");
    for (const auto& info : file.tensors()) {
      if (info.name == name) offset = info.offset + static_cast<uint64_t>(index) * sizeof(float);
    }
  }
  ASSERT_GT(offset, 0u) << name;
  std::fstream out(dir / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
  out.seekp(static_cast<std::streamoff>(offset));
  out.write(reinterpret_cast<const char*>(&value), sizeof value);
  ASSERT_TRUE(out.good());
}

TEST(CheckpointWeights, NanInAStoredTensorIsAModelErrorNamingTensorFileAndRow) {
  ScratchDir dir;
  const ModelConfig config = builtin_shape("tiny-qwen2");
  write_random_model(config, dir / "m", 1, 0.05, torch::kFloat32, 0);
  const int64_t hidden = config.hidden_size;
  poke(dir / "m", "model.embed_tokens.weight", 17 * hidden + 3, std::numeric_limits<float>::quiet_NaN());
  try {
    load_causal_lm(dir / "m", {});
    FAIL() << "a NaN weight was loaded";
  } catch (const ModelError& e) {
    const std::string expected =
        "tensor 'model.embed_tokens.weight' in " + (dir / "m" / "model.safetensors").string() +
        " has 1 NaN value (first at row 17): the weights are damaged; download the shard again";
    EXPECT_EQ(e.what(), expected);
  }
  // The fine-tuned model's weights are read the same way (perturb.target).
  CheckpointWeights tuned(dir / "m", {torch::kCPU, torch::kBFloat16});
  EXPECT_THROW(tuned.get("model.embed_tokens.weight", {config.vocab_size, hidden}), ModelError);
}

// Random weights with NaN in the final norm: a checkpoint broken in memory (e.g. by an overflowing perturbation).
class NanNormWeights : public WeightSource {
 public:
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape) override {
    torch::Tensor t = random_.get(name, shape);
    if (name == "model.norm.weight") t.fill_(std::numeric_limits<float>::quiet_NaN());
    return t;
  }

 private:
  RandomWeights random_{3, 0.05, {}};
};

TEST(CheckpointWeights, NanLossesOfABrokenCheckpointComeBackAsNan) {
  // The per-pass count of NaN losses (service) needs them as they are: not zeroed, dropped or clamped.
  NanNormWeights source;
  torch::InferenceMode guard;
  Scorer scorer(CausalLM(source, builtin_shape("tiny-qwen2"), TensorTarget{}), ScoreOptions{});
  const std::vector<int64_t> ids = {1, 5, 9, 2, 7, 3};
  const std::vector<ScoreRequest> requests = {{ids, 1, 5}};
  const auto losses = scorer.score(requests);
  ASSERT_EQ(losses.size(), 1u);
  ASSERT_EQ(losses[0].size(), 4u);
  for (float loss : losses[0]) EXPECT_TRUE(std::isnan(loss)) << loss;
}

}  // namespace
}  // namespace curate::model
