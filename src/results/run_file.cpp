#include "results/run_file.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>

#include "curate/results/fingerprint.h"
#include "curate/store/half.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "results/output_files.h"

namespace curate::service {
namespace {

using layout::dataset::kDone;
using layout::dataset::kExample;
using layout::dataset::kLosses;
using layout::dataset::kMeanLoss;
using layout::dataset::kMeanLossFirst;

}  // namespace

bool has_nan(std::span<const float> losses) {
  return std::any_of(losses.begin(), losses.end(), [](float v) { return std::isnan(v); });
}

namespace {

// No done flag of any pass is set: nothing was stored (the examples rows are written with the units).
bool stored_nothing(const store::H5File& file) {
  for (Pass pass : kPasses) {
    const std::vector<uint8_t> done = layout::read_done(file, pass);
    if (std::any_of(done.begin(), done.end(), [](uint8_t d) { return d != 0; })) return false;
  }
  return true;
}

}  // namespace

ResumeCheck check_resume(const std::filesystem::path& path, const std::string& fingerprint, uint64_t records,
                         const std::string& files) {
  if (!std::filesystem::exists(path)) return {};
  try {
    store::H5File file = store::H5File::open(path, false);
    if (!layout::is_result_file(file))
      return {ResumeCheck::kOtherConfiguration, path.string() + " was not written by curate_dist"};
    const int64_t version = layout::version(file);
    if (version != layout::kVersion) {
      return {ResumeCheck::kOtherConfiguration,
              cat(path.string(), " has file format version ", version, ", this curate_dist writes ", layout::kVersion,
                  " (the layout changed: see layout.h)")};
    }
    const std::string stored = file.string_attribute(layout::kRoot, layout::attr::kFingerprint);
    if (stored != fingerprint) {
      return {ResumeCheck::kOtherConfiguration,
              path.string() + " holds results of a different configuration or dataset: " +
                  explain_difference(stored, layout::read_input_files(file), fingerprint, files),
              stored_nothing(file)};
    }
    if (file.dims(layout::kStatus) != std::vector<uint64_t>{records}) {
      return {
          ResumeCheck::kOtherConfiguration,
          path.string() + " was written for another number of records than the dataset's " + std::to_string(records),
          stored_nothing(file)};
    }
    for (Pass pass : kPasses) layout::read_done(file, pass);  // the progress flags must be readable
    file.verify();  // and the rest of the structure: a write cut off by a full disk leaves a file that opens
  } catch (const StoreError& e) {
    return {ResumeCheck::kDamaged, e.what()};
  }
  return {ResumeCheck::kResumable, ""};
}

std::filesystem::path move_aside(const std::filesystem::path& path) {
  const std::string stem = path.string() + ".discarded-" + std::to_string(std::time(nullptr));
  std::filesystem::path aside = stem;
  for (int n = 2; std::filesystem::exists(aside); ++n)
    aside = stem + "-" + std::to_string(n);  // never over an older one
  std::filesystem::rename(path, aside);
  return aside;
}

std::string output_stem(const std::string& output) { return RunFiles::of(output).stem; }

std::filesystem::path selection_path(const std::string& output) { return default_selection_file(output); }

RunFile::RunFile(const std::filesystem::path& path, const std::string& fingerprint, uint64_t records,
                 const std::string& files)
    : file_(std::filesystem::exists(path) ? store::H5File::open(path, true) : store::H5File::create(path)),
      records_(records) {
  if (layout::is_result_file(file_)) return;  // resuming: checked above
  layout::create_examples(file_, fingerprint, records, selection_path(path.string()).filename().string());
  layout::write_input_files(file_, files);
  file_.flush();
}

uint64_t loss_chunk_rows(uint64_t tokens, uint64_t type_size, int64_t unit_examples) {
  constexpr uint64_t kLossChunkBytes = uint64_t{64} << 10;
  const uint64_t fit = std::max<uint64_t>(1, kLossChunkBytes / std::max<uint64_t>(1, tokens * type_size));
  return std::min<uint64_t>(fit, static_cast<uint64_t>(std::max<int64_t>(1, unit_examples)));
}

std::vector<uint8_t> RunFile::open_pass(const PassPlan& plan) {
  if (plan.pass == Pass::kGradients) return open_gradients(plan);
  const uint64_t rows = plan.positions.size(), slots = plan.slots.size();
  const std::string g = layout::group(plan.pass);
  const auto at = [&](std::string_view name) { return layout::path(plan.pass, name); };
  if (!file_.exists(at(kDone))) {
    const auto t = static_cast<uint64_t>(plan.tokens);
    if (plan.pass == Pass::kCalibration) {
      file_.create_f32(at(layout::dataset::kLoss), {slots, rows}, {1, rows});
      file_.create_i64(at(layout::dataset::kSample), {rows});
      std::vector<int64_t> sample(plan.positions.begin(), plan.positions.end());
      file_.write(at(layout::dataset::kSample), {0}, {rows}, std::span<const int64_t>(sample));
    } else {
      // Rows are the pass's examples (plan.positions): every record for the difficulty pass, only
      // the kept ones for the profile pass (their record positions in /profile/example).
      if (plan.pass == Pass::kProfile) {
        file_.create_i64(at(kExample), {rows});
        std::vector<int64_t> example(plan.positions.begin(), plan.positions.end());
        if (rows) file_.write(at(kExample), {0}, {rows}, std::span<const int64_t>(example));
      }
      if (plan.token_losses == TokenLosses::kFloat32) {
        file_.create_f32(at(kLosses), {slots, rows, t}, {1, loss_chunk_rows(t, 4, plan.unit_examples), t});
      } else if (plan.token_losses == TokenLosses::kFloat16) {
        file_.create_f16(at(kLosses), {slots, rows, t}, {1, loss_chunk_rows(t, 2, plan.unit_examples), t});
      }
      file_.create_f32(at(kMeanLoss), {slots, rows}, {1, kMeanChunkRows});
      if (plan.pass == Pass::kProfile) file_.create_f32(at(kMeanLossFirst), {slots, rows}, {1, kMeanChunkRows});
      const bool directional = plan.slots.front().family == model::Family::kDirectional;
      file_.create_f32(at(directional ? layout::dataset::kDistance : layout::dataset::kNoiseStd), {slots}, {slots});
      file_.set_attribute(g, layout::attr::kTokenLosses, kTokenLosses[static_cast<int>(plan.token_losses)].first);
    }
    file_.create_u8(at(kDone), {slots, static_cast<uint64_t>(plan.units())});
    file_.set_attribute(g, layout::attr::kTokens, plan.tokens);
    std::string names;
    for (const auto& key : plan.slots) names += (names.empty() ? "" : ",") + model::describe(key);
    file_.set_attribute(g, layout::attr::kCheckpoints, names);
    file_.flush();
  }
  if (!file_.exists(at(layout::dataset::kNanLosses))) {  // also added to a pass of a file from before the dataset
    file_.create_u8(at(layout::dataset::kNanLosses), {slots, rows});
    file_.flush();
  }
  std::vector<uint8_t> done = file_.read_u8(at(kDone));
  if (done.size() != slots * static_cast<uint64_t>(plan.units())) {  // callers index it by slot and unit
    throw StoreError(cat(file_.path().string(), ": ", at(kDone), " holds ", done.size(), " flags, not ", slots, " x ",
                         plan.units(), ": the file is damaged"));
  }
  if (plan.pass == Pass::kProfile) {  // the filter is deterministic: a resumed run must find the stored rows
    const std::vector<int64_t> example = file_.read_i64(at(kExample));
    if (!std::equal(example.begin(), example.end(), plan.positions.begin(), plan.positions.end(),
                    [](int64_t a, uint64_t b) { return a >= 0 && static_cast<uint64_t>(a) == b; })) {
      throw StoreError(cat(file_.path().string(), ": ", at(kExample), " holds ", example.size(),
                           " rows that are not the ", rows,
                           " examples the difficulty filter keeps: the file is damaged; rerun with --fresh"));
    }
  }
  return done;
}

namespace {

// Consecutive runs of `rows` (ascending): {first row, index into rows, length}.
struct Run {
  uint64_t row;
  std::size_t at, length;
};
std::vector<Run> runs_of(std::span<const uint64_t> rows) {
  std::vector<Run> runs;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!runs.empty() && runs.back().row + runs.back().length == rows[i]) {
      ++runs.back().length;
    } else {
      runs.push_back({rows[i], i, 1});
    }
  }
  return runs;
}

}  // namespace

