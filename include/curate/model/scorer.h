// Per-token losses of token sequences under a causal LM: nll[t] = -log p(ids[t+1] | ids[0..t]) for the
// positions t a caller asks for. Only scored positions go through the final norm, lm_head and
// log-softmax, in chunks; inputs are cut after the last scored position. On CUDA the host prepares and
// queues batch k+1 before it waits for the losses of batch k: inputs go up from pinned memory without
// blocking, losses come back into pinned memory behind an event, and nothing inside a batch waits for
// the device.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "curate/model/decoder.h"
#include "curate/model/score_types.h"

namespace curate::model {

class Scorer {
 public:
  Scorer(CausalLM model, ScoreOptions options);

  // Losses for each request (result[i].size() == end - begin), in float32. Sequences are grouped into
  // length-sorted batches; results do not depend on the grouping beyond float rounding.
  // Throws DataError naming the request index for out-of-vocabulary ids or a bad range.
  // `progress` (optional) is called after each batch with the stats so far.
  std::vector<std::vector<float>> score(std::span<const ScoreRequest> requests,
                                        const std::function<void(const ScoreStats&)>& progress = {});

  const ScoreStats& stats() const { return stats_; }
  const CausalLM& model() const { return model_; }

 private:
  struct Launched;  // a batch queued on the device, its losses on their way to the host
  Launched launch_batch(std::span<const ScoreRequest> requests, std::span<const std::size_t> order);
  static void collect(std::span<const ScoreRequest> requests, Launched& batch,
                      std::vector<std::vector<float>>& results);

  CausalLM model_;
  ScoreOptions options_;
  ScoreStats stats_;
};

}  // namespace curate::model
