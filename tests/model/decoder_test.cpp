// Parity of the decoder with Hugging Face transformers (float64 references in shared/testdata) and the
// model-loading failures a user meets.
#include "curate/model/decoder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "curate/model/scorer.h"
#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::model {
namespace {

using curate::testing::golden_model;
using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::write_file;

constexpr double kTolerance = 1e-4;  // float32 losses within 1e-4 of the float64 reference (docs/DESIGN.md, parity)

struct GoldenSequence {
  std::vector<int64_t> ids;
  std::vector<double> loss;
};

// Sequences of `file` in the fp32 folder of `family`, with the losses for fp32 or bf16 weights.
std::vector<GoldenSequence> load_golden(const std::string& family, const std::string& file, bool bf16) {
  auto json = nlohmann::json::parse(read_file(golden_model(family) / file));
  std::vector<GoldenSequence> out;
  for (const auto& s : json.at("sequences")) {
    out.push_back({s.at("input_ids").get<std::vector<int64_t>>(),
                   s.at(bf16 ? "loss_bf16_weights" : "loss_fp32_weights").get<std::vector<double>>()});
  }
  return out;
}

std::vector<ScoreRequest> whole(const std::vector<GoldenSequence>& golden) {
  std::vector<ScoreRequest> requests;
  for (const auto& s : golden) requests.push_back({s.ids, 0, static_cast<int64_t>(s.ids.size()) - 1});
  return requests;
}

double max_error(const std::vector<float>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (std::size_t t = 0; t < std::min(got.size(), want.size()); ++t) {
    worst = std::max(worst, std::abs(static_cast<double>(got[t]) - want[t]));
  }
  return worst;
}

struct GoldenCase {
  std::string folder;  // model folder under golden/models
  std::string family;  // fp32 folder holding golden*.json
  bool bf16;
};

class GoldenParity : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenParity, EachSequenceAloneMatchesTransformers) {
  const GoldenCase& c = GetParam();
  Scorer scorer(load_causal_lm(golden_model(c.folder), {}), {});
  for (const char* file : {"golden.json", "golden_long.json"}) {
    auto golden = load_golden(c.family, file, c.bf16);
    ASSERT_FALSE(golden.empty());
    for (std::size_t i = 0; i < golden.size(); ++i) {
      std::vector<GoldenSequence> one = {golden[i]};
      auto requests = whole(one);
      auto nll = scorer.score(requests);
      EXPECT_LT(max_error(nll[0], golden[i].loss), kTolerance) << file << " sequence " << i;
    }
  }
}

TEST_P(GoldenParity, AllSequencesBatchedTogetherMatch) {
  const GoldenCase& c = GetParam();
  auto golden = load_golden(c.family, "golden.json", c.bf16);
  auto requests = whole(golden);
  Scorer alone(load_causal_lm(golden_model(c.folder), {}), {.batch_tokens = 1});
  Scorer batched(load_causal_lm(golden_model(c.folder), {}),
                 {.batch_tokens = 1 << 20, .lm_head_rows = 7, .max_padding = 1.0});
  auto one_by_one = alone.score(requests);
  auto together = batched.score(requests);
  EXPECT_EQ(batched.stats().padded_tokens, static_cast<int64_t>(golden.size()) * (int64_t)(golden[3].ids.size() - 1));
  for (std::size_t i = 0; i < golden.size(); ++i) {
    EXPECT_LT(max_error(together[i], golden[i].loss), kTolerance) << "sequence " << i;
    ASSERT_EQ(together[i].size(), one_by_one[i].size());
    for (std::size_t t = 0; t < together[i].size(); ++t) {
      EXPECT_NEAR(together[i][t], one_by_one[i][t], 2e-5) << "sequence " << i << " position " << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenParity,
                         ::testing::Values(GoldenCase{"qwen2_tiny", "qwen2_tiny", false},
                                           GoldenCase{"qwen2_tiny_bf16", "qwen2_tiny", true},
                                           GoldenCase{"llama31_tiny", "llama31_tiny", false},
                                           GoldenCase{"llama31_tiny_bf16", "llama31_tiny", true}),
                         [](const auto& param_info) { return param_info.param.folder; });

TEST(Decoder, FirstLogitsMatchTransformers) {
  for (const char* family : {"qwen2_tiny", "llama31_tiny"}) {
    auto json = nlohmann::json::parse(read_file(golden_model(family) / "golden.json"));
    auto want = json.at("first_logits_row0_to_3").get<std::vector<std::vector<double>>>();
    auto ids = json.at("sequences")[0].at("input_ids").get<std::vector<int64_t>>();
    CausalLM model = load_causal_lm(golden_model(family), {});
    torch::InferenceMode guard;
    auto hidden = model->hidden_states(torch::tensor(ids).unsqueeze(0))[0];
    auto logits = model->logits(hidden.slice(0, 0, 4));
    for (int64_t row = 0; row < 4; ++row) {
      for (int64_t v = 0; v < logits.size(1); ++v) {
        ASSERT_NEAR(logits[row][v].item<double>(), want[row][v], 1e-4) << family << " row " << row << " vocab " << v;
      }
    }
  }
}

TEST(Decoder, ParameterNamesAreCheckpointNames) {
  CausalLM untied = load_causal_lm(golden_model("llama31_tiny"), {});
  std::set<std::string> names;
  for (const auto& p : untied->named_parameters()) names.insert(p.key());
  Checkpoint checkpoint(golden_model("llama31_tiny"));
  std::set<std::string> stored;
  for (const auto& [name, entry] : checkpoint.entries()) stored.insert(name);
  EXPECT_EQ(names, stored);
  CausalLM tied = load_causal_lm(golden_model("qwen2_tiny"), {});
  for (const auto& p : tied->named_parameters()) EXPECT_NE(p.key(), "lm_head.weight");
}

// True when `address` lies in a mapping of a file whose name ends with `suffix` (/proc/self/maps).
bool mapped_from_file(const void* address, const std::string& suffix) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto target = reinterpret_cast<uintptr_t>(address);
  while (std::getline(maps, line)) {
    uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &begin, &end) != 2) continue;
    if (target >= begin && target < end) return line.ends_with(suffix);
  }
  return false;
}

