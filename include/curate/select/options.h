// Settings of the reduction stage (difficulty filter and budgeted selection), plain structs with
// defaults; the option keys are `filter.<field>` and `select.<field>`.
#pragma once

#include <cstdint>
#include <string>

namespace curate::select {

struct FilterOptions {
  std::string method = "kmeans";  // kmeans | quantile | none
  int k = 2;                      // kmeans: clusters of the 1-D k-means over each source's difficulty
  int keep = 1;                   // kmeans: highest-loss clusters kept (1..k)
  double quantile = 0.5;          // quantile method: keep loss >= this quantile of its source (0..1)
};

struct SelectOptions {
  int64_t budget = 1000;          // examples to select in total
  int64_t token_budget = 0;       // >0: budget in tokens (sum of full_length) instead of examples
  std::string method = "temp";    // temp | random | longest | middle-perplexity | difficulty | learnability | s2l
  uint64_t seed = 0;              // seed of every random choice (k-means init, singleton fill, baselines)
  double temperature = 1.0;       // softmax temperature of the budget allocation across groups (> 0)
  int64_t per_cluster = 4;        // temp/s2l: k = max(1, examples of the source / per_cluster)
  int iterations = 20;            // temp/s2l: most Lloyd iterations of the k-means
  std::string init = "auto";      // kmeans++ | random | auto (kmeans++ when n*k <= 2e8)
  bool standardize = false;       // temp/s2l: features scaled per source to zero mean, unit std
  int threads = 1;                // CPU threads of the k-means assignment step (0 = all cores); never changes results
};

// The valid method names, in the order error messages list them.
inline constexpr const char* kSelectMethods[] = {"temp",       "random",       "longest", "middle-perplexity",
                                                 "difficulty", "learnability", "s2l"};
inline constexpr const char* kFilterMethods[] = {"kmeans", "quantile", "none"};

// Throw ConfigError naming the key (`filter.k`, `select.budget`, ...), the value and the valid range.
void validate(const FilterOptions& options);
void validate(const SelectOptions& options);

}  // namespace curate::select
