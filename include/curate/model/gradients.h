// The gradient of one example's SFT loss through our decoder, and its seeded random projection
// (issue 28, numerics; docs/DESIGN.md, "Gradients (issue 28, numerics)").
//
// Loss: for a sequence ids = prompt + response, the mean over the scored positions t in [begin, end)
// of -log p(ids[t+1] | ids[0..t]) (the scorer's positions, scorer.h), computed in float32 (float64 for
// a float64 model). sft_request() gives the positions a trainer uses: the first `cap` response tokens
// as targets, prompt tokens never.
//
// Projection: y = (1/sqrt(dim)) Σ_k Σ_b M_{k,b}ᵀ g_{k,b}, where g_{k,b} is block b of the flattened
// gradient of selected tensor k (float32) and M_{k,b} [rows, dim] is generated from a counter-based
// stream (seed, k, b), entry (r, j) from counter r·dim + j: ±1 (rademacher, the sign bit of the
// SplitMix64 output) or N(0, 1) (gaussian, noise.h). No [P x dim] matrix ever exists; each block's
// product is summed over its rows by a fixed pairwise tree of element-wise adds and blocks are added in
// (k, b) order, so the bits do not depend on thread counts, the device or the ranks.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "curate/model/decoder.h"
#include "curate/model/gradient_options.h"
#include "curate/model/score_types.h"

namespace curate::model {

struct SelectedParameter {
  std::string name;     // checkpoint name, e.g. "model.norm.weight"
  torch::Tensor value;  // the model's own tensor (not a copy)
};

// The parameters `selector` (GradientOptions::params) names, in the model's named_parameters() order
// (embeddings; per layer input_layernorm, q, k, v, o, post_attention_layernorm, gate, up, down; the
// final norm; an untied lm_head), whatever the order of a list. "default": the last layer's self_attn.{q,k,v,o}_proj
// and mlp.{gate,up,down}_proj weights and biases, and model.norm.weight; "all": every parameter (a
// tied lm_head is the embedding, listed once). Throws ConfigError for a malformed selector and
// ModelError naming every name the model does not have.
std::vector<SelectedParameter> select_parameters(const CausalLM& model, const std::string& selector);

// Scored positions of an SFT example whose first `prompt_length` ids are the prompt: targets are the
// first min(cap, response length) response tokens, i.e. t in [prompt_length − 1, prompt_length − 1 +
// that count). Throws DataError for an empty prompt or response or a non-positive cap.
ScoreRequest sft_request(std::span<const int64_t> ids, int64_t prompt_length, int64_t cap);

struct ExampleGradient {
  double loss = 0;                   // mean loss over the scored positions
  int64_t tokens = 0;                // scored positions (end − begin)
  std::vector<torch::Tensor> grads;  // d loss / d params[i], shaped, typed and placed like params[i]
};

// The loss of `request` and its gradient with respect to `params` (from select_parameters on this
// model), by autograd through the decoder; only `params` require grad, and only while this runs. The
// model must be built with Autograd::kAllowed (ModelError otherwise). Grad mode is on inside,
// whatever the caller's. Throws DataError for a bad range or out-of-vocabulary ids, as Scorer does.
ExampleGradient example_gradient(const CausalLM& model, std::span<const SelectedParameter> params,
                                 const ScoreRequest& request);

struct ProjectionSpec {
  int64_t dim = 8192;
  ProjectionKind kind = ProjectionKind::kRademacher;
  uint64_t seed = 0;
};

// Rows of M_{k,b}: max(1, 2^22 / dim) (part of the definition: changing it changes the bits).
int64_t projection_block_rows(int64_t dim);

// float32 [dim] on the device of the gradients: the projection of the concatenated `grads` (in the
// order given: tensor k is grads[k]). Temporaries: about 40 bytes per entry of one block (2^22 entries).
torch::Tensor project_gradient(std::span<const torch::Tensor> grads, const ProjectionSpec& spec);
// The same; `tensor_ops` forces the element-wise tensor formulation (what CUDA and gaussian run) where
// rademacher on the CPU would take its plain loop (about 20x faster, the same bits: tests compare them).
torch::Tensor project_gradient(std::span<const torch::Tensor> grads, const ProjectionSpec& spec, bool tensor_ops);

}  // namespace curate::model
