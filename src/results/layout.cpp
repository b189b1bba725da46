#include "results/layout.h"

#include <algorithm>
#include <limits>
#include <sstream>
#include <string>

#include "curate/util/error.h"
#include "curate/util/strings.h"
#include "results/example_status.h"

namespace curate::service::layout {
namespace {

// Names of version 2, before /examples/id became the user's id.
constexpr const char* kLineV2 = "/examples/id";
constexpr const char* kIdV2 = "/examples/key";
constexpr const char* kExampleInts[] = {kLine, kPromptTokens, kReasoningTokens, kFullLength};
constexpr const char* kExampleStrings[] = {kId, kSource, kDomain};
constexpr const char* kCostNames[] = {"wall_ms", "worker_ms", "scored_examples", "scored_tokens"};

}  // namespace

std::string group(Pass pass) { return "/" + std::string(pass_name(pass)); }

std::string path(Pass pass, std::string_view name) { return group(pass) + "/" + std::string(name); }

bool is_result_file(const store::H5File& f) { return f.exists(kStatus); }

int64_t version(const store::H5File& f) { return f.int_attribute(kRoot, attr::kVersion); }

void check_readable(const store::H5File& f) {
  const int64_t v = version(f);
  if (v < kOldestReadable || v > kVersion) {
    throw StoreError(cat(f.path().string(), " has file format version ", v, "; this curate_dist reads versions ",
                         kOldestReadable, " to ", kVersion, ": rescore it with --fresh"));
  }
}

void write_input_files(store::H5File& f, const std::string& text) { f.set_attribute(kRoot, attr::kInputFiles, text); }

std::string read_input_files(const store::H5File& f) {
  return f.has_attribute(kRoot, attr::kInputFiles) ? f.string_attribute(kRoot, attr::kInputFiles) : "";
}

void write_settings(store::H5File& f, const std::string& text) { f.set_attribute(kRoot, attr::kSettings, text); }

std::string read_settings(const store::H5File& f) {
  return f.has_attribute(kRoot, attr::kSettings) ? f.string_attribute(kRoot, attr::kSettings) : "";
}

void create_examples(store::H5File& f, const std::string& fingerprint, uint64_t records,
                     const std::string& selection_file) {
  f.set_attribute(kRoot, attr::kFormat, kFormat);
  f.set_attribute(kRoot, attr::kVersion, kVersion);
  f.set_attribute(kRoot, attr::kFingerprint, fingerprint);
  f.link_external(kSelection, selection_file, kSelection);
  f.create_u8(kStatus, {records});
  for (const char* name : kExampleInts) f.create_i64(name, {records});
  for (const char* name : kExampleStrings) f.create_strings(name, records);
}

std::vector<int64_t> read_lines(const store::H5File& f) { return f.read_i64(version(f) < 3 ? kLineV2 : kLine); }

std::vector<std::string> read_ids(const store::H5File& f) { return f.read_strings(version(f) < 3 ? kIdV2 : kId); }

ExampleCosts read_example_costs(const store::H5File& f) {
  return {f.read_i64(kPromptTokens), f.read_i64(kReasoningTokens)};
}

bool pass_complete(const store::H5File& f, Pass pass) {
  const std::vector<uint8_t> done = read_done(f, pass);
  return !done.empty() && std::all_of(done.begin(), done.end(), [](uint8_t d) { return d == 1; });
}

std::vector<uint8_t> read_done(const store::H5File& f, Pass pass) {
  const std::string done = path(pass, dataset::kDone);
  return f.exists(done) ? f.read_u8(done) : std::vector<uint8_t>();
}

std::vector<std::string> checkpoint_names(const store::H5File& f, Pass pass) {
  std::vector<std::string> names;
  std::stringstream list(f.string_attribute(group(pass), attr::kCheckpoints));
  for (std::string name; std::getline(list, name, ',');) names.push_back(name);
  return names;
}

std::optional<std::vector<uint8_t>> read_filter(const store::H5File& f) {
  if (!f.exists(kFilterKept)) return std::nullopt;
  return f.read_u8(kFilterKept);
}

void write_filter(store::H5File& f, const std::vector<uint8_t>& kept, const std::string& method) {
  const auto records = static_cast<uint64_t>(kept.size());
  f.remove(kFilter);
  f.create_u8(kFilterKept, {records});
  f.write(kFilterKept, {0}, {records}, std::span<const uint8_t>(kept));
  f.set_attribute(kFilter, attr::kMethod, method);
  f.set_attribute(kFilter, attr::kKept, static_cast<int64_t>(std::count(kept.begin(), kept.end(), uint8_t{1})));
}

void write_calibration(store::H5File& f, const CalibrationTable& table) {
  const uint64_t slots = table.means.size();
  const std::string g = group(Pass::kCalibration);
  f.create_f32(path(Pass::kCalibration, dataset::kMeanLoss), {slots}, {slots});
  f.write(path(Pass::kCalibration, dataset::kMeanLoss), {0}, {slots}, std::span<const float>(table.means));
  f.create_f32(path(Pass::kCalibration, dataset::kRatio), {slots}, {slots});
  f.write(path(Pass::kCalibration, dataset::kRatio), {0}, {slots}, std::span<const float>(table.ratios));
  f.set_attribute(g, attr::kChosen, static_cast<int64_t>(table.chosen));
  f.set_attribute(g, attr::kTable, table.text);
  f.set_attribute(g, attr::kMissed, static_cast<int64_t>(table.warning.empty() ? 0 : 1));
  f.set_attribute(g, attr::kWarning, table.warning);
}

std::string read_calibration_warning(const store::H5File& f) {
  const std::string g = group(Pass::kCalibration);
  if (!f.exists(path(Pass::kCalibration, dataset::kRatio)) || !f.has_attribute(g, attr::kWarning)) return "";
  return f.string_attribute(g, attr::kWarning);
}

std::vector<std::vector<uint64_t>> read_nan_rows(const store::H5File& f, Pass pass) {
  const std::string name = path(pass, dataset::kNanLosses);
  if (!f.exists(name)) return {};
  const std::vector<uint64_t> dims = f.dims(name);
  if (dims.size() != 2)
    throw StoreError(cat(f.path().string(), ": ", name, " is not a [checkpoints, rows] table: the file is damaged"));
  const std::vector<uint8_t> flags = f.read_u8(name);
  std::vector<std::vector<uint64_t>> rows(dims[0]);
  for (uint64_t c = 0; c < dims[0]; ++c) {
    for (uint64_t row = 0; row < dims[1]; ++row) {
      if (flags[c * dims[1] + row]) rows[c].push_back(row);
    }
  }
  return rows;
}

std::optional<int> read_chosen_checkpoint(const store::H5File& f) {
  if (!f.exists(path(Pass::kCalibration, dataset::kRatio))) return std::nullopt;
  return static_cast<int>(f.int_attribute(group(Pass::kCalibration), attr::kChosen));
}

void write_noise_search(store::H5File& f, const NoiseSearchTable& search) {
  const uint64_t probes = search.ratios.size();
  f.create_strings(path(Pass::kCalibration, "search_std"), search.stds);
  f.create_f32(path(Pass::kCalibration, "search_ratio"), {probes}, {std::max<uint64_t>(probes, 1)});
  f.write(path(Pass::kCalibration, "search_ratio"), {0}, {probes}, std::span<const float>(search.ratios));
  f.set_attribute(group(Pass::kCalibration), "search_found", search.found);
}

std::optional<NoiseSearchTable> read_noise_search(const store::H5File& f) {
  const std::string g = group(Pass::kCalibration);
  if (!f.exists(path(Pass::kCalibration, "search_ratio")) || !f.has_attribute(g, "search_found")) return std::nullopt;
  return NoiseSearchTable{f.read_strings(path(Pass::kCalibration, "search_std")),
                          f.read_f32(path(Pass::kCalibration, "search_ratio")), f.string_attribute(g, "search_found")};
}

std::vector<float> read_calibration_loss(const store::H5File& f) {
  return f.read_f32(path(Pass::kCalibration, dataset::kLoss));
}

void add_pass_cost(store::H5File& f, Pass pass, const PassCost& cost) {
  const std::string g = group(pass);
  const int64_t values[] = {cost.wall_ms, cost.worker_ms, cost.scored_examples, cost.scored_tokens};
  for (std::size_t k = 0; k < std::size(kCostNames); ++k) {
    const char* name = kCostNames[k];
    f.set_attribute(g, name, values[k] + (f.has_attribute(g, name) ? f.int_attribute(g, name) : 0));
  }
  f.set_attribute(g, "ranks", cost.ranks);
}

std::optional<PassCost> read_pass_cost(const store::H5File& f, Pass pass) {
  const std::string g = group(pass);
  const auto attribute = [&](const char* key) { return f.has_attribute(g, key) ? f.int_attribute(g, key) : -1; };
  if (attribute("wall_ms") < 0) return std::nullopt;
  return PassCost{attribute("wall_ms"), attribute("worker_ms"), attribute("scored_examples"),
                  attribute("scored_tokens"), attribute("ranks")};
}

void write_gradient_attrs(store::H5File& f, const GradientAttrs& a) {
  f.set_attribute(kGradients, attr::kDim, a.dim);
  f.set_attribute(kGradients, attr::kTokens, a.tokens);
  f.set_attribute(kGradients, attr::kExamples, a.examples);
  f.set_attribute(kGradients, attr::kSeed, static_cast<int64_t>(a.seed));  // the bits of the uint64
  f.set_attribute(kGradients, attr::kParams, a.params);
  f.set_attribute(kGradients, attr::kProjection, a.projection);
  f.set_attribute(kGradients, attr::kFingerprint, a.fingerprint);  // last: its presence says the others are there
}

std::optional<GradientAttrs> read_gradient_attrs(const store::H5File& f) {
  if (!f.exists(kGradients) || !f.has_attribute(kGradients, attr::kFingerprint)) return std::nullopt;
  GradientAttrs a;
  a.dim = f.int_attribute(kGradients, attr::kDim);
  a.tokens = f.int_attribute(kGradients, attr::kTokens);
  a.examples = f.int_attribute(kGradients, attr::kExamples);
  a.seed = static_cast<uint64_t>(f.int_attribute(kGradients, attr::kSeed));
  a.params = f.string_attribute(kGradients, attr::kParams);
  a.projection = f.string_attribute(kGradients, attr::kProjection);
  a.fingerprint = f.string_attribute(kGradients, attr::kFingerprint);
  return a;
}

std::vector<float> read_profile_table(const store::H5File& f, std::string_view name, uint64_t records) {
  const std::string table_path = path(Pass::kProfile, name);
  const std::vector<int64_t> example = f.read_i64(path(Pass::kProfile, dataset::kExample));
  const std::vector<uint64_t> dims = f.dims(table_path);
  const auto damaged = [&](const std::string& what) {
    return StoreError(cat(f.path().string(), ": ", table_path, " ", what,
                          ": the file is damaged; rerun the profile stage with --fresh"));
  };
  if (dims.size() != 2 || dims[1] != example.size()) {
    throw damaged(
        cat("does not have one column per ", path(Pass::kProfile, dataset::kExample), " row (", example.size(), ")"));
  }
  const std::vector<float> compact = f.read_f32(table_path);
  const std::size_t k = example.size();
  std::vector<float> table(dims[0] * records, std::numeric_limits<float>::quiet_NaN());
  for (std::size_t row = 0; row < k; ++row) {
    if (example[row] < 0 || static_cast<uint64_t>(example[row]) >= records)
      throw damaged(cat("row ", row, " names record ", example[row]));
    for (std::size_t c = 0; c < dims[0]; ++c)
      table[c * records + static_cast<std::size_t>(example[row])] = compact[c * k + row];
  }
  return table;
}

void write_selection_file(store::H5File& f, const SelectionFacts& facts, const SelectionArrays& arrays) {
  const auto n = static_cast<uint64_t>(arrays.cluster.size()), s = static_cast<uint64_t>(arrays.selected_lines.size());
  f.create_i64(kSelected, {s});
  if (s) f.write(kSelected, {0}, {s}, std::span<const int64_t>(arrays.selected_lines));
  f.create_i64(kCluster, {n});
  f.write(kCluster, {0}, {n}, std::span<const int64_t>(arrays.cluster));
  f.create_f32(kScore, {n}, {std::max<uint64_t>(n, 1)});
  f.write(kScore, {0}, {n}, std::span<const float>(arrays.score));
  f.create_u8(kCandidate, {n});
  f.write(kCandidate, {0}, {n}, std::span<const uint8_t>(arrays.candidate));
  f.create_strings(kAllocation, facts.allocation);
  f.create_strings(kOutputs, facts.outputs);
  f.set_attribute(kSelection, attr::kLossNotRising, static_cast<int64_t>(facts.loss_not_rising ? 1 : 0));
  f.set_attribute(kSelection, attr::kMethod, facts.method);
  f.set_attribute(kSelection, attr::kFeatures, facts.features);
  f.set_attribute(kSelection, attr::kBudget, facts.budget);
  f.set_attribute(kSelection, attr::kBudgetUnit, facts.budget_unit);
  f.set_attribute(kSelection, attr::kBudgetSetting, facts.budget_setting);
  f.set_attribute(kSelection, attr::kSeed, facts.seed);
  f.set_attribute(kSelection, attr::kResults, facts.results);
  f.set_attribute(kSelection, attr::kTime, facts.time);
}

SelectionFacts read_selection_facts(const store::H5File& f) {
  const auto damaged = [&](const std::string& what) {
    return StoreError(cat(f.path().string(), ": ", what, ": the selection file is damaged; run --stage select again"));
  };
  if (!f.exists(kSelected)) throw damaged(cat("no ", kSelected));
  const std::vector<uint64_t> dims = f.dims(kSelected);
  if (dims.size() != 1) throw damaged(cat(kSelected, " is not a list"));
  const auto text = [&](const char* name) {
    return f.has_attribute(kSelection, name) ? f.string_attribute(kSelection, name) : std::string();
  };
  const auto number = [&](const char* name) {
    return f.has_attribute(kSelection, name) ? f.int_attribute(kSelection, name) : int64_t{0};
  };
  const auto lines = [&](const char* dataset, const char* attribute) {
    if (f.exists(dataset)) return f.read_strings(dataset);
    std::vector<std::string> out;
    std::istringstream stream(text(attribute));
    for (std::string line; std::getline(stream, line);) out.push_back(line);
    return out;
  };
  SelectionFacts facts;
  facts.method = text(attr::kMethod);
  facts.features = f.has_attribute(kSelection, attr::kFeatures) ? text(attr::kFeatures) : "loss";
  facts.budget_unit = text(attr::kBudgetUnit);
  facts.budget_setting = text(attr::kBudgetSetting);
  facts.results = text(attr::kResults);
  facts.time = text(attr::kTime);
  facts.budget = number(attr::kBudget);
  facts.seed = number(attr::kSeed);
  facts.selected = static_cast<int64_t>(dims[0]);
  facts.loss_not_rising = number(attr::kLossNotRising) != 0;
  facts.allocation = lines(kAllocation, attr::kAllocationV1);
  facts.outputs = lines(kOutputs, attr::kOutputsV1);
  return facts;
}

void link_selection(store::H5File& result, const std::string& selection) {
  if (linked_selection(result) != selection) {  // rewriting an equal link moves the root's messages: other bytes
    result.remove(kSelection);
    result.link_external(kSelection, selection, kSelection);
  }
  std::vector<std::string> list = read_selection_list(result);
  if (std::find(list.begin(), list.end(), selection) == list.end()) {
    list.push_back(selection);
    result.remove(kSelections);
    result.create_strings(kSelections, list);
  }
}

std::string linked_selection(const store::H5File& result) { return result.external_link_file(kSelection); }

std::vector<std::string> read_selection_list(const store::H5File& result) {
  return result.exists(kSelections) ? result.read_strings(kSelections) : std::vector<std::string>();
}

GradientState gradient_state(const store::H5File& f) {
  if (!f.exists(kGradientDone)) return GradientState::kAbsent;
  const std::vector<uint8_t> done = f.read_u8(kGradientDone);
  const bool complete = !done.empty() && std::all_of(done.begin(), done.end(), [](uint8_t d) { return d != 0; });
  return complete ? GradientState::kComplete : GradientState::kIncomplete;
}

GradientRows read_gradients(const store::H5File& f) {
  const std::string where = f.path().string();
  if (gradient_state(f) != GradientState::kComplete) {
    throw StoreError(cat(where, ": ", kGradients, " is missing or incomplete; run (or resume) --stage gradients"));
  }
  GradientRows rows;
  rows.example = f.read_i64(kGradientExample);
  const std::vector<uint64_t> dims = f.dims(kGradientProjected);
  if (dims.size() != 2 || dims[0] != rows.example.size() || dims[1] < 1) {
    throw StoreError(cat(where, ": ", kGradientProjected, " is not [", rows.example.size(), ", dim] like ",
                         kGradientExample, "; rerun --stage gradients"));
  }
  rows.dim = static_cast<int64_t>(dims[1]);
  rows.projected = f.read_f32(kGradientProjected);
  const auto records = static_cast<int64_t>(f.dims(kStatus).at(0));
  for (std::size_t r = 0; r < rows.example.size(); ++r) {
    if (rows.example[r] < 0 || rows.example[r] >= records || (r > 0 && rows.example[r] <= rows.example[r - 1])) {
      throw StoreError(cat(where, ": ", kGradientExample, "[", r, "] = ", rows.example[r],
                           " is not an ascending row of the ", records, " records; rerun --stage gradients"));
    }
  }
  return rows;
}

}  // namespace curate::service::layout
