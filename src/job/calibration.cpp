#include "job/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
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

std::optional<std::pair<double, double>> extrapolate_std_range(std::span<const double> stds,
                                                               std::span<const float> ratios, double low, double high) {
  constexpr double kFloor = 1e-3;                 // ratio - 1 below this is noise, not a measurable effect
  std::vector<std::pair<double, double>> points;  // (log std, log(ratio - 1)), ascending std
  for (std::size_t j = 0; j < stds.size() && j + 1 < ratios.size(); ++j) {
    const double rise = static_cast<double>(ratios[j + 1]) - 1;
    if (rise > kFloor && stds[j] > 0) points.emplace_back(std::log(stds[j]), std::log(rise));
  }
  if (points.empty()) return std::nullopt;
  float best = ratios.size() > 1 ? ratios[1] : 1.0f;
  for (std::size_t c = 1; c < ratios.size(); ++c) best = std::max(best, ratios[c]);
  const bool too_weak = best < low;  // else the first checkpoints overshoot: extrapolate down from them
  const std::size_t near = too_weak ? points.size() - 1 : 0, other = too_weak ? near - (near > 0) : 1;
  double power = 2;
  if (other < points.size() && other != near && points[other].first != points[near].first) {
    power = (points[near].second - points[other].second) / (points[near].first - points[other].first);
    power = std::clamp(std::isfinite(power) ? power : 2.0, 0.5, 4.0);
  }
  const auto at = [&](double ratio) {
    return std::exp(points[near].first + (std::log(std::max(ratio - 1, kFloor)) - points[near].second) / power);
  };
  return std::make_pair(at(low), at(high));
}

std::string std_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

std::string calibration_miss(const CheckpointChoice& choice, double low, double high, std::span<const double> stds) {
  if (!choice.missed) return "";
  const double best = choice.ratios.at(static_cast<std::size_t>(choice.chosen));
  std::string seen;
  for (std::size_t j = 0; j < stds.size() && j + 1 < choice.ratios.size(); ++j)
    seen += cat(j ? ", " : "", "std ", std_text(stds[j]), " -> ", choice.ratios[j + 1]);
  std::string remedy;
  if (const auto range = extrapolate_std_range(stds, choice.ratios, low, high)) {
    remedy = cat("the measured curve reaches ", low, "-", high, " at std ", std_text(range->first), "-",
                 std_text(range->second), ": try perturb.gaussian_max_std = ", std_text(range->second),
                 " with perturb.gaussian_min_std <= ", std_text(range->first));
  } else {
    remedy = cat("no checkpoint changed the loss measurably: try perturb.gaussian_max_std = ",
                 std_text(10 * (stds.empty() ? 1e-3 : stds.back())));
  }
  return cat("calibration missed its target: best ratio ", best, " at gaussian ", choice.chosen, ", wanted ", low, "-",
             high, " (ratios seen: ", seen, "); ", remedy,
             ", or perturb.gaussian_max_std = auto (curate_dist --stage calibrate) to search it");
}

}  // namespace curate::service