TEST(Decoder, FloatCheckpointOnCpuSharesMappedPages) {
  CausalLM model = load_causal_lm(golden_model("qwen2_tiny"), {});
  for (const auto& p : model->named_parameters()) {
    EXPECT_TRUE(mapped_from_file(p.value().data_ptr(), "qwen2_tiny/model.safetensors")) << p.key();
  }
  CausalLM converted = load_causal_lm(golden_model("qwen2_tiny_bf16"), {});  // bf16 -> float32 copies
  for (const auto& p : converted->named_parameters()) {
    EXPECT_FALSE(mapped_from_file(p.value().data_ptr(), ".safetensors")) << p.key();
  }
}

// ---- bad model folders -------------------------------------------------------------------------

class BrokenModel : public ::testing::Test {
 protected:
  void SetUp() override { curate::testing::copy_model(golden_model("llama31_tiny"), dir_.path()); }

  // Rewrites model.safetensors through `edit` of its tensor list.
  void rewrite(const std::function<void(std::vector<TensorBlob>&)>& edit) {
    std::string original = read_file(dir_ / "model.safetensors");
    SafetensorsFile file(dir_ / "model.safetensors");
    std::vector<TensorBlob> blobs;
    for (const auto& info : file.tensors()) {
      blobs.push_back({info.name, info.dtype, info.shape, {file.data(info), info.nbytes}});
    }
    edit(blobs);
    write_safetensors(dir_ / "rewritten", blobs);
    std::filesystem::rename(dir_ / "rewritten", dir_ / "model.safetensors");
  }

  ScratchDir dir_;
};

TEST_F(BrokenModel, MissingTensorIsNamed) {
  rewrite([](auto& blobs) {
    std::erase_if(blobs, [](const auto& b) { return b.name == "model.layers.1.mlp.up_proj.weight"; });
  });
  EXPECT_THROW_WITH(load_causal_lm(dir_.path(), {}), ModelError, "model.layers.1.mlp.up_proj.weight", "missing",
                    dir_.path().string());
}

TEST_F(BrokenModel, MisShapedTensorIsNamed) {
  rewrite([](auto& blobs) {
    for (auto& b : blobs) {
      if (b.name == "model.layers.2.self_attn.k_proj.weight") b.shape = {b.shape[1], b.shape[0]};
    }
  });
  EXPECT_THROW_WITH(load_causal_lm(dir_.path(), {}), ModelError, "model.layers.2.self_attn.k_proj.weight", "[64, 32]",
                    "[32, 64]", "model.safetensors");
}

TEST_F(BrokenModel, TruncatedFileIsNamed) {
  std::string bytes = read_file(dir_ / "model.safetensors");
  write_file(dir_ / "model.safetensors", bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW_WITH(load_causal_lm(dir_.path(), {}), ModelError, "model.safetensors", "truncated");
}

TEST_F(BrokenModel, UnknownArchitectureAndRopeType) {
  std::string config = read_file(dir_ / "config.json");
  write_file(dir_ / "config.json", std::regex_replace(config, std::regex("LlamaForCausalLM"), "GemmaForCausalLM"));
  EXPECT_THROW_WITH(load_causal_lm(dir_.path(), {}), ModelError, "GemmaForCausalLM", "config.json");
  write_file(dir_ / "config.json", std::regex_replace(config, std::regex("\"llama3\""), "\"dynamic\""));
  EXPECT_THROW_WITH(load_causal_lm(dir_.path(), {}), ModelError, "dynamic", "config.json");
}

TEST_F(BrokenModel, NonFloatWeightIsNamed) {
  std::vector<int32_t> ints(64, 1);
  rewrite([&](auto& blobs) {
    for (auto& b : blobs) {
      if (b.name == "model.norm.weight") {
        b.dtype = DType::kI32;
        b.bytes = std::as_bytes(std::span(ints));
      }
    }
  });
  EXPECT_THROW_WITH(load_causal_lm(dir_.path(), {}), ModelError, "model.norm.weight", "I32");
}

}  // namespace
}  // namespace curate::model
