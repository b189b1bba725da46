// The calibration pass's pure parts: which records it samples and which Gaussian checkpoint it
// chooses. No I/O: the coordinator stores the outcome (layout::write_calibration).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
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

// The noise range whose ratio the measured curve puts in [low, high], as (std at `low`, std at
// `high`): ratio - 1 = c * std^p through the two measured points nearest the band on the side that
// missed (p = 2 with one usable point; p clamped to [0.5, 4]). `stds` [C-1] are the total stds of
// Gaussian 1.. and `ratios` [C] the choice's ratios (slot 0 the base). Nothing when no checkpoint
// raised the loss measurably (every ratio - 1 <= 1e-3).
std::optional<std::pair<double, double>> extrapolate_std_range(std::span<const double> stds,
                                                               std::span<const float> ratios, double low, double high);

// `value` with 3 significant digits, as it should be written in an INI file ("0.0123").
std::string std_text(double value);

// Why a choice missed its band: the best ratio and its checkpoint, the band, every ratio seen per
// std, and the range to try (extrapolate_std_range). `stds` as above. Empty when the choice is in the band.
std::string calibration_miss(const CheckpointChoice& choice, double low, double high, std::span<const double> stds);

}  // namespace curate::service
