// test.fake_worker's synthetic losses (torch-free, so that the coordinator's tests and store_bench use
// the same numbers as a fake worker rank).
#pragma once

#include <cstdint>
#include <vector>

#include "curate/model/checkpoint_scorer.h"

namespace curate::service {

// Losses for the first `count` reasoning tokens of the record on line `line` at checkpoint `key`: a
// function of these alone (any rank count stores the same bits), rising with the checkpoint index at a
// per-record rate, so that calibration, filter and selection have work to do.
std::vector<float> fake_losses(int64_t line, const model::CheckpointKey& key, int64_t count);

}  // namespace curate::service
