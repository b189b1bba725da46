// Settings of the per-example gradients (issue 28; torch-free; see gradients.h). curate_dist's
// `--stage gradients` binds gradient_table() and adds gradients.examples and gradients.seed (the seed).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace curate::model {

// Names the projection generator (gradients.cpp); changes whenever the same settings would give other
// bits, so that result files can record it in their fingerprint.
inline constexpr const char* kProjectionVersion = "splitmix64-blockwise-tree-v1";

enum class ProjectionKind { kRademacher, kGaussian };
inline constexpr std::pair<const char*, ProjectionKind> kProjectionKinds[] = {
    {"rademacher", ProjectionKind::kRademacher}, {"gaussian", ProjectionKind::kGaussian}};

struct GradientOptions {
  int64_t tokens = 1000;           // response tokens in the loss (the first `tokens`; prompt masked)
  std::string params = "default";  // "default", "all", or a comma-separated list of parameter names
  int64_t dim = 8192;              // projected dimension
  ProjectionKind projection = ProjectionKind::kRademacher;
  uint64_t seed = 0;  // projection seed (curate_dist: gradients.seed, also the sample's)
};

// Throws ConfigError naming the option when a value is out of range.
void validate(const GradientOptions& options);

// The selector split at commas, trimmed: {"default"}, {"all"} or parameter names. Throws ConfigError for
// an empty selector or an empty item, and when "default" or "all" is combined with other items.
std::vector<std::string> parse_param_selector(const std::string& selector);

}  // namespace curate::model