void PassPlan::cut_evenly() {
  bounds.clear();
  for (int64_t at = 0; at < static_cast<int64_t>(positions.size()); at += unit_examples) bounds.push_back(at);
  bounds.push_back(static_cast<int64_t>(positions.size()));
}

void PassPlan::cut_by_cost(std::span<const int64_t> cost) {
  if (cost.size() != positions.size()) throw DistError("cut_by_cost: one cost per position expected");
  double total = 0;
  for (int64_t c : cost) total += static_cast<double>(std::max<int64_t>(c, 1));
  const double target = total / std::max<std::size_t>(positions.size(), 1) * static_cast<double>(unit_examples);
  bounds.assign(1, 0);
  double acc = 0;
  for (std::size_t i = 0; i < cost.size(); ++i) {
    acc += static_cast<double>(std::max<int64_t>(cost[i], 1));
    if (acc >= target && i + 1 < cost.size()) {
      bounds.push_back(static_cast<int64_t>(i) + 1);
      acc = 0;
    }
  }
  bounds.push_back(static_cast<int64_t>(positions.size()));
}

void RunFile::store_examples(std::span<const uint64_t> rows, std::span<const ExampleResult> examples) {
  constexpr const char* kInts[] = {layout::kLine, layout::kPromptTokens, layout::kReasoningTokens, layout::kFullLength};
  std::vector<uint8_t> status;
  std::vector<std::vector<int64_t>> ints(std::size(kInts));
  std::vector<std::string> ids, sources, domains;
  for (const auto& e : examples) {
    status.push_back(e.status);
    ints[0].push_back(e.line), ints[1].push_back(e.prompt_tokens);
    ints[2].push_back(e.reasoning_tokens), ints[3].push_back(e.full_length);
    ids.push_back(e.id.empty() ? std::to_string(e.line) : e.id), sources.push_back(e.source),
        domains.push_back(e.domain);
  }
  for (const Run& run : runs_of(rows)) {
    file_.write(layout::kStatus, {run.row}, {run.length}, std::span<const uint8_t>(status).subspan(run.at, run.length));
    for (std::size_t k = 0; k < std::size(kInts); ++k) {
      file_.write(kInts[k], {run.row}, {run.length}, std::span<const int64_t>(ints[k]).subspan(run.at, run.length));
    }
    file_.write(layout::kId, run.row, std::span<const std::string>(ids).subspan(run.at, run.length));
    file_.write(layout::kSource, run.row, std::span<const std::string>(sources).subspan(run.at, run.length));
    file_.write(layout::kDomain, run.row, std::span<const std::string>(domains).subspan(run.at, run.length));
  }
}

