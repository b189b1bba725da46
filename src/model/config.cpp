#include "curate/model/config.h"

#include <cctype>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "curate/util/error.h"

namespace curate::model {
namespace {

using nlohmann::json;

class Reader {
 public:
  Reader(const json& object, const std::string& source) : object_(object), source_(source) {}

  [[noreturn]] void fail(const std::string& message) const { throw ModelError(source_ + ": " + message); }

  bool has(const char* key) const { return object_.contains(key) && !object_.at(key).is_null(); }

  // `limit` keeps sizes far beyond any real model (a damaged file) from overflowing the products
  // that count parameters and shape tensors.
  int64_t positive_int(const char* key, int64_t limit = std::numeric_limits<int32_t>::max()) const {
    if (!has(key)) fail(std::string("missing required key '") + key + "'");
    const json& value = object_.at(key);
    if (!value.is_number_integer() || value.get<int64_t>() <= 0) {
      fail(std::string("'") + key + "' must be a positive integer, got " + value.dump());
    }
    if (value.get<int64_t>() > limit) {
      fail(std::string("'") + key + "' = " + value.dump() + " is larger than the supported " + std::to_string(limit) +
           "; is config.json damaged?");
    }
    return value.get<int64_t>();
  }

  int64_t int_or(const char* key, int64_t fallback, int64_t limit = std::numeric_limits<int32_t>::max()) const {
    return has(key) ? positive_int(key, limit) : fallback;
  }

  double positive_number_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const json& value = object_.at(key);
    if (!value.is_number() || !(value.get<double>() > 0)) {
      fail(std::string("'") + key + "' must be a positive number, got " + value.dump());
    }
    return value.get<double>();
  }

  bool bool_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& value = object_.at(key);
    if (!value.is_boolean()) fail(std::string("'") + key + "' must be true or false, got " + value.dump());
    return value.get<bool>();
  }

  std::string string_or(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& value = object_.at(key);
    if (!value.is_string()) fail(std::string("'") + key + "' must be a string, got " + value.dump());
    return value.get<std::string>();
  }

 private:
  const json& object_;
  const std::string& source_;
};

RopeScaling parse_rope_scaling(const json& node, const std::string& source) {
  RopeScaling scaling;
  if (node.is_null()) return scaling;
  if (!node.is_object()) throw ModelError(source + ": 'rope_scaling' must be an object or null");
  Reader reader(node, source);
  std::string type = reader.string_or("rope_type", reader.string_or("type", "default"));
  if (type == "default") return scaling;
  scaling.factor = reader.positive_number_or("factor", 1.0);
  if (type == "linear") {
    scaling.type = RopeType::kLinear;
  } else if (type == "llama3") {
    scaling.type = RopeType::kLlama3;
    scaling.low_freq_factor = reader.positive_number_or("low_freq_factor", 1.0);
    scaling.high_freq_factor = reader.positive_number_or("high_freq_factor", 4.0);
    scaling.original_max_position_embeddings = reader.positive_int("original_max_position_embeddings");
    if (scaling.high_freq_factor <= scaling.low_freq_factor) {
      reader.fail("rope_scaling: high_freq_factor must exceed low_freq_factor");
    }
  } else {
    reader.fail("unsupported rope_scaling type '" + type + "'; supported: default, linear, llama3");
  }
  return scaling;
}

}  // namespace

int64_t ModelConfig::num_parameters() const {
  const int64_t q = num_attention_heads * head_dim, kv = num_key_value_heads * head_dim;
  int64_t attention = hidden_size * q + 2 * hidden_size * kv + q * hidden_size;
  if (qkv_bias) attention += q + 2 * kv;
  if (o_bias) attention += hidden_size;
  int64_t mlp = 3 * hidden_size * intermediate_size;
  if (mlp_bias) mlp += 2 * intermediate_size + hidden_size;
  const int64_t layer = attention + mlp + 2 * hidden_size;
  const int64_t embeddings = vocab_size * hidden_size * (tie_word_embeddings ? 1 : 2);
  return num_hidden_layers * layer + embeddings + hidden_size;
}

