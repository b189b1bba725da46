// Settings of the reduction stage (difficulty filter and budgeted selection), plain structs with
// defaults; the option keys are `filter.<field>` and `select.<field>`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "curate/select/allocate.h"
#include "curate/util/option_table.h"

namespace curate::select {

// filter.method: which examples the profile pass scores.
enum class FilterMethod { kKmeans, kQuantile, kNone };
inline constexpr std::pair<const char*, FilterMethod> kFilterMethods[] = {
    {"kmeans", FilterMethod::kKmeans}, {"quantile", FilterMethod::kQuantile}, {"none", FilterMethod::kNone}};
const char* filter_method_name(FilterMethod method);

struct FilterOptions {
  FilterMethod method = FilterMethod::kKmeans;
  int k = 2;                    // kmeans: clusters of the 1-D k-means over each source's difficulty
  int keep = 1;                 // kmeans: highest-loss clusters kept (1..k)
  double quantile = 0.5;        // quantile method: keep loss >= this quantile of its source (0..1)
  int64_t whole_budget = 1000;  // reference's small-source rule (its init_label_num): sources visited by
                                // ascending size, one with at most whole_budget / (sources left) rows is
                                // kept whole and its rows leave the budget; 0 = off
};

// select.method: the method (temp) or a baseline on the same allocation.
enum class SelectMethod { kTemp, kRandom, kLongest, kMiddlePerplexity, kDifficulty, kLearnability, kS2l };
inline constexpr std::pair<const char*, SelectMethod> kSelectMethods[] = {
    {"temp", SelectMethod::kTemp},
    {"random", SelectMethod::kRandom},
    {"longest", SelectMethod::kLongest},
    {"middle-perplexity", SelectMethod::kMiddlePerplexity},
    {"difficulty", SelectMethod::kDifficulty},
    {"learnability", SelectMethod::kLearnability},
    {"s2l", SelectMethod::kS2l}};
const char* select_method_name(SelectMethod method);

inline constexpr std::pair<const char*, AllocationMode> kAllocationModes[] = {
    {"reference", AllocationMode::kReference}, {"water-fill", AllocationMode::kWaterFill}};

// select.k_rule: what the number of k-means clusters of a source follows.
enum class KRule {
  kAllocated,   // k = max(1, allocated / per_cluster), the reference's
  kCandidates,  // k = max(1, candidates / per_cluster)
};
inline constexpr std::pair<const char*, KRule> kKRules[] = {{"allocated", KRule::kAllocated},
                                                            {"candidates", KRule::kCandidates}};

// select.features: what the per-source k-means of temp and s2l clusters on.
enum class SelectFeatures {
  kLoss,       // the mean loss at each profile checkpoint (the method's loss pattern)
  kGradients,  // the projected gradients of --stage gradients (every candidate must have one)
};
inline constexpr std::pair<const char*, SelectFeatures> kSelectFeatures[] = {{"loss", SelectFeatures::kLoss},
                                                                             {"gradients", SelectFeatures::kGradients}};
const char* select_features_name(SelectFeatures features);

// select.budget as written: a count of examples ("1000") or a fraction of the usable candidates
// ("10%", "0.1"), kept as an exact ratio so that every rank and rerun resolves it to the same count.
struct Budget {
  Budget() = default;
  Budget(int64_t examples) : count(examples), text(std::to_string(examples)) {}  // NOLINT: a count converts

  int64_t count = 1000;              // examples, when fraction_denominator == 0
  int64_t fraction_numerator = 0;    // a fraction: numerator / denominator of the candidates, in (0, 1]
  int64_t fraction_denominator = 0;  // 0: a count
  std::string text = "1000";         // as written, for the fingerprint, logs and reports

  bool is_fraction() const { return fraction_denominator > 0; }
  // The examples to select among `candidates` usable ones: the count, or floor(fraction x candidates)
  // and at least 1 (exact integer arithmetic).
  int64_t resolve(int64_t candidates) const;
};

// Parses "1000", "10%", "12.5%", "0.1" or "1" (a count: integers are counts, decimals below 1 are
// fractions). Throws ConfigError naming select.budget for anything else, a fraction outside (0, 1]
// or a count below 1.
Budget parse_budget(const std::string& text);

struct SelectOptions {
  Budget budget;             // examples to select in total (a count or a fraction of the candidates)
  int64_t token_budget = 0;  // >0: budget in tokens (sum of full_length) instead of examples
  SelectMethod method = SelectMethod::kTemp;
  uint64_t seed = 0;         // seed of every random choice (k-means init, singleton fill, baselines)
  double temperature = 1.0;  // softmax temperature of the budget allocation across groups (> 0)
  AllocationMode allocation = AllocationMode::kReference;  // reference (TEMP's split) | water-fill
  KRule k_rule = KRule::kAllocated;                        // temp/s2l clusters; both rules capped at the candidates
  int64_t per_cluster = 4;    // temp/s2l: about this many picks (allocated) or candidates per cluster
  int iterations = 20;        // temp/s2l: most Lloyd iterations of the k-means
  std::string init = "auto";  // kmeans++ | random | auto (kmeans++ when n*k <= 2e8)
  bool standardize = false;   // temp/s2l: features scaled per source to zero mean, unit std
  SelectFeatures features = SelectFeatures::kLoss;  // temp/s2l: what the k-means clusters on
  int threads = 1;  // CPU threads of the k-means assignment step (0 = all cores); never changes results
};

// How the selected records are written (keys `select.format`, `select.response_template`,
// `select.compress`); see select/export.h.
struct ExportOptions {
  std::string format = "input";  // input (each record's own bytes) | sharegpt | messages (converted)
  // Converting a record whose reasoning and answer are separate fields: the assistant text. {reasoning}
  // and {answer} are replaced once each; the escapes \n \t \r \\ are read (curate::unescape).
  std::string response_template = R"(<think>\n{reasoning}\n</think>\n\n{answer})";
  std::string compress = "none";  // none | gz | zst | auto (as the dataset is compressed)
};

// The option tables (util/option_table.h): [filter] (every entry results-affecting: the profile pass
// scores what the filter keeps), [select] and the export keys of [select] (none results-affecting: the
// selection stage reruns from the stored scores).
options::Group filter_table(FilterOptions& options);
options::Group select_table(SelectOptions& options);
options::Group export_table(ExportOptions& options);

// Throw ConfigError naming the key (`filter.k`, `select.budget`, ...), the value and the valid range.
void validate(const FilterOptions& options);
void validate(const SelectOptions& options);
void validate(const ExportOptions& options);

}  // namespace curate::select
