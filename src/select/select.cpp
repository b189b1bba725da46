#include "curate/select/select.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "curate/util/error.h"
#include "curate/util/hash.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "methods.h"

namespace curate::select {
namespace {

void check_size(const char* name, std::size_t size, std::size_t expected, const char* shape) {
  if (size != expected) {
    throw DataError(cat("select: '", name, "' has ", size, " values but must have ", expected, " (", shape,
                        "); read every array from the same run file"));
  }
}

void check_names(const char* what, std::span<const std::string> names) {
  std::set<std::string_view> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) {
      throw DataError(cat("select: the ", what, " name '", name, "' appears twice; names must be unique"));
    }
  }
}

// The sizes of the columns `reads` names (the others are not read and may be empty).
void check_input(const SelectInput& input, std::span<const std::string> source_names,
                 std::span<const std::string> domain_names, const SelectReads& reads) {
  const std::size_t n = input.source.size();
  if (input.checkpoints < 1) {
    throw DataError(cat("select: ", input.checkpoints, " profile checkpoints; run the profile pass first (C >= 1)"));
  }
  const std::size_t table = static_cast<std::size_t>(input.checkpoints) * n;
  const bool tokens = reads.full_length;
  check_size("domain", input.domain.size(), n, "N");
  check_size("kept", input.kept.size(), n, "N");
  if (reads.reasoning_tokens) check_size("reasoning_tokens", input.reasoning_tokens.size(), n, "N");
  if (tokens) check_size("full_length", input.full_length.size(), n, "N");
  if (reads.difficulty) check_size("difficulty", input.difficulty.size(), n, "N");
  if (reads.mean_loss) check_size("mean_loss", input.mean_loss.size(), table, "C x N");
  check_size("mean_loss_first", input.mean_loss_first.size(), table, "C x N");
  check_names("source", source_names);
  check_names("domain", domain_names);
  for (std::size_t i = 0; i < n; ++i) {
    if (input.source[i] < 0 || static_cast<std::size_t>(input.source[i]) >= source_names.size()) {
      throw DataError(cat("select: example ", i, " has source id ", input.source[i], " but there are ",
                          source_names.size(), " source names"));
    }
    if (input.domain[i] < 0 || static_cast<std::size_t>(input.domain[i]) >= domain_names.size()) {
      throw DataError(cat("select: example ", i, " has domain id ", input.domain[i], " but there are ",
                          domain_names.size(), " domain names"));
    }
    if (tokens && input.kept[i] && input.full_length[i] < 0) {
      throw DataError(cat("select: example ", i, " has negative full_length ", input.full_length[i]));
    }
  }
}

// select.features = gradients: every candidate has a row of the projected gradients.
void check_gradients(const SelectInput& input) {
  const std::size_t n = input.source.size();
  if (input.gradient_dim < 1 || input.gradients.empty()) {
    throw ConfigError(
        "select.features = gradients needs the projected gradients of --stage gradients, and the result file has "
        "none: run --stage gradients (with gradients.examples at least the number of candidates), or select with "
        "select.features = loss");
  }
  const auto dim = static_cast<std::size_t>(input.gradient_dim);
  check_size("gradient_row", input.gradient_row.size(), n, "N");
  if (input.gradients.size() % dim != 0) {
    throw DataError(cat("select: ", input.gradients.size(), " gradient values are not rows of ", dim));
  }
  const auto rows = static_cast<int64_t>(input.gradients.size() / dim);
  int64_t candidates = 0, missing = 0, first_missing = -1;
  for (std::size_t i = 0; i < n; ++i) {
    if (input.gradient_row[i] >= rows) {
      throw DataError(cat("select: example ", i, " has gradient row ", input.gradient_row[i], " of ", rows));
    }
    if (!input.kept[i]) continue;
    ++candidates;
    if (input.gradient_row[i] < 0) {
      ++missing;
      if (first_missing < 0) first_missing = static_cast<int64_t>(i);
    }
  }
  if (missing > 0) {
    throw ConfigError(cat("select.features = gradients: ", missing, " of ", candidates,
                          " candidates have no projected gradient (the first is row ", first_missing, " of /examples;",
                          " --stage gradients sampled ", rows,
                          " examples); clustering them by gradient needs every candidate: rerun --stage gradients "
                          "with gradients.examples >= ",
                          candidates, ", or select with select.features = loss"));
  }
}

