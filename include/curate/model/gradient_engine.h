// Torch-free face of the per-example gradients for the service (--stage gradients): holds the base
// model built for autograd, the selected parameters and the projection, and turns one tokenized
// example into its projected SFT-loss gradient (gradients.h has the numerics).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "curate/model/checkpoint_scorer.h"
#include "curate/model/gradient_options.h"

namespace curate::model {

struct ProjectedGradient {
  std::vector<float> projected;  // [gradients.dim] project_gradient of the gradient (float32)
  float norm = 0;                // ‖gradient‖ over the selected parameters (float32 entries, summed in float64)
  double loss = 0;               // the example's mean SFT loss
  int64_t tokens = 0;            // its scored response tokens
};

class GradientEngine {
 public:
  // Loads the base model (engine.model) on engine.device in engine.dtype with Autograd::kAllowed, sets
  // engine.threads, and selects gradients.params. Throws ModelError / ConfigError as load_causal_lm
  // and select_parameters do.
  GradientEngine(EngineOptions engine, GradientOptions gradients);
  ~GradientEngine();
  GradientEngine(const GradientEngine&) = delete;
  GradientEngine& operator=(const GradientEngine&) = delete;

  // The projected gradient of the SFT loss of `ids` whose first `prompt_length` ids are the prompt
  // (sft_request with gradients.tokens). Deterministic. Throws DataError for an example without a
  // prompt or a response, or with ids outside the vocabulary.
  ProjectedGradient compute(std::span<const int64_t> ids, int64_t prompt_length);
  int64_t vocab_size() const;
  // Entries of the selected parameters (the gradient's length).
  int64_t selected_entries() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace curate::model
