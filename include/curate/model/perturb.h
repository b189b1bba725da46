// Perturbed checkpoints, regenerated in memory (never written to disk). The noise for a tensor at a
// step comes from a generator seeded by hash(seed, family, step, tensor name), so a checkpoint is the
// same bits whatever the number of ranks, the order of tensors or the rank that builds it.
// Noise is generated on the model's device (counter-based, see noise.h) in pieces of noise_chunk()
// elements, so a 7B model is perturbed on the GPU without host round trips or whole-tensor temporaries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "curate/model/decoder.h"
#include "curate/model/perturb_options.h"

namespace curate::model {

// True for parameters the Gaussian family perturbs: every name without "embed" (a tied lm_head is the
// embedding and is left alone).
bool gaussian_perturbs(const std::string& name);

// True for parameters the directional family moves: all of them, or all but the embeddings when
// options.direction_excludes_embeddings.
bool directional_perturbs(const std::string& name, const PerturbOptions& options);

// Adds the cumulative noise of Gaussian checkpoint `checkpoint` (1..n) to `model` in place.
// The model must hold the base weights.
void apply_gaussian(CausalLM& model, const PerturbOptions& options, int checkpoint);

// Moves `model` (holding θ₀) to directional checkpoint `checkpoint` (1..n) along
// e = (θ_f − θ₀)/‖θ_f − θ₀‖, with θ_f read tensor by tensor from `finetuned` (never two whole models
// on the device). Returns the achieved distance ‖θ_j − θ₀‖ (float64 accumulation).
// Throws ModelError when the fine-tuned model's config or tensors do not match, or θ_f == θ₀.
double apply_directional(CausalLM& model, WeightSource& finetuned, const PerturbOptions& options, int checkpoint);

}  // namespace curate::model
