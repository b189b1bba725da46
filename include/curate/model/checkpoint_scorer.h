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
#include "curate/model/weight_broadcast.h"

namespace curate::model {

enum class Family : int32_t { kBase = 0, kGaussian = 1, kDirectional = 2 };

// Which checkpoint: the base model (index 0) or step `index` (1..n) of a family.
struct CheckpointKey {
  Family family = Family::kBase;
  int32_t index = 0;
  double max_std = 0;  // Gaussian: > 0 replaces perturb.gaussian_max_std (with_max_std): a searched or
                       // probed noise scale (perturb.gaussian_max_std = auto, --stage calibrate)
  bool operator==(const CheckpointKey&) const = default;
};
std::string describe(
    const CheckpointKey& key);  // "base", "gaussian 3", "directional 8" (checkpoint_key.cpp: torch-free)

struct EngineOptions {
  std::string model;                      // model.path: base model folder
  std::string target;                     // perturb.target: fine-tuned model folder (directional family); may be empty
  std::string device = "auto";            // auto (cuda when this process sees a GPU, else cpu), cpu, cuda or cuda:N
  std::string dtype = "auto";             // auto (bfloat16 on CUDA, float32 on CPU), float32, bfloat16 or float16
  int threads = 1;                        // torch CPU threads (fixed: results must not depend on the machine's cores)
  std::string weight_broadcast = "auto";  // auto, nccl or disk: how the scoring ranks of a node get the weights
                                          // (weight_broadcast.h; read by the service); never changes results
  ScoreOptions score;
  PerturbOptions perturb;  // perturb.seed is the run's seed (key run.seed)
};

// Replaces device and dtype "auto" by what this process has: cuda + bfloat16 when torch sees a CUDA
// device, else cpu + float32. Every rank resolves on its own node before the job starts, so the
// result file's fingerprint holds the resolved names.
void resolve_auto_device(EngineOptions& options);

class CheckpointScorer {
 public:
  // Loads the base model. Without a broadcaster every checkpoint is rebuilt from the files (which stay
  // mapped, not copied). With one, the base (and fine-tuned) weights arrive through it, from the rank
  // of the node that reads them, and stay resident on the device (about 2x the model's bytes, 3x with
  // perturb.target), so that use_checkpoint() never reads or broadcasts again: every rank of the group must
  // construct its scorer at the same time with the same model, target, device and dtype. The
  // broadcaster is used only during construction.
  explicit CheckpointScorer(EngineOptions options, WeightBroadcaster* broadcaster = nullptr);
  ~CheckpointScorer();
  CheckpointScorer(const CheckpointScorer&) = delete;
  CheckpointScorer& operator=(const CheckpointScorer&) = delete;

  // Makes `key` the current checkpoint (rebuilding from the base weights when it changes).
  // Returns ‖θ − θ₀‖ for directional checkpoints, the total noise std for Gaussian ones, 0 for base.
  double use_checkpoint(const CheckpointKey& key);
  const CheckpointKey& current() const;
  int64_t vocab_size() const;

  std::vector<std::vector<float>> score(std::span<const ScoreRequest> requests);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace curate::model