ModelConfig parse_model_config(std::string_view json_text, const std::string& source) {
  json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) throw ModelError(source + ": not valid JSON");
  if (!root.is_object()) throw ModelError(source + ": expected a JSON object");
  Reader reader(root, source);

  ModelConfig config;
  const json* arch = root.contains("architectures") ? &root.at("architectures") : nullptr;
  if (arch == nullptr || !arch->is_array() || arch->size() != 1 || !(*arch)[0].is_string()) {
    reader.fail("'architectures' must list exactly one architecture (Qwen2ForCausalLM or LlamaForCausalLM)");
  }
  config.architecture_name = (*arch)[0].get<std::string>();
  if (config.architecture_name == "Qwen2ForCausalLM") {
    config.architecture = Architecture::kQwen2;
  } else if (config.architecture_name == "LlamaForCausalLM") {
    config.architecture = Architecture::kLlama;
  } else {
    reader.fail("unsupported architecture '" + config.architecture_name +
                "'; supported: Qwen2ForCausalLM, LlamaForCausalLM");
  }

  // Limits far above real models (Llama-3.1-405B: hidden 16384, 126 layers, 128 heads; vocabularies
  // up to 262144) that keep num_parameters() and the tensor shapes within int64.
  config.vocab_size = reader.positive_int("vocab_size", int64_t{1} << 24);
  config.hidden_size = reader.positive_int("hidden_size", int64_t{1} << 18);
  config.intermediate_size = reader.positive_int("intermediate_size", int64_t{1} << 20);
  config.num_hidden_layers = reader.positive_int("num_hidden_layers", int64_t{1} << 12);
  config.num_attention_heads = reader.positive_int("num_attention_heads", int64_t{1} << 12);
  config.num_key_value_heads = reader.int_or("num_key_value_heads", config.num_attention_heads, int64_t{1} << 12);
  config.max_position_embeddings = reader.int_or("max_position_embeddings", 0);
  config.rms_norm_eps = reader.positive_number_or("rms_norm_eps", 1e-6);
  config.tie_word_embeddings = reader.bool_or("tie_word_embeddings", false);
  config.torch_dtype = reader.string_or("torch_dtype", reader.string_or("dtype", ""));

  if (config.num_attention_heads % config.num_key_value_heads != 0) {
    reader.fail("num_attention_heads (" + std::to_string(config.num_attention_heads) +
                ") is not a multiple of num_key_value_heads (" + std::to_string(config.num_key_value_heads) + ")");
  }
  if (reader.has("head_dim")) {
    config.head_dim = reader.positive_int("head_dim", int64_t{1} << 14);
  } else {
    if (config.hidden_size % config.num_attention_heads != 0) {
      reader.fail("hidden_size is not a multiple of num_attention_heads and no head_dim is given");
    }
    config.head_dim = config.hidden_size / config.num_attention_heads;
  }
  if (config.head_dim % 2 != 0) reader.fail("head_dim must be even for rotary embeddings");

  std::string act = reader.string_or("hidden_act", "silu");
  if (act != "silu") reader.fail("unsupported hidden_act '" + act + "'; supported: silu");

  // transformers 5 may move rope settings into 'rope_parameters'.
  config.rope_theta = reader.positive_number_or("rope_theta", 10000.0);
  if (root.contains("rope_parameters") && root.at("rope_parameters").is_object()) {
    const json& params = root.at("rope_parameters");
    config.rope_theta = Reader(params, source).positive_number_or("rope_theta", config.rope_theta);
    config.rope_scaling = parse_rope_scaling(params, source);
  } else if (root.contains("rope_scaling")) {
    config.rope_scaling = parse_rope_scaling(root.at("rope_scaling"), source);
  }

  if (config.architecture == Architecture::kQwen2) {
    config.qkv_bias = true;
    if (reader.bool_or("use_sliding_window", false)) {
      reader.fail("use_sliding_window=true is not supported; set it to false (Qwen2.5 checkpoints ship it false)");
    }
  } else {
    config.qkv_bias = config.o_bias = reader.bool_or("attention_bias", false);
    config.mlp_bias = reader.bool_or("mlp_bias", false);
  }
  return config;
}

