#include "curate/model/decoder.h"

#include <torch/torch.h>

#include <cmath>
#include <numbers>
#include <optional>

#include "curate/util/log.h"
#include "curate/util/strings.h"

namespace curate::model {
namespace {

torch::Tensor rotate_half(const torch::Tensor& x) {
  auto halves = x.chunk(2, -1);
  return torch::cat({-halves[1], halves[0]}, -1);
}

// transformers' inv_freq for the default, linear and llama3 rope types, op for op in float32.
torch::Tensor inverse_frequencies(const ModelConfig& config) {
  const int64_t dim = config.head_dim;
  auto exponent = torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(dim);
  torch::Tensor inv_freq = 1.0 / torch::pow(config.rope_theta, exponent);
  const RopeScaling& rope = config.rope_scaling;
  if (rope.type == RopeType::kLinear) return inv_freq / rope.factor;
  if (rope.type != RopeType::kLlama3) return inv_freq;

  const double old_context = static_cast<double>(rope.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / rope.low_freq_factor;
  const double high_freq_wavelen = old_context / rope.high_freq_factor;
  torch::Tensor wavelen = 2 * std::numbers::pi / inv_freq;
  torch::Tensor scaled = torch::where(wavelen > low_freq_wavelen, inv_freq / rope.factor, inv_freq);
  torch::Tensor smooth =
      (old_context / wavelen - rope.low_freq_factor) / (rope.high_freq_factor - rope.low_freq_factor);
  torch::Tensor smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled;
  torch::Tensor medium =
      torch::logical_not(wavelen < high_freq_wavelen).logical_and(torch::logical_not(wavelen > low_freq_wavelen));
  return torch::where(medium, smoothed, scaled);
}

}  // namespace

ProjectionImpl::ProjectionImpl(WeightSource& weights, const std::string& name, int64_t in, int64_t out, bool bias) {
  weight_ = register_parameter("weight", weights.get(name + ".weight", {out, in}), false);
  if (bias) bias_ = register_parameter("bias", weights.get(name + ".bias", {out}), false);
}

torch::Tensor ProjectionImpl::forward(const torch::Tensor& x) const {
  return bias_.defined() ? torch::nn::functional::linear(x, weight_, bias_) : torch::nn::functional::linear(x, weight_);
}

RMSNormImpl::RMSNormImpl(WeightSource& weights, const std::string& name, int64_t size, double eps) : eps_(eps) {
  weight_ = register_parameter("weight", weights.get(name + ".weight", {size}), false);
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) const {
  torch::Tensor h = x.to(torch::promote_types(torch::kFloat32, x.scalar_type()));
  torch::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * torch::rsqrt(variance + eps_);
  return weight_ * h.to(x.scalar_type());
}

RotaryImpl::RotaryImpl(const ModelConfig& config, torch::Device device) {
  inv_freq_ = register_buffer("inv_freq", inverse_frequencies(config).to(device));
}

std::pair<torch::Tensor, torch::Tensor> RotaryImpl::tables(int64_t length, torch::ScalarType dtype) const {
  auto positions = torch::arange(length, inv_freq_.options());
  torch::Tensor freqs = torch::outer(positions, inv_freq_);
  torch::Tensor angles = torch::cat({freqs, freqs}, -1);
  return {angles.cos().to(dtype), angles.sin().to(dtype)};
}

AttentionImpl::AttentionImpl(WeightSource& weights, const std::string& prefix, const ModelConfig& c)
    : heads_(c.num_attention_heads), kv_heads_(c.num_key_value_heads), head_dim_(c.head_dim) {
  const int64_t q = heads_ * head_dim_, kv = kv_heads_ * head_dim_;
  q_proj_ = register_module("q_proj", Projection(weights, prefix + "q_proj", c.hidden_size, q, c.qkv_bias));
  k_proj_ = register_module("k_proj", Projection(weights, prefix + "k_proj", c.hidden_size, kv, c.qkv_bias));
  v_proj_ = register_module("v_proj", Projection(weights, prefix + "v_proj", c.hidden_size, kv, c.qkv_bias));
  o_proj_ = register_module("o_proj", Projection(weights, prefix + "o_proj", q, c.hidden_size, c.o_bias));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) const {
  const int64_t batch = x.size(0), length = x.size(1);
  auto heads = [&](const Projection& proj, int64_t n) {
    return proj->forward(x).view({batch, length, n, head_dim_}).transpose(1, 2);
  };
  torch::Tensor q = heads(q_proj_, heads_), k = heads(k_proj_, kv_heads_), v = heads(v_proj_, kv_heads_);
  q = q * cos + rotate_half(q) * sin;
  k = k * cos + rotate_half(k) * sin;
  torch::Tensor out = at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                                       /*is_causal=*/length > 1, /*scale=*/std::nullopt,
                                                       /*enable_gqa=*/heads_ != kv_heads_);
  return o_proj_->forward(out.transpose(1, 2).reshape({batch, length, heads_ * head_dim_}));
}

MlpImpl::MlpImpl(WeightSource& weights, const std::string& prefix, const ModelConfig& c) {
  gate_proj_ = register_module(
      "gate_proj", Projection(weights, prefix + "gate_proj", c.hidden_size, c.intermediate_size, c.mlp_bias));
  up_proj_ = register_module("up_proj",
                             Projection(weights, prefix + "up_proj", c.hidden_size, c.intermediate_size, c.mlp_bias));
  down_proj_ = register_module(
      "down_proj", Projection(weights, prefix + "down_proj", c.intermediate_size, c.hidden_size, c.mlp_bias));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) const {
  return down_proj_->forward(torch::silu(gate_proj_->forward(x)) * up_proj_->forward(x));
}

DecoderLayerImpl::DecoderLayerImpl(WeightSource& weights, const std::string& prefix, const ModelConfig& c) {
  input_layernorm_ =
      register_module("input_layernorm", RMSNorm(weights, prefix + "input_layernorm", c.hidden_size, c.rms_norm_eps));
  self_attn_ = register_module("self_attn", Attention(weights, prefix + "self_attn.", c));
  post_attention_layernorm_ = register_module(
      "post_attention_layernorm", RMSNorm(weights, prefix + "post_attention_layernorm", c.hidden_size, c.rms_norm_eps));
  mlp_ = register_module("mlp", Mlp(weights, prefix + "mlp.", c));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                        const torch::Tensor& sin) const {
  torch::Tensor h = x + self_attn_->forward(input_layernorm_->forward(x), cos, sin);
  return h + mlp_->forward(post_attention_layernorm_->forward(h));
}

CausalLMImpl::CausalLMImpl(WeightSource& weights, const ModelConfig& config, TensorTarget target)
    : config_(config), target_(target) {
  auto body = register_module("model", std::make_shared<torch::nn::Module>("model"));
  auto embed_tokens = body->register_module("embed_tokens", std::make_shared<torch::nn::Module>());
  embed_ = embed_tokens->register_parameter(
      "weight", weights.get("model.embed_tokens.weight", {config.vocab_size, config.hidden_size}), false);
  layers_ = body->register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_->push_back(DecoderLayer(weights, cat("model.layers.", i, "."), config));
  }
  norm_ = body->register_module("norm", RMSNorm(weights, "model.norm", config.hidden_size, config.rms_norm_eps));
  if (config.tie_word_embeddings) {
    lm_head_ = embed_;
  } else {
    auto head = register_module("lm_head", std::make_shared<torch::nn::Module>());
    lm_head_ = head->register_parameter("weight",
                                        weights.get("lm_head.weight", {config.vocab_size, config.hidden_size}), false);
  }
  rotary_ = Rotary(config, target.device);
}

