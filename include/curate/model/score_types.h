// Plain types of the scorer's interface (torch-free; see scorer.h).
#pragma once

#include <cstdint>
#include <span>

namespace curate::model {

struct ScoreOptions {
  int64_t batch_tokens = 16384;  // padded tokens per forward batch (a longer sequence runs alone)
  int64_t lm_head_rows = 1024;   // scored positions per lm_head chunk: bounds the [rows, vocab] logits
  double max_padding = 0.1;      // a batch takes no sequence that would make padding exceed this fraction
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

}  // namespace curate::model