std::string hub_id_of(const std::string& path) {
  const auto slash = path.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == path.size() ||
      path.find('/', slash + 1) != std::string::npos) {
    return {};
  }
  if (path[0] == '.' || path[slash + 1] == '.') return {};
  for (char c : path) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '_' || c == '-')) return {};
  }
  return path;
}

void require_model_folder(const std::filesystem::path& dir, const std::string& option) {
  std::error_code error;
  if (std::filesystem::is_directory(dir, error)) return;
  const std::string text = dir.string();
  if (std::filesystem::exists(dir, error)) {
    throw ModelError(option + " = '" + text + "' is a file: give the model folder (config.json + *.safetensors)");
  }
  const std::string id = hub_id_of(text);
  if (id.empty())
    throw ModelError(option + " = '" + text +
                     "' does not exist: give a Hugging Face model folder (config.json + *.safetensors)");
  const std::string local = "models/" + id.substr(id.find('/') + 1);
  throw ModelError(option + " = '" + text +
                   "' does not exist here; it looks like a Hugging Face hub id. curate_dist reads "
                   "local folders only: download it first (pip install -U huggingface_hub) with\n  hf download " +
                   id + " --local-dir " + local + "\nthen set " + option + " = " + local);
}

ModelConfig load_model_config(const std::filesystem::path& model_dir) {
  require_model_folder(model_dir, "the model folder");
  const auto path = model_dir / "config.json";
  std::ifstream in(path);
  if (!in) {
    throw ModelError("cannot read '" + path.string() +
                     "': is --model a Hugging Face model folder (config.json + *.safetensors)?");
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_model_config(text.str(), path.string());
}

std::string model_config_to_json(const ModelConfig& config) {
  json out;
  out["architectures"] = {config.architecture_name};
  out["model_type"] = config.architecture == Architecture::kQwen2 ? "qwen2" : "llama";
  out["vocab_size"] = config.vocab_size;
  out["hidden_size"] = config.hidden_size;
  out["intermediate_size"] = config.intermediate_size;
  out["num_hidden_layers"] = config.num_hidden_layers;
  out["num_attention_heads"] = config.num_attention_heads;
  out["num_key_value_heads"] = config.num_key_value_heads;
  out["head_dim"] = config.head_dim;
  if (config.max_position_embeddings > 0)
    out["max_position_embeddings"] = config.max_position_embeddings;  // 0: unknown
  out["hidden_act"] = "silu";
  out["rope_theta"] = config.rope_theta;
  out["rms_norm_eps"] = config.rms_norm_eps;
  out["tie_word_embeddings"] = config.tie_word_embeddings;
  out["torch_dtype"] = config.torch_dtype;
  if (config.architecture == Architecture::kLlama) {
    out["attention_bias"] = config.o_bias;
    out["mlp_bias"] = config.mlp_bias;
  } else {
    out["use_sliding_window"] = false;
  }
  const RopeScaling& rope = config.rope_scaling;
  if (rope.type == RopeType::kLinear) {
    out["rope_scaling"] = {{"rope_type", "linear"}, {"factor", rope.factor}};
  } else if (rope.type == RopeType::kLlama3) {
    out["rope_scaling"] = {{"rope_type", "llama3"},
                           {"factor", rope.factor},
                           {"low_freq_factor", rope.low_freq_factor},
                           {"high_freq_factor", rope.high_freq_factor},
                           {"original_max_position_embeddings", rope.original_max_position_embeddings}};
  }
  return out.dump(2) + "\n";
}

ModelConfig builtin_shape(std::string_view name) {
  ModelConfig c;
  c.max_position_embeddings = 32768;
  c.torch_dtype = "float32";
  auto qwen = [&](int64_t vocab, int64_t hidden, int64_t inter, int64_t layers, int64_t heads, int64_t kv, bool tie) {
    c.architecture = Architecture::kQwen2;
    c.architecture_name = "Qwen2ForCausalLM";
    c.vocab_size = vocab, c.hidden_size = hidden, c.intermediate_size = inter;
    c.num_hidden_layers = layers, c.num_attention_heads = heads, c.num_key_value_heads = kv;
    c.head_dim = hidden / heads, c.rope_theta = 1e6, c.rms_norm_eps = 1e-6;
    c.tie_word_embeddings = tie, c.qkv_bias = true;
  };
  auto llama = [&](int64_t vocab, int64_t hidden, int64_t inter, int64_t layers, int64_t heads, int64_t kv) {
    c.architecture = Architecture::kLlama;
    c.architecture_name = "LlamaForCausalLM";
    c.vocab_size = vocab, c.hidden_size = hidden, c.intermediate_size = inter;
    c.num_hidden_layers = layers, c.num_attention_heads = heads, c.num_key_value_heads = kv;
    c.head_dim = hidden / heads, c.rope_theta = 5e5, c.rms_norm_eps = 1e-5;
    c.rope_scaling = {RopeType::kLlama3, 8.0, 1.0, 4.0, 8192};
  };
  if (name == "tiny") {  // launch/peer_bench.py's "tiny": Qwen2Config defaults, untied
    qwen(1000, 64, 160, 3, 4, 2, false);
    c.rope_theta = 10000.0;
  } else if (name == "tiny-qwen2") {
    qwen(1000, 64, 160, 3, 4, 2, true);
  } else if (name == "tiny-llama") {
    llama(1000, 64, 160, 3, 4, 2);
    c.rope_scaling.original_max_position_embeddings = 64;
  } else if (name == "qwen2.5-0.5b") {
    qwen(151936, 896, 4864, 24, 14, 2, true);
  } else if (name == "qwen2.5-7b") {
    qwen(152064, 3584, 18944, 28, 28, 4, false);
  } else if (name == "llama3.1-8b") {
    llama(128256, 4096, 14336, 32, 32, 8);
  } else {
    throw ConfigError("unknown model shape '" + std::string(name) +
                      "'; built-in shapes: tiny, tiny-qwen2, tiny-llama, qwen2.5-0.5b, qwen2.5-7b, llama3.1-8b");
  }
  return c;
}

}  // namespace curate::model

