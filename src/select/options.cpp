#include "curate/select/options.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "curate/select/allocate.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::select {

Budget parse_budget(const std::string& text) {
  const auto refuse = [&](const std::string& why) -> ConfigError {
    return ConfigError(cat("select.budget = '", text, "' ", why,
                           ": give a count of examples (1000) or a fraction of the usable candidates (10%, 0.1)"));
  };
  std::string digits = text;
  const bool percent = !digits.empty() && digits.back() == '%';
  if (percent) digits.pop_back();
  const std::size_t point = digits.find('.');
  const std::string whole = digits.substr(0, point);
  const std::string decimals = point == std::string::npos ? "" : digits.substr(point + 1);
  const auto all_digits = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if ((whole.empty() && decimals.empty()) || !all_digits(whole) || !all_digits(decimals) ||
      (point != std::string::npos && decimals.empty()) || whole.size() + decimals.size() > 15) {
    throw refuse("is not a number");
  }
  Budget b;
  b.text = text;
  int64_t numerator = std::stoll(whole.empty() ? "0" : whole);
  int64_t denominator = 1;
  for (char c : decimals) numerator = numerator * 10 + (c - '0'), denominator *= 10;
  if (percent) denominator *= 100;
  if (!percent && point == std::string::npos) {  // an integer: a count
    if (numerator < 1) throw refuse("must be at least 1");
    b.count = numerator;
    return b;
  }
  if (numerator == 0 || numerator > denominator) throw refuse("is a fraction outside (0, 1] (0%..100%)");
  b.count = 0;
  b.fraction_numerator = numerator;
  b.fraction_denominator = denominator;
  return b;
}

int64_t Budget::resolve(int64_t candidates) const {
  if (!is_fraction()) return count;
  // numerator <= denominator <= 10^17 and candidates < 2^63 / 10^17 for any dataset this reads
  __extension__ using Wide = __int128;  // GCC and Clang; exact where double would round
  const Wide product = static_cast<Wide>(fraction_numerator) * candidates;
  return std::max<int64_t>(1, static_cast<int64_t>(product / fraction_denominator));
}

const char* filter_method_name(FilterMethod method) { return options::name_of(method, kFilterMethods); }

const char* select_method_name(SelectMethod method) { return options::name_of(method, kSelectMethods); }
const char* select_features_name(SelectFeatures features) { return options::name_of(features, kSelectFeatures); }

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
  options::EnumField budget;  // a parsed value: its text as written is what --help, logs and fingerprints show
  budget.get = [&o] { return o.budget.text; };
  budget.set = [&o](const std::string& text) { o.budget = parse_budget(text); };
  budget.names = "a count (1000) or a fraction of the usable candidates (10%, 0.1)";
  g.add_parsed("select.budget", std::move(budget),
               "examples to select: a count (1000) or a fraction of the usable candidates, resolved at selection time "
               "(10%, 0.1)")
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
      .add_enum("select.features", o.features, kSelectFeatures,
                "temp/s2l k-means features: loss (the loss pattern) or gradients (--stage gradients; every "
                "candidate needs a gradient row)")
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
  if (options.token_budget == 0 && !options.budget.is_fraction() && options.budget.count < 1) {
    throw ConfigError(
        cat("select.budget = ", options.budget.count, " must be at least 1 (or set select.token_budget)"));
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
