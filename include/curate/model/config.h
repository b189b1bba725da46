// Decoder architecture read from a Hugging Face `config.json` (Qwen2ForCausalLM, LlamaForCausalLM).
// Torch-free, so tools and tests that only inspect models need no libtorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace curate::model {

enum class Architecture { kQwen2, kLlama };

enum class RopeType {
  kDefault,  // inv_freq = theta^(-2i/d)
  kLinear,   // inv_freq / factor
  kLlama3,   // Llama-3.1 frequency-dependent scaling
};

struct RopeScaling {
  RopeType type = RopeType::kDefault;
  double factor = 1.0;
  double low_freq_factor = 1.0;                  // llama3 only
  double high_freq_factor = 4.0;                 // llama3 only
  int64_t original_max_position_embeddings = 0;  // llama3 only
};

struct ModelConfig {
  Architecture architecture = Architecture::kLlama;
  std::string architecture_name;  // as written in config.json
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // hidden_size / num_attention_heads unless given
  int64_t max_position_embeddings = 0;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // q/k/v projections carry a bias (always for Qwen2)
  bool o_bias = false;    // o_proj carries a bias (Llama attention_bias)
  bool mlp_bias = false;  // gate/up/down carry biases (Llama mlp_bias)
  RopeScaling rope_scaling;
  std::string torch_dtype;  // informational: "float32", "bfloat16", ...

  // Number of parameters, embeddings and (untied) lm_head included.
  int64_t num_parameters() const;
};

// Parses config.json text. `source` names the file in error messages. Throws ModelError for JSON
// errors, unknown architectures, unsupported rope types or activations, and inconsistent sizes.
ModelConfig parse_model_config(std::string_view json_text, const std::string& source);

// Reads `<dir>/config.json`.
ModelConfig load_model_config(const std::filesystem::path& model_dir);

// Throws ModelError (exit 4) unless `dir` is a folder. `option` names the setting in the message
// ("model.path"). A missing path that looks like a Hugging Face hub id ("Org/Name") gets the command
// that downloads it: hf download Org/Name --local-dir models/Name.
void require_model_folder(const std::filesystem::path& dir, const std::string& option);

// The hub id `path` looks like ("Qwen/Qwen2.5-7B-Instruct": two names of [A-Za-z0-9._-] joined by
// one '/', not starting with '.' or '/'), or empty.
std::string hub_id_of(const std::string& path);

// The config.json text for `config` (what `curate_tool make-model` writes).
std::string model_config_to_json(const ModelConfig& config);

// Built-in shapes for random-weight models: "tiny" (launch/peer_bench.py's), "tiny-qwen2", "tiny-llama",
// "qwen2.5-0.5b", "qwen2.5-7b", "llama3.1-8b". Throws ConfigError listing them for another name.
ModelConfig builtin_shape(std::string_view name);

}  // namespace curate::model

namespace curate::model {

// Name and shape of one parameter tensor as stored in Hugging Face checkpoints.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};

// Every tensor a checkpoint of `config` must hold, in module order ("model.embed_tokens.weight", ...,
// "lm_head.weight" when untied).
std::vector<TensorSpec> expected_tensors(const ModelConfig& config);

}  // namespace curate::model