namespace curate::model {

std::vector<TensorSpec> expected_tensors(const ModelConfig& c) {
  const int64_t q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  std::vector<TensorSpec> specs;
  specs.push_back({"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    specs.push_back({p + "input_layernorm.weight", {c.hidden_size}});
    for (const auto& [name, rows] : {std::pair{"q_proj", q}, {"k_proj", kv}, {"v_proj", kv}}) {
      specs.push_back({p + "self_attn." + name + ".weight", {rows, c.hidden_size}});
      if (c.qkv_bias) specs.push_back({p + "self_attn." + name + ".bias", {rows}});
    }
    specs.push_back({p + "self_attn.o_proj.weight", {c.hidden_size, q}});
    if (c.o_bias) specs.push_back({p + "self_attn.o_proj.bias", {c.hidden_size}});
    specs.push_back({p + "post_attention_layernorm.weight", {c.hidden_size}});
    for (const char* name : {"gate_proj", "up_proj"}) {
      specs.push_back({p + "mlp." + name + ".weight", {c.intermediate_size, c.hidden_size}});
      if (c.mlp_bias) specs.push_back({p + "mlp." + name + ".bias", {c.intermediate_size}});
    }
    specs.push_back({p + "mlp.down_proj.weight", {c.hidden_size, c.intermediate_size}});
    if (c.mlp_bias) specs.push_back({p + "mlp.down_proj.bias", {c.hidden_size}});
  }
  specs.push_back({"model.norm.weight", {c.hidden_size}});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}});
  return specs;
}

}  // namespace curate::model
