// A unit of the difficulty, profile or calibration pass as the result file stores it: the per-example
// values RunFile writes, already computed from the worker's float32 losses, and the per-token losses
// already in the file's type (store.token_losses). prepare() is the only place where a loss is rounded
// to float16, so the journal (journal_records.h stored_record) and the file hold the same bits, and a
// replay writes the bytes the direct path wrote. The gradient stage's units are not prepared: they are
// stored and journaled as UnitResult.
#pragma once

#include <cstdint>
#include <vector>

#include "curate/config/options.h"
#include "results/pass.h"
#include "results/unit_result.h"

namespace curate::service {

struct PassPlan;

struct StoredUnit {
  Pass pass = Pass::kDifficulty;  // kDifficulty, kProfile or kCalibration
  int32_t slot = 0;
  int64_t index = 0;
  double measure = 0;                                // UnitResult::measure
  TokenLosses token_losses = TokenLosses::kFloat32;  // the type of the losses below; kNone for kCalibration
  // [n] in Unit::positions order. kDifficulty: the metadata /examples stores (losses empty); other
  // passes: default values, only their count matters.
  std::vector<ExampleResult> examples;
  std::vector<float> mean_loss;        // [n] kCalibration: over the first plan.tokens losses; else over all
  std::vector<float> mean_loss_first;  // [n] kProfile: over the first plan.first_tokens losses; else empty
  std::vector<uint8_t> nan_losses;     // [n] 1 when any of the example's losses (all of them) is NaN
  // Example i's per-token losses are [loss_begin[i], loss_begin[i + 1]) of losses_f32 (kFloat32) or
  // losses_f16 (kFloat16: IEEE binary16 bits, store/half.h); at most plan.tokens each, the file pads
  // the rest of the row with NaN. kNone: loss_begin is all zeros and both are empty.
  std::vector<uint64_t> loss_begin;  // [n + 1]
  std::vector<float> losses_f32;
  std::vector<uint16_t> losses_f16;

  std::size_t size() const { return examples.size(); }
};

// The unit `result` of `plan` (not kGradients) as the file stores it. Means are float32 sums over
// the float32 losses (as double), before any rounding.
StoredUnit prepare(const PassPlan& plan, const UnitResult& result);

}  // namespace curate::service
