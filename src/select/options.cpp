#include "curate/select/options.h"

#include <cmath>
#include <string>

#include "curate/select/allocate.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::select {

const char* filter_method_name(FilterMethod method) { return options::name_of(method, kFilterMethods); }

const char* select_method_name(SelectMethod method) { return options::name_of(method, kSelectMethods); }

options::Group filter_table(FilterOptions& o) {
  options::Group g("[filter]");
  const options::Affects r = options::Affects::kResults;
  g.add_enum("filter.method", o.method, kFilterMethods,
             "kmeans, quantile or none: which examples the profile pass scores", r)
      .add("filter.k", o.k, "kmeans: clusters of the 1-D k-means of each source's difficulty", r)
      .add("filter.keep", o.keep, "kmeans: highest-loss clusters kept", r)
      .add("filter.quantile", o.quantile, "quantile: keep difficulty >= this quantile of the source", r)
      .add("filter.whole_budget", o.whole_budget,
           "reference's small-source rule: by ascending size, a source of <= whole_budget / sources left rows is kept "
           "whole (0 = off)",
           r);
  return g;
}

options::Group select_table(SelectOptions& o) {
  options::Group g("[select]");
  g.add("select.budget", o.budget, "examples to select")
      .add("select.token_budget", o.token_budget, "> 0: budget in tokens (sum of full lengths) instead")
      .add_enum("select.method", o.method, kSelectMethods,
                "temp, random, longest, middle-perplexity, difficulty, learnability or s2l")
      .add("select.seed", o.seed, "seed of k-means initialisation, singleton fill and random baselines")
      .add("select.temperature", o.temperature, "softmax temperature of the budget split across domains and sources")
      .add_enum("select.allocation", o.allocation, kAllocationModes,
                "reference (TEMP's softmax split, one capacity pass) or water-fill")
      .add_enum("select.k_rule", o.k_rule, kKRules,
                "allocated (k = max(1, allocated / per_cluster), the reference's) or candidates")
      .add("select.per_cluster", o.per_cluster, "k-means clusters: k = max(1, allocated / per_cluster) (k_rule)")
      .add("select.iterations", o.iterations, "most Lloyd iterations")
      .add("select.init", o.init, "kmeans++, random or auto (kmeans++ while n*k <= 2e8)")
      .add("select.standardize", o.standardize, "scale features per source to zero mean, unit std")
      .add("select.threads", o.threads, "threads of the k-means assignment per rank (0 = all cores)");
  return g;
}

options::Group export_table(ExportOptions& o) {
  options::Group g("[select] export");
  g.add("select.format", o.format,
        "input (each selected record's own bytes), or sharegpt / messages (converted conversations)")
      .add("select.response_template", o.response_template,
           "converting flat records: the assistant text from {reasoning} and {answer} (\\n escapes)")
      .add("select.compress", o.compress, "none, gz, zst or auto (as the dataset): compression of select.output");
  return g;
}

void validate(const FilterOptions& options) {
  if (options.k < 1) throw ConfigError(cat("filter.k = ", options.k, " must be at least 1"));
  if (options.method == FilterMethod::kKmeans && (options.keep < 1 || options.keep > options.k)) {
    throw ConfigError(cat("filter.keep = ", options.keep, " must be between 1 and filter.k = ", options.k));
  }
  if (!(options.quantile >= 0.0 && options.quantile <= 1.0)) {
    throw ConfigError(cat("filter.quantile = ", options.quantile, " must be between 0 and 1"));
  }
  if (options.whole_budget < 0) {
    throw ConfigError(cat("filter.whole_budget = ", options.whole_budget, " must be 0 (off) or positive"));
  }
}

void validate(const SelectOptions& options) {
  if (options.token_budget < 0) {
    throw ConfigError(cat("select.token_budget = ", options.token_budget, " must be 0 (count examples) or positive"));
  }
  if (options.token_budget == 0 && options.budget < 1) {
    throw ConfigError(cat("select.budget = ", options.budget, " must be at least 1 (or set select.token_budget)"));
  }
  if (!(options.temperature > 0.0) || !std::isfinite(options.temperature)) {
    throw ConfigError(cat("select.temperature = ", options.temperature, " must be a positive finite number"));
  }
  if (options.per_cluster < 1) {
    throw ConfigError(cat("select.per_cluster = ", options.per_cluster, " must be at least 1"));
  }
  if (options.iterations < 1) {
    throw ConfigError(cat("select.iterations = ", options.iterations, " must be at least 1"));
  }
  if (options.init != "kmeans++" && options.init != "random" && options.init != "auto") {
    throw ConfigError(cat("select.init = '", options.init, "' is unknown; use kmeans++, random or auto"));
  }
  if (options.threads < 0)
    throw ConfigError(cat("select.threads = ", options.threads, " must be 0 (all cores) or more"));
}

void validate(const ExportOptions& options) {
  if (options.format != "input" && options.format != "sharegpt" && options.format != "messages") {
    throw ConfigError(cat("select.format = '", options.format,
                          "' is unknown; use input (the records as they are), "
                          "sharegpt or messages"));
  }
  const std::size_t reasoning = options.response_template.find("{reasoning}");
  if (reasoning == std::string::npos ||
      options.response_template.find("{reasoning}", reasoning + 1) != std::string::npos ||
      options.response_template.find("{answer}") == std::string::npos ||
      options.response_template.find("{answer}", options.response_template.find("{answer}") + 1) != std::string::npos ||
      options.response_template.find("{answer}") < reasoning) {
    throw ConfigError(cat("select.response_template = '", options.response_template,
                          "' must hold {reasoning} once, followed by {answer} once"));
  }
  if (options.compress != "none" && options.compress != "gz" && options.compress != "zst" &&
      options.compress != "auto") {
    throw ConfigError(
        cat("select.compress = '", options.compress, "' is unknown; use none, gz, zst or auto (like the dataset)"));
  }
}

}  // namespace curate::select
