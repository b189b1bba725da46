#include "curate/model/checkpoint_scorer.h"

#include <torch/torch.h>

#include "curate/model/perturb.h"
#include "curate/model/scorer.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"

namespace curate::model {

void resolve_auto_device(EngineOptions& options) {
  if (options.device == "auto") options.device = torch::cuda::is_available() ? "cuda" : "cpu";
  if (options.dtype == "auto") options.dtype = options.device == "cpu" ? "float32" : "bfloat16";
}

namespace {

constexpr CheckpointKey kNoCheckpoint{Family::kBase, -1};  // after a failed use_checkpoint(): rebuild next time

// Receives the base model through `broadcaster` (the root reads it from `dir`).
CausalLM receive_model(const std::filesystem::path& dir, const ModelConfig& config, TensorTarget target,
                       WeightBroadcaster& broadcaster) {
  std::unique_ptr<CheckpointWeights> disk;
  if (broadcaster.is_root()) disk = std::make_unique<CheckpointWeights>(dir, target);
  BroadcastWeights source(broadcaster, disk.get(), target);
  torch::InferenceMode guard;
  CausalLM model(source, config, target);
  if (disk) {
    for (const auto& name : disk->unused()) {
      if (name == "lm_head.weight" && config.tie_word_embeddings) continue;
      log::warn("ignoring tensor '" + name + "' in '" + dir.string() + "': config.json does not use it");
    }
  }
  return model;
}

}  // namespace

struct CheckpointScorer::Impl {
  EngineOptions options;
  TensorTarget target;
  ModelConfig config;
  std::unique_ptr<Scorer> scorer;
  CheckpointKey current;
  double current_measure = 0;
  // Broadcast mode: θ₀ and θ_f held on the device (null in disk mode: rebuilt from the files).
  std::unique_ptr<ResidentWeights> base, finetuned;
};

CheckpointScorer::CheckpointScorer(EngineOptions options, WeightBroadcaster* broadcaster)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = std::move(options);
  resolve_auto_device(m.options);  // a no-op when the job resolved it already
  if (m.options.threads < 0) throw ConfigError("score.threads must be >= 0");
  if (m.options.threads > 0) torch::set_num_threads(m.options.threads);
  m.target = {parse_device(m.options.device), parse_dtype(m.options.dtype)};
  if (broadcaster == nullptr) {
    m.scorer = std::make_unique<Scorer>(load_causal_lm(m.options.model, m.target), m.options.score);
    m.config = m.scorer->model()->config();
    return;
  }
  m.config = load_model_config(m.options.model);
  CausalLM model = receive_model(m.options.model, m.config, m.target, *broadcaster);
  torch::InferenceMode guard;
  m.base = std::make_unique<ResidentWeights>(/*copies=*/true);
  for (const auto& p : model->named_parameters()) m.base->add(p.key(), p.value().clone());
  if (!m.options.target.empty()) {
    std::unique_ptr<CheckpointWeights> disk;
    if (broadcaster->is_root()) disk = std::make_unique<CheckpointWeights>(m.options.target, m.target);
    BroadcastWeights source(*broadcaster, disk.get(), m.target);
    m.finetuned = std::make_unique<ResidentWeights>(/*copies=*/false);
    for (const auto& p : model->named_parameters()) {
      if (directional_perturbs(p.key(), m.options.perturb)) {
        m.finetuned->add(p.key(), source.get(p.key(), p.value().sizes().vec()));
      }
    }
  }
  m.scorer = std::make_unique<Scorer>(std::move(model), m.options.score);
  log::info(cat("weights received from the node's reading rank; ",
                (m.base->bytes() + (m.finetuned ? m.finetuned->bytes() : 0)) / double(1 << 30), " GiB held on ",
                m.options.device, " to rebuild checkpoints"));
}

CheckpointScorer::~CheckpointScorer() = default;

double CheckpointScorer::use_checkpoint(const CheckpointKey& key) {
  Impl& m = *impl_;
  const EngineOptions& o = m.options;
  if (key == m.current && m.scorer) return m.current_measure;
  if (key.family == Family::kDirectional && o.target.empty()) {
    throw ConfigError("directional checkpoints need perturb.target (a fine-tuned model folder)");
  }
  // The old checkpoint goes first: two models on the device at once would double the peak.
  m.scorer.reset();
  m.current = kNoCheckpoint;
  const PerturbOptions perturb = key.max_std > 0 ? with_max_std(o.perturb, key.max_std) : o.perturb;
  double measure = key.family == Family::kGaussian ? gaussian_total_std(perturb, key.index) : 0.0;
  CausalLM model = [&] {
    if (!m.base) return load_causal_lm(o.model, m.target);  // the mapping is private: θ₀ again
    torch::InferenceMode guard;
    return CausalLM(*m.base, m.config, m.target);
  }();
  if (key.family == Family::kGaussian) {
    apply_gaussian(model, perturb, key.index);
  } else if (key.family == Family::kDirectional) {
    if (m.finetuned) {
      measure = apply_directional(model, *m.finetuned, o.perturb, key.index);
    } else {
      CheckpointWeights finetuned(o.target, m.target);
      measure = apply_directional(model, finetuned, o.perturb, key.index);
    }
  }
  m.scorer = std::make_unique<Scorer>(std::move(model), o.score);
  m.current = key;
  m.current_measure = measure;
  return measure;
}

const CheckpointKey& CheckpointScorer::current() const { return impl_->current; }
int64_t CheckpointScorer::vocab_size() const { return impl_->config.vocab_size; }

std::vector<std::vector<float>> CheckpointScorer::score(std::span<const ScoreRequest> requests) {
  if (!impl_->scorer) throw ModelError("no checkpoint is loaded: the last use_checkpoint() failed");
  return impl_->scorer->score(requests);
}

}  // namespace curate::model