double zero_nan(float value) { return std::isnan(value) ? 0.0 : static_cast<double>(value); }

// The reference's assertion (selector.py:431-435): over the candidates, the mean of mean_loss_first
// at the last checkpoint is above the mean at every other checkpoint (float32 means; ties fail).
bool last_mean_highest(const SelectInput& input) {
  const std::size_t n = input.source.size();
  const auto c = static_cast<std::size_t>(input.checkpoints);
  std::vector<double> sum(c, 0.0);
  int64_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!input.kept[i]) continue;
    ++count;
    for (std::size_t k = 0; k < c; ++k) sum[k] += zero_nan(input.mean_loss_first[k * n + i]);
  }
  if (count == 0 || c < 2) return true;
  const auto mean = [&](std::size_t k) { return static_cast<float>(sum[k] / static_cast<double>(count)); };
  for (std::size_t k = 0; k + 1 < c; ++k) {
    if (!(mean(c - 1) > mean(k))) return false;
  }
  return true;
}

// Logs where the reference implementation would stop on this input and curate_dist goes on.
void warn_reference_departures(bool loss_not_rising, std::span<const AllocationRow> rows,
                               std::span<const std::string> source_names, std::span<const std::string> domain_names) {
  if (loss_not_rising) {
    log::warn(
        "select: the candidates' mean loss at the last profile checkpoint is not above every other "
        "checkpoint's; the reference implementation stops here (assertion), curate_dist goes on");
  }
  for (const AllocationRow& row : rows) {
    if (!row.clamped) continue;
    const std::string name = row.source >= 0 ? cat("source '", source_names[static_cast<std::size_t>(row.source)], "'")
                                             : cat("domain '", domain_names[static_cast<std::size_t>(row.domain)], "'");
    log::warn(cat("select: the mean loss of ", name,
                  " falls from the first to the last profile checkpoint; "
                  "its allocation score sqrt((last - first) x last) is NaN and counts as 0 (the reference "
                  "implementation raises here)"));
  }
}

}  // namespace

SelectResult select(const SelectInput& input, std::span<const std::string> source_names,
                    std::span<const std::string> domain_names, const SelectOptions& options,
                    const RowSharing* sharing) {
  validate(options);
  const bool tokens = options.token_budget > 0;
  const SelectReads reads = select_reads(options);
  check_input(input, source_names, domain_names, reads);
  if (reads.gradients) check_gradients(input);
  const std::size_t n = input.source.size();
  const auto last = static_cast<std::size_t>(input.checkpoints - 1) * n;

  // Candidates of each (domain, source) group, keyed by names so that id order does not matter.
  std::map<std::pair<std::string_view, std::string_view>, std::vector<int64_t>> members;
  for (std::size_t i = 0; i < n; ++i) {
    if (!input.kept[i]) continue;
    members[{domain_names[static_cast<std::size_t>(input.domain[i])],
             source_names[static_cast<std::size_t>(input.source[i])]}]
        .push_back(static_cast<int64_t>(i));
  }
  std::vector<GroupStats> stats;
  for (const auto& [key, rows] : members) {
    GroupStats s;
    s.domain = input.domain[static_cast<std::size_t>(rows.front())];
    s.source = input.source[static_cast<std::size_t>(rows.front())];
    s.examples = static_cast<int64_t>(rows.size());
    for (int64_t row : rows) {  // NaN counts as 0, as in the reference
      const auto i = static_cast<std::size_t>(row);
      s.capacity += tokens ? input.full_length[i] : 1;
      s.sum_first += zero_nan(input.mean_loss_first[i]);
      s.sum_last += zero_nan(input.mean_loss_first[last + i]);
    }
    s.count_first = s.count_last = s.examples;
    stats.push_back(s);
  }
  SelectResult result;
  result.budget = resolved_budget(input, options);
  if (!tokens && options.budget.is_fraction()) {
    log::info(cat("select.budget = ", options.budget.text, " of ",
                  std::count(input.kept.begin(), input.kept.end(), uint8_t{1}), " candidates: ", result.budget,
                  " examples"));
  }
  const Allocation allocation = allocate_hierarchical(stats, result.budget, options.temperature, options.allocation);

  result.loss_not_rising = !last_mean_highest(input);
  warn_reference_departures(result.loss_not_rising, allocation.rows, source_names, domain_names);
  result.cluster.assign(n, -1);
  result.score.assign(n, std::numeric_limits<float>::quiet_NaN());
  result.allocation = allocation.rows;
  std::size_t g = 0;
  for (const auto& [key, rows] : members) {
    detail::Group group;
    group.members = rows;
    group.allocated = allocation.allocated[g++];
    group.tokens = tokens;
    group.seed = hash_seed(options.seed, key.second);
    detail::select_group(input, group, options, sharing, result);
  }
  std::sort(result.selected.begin(), result.selected.end());
  result.shortfall = budget_shortfall(input, result, options);
  if (!result.shortfall.empty()) log::warn("select: " + result.shortfall);
  return result;
}

