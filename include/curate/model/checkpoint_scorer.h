// Torch-free face of the model component for the service: a scorer that holds one checkpoint of a
// model (the base weights or a perturbed copy built in memory) and computes per-token losses.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "curate/model/perturb_options.h"
#include "curate/model/score_types.h"

namespace curate::model {

enum class Family : int32_t { kBase = 0, kGaussian = 1, kDirectional = 2 };

// Which checkpoint: the base model (index 0) or step `index` (1..n) of a family.
struct CheckpointKey {
  Family family = Family::kBase;
  int32_t index = 0;
  bool operator==(const CheckpointKey&) const = default;
};
std::string describe(const CheckpointKey& key);  // "base", "gaussian 3", "directional 8"

struct EngineOptions {
  std::string model;          // base model folder
  std::string finetuned;      // fine-tuned model folder (directional family); may be empty
  std::string device = "cpu";
  std::string dtype = "float32";
  int threads = 1;            // torch CPU threads (fixed: results must not depend on the machine's cores)
  ScoreOptions score;
  PerturbOptions perturb;
};

class CheckpointScorer {
 public:
  explicit CheckpointScorer(EngineOptions options);
  ~CheckpointScorer();
  CheckpointScorer(const CheckpointScorer&) = delete;
  CheckpointScorer& operator=(const CheckpointScorer&) = delete;

  // Makes `key` the current checkpoint (rebuilding from the base weights when it changes).
  // Returns ‖θ − θ₀‖ for directional checkpoints, the total noise std for Gaussian ones, 0 for base.
  double select(const CheckpointKey& key);
  const CheckpointKey& current() const;
  int64_t vocab_size() const;

  std::vector<std::vector<float>> score(std::span<const ScoreRequest> requests);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace curate::model
