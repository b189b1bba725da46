#include "job/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::service {

std::vector<uint64_t> calibration_sample(uint64_t records, int64_t count, uint64_t seed) {
  std::vector<uint64_t> all(records);
  std::iota(all.begin(), all.end(), 0);
  std::mt19937_64 rng(seed);
  for (uint64_t i = 0; i + 1 < records; ++i) {  // Fisher-Yates, portable (std::shuffle is not)
    std::swap(all[i], all[i + std::uniform_int_distribution<uint64_t>(0, records - 1 - i)(rng)]);
  }
  all.resize(std::min<uint64_t>(records, static_cast<uint64_t>(count)));
  std::sort(all.begin(), all.end());
  return all;
}

CheckpointChoice choose_checkpoint(std::span<const float> loss, std::size_t slots, double low, double high) {
  CheckpointChoice choice;
  choice.means.resize(slots);
  choice.ratios.resize(slots);
  const std::size_t rows = slots ? loss.size() / slots : 0;
  for (std::size_t c = 0; c < slots; ++c) {
    double sum = 0;
    int64_t n = 0;
    for (std::size_t row = 0; row < rows; ++row) {
      // Only examples scored at every checkpoint count, so that all means cover the same examples.
      bool complete = true;
      for (std::size_t k = 0; k < slots; ++k) complete = complete && std::isfinite(loss[k * rows + row]);
      if (complete) sum += loss[c * rows + row], ++n;
    }
    if (n == 0)
      throw DataError("calibration: no example of the sample has reasoning tokens to score; check the dataset");
    choice.means[c] = static_cast<float>(sum / static_cast<double>(n));
  }
  for (std::size_t c = 0; c < slots; ++c) choice.ratios[c] = choice.means[c] / choice.means[0];
  const std::vector<float>& ratios = choice.ratios;
  const double middle = (low + high) / 2;
  int chosen = 0;
  for (std::size_t c = 1; c < slots && chosen == 0; ++c) {
    if (ratios[c] >= low && ratios[c] <= high) chosen = static_cast<int>(c);
  }
  for (std::size_t c = 1; c < slots && !(ratios[chosen] >= low && ratios[chosen] <= high); ++c) {
    if (chosen == 0 || std::abs(ratios[c] - middle) < std::abs(ratios[chosen] - middle)) chosen = static_cast<int>(c);
  }
  choice.chosen = chosen;
  choice.missed = !(ratios[chosen] >= low && ratios[chosen] <= high);
  return choice;
}

std::string calibration_warning(const CheckpointChoice& choice, double low, double high, double min_std,
                                double max_std) {
  if (!choice.missed) return "";
  const double best = choice.ratios.at(static_cast<std::size_t>(choice.chosen));
  const std::string remedy =
      best < low ? cat("raise perturb.gaussian_max_std (now ", max_std, ") or lower pass.calibration_low")
                 : cat("lower perturb.gaussian_min_std (now ", min_std, ") or raise pass.calibration_high");
  return cat("calibration missed its target: best ratio ", best, " at gaussian ", choice.chosen, ", wanted ", low, "-",
             high, "; ", remedy, ", then rerun with --fresh (the difficulty pass used the closest checkpoint)");
}

}  // namespace curate::service
