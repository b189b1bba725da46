// The calibration pass's pure parts: which records it samples and which Gaussian checkpoint it
// chooses. No I/O: the coordinator stores the outcome (layout::write_calibration).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace curate::service {

// `count` record positions of `records`, drawn without replacement by `seed` (a portable Fisher-Yates,
// so every platform draws the same), ascending.
std::vector<uint64_t> calibration_sample(uint64_t records, int64_t count, uint64_t seed);

struct CheckpointChoice {
  std::vector<float> means;   // [C] mean over the complete examples of each checkpoint's per-example loss
  std::vector<float> ratios;  // [C] means[c] / means[0] (slot 0 is the base model)
  int chosen = 0;             // slot, = Gaussian index (slot 0 only if no slot 1..C-1 exists)
  bool missed = false;        // ratios[chosen] lies outside [low, high]: the closest was chosen instead
};

// `loss`: [slots, rows] per-example mean losses, slot 0 the base model, slots 1.. Gaussian 1..;
// NaN where an example has nothing scored. Only rows finite at every slot count. The chosen slot is
// the first of 1.. whose ratio lies in [low, high], else the one whose ratio is closest to
// (low + high) / 2 (the first such on ties), and `missed` is set. Throws DataError when no row is complete.
CheckpointChoice choose_checkpoint(std::span<const float> loss, std::size_t slots, double low, double high);

// The warning for a choice that missed its band, naming the best ratio, its checkpoint, the band and
// the setting to change (the noise range `min_std`..`max_std`); empty when the choice is in the band.
std::string calibration_warning(const CheckpointChoice& choice, double low, double high, double min_std,
                                double max_std);

}  // namespace curate::service