void RunFile::store(const PassPlan& plan, const UnitResult& result) {
  if (plan.pass == Pass::kGradients) return store_gradients(plan, result);
  store(plan, prepare(plan, result));
}

void RunFile::store(const PassPlan& plan, const StoredUnit& unit) {
  const auto at = [&](std::string_view name) { return layout::path(plan.pass, name); };
  const uint64_t n = unit.size(), slot = static_cast<uint64_t>(unit.slot), slots = plan.slots.size();
  const TokenLosses type = plan.pass == Pass::kCalibration ? TokenLosses::kNone : plan.token_losses;
  if (unit.pass != plan.pass || unit.index < 0 || unit.index >= plan.units() || slot >= slots ||
      static_cast<int64_t>(n) !=
          plan.bounds[static_cast<std::size_t>(unit.index) + 1] - plan.bounds[static_cast<std::size_t>(unit.index)]) {
    throw DistError(
        cat("result for ", pass_name(plan.pass), " unit ", unit.index, " slot ", slot, " does not fit the pass"));
  }
  // The fingerprint holds store.token_losses, so a journal's units always have the plan's type.
  const auto t = static_cast<std::size_t>(plan.tokens);
  bool fits = unit.token_losses == type && unit.mean_loss.size() == n && unit.nan_losses.size() == n &&
              unit.mean_loss_first.size() == (plan.pass == Pass::kProfile ? n : 0) && unit.loss_begin.size() == n + 1 &&
              unit.loss_begin.front() == 0 && unit.loss_begin.back() == unit.losses_f32.size() + unit.losses_f16.size();
  for (std::size_t i = 0; fits && i < n; ++i)
    fits = unit.loss_begin[i] <= unit.loss_begin[i + 1] && unit.loss_begin[i + 1] - unit.loss_begin[i] <= t;
  if (!fits) {
    throw DistError(cat("stored unit ", unit.index, " slot ", slot, " of ", pass_name(plan.pass),
                        " does not match the pass's token losses (", kTokenLosses[static_cast<int>(type)].first,
                        ", at most ", t, " per example)"));
  }
  const auto first = static_cast<std::size_t>(plan.bounds[static_cast<std::size_t>(unit.index)]);
  if (plan.pass == Pass::kCalibration) {  // rows of the calibration datasets are sample indices
    file_.write(at(layout::dataset::kLoss), {slot, first}, {1, n}, std::span<const float>(unit.mean_loss));
  } else {  // rows of the pass's datasets are indices into plan.positions: this unit's are contiguous
    // Each row holds the example's losses, then NaN to T (the datasets' fill value, written anyway).
    const auto fill = [&](auto& block, const auto& losses, auto nan) {
      block.assign(n * t, nan);
      for (std::size_t i = 0; i < n; ++i) {
        std::copy(losses.begin() + static_cast<std::ptrdiff_t>(unit.loss_begin[i]),
                  losses.begin() + static_cast<std::ptrdiff_t>(unit.loss_begin[i + 1]),
                  block.begin() + static_cast<std::ptrdiff_t>(i * t));
      }
    };
    if (type == TokenLosses::kFloat32) {
      std::vector<float> block;
      fill(block, unit.losses_f32, std::numeric_limits<float>::quiet_NaN());
      file_.write(at(kLosses), {slot, first, 0}, {1, n, t}, std::span<const float>(block));
    } else if (type == TokenLosses::kFloat16) {
      std::vector<uint16_t> block;
      fill(block, unit.losses_f16, store::to_half(std::numeric_limits<float>::quiet_NaN()));
      file_.write_f16(at(kLosses), {slot, first, 0}, {1, n, t}, std::span<const uint16_t>(block));
    }
    file_.write(at(kMeanLoss), {slot, first}, {1, n}, std::span<const float>(unit.mean_loss));
    if (plan.pass == Pass::kProfile)
      file_.write(at(kMeanLossFirst), {slot, first}, {1, n}, std::span<const float>(unit.mean_loss_first));
    const bool directional = plan.slots.front().family == model::Family::kDirectional;
    const float measure = static_cast<float>(unit.measure);
    file_.write(at(directional ? layout::dataset::kDistance : layout::dataset::kNoiseStd), {slot}, {1},
                std::span<const float>(&measure, 1));
    // /examples/* are written once, by the difficulty pass (which covers every record): rewriting
    // their strings later would put rows the filter already read at risk from a kill mid-write.
    if (plan.pass == Pass::kDifficulty) {
      store_examples(std::span<const uint64_t>(plan.positions).subspan(first, n), unit.examples);
    }
  }
  file_.write(at(layout::dataset::kNanLosses), {slot, first}, {1, n}, std::span<const uint8_t>(unit.nan_losses));
  const uint8_t one = 1;
  file_.write(at(kDone), {slot, static_cast<uint64_t>(unit.index)}, {1, 1}, std::span<const uint8_t>(&one, 1));
}

}  // namespace curate::service
