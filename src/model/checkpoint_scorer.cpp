#include "curate/model/checkpoint_scorer.h"

#include <torch/torch.h>

#include "curate/model/perturb.h"
#include "curate/model/scorer.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::model {

std::string describe(const CheckpointKey& key) {
  switch (key.family) {
    case Family::kBase: return "base";
    case Family::kGaussian: return cat("gaussian ", key.index);
    case Family::kDirectional: return cat("directional ", key.index);
  }
  return "?";
}

struct CheckpointScorer::Impl {
  EngineOptions options;
  TensorTarget target;
  std::unique_ptr<Scorer> scorer;
  CheckpointKey current;
  double current_measure = 0;
  int64_t vocab = 0;
};

CheckpointScorer::CheckpointScorer(EngineOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.threads < 0) throw ConfigError("score.threads must be >= 0");
  if (impl_->options.threads > 0) torch::set_num_threads(impl_->options.threads);
  impl_->target = {parse_device(impl_->options.device), parse_dtype(impl_->options.dtype)};
  impl_->scorer = std::make_unique<Scorer>(load_causal_lm(impl_->options.model, impl_->target), impl_->options.score);
  impl_->vocab = impl_->scorer->model()->config().vocab_size;
}

CheckpointScorer::~CheckpointScorer() = default;

double CheckpointScorer::select(const CheckpointKey& key) {
  const EngineOptions& o = impl_->options;
  if (key == impl_->current) return impl_->current_measure;
  double measure = key.family == Family::kGaussian ? gaussian_total_std(o.perturb, key.index) : 0.0;
  // Fresh base weights (the mapping is private: earlier in-place perturbations are gone).
  CausalLM model = load_causal_lm(o.model, impl_->target);
  if (key.family == Family::kGaussian) {
    apply_gaussian(model, o.perturb, key.index);
  } else if (key.family == Family::kDirectional) {
    if (o.finetuned.empty()) throw ConfigError("directional checkpoints need perturb.target (a fine-tuned model folder)");
    CheckpointWeights finetuned(o.finetuned, impl_->target);
    measure = apply_directional(model, finetuned, o.perturb, key.index);
  }
  impl_->scorer = std::make_unique<Scorer>(std::move(model), o.score);
  impl_->current = key;
  impl_->current_measure = measure;
  return measure;
}

const CheckpointKey& CheckpointScorer::current() const { return impl_->current; }
int64_t CheckpointScorer::vocab_size() const { return impl_->vocab; }

std::vector<std::vector<float>> CheckpointScorer::score(std::span<const ScoreRequest> requests) {
  return impl_->scorer->score(requests);
}

}  // namespace curate::model
