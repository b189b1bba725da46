// The search of perturb.gaussian_max_std = auto and --stage calibrate, as a pure function of a ratio
// oracle: the coordinator's oracle scores the calibration sample at the last Gaussian checkpoint of
// the schedule with that total std (with_max_std) and returns its mean-loss ratio to the base model.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace curate::service {

struct NoiseProbe {
  double std = 0;    // total std of the last Gaussian checkpoint (3 significant digits, std_text)
  double ratio = 0;  // its mean loss over the base model's on the calibration sample
};

struct NoiseSearch {
  std::vector<NoiseProbe> probes;  // in the order tried
  std::optional<double> found;     // the std of the first probe whose ratio lies in [low, high]
};

struct NoiseSearchOptions {
  double start = 8e-3;              // first std tried (perturb.gaussian_max_std: its default under auto)
  double low = 2, high = 3;         // wanted ratio band (pass.calibration_low/high)
  int max_probes = 16;              // oracle calls at most
  double least = 1e-6, most = 1.0;  // stds outside are never tried: the search gives up there
};

// Geometric bracketing (x4 up while the ratio is below the band, /4 down while above), then bisection
// on log std between the highest std below and the lowest above, each std rounded to 3 significant
// digits. Assumes the ratio does not fall as the std grows. Stops at the first ratio in the band, or
// without `found` after max_probes, past least/most, or when the rounding leaves no std between the
// bracket's ends. Deterministic: the same oracle answers give the same probes.
NoiseSearch search_noise(const std::function<double(double std)>& ratio_at, const NoiseSearchOptions& options);

// "std 0.008 -> 1.01, std 0.032 -> 1.9, ..." for messages and the stored table.
std::string describe_probes(const std::vector<NoiseProbe>& probes);

}  // namespace curate::service
