#include "curate/job/torch_scorer.h"

#include "job/weight_broadcaster.h"

namespace curate::service {
namespace {

class CheckpointModelScorer final : public ModelScorer {
 public:
  explicit CheckpointModelScorer(const Options& options)
      : scorer_(options.engine, make_weight_broadcaster(options).get()) {}  // the broadcaster is only needed to load
  double use_checkpoint(const model::CheckpointKey& key) override { return scorer_.use_checkpoint(key); }
  int64_t vocab_size() const override { return scorer_.vocab_size(); }
  std::vector<std::vector<float>> score(std::span<const model::ScoreRequest> requests) override {
    return scorer_.score(requests);
  }

 private:
  model::CheckpointScorer scorer_;
};

class GradientEngineAdapter final : public ModelGradients {
 public:
  explicit GradientEngineAdapter(const Options& options) : engine_(options.engine, options.gradients.numerics) {}
  int64_t vocab_size() const override { return engine_.vocab_size(); }
  model::ProjectedGradient compute(std::span<const int64_t> ids, int64_t prompt_length) override {
    return engine_.compute(ids, prompt_length);
  }

 private:
  model::GradientEngine engine_;
};

}  // namespace

Models torch_models() {
  return {[](const Options& options) { return std::make_unique<CheckpointModelScorer>(options); },
          [](const Options& options) { return std::make_unique<GradientEngineAdapter>(options); }};
}

}  // namespace curate::service