SelectReads select_reads(const SelectOptions& options) {
  const bool clusters = options.method == SelectMethod::kTemp || options.method == SelectMethod::kS2l;
  SelectReads reads;
  reads.reasoning_tokens = options.method == SelectMethod::kLongest;
  reads.full_length = options.token_budget > 0;
  reads.difficulty = options.method == SelectMethod::kMiddlePerplexity || options.method == SelectMethod::kDifficulty;
  reads.mean_loss = options.method == SelectMethod::kTemp || options.method == SelectMethod::kLearnability ||
                    (options.method == SelectMethod::kS2l && options.features == SelectFeatures::kLoss);
  reads.gradients = clusters && options.features == SelectFeatures::kGradients;
  return reads;
}

int64_t resolved_budget(const SelectInput& input, const SelectOptions& options) {
  if (options.token_budget > 0) return options.token_budget;
  return options.budget.resolve(std::count(input.kept.begin(), input.kept.end(), uint8_t{1}));
}

std::string budget_shortfall(const SelectInput& input, const SelectResult& result, const SelectOptions& options) {
  const bool tokens = options.token_budget > 0;
  const int64_t budget = resolved_budget(input, options);
  const auto cost = [&](std::size_t i) { return tokens ? input.full_length[i] : int64_t{1}; };
  int64_t taken = 0, available = 0, candidates = 0;
  int64_t shortest = std::numeric_limits<int64_t>::max();
  for (int64_t i : result.selected) taken += cost(static_cast<std::size_t>(i));
  for (std::size_t i = 0; i < input.kept.size(); ++i) {
    if (!input.kept[i]) continue;
    ++candidates;
    available += cost(i);
    shortest = std::min(shortest, cost(i));
  }
  if (taken >= budget) return "";
  const std::string unit = tokens ? " tokens" : " examples";
  const std::string asked = tokens                         ? cat("select.token_budget = ", budget)
                            : options.budget.is_fraction() ? cat("select.budget = ", options.budget.text, " = ", budget)
                                                           : cat("select.budget = ", budget);
  const std::string what =
      taken == 0 ? "the budget selects nothing" : cat("selected ", taken, unit, " of the ", budget, " asked");
  if (candidates == 0) return what + ": no example is a candidate (every record was skipped or filtered out)";
  if (available <= budget) {
    return cat(what, ": the ", candidates, " candidates hold only ", available, unit, " (", asked,
               "); lower the budget "
               "or score more data");
  }
  if (tokens && shortest > budget) {
    return cat(what, ": ", asked, " is below the shortest candidate's ", shortest,
               " tokens; raise select.token_budget");
  }
  int64_t allocated = 0;
  for (const auto& row : result.allocation) allocated += row.source >= 0 ? row.allocated : 0;
  if (allocated < budget) {
    return cat(what, ": the shares of the budget sum to ", allocated, unit,
               " (select.allocation = ", options::name_of(options.allocation, kAllocationModes),
               " rounds each share down, as the reference does)");
  }
  return cat(what, ": the candidates left in a share did not fit what remained of it (", asked, ")");
}

}  // namespace curate::select
