// Per-token losses of token sequences under a causal LM: nll[t] = -log p(ids[t+1] | ids[0..t]) for the
// positions t a caller asks for. Only scored positions go through the final norm, lm_head and
// log-softmax, in chunks; inputs are cut after the last scored position.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "curate/model/decoder.h"

namespace curate::model {

struct ScoreOptions {
  int64_t batch_tokens = 16384;    // padded tokens per forward batch (a longer sequence runs alone)
  int64_t lm_head_rows = 1024;     // scored positions per lm_head chunk: bounds the [rows, vocab] logits
  double max_padding = 0.1;        // a batch takes no sequence that would make padding exceed this fraction
};

// One sequence to score: losses for positions t in [begin, end), 0 <= begin <= end < ids.size().
struct ScoreRequest {
  std::span<const int64_t> ids;
  int64_t begin = 0;
  int64_t end = 0;
};

struct ScoreStats {
  int64_t sequences = 0;
  int64_t tokens = 0;         // real tokens fed to the model (positions [0, end) of each sequence)
  int64_t padded_tokens = 0;  // batch rows x padded length
  int64_t scored = 0;         // losses computed
};

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
  void score_batch(std::span<const ScoreRequest> requests, std::span<const std::size_t> order,
                   std::vector<std::vector<float>>& results);

  CausalLM model_;
  ScoreOptions options_;
  ScoreStats stats_;
};

}  // namespace curate::model
