#include "curate/model/config.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::model {
namespace {

using curate::testing::golden_model;
using curate::testing::read_file;
using curate::testing::ScratchDir;

std::string qwen_config() { return read_file(golden_model("qwen2_tiny") / "config.json"); }

std::string edited(const std::string& text, const std::function<void(nlohmann::json&)>& edit) {
  auto json = nlohmann::json::parse(text);
  edit(json);
  return json.dump();
}

TEST(ModelConfig, ReadsQwen2) {
  ModelConfig c = load_model_config(golden_model("qwen2_tiny"));
  EXPECT_EQ(c.architecture, Architecture::kQwen2);
  EXPECT_EQ(c.vocab_size, 1000);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.rope_scaling.type, RopeType::kDefault);
}

TEST(ModelConfig, ReadsLlama31RopeScaling) {
  ModelConfig c = load_model_config(golden_model("llama31_tiny"));
  EXPECT_EQ(c.architecture, Architecture::kLlama);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.rope_scaling.type, RopeType::kLlama3);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 64);
}

TEST(ModelConfig, ReadsTransformers5RopeParameters) {
  auto text = edited(read_file(golden_model("llama31_tiny") / "config.json"), [](auto& j) {
    j["rope_parameters"] = j["rope_scaling"];
    j["rope_parameters"]["rope_theta"] = 1234.0;
    j.erase("rope_scaling");
    j.erase("rope_theta");
  });
  ModelConfig c = parse_model_config(text, "config.json");
  EXPECT_DOUBLE_EQ(c.rope_theta, 1234.0);
  EXPECT_EQ(c.rope_scaling.type, RopeType::kLlama3);
}

TEST(ModelConfig, HeadDimOverride) {
  auto text = edited(qwen_config(), [](auto& j) { j["head_dim"] = 32; });
  EXPECT_EQ(parse_model_config(text, "x").head_dim, 32);
}

TEST(ModelConfig, RejectsUnknownArchitecture) {
  auto text = edited(qwen_config(), [](auto& j) { j["architectures"] = {"MixtralForCausalLM"}; });
  EXPECT_THROW_WITH(parse_model_config(text, "dir/config.json"), ModelError, "dir/config.json", "MixtralForCausalLM",
                    "Qwen2ForCausalLM");
}

TEST(ModelConfig, RejectsUnsupportedRopeType) {
  auto text = edited(qwen_config(), [](auto& j) { j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}}; });
  EXPECT_THROW_WITH(parse_model_config(text, "dir/config.json"), ModelError, "dir/config.json", "yarn", "llama3");
}

TEST(ModelConfig, RejectsInconsistentHeads) {
  auto text = edited(qwen_config(), [](auto& j) { j["num_key_value_heads"] = 3; });
  EXPECT_THROW_WITH(parse_model_config(text, "c.json"), ModelError, "num_key_value_heads");
}

TEST(ModelConfig, RejectsMissingAndMistypedKeys) {
  auto missing = edited(qwen_config(), [](auto& j) { j.erase("hidden_size"); });
  EXPECT_THROW_WITH(parse_model_config(missing, "c.json"), ModelError, "hidden_size");
  auto mistyped = edited(qwen_config(), [](auto& j) { j["vocab_size"] = "1000"; });
  EXPECT_THROW_WITH(parse_model_config(mistyped, "c.json"), ModelError, "vocab_size");
  EXPECT_THROW_WITH(parse_model_config("{not json", "c.json"), ModelError, "c.json", "JSON");
  auto act = edited(qwen_config(), [](auto& j) { j["hidden_act"] = "gelu"; });
  EXPECT_THROW_WITH(parse_model_config(act, "c.json"), ModelError, "gelu");
}

TEST(ModelConfig, MissingFolderNamesPath) {
  EXPECT_THROW_WITH(load_model_config("/nonexistent/model"), ModelError, "'/nonexistent/model' does not exist");
  ScratchDir dir;
  EXPECT_THROW_WITH(load_model_config(dir.path()), ModelError,
                    (dir.path() / "config.json").string());  // a folder without it
}

TEST(ModelConfig, HubIdPathGetsTheDownloadCommand) {
  EXPECT_THROW_WITH(require_model_folder("Qwen/Qwen2.5-7B-Instruct", "model.path"), ModelError,
                    "model.path = 'Qwen/Qwen2.5-7B-Instruct' does not exist", "hub id",
                    "hf download Qwen/Qwen2.5-7B-Instruct --local-dir models/Qwen2.5-7B-Instruct",
                    "set model.path = models/Qwen2.5-7B-Instruct");
  EXPECT_EQ(hub_id_of("meta-llama/Llama-3.1-8B"), "meta-llama/Llama-3.1-8B");
  for (const char* not_hub :
       {"/abs/Org/Name", "./Org/Name", "models/Org/Name", "Name", "Org/", "/Name", "Org/../x", "a b/c"}) {
    EXPECT_EQ(hub_id_of(not_hub), "") << not_hub;
  }
  // Not a hub id: no download command, just the missing path.
  try {
    require_model_folder("/nonexistent/a/b", "perturb.target");
    ADD_FAILURE() << "expected ModelError";
  } catch (const ModelError& e) {
    EXPECT_EQ(std::string(e.what()).find("hf download"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("perturb.target = '/nonexistent/a/b' does not exist"), std::string::npos)
        << e.what();
  }
  ScratchDir dir;
  curate::testing::write_file(dir / "file", "x");
  EXPECT_THROW_WITH(require_model_folder(dir / "file", "model.path"), ModelError, "is a file");
}

TEST(ModelConfig, JsonRoundTripOfBuiltinShapes) {
  for (const char* shape : {"tiny", "tiny-qwen2", "tiny-llama", "qwen2.5-0.5b", "qwen2.5-7b", "llama3.1-8b"}) {
    ModelConfig c = builtin_shape(shape);
    ModelConfig back = parse_model_config(model_config_to_json(c), shape);
    EXPECT_EQ(back.architecture, c.architecture) << shape;
    EXPECT_EQ(back.num_parameters(), c.num_parameters()) << shape;
    EXPECT_EQ(back.rope_scaling.type, c.rope_scaling.type) << shape;
  }
  // Published sizes: Qwen2.5-0.5B has 494M parameters, Llama-3.1-8B 8.03B.
  EXPECT_EQ(builtin_shape("qwen2.5-0.5b").num_parameters(), 494032768);
  EXPECT_EQ(builtin_shape("llama3.1-8b").num_parameters(), 8030261248);
  EXPECT_EQ(builtin_shape("tiny").num_parameters(), 257856);  // as launch/peer_bench.py reports for its "tiny"
  EXPECT_THROW_WITH(builtin_shape("gpt2"), ConfigError, "gpt2", "tiny-qwen2");
}

TEST(ModelConfig, ExpectedTensorsMatchParameterCount) {
  for (const char* shape : {"tiny-qwen2", "tiny-llama"}) {
    ModelConfig c = builtin_shape(shape);
    int64_t total = 0;
    for (const auto& spec : expected_tensors(c)) {
      int64_t n = 1;
      for (int64_t d : spec.shape) n *= d;
      total += n;
    }
    EXPECT_EQ(total, c.num_parameters()) << shape;
  }
}

}  // namespace
}  // namespace curate::model
