#include "curate/model/perturb_options.h"

#include <cmath>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::model {

void validate(const PerturbOptions& o) {
  if (o.gaussian_checkpoints < 1) throw ConfigError("perturb.gaussian_checkpoints must be >= 1");
  if (!(o.gaussian_min_std > 0) || !(o.gaussian_max_std > 0) ||
      (!o.search_max_std && !(o.gaussian_max_std >= o.gaussian_min_std))) {
    throw ConfigError(cat("perturb.gaussian_min_std (", o.gaussian_min_std,
                          ") must be > 0 and <= perturb.gaussian_max_std (", o.gaussian_max_std, ")"));
  }
  if (o.gaussian_checkpoints == 1 && !o.search_max_std && o.gaussian_max_std != o.gaussian_min_std) {
    throw ConfigError("with one Gaussian checkpoint perturb.gaussian_max_std must equal perturb.gaussian_min_std");
  }
  if (o.directional_checkpoints < 1) throw ConfigError("perturb.directional_checkpoints must be >= 1");
  if (!(o.max_radius > 0) || o.min_radius < 0 || o.min_radius > o.max_radius) {
    throw ConfigError(cat("perturb radii need 0 <= min_radius (", o.min_radius, ") <= max_radius (", o.max_radius,
                          ") and max_radius > 0"));
  }
}

PerturbOptions with_max_std(PerturbOptions o, double max_std) {
  o.gaussian_max_std = max_std;
  if (o.gaussian_min_std > max_std || o.gaussian_checkpoints == 1) o.gaussian_min_std = max_std;
  o.search_max_std = false;
  return o;
}

double gaussian_step_std(const PerturbOptions& o, int step) {
  if (step == 1) return o.gaussian_min_std;
  const double a = o.gaussian_min_std, b = o.gaussian_max_std;
  return std::sqrt((b * b - a * a) / (o.gaussian_checkpoints - 1));
}

double gaussian_total_std(const PerturbOptions& o, int checkpoint) {
  const double a = o.gaussian_min_std, delta = checkpoint > 1 ? gaussian_step_std(o, 2) : 0.0;
  return std::sqrt(a * a + (checkpoint - 1) * delta * delta);
}

std::vector<double> directional_radii(const PerturbOptions& o) {
  const int n = o.directional_checkpoints;
  const double first = o.min_radius > 0 ? o.min_radius : o.max_radius / n;
  std::vector<double> radii(static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j) radii[j] = n == 1 ? o.max_radius : first + (o.max_radius - first) * j / (n - 1);
  return radii;
}

std::vector<double> directional_lambdas(const std::vector<double>& radii) {
  std::vector<double> lambdas;
  double m = 0, previous = 0;
  for (double r : radii) {
    const double lambda = (-m + std::sqrt(m * m + 2 * (r * r - previous * previous))) / 2;
    lambdas.push_back(lambda);
    m += lambda;
    previous = r;
  }
  return lambdas;
}

}  // namespace curate::model