torch::Tensor CausalLMImpl::hidden_states(const torch::Tensor& ids) const {
  torch::Tensor h = embed_.index_select(0, ids.reshape(-1)).view({ids.size(0), ids.size(1), -1});
  auto [cos, sin] = rotary_->tables(ids.size(1), h.scalar_type());
  for (const auto& layer : *layers_) h = layer->as<DecoderLayer>()->forward(h, cos, sin);
  return h;
}

torch::Tensor CausalLMImpl::logits(const torch::Tensor& hidden_rows) const {
  return torch::nn::functional::linear(norm_->forward(hidden_rows), lm_head_);
}

CausalLM load_causal_lm(const std::filesystem::path& dir, TensorTarget target, Autograd autograd) {
  ModelConfig config = load_model_config(dir);
  CheckpointWeights weights(dir, target);
  std::optional<torch::InferenceMode> inference;
  std::optional<torch::NoGradGuard> no_grad;
  if (autograd == Autograd::kInferenceOnly) {
    inference.emplace();
  } else {
    no_grad.emplace();
  }
  CausalLM model(weights, config, target);
  for (const auto& name : weights.unused()) {
    if (name == "lm_head.weight" && config.tie_word_embeddings) continue;  // redundant copy of the embedding
    log::warn("ignoring tensor '" + name + "' in '" + dir.string() + "': config.json does not use it");
  }
  return model;
}

}  // namespace curate::model
