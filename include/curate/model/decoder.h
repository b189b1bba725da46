// The Llama/Qwen2 decoder as libtorch modules. Parameter names equal the Hugging Face checkpoint names
// ("model.layers.0.self_attn.q_proj.weight", ...), so named_parameters() addresses checkpoint tensors.
// Parameters never require grad by themselves. Scoring builds and runs the model under
// torch::InferenceMode (load_causal_lm's default); a model built for gradients (Autograd::kAllowed, see
// gradients.h) holds ordinary tensors, so that autograd may record through it.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "curate/model/config.h"
#include "curate/model/weights.h"

namespace curate::model {

// y = x W^T + b, weight [out, in], optional bias [out].
class ProjectionImpl : public torch::nn::Module {
 public:
  ProjectionImpl(WeightSource& weights, const std::string& name, int64_t in, int64_t out, bool bias);
  torch::Tensor forward(const torch::Tensor& x) const;

 private:
  torch::Tensor weight_, bias_;
};
TORCH_MODULE(Projection);

// Hugging Face RMSNorm: normalise in float32 (float64 for a float64 model), cast back, then scale.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(WeightSource& weights, const std::string& name, int64_t size, double eps);
  torch::Tensor forward(const torch::Tensor& x) const;

 private:
  torch::Tensor weight_;
  double eps_;
};
TORCH_MODULE(RMSNorm);

// Rotary tables. inv_freq and angles are float32, as transformers computes them whatever the model dtype.
class RotaryImpl : public torch::nn::Module {
 public:
  RotaryImpl(const ModelConfig& config, torch::Device device);
  // cos and sin for positions [0, length): each [length, head_dim] in `dtype`.
  std::pair<torch::Tensor, torch::Tensor> tables(int64_t length, torch::ScalarType dtype) const;

 private:
  torch::Tensor inv_freq_;  // [head_dim / 2] float32
};
TORCH_MODULE(Rotary);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(WeightSource& weights, const std::string& prefix, const ModelConfig& config);
  // x [B, T, hidden]; cos/sin [T, head_dim]. Causal over each row; right padding never leaks into
  // real positions. Returns [B, T, hidden].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) const;

 private:
  int64_t heads_, kv_heads_, head_dim_;
  Projection q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, o_proj_{nullptr};
};
TORCH_MODULE(Attention);

// SwiGLU: down(silu(gate(x)) * up(x)).
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(WeightSource& weights, const std::string& prefix, const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x) const;

 private:
  Projection gate_proj_{nullptr}, up_proj_{nullptr}, down_proj_{nullptr};
};
TORCH_MODULE(Mlp);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(WeightSource& weights, const std::string& prefix, const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) const;

 private:
  RMSNorm input_layernorm_{nullptr}, post_attention_layernorm_{nullptr};
  Attention self_attn_{nullptr};
  Mlp mlp_{nullptr};
};
TORCH_MODULE(DecoderLayer);

// Qwen2ForCausalLM / LlamaForCausalLM. Its submodule "model" holds embeddings, layers and final norm;
// "lm_head" exists only when untied (a tied head is the embedding matrix, registered once).
class CausalLMImpl : public torch::nn::Module {
 public:
  CausalLMImpl(WeightSource& weights, const ModelConfig& config, TensorTarget target);

  // ids [B, T] int64 on the model's device -> hidden states [B, T, hidden] before the final norm.
  torch::Tensor hidden_states(const torch::Tensor& ids) const;
  // Selected hidden rows [N, hidden] -> final norm -> logits [N, vocab] in the compute dtype.
  torch::Tensor logits(const torch::Tensor& hidden_rows) const;

  const ModelConfig& config() const { return config_; }
  const TensorTarget& target() const { return target_; }

 private:
  ModelConfig config_;
  TensorTarget target_;
  torch::Tensor embed_;
  torch::Tensor lm_head_;  // [vocab, hidden]; the embedding when tied
  torch::nn::ModuleList layers_{nullptr};
  RMSNorm norm_{nullptr};
  Rotary rotary_{nullptr};
};
TORCH_MODULE(CausalLM);

// kInferenceOnly builds under torch::InferenceMode (inference tensors: the fastest scoring, but autograd
// can never record through them); kAllowed builds under torch::NoGradGuard (ordinary tensors; scoring
// under InferenceMode computes the same bits).
enum class Autograd { kInferenceOnly, kAllowed };

// Loads the model folder `dir` (config.json + safetensors) onto `target`. Warns about unused tensors.
CausalLM load_causal_lm(const std::filesystem::path& dir, TensorTarget target,
                        Autograd autograd = Autograd::kInferenceOnly);

}  // namespace curate::model
