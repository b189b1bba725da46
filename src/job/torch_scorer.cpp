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

}  // namespace

ModelScorerFactory checkpoint_scorers() {
  return [](const Options& options) { return std::make_unique<CheckpointModelScorer>(options); };
}

}  // namespace curate::service
