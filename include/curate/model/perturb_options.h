// Settings and schedules of the perturbed-checkpoint families (torch-free; see perturb.h).
#pragma once

#include <cstdint>
#include <vector>

namespace curate::model {

// Names the noise generator and the rounding of perturbed weights (model/noise.h, perturb.cpp); it
// changes whenever the same settings would give other bits, so result files record it in their
// fingerprint and a resume never mixes checkpoints of two generators.
inline constexpr const char* kNoiseVersion = "splitmix64-boxmuller64-v1";

struct PerturbOptions {
  uint64_t seed = 0;                           // run seed for all noise
  int gaussian_checkpoints = 8;                // n: cumulative Gaussian checkpoints (difficulty)
  double gaussian_min_std = 2e-3;              // a: standard deviation added at step 1 (absolute, per element)
  double gaussian_max_std = 8e-3;              // b: total standard deviation of checkpoint n
  bool search_max_std = false;                 // gaussian_max_std = auto: b is searched (job/noise_search.h)
                                               // from gaussian_max_std's default
  bool allow_calibration_miss = false;         // a calibration that misses its band uses the closest checkpoint
                                               // (a warning) instead of stopping the job (exit 3)
  int directional_checkpoints = 8;             // n: checkpoints along the fine-tuning direction (similarity)
  double max_radius = 10.0;                    // R: distance of the last directional checkpoint
  double min_radius = 0.0;                     // r_1; 0 = R / n
  bool direction_excludes_embeddings = false;  // leave embeddings out of e and of the perturbation
};

// Throws ConfigError naming the option when a value is out of range.
void validate(const PerturbOptions& options);

// The Gaussian schedule with total std `max_std` at checkpoint n: gaussian_max_std = max_std and
// gaussian_min_std lowered to max_std where it exceeds it (or n = 1). How a searched b is applied.
PerturbOptions with_max_std(PerturbOptions options, double max_std);

// Standard deviation added at Gaussian step s (1-based): a for s = 1, sqrt((b² − a²)/(n − 1)) after.
double gaussian_step_std(const PerturbOptions& options, int step);
// Total standard deviation of Gaussian checkpoint j: sqrt(a² + (j − 1)Δ²).
double gaussian_total_std(const PerturbOptions& options, int checkpoint);

// Target radii r_1..r_n, linear from r_min to R.
std::vector<double> directional_radii(const PerturbOptions& options);
// Step sizes λ_j = (−m + sqrt(m² + 2(r_j² − r_{j−1}²)))/2 with m = λ_1 + … + λ_{j−1}, r_0 = 0.
std::vector<double> directional_lambdas(const std::vector<double>& radii);

}  // namespace curate::model
