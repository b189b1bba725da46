#include "run_file.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>

#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"

namespace curate::service {
namespace {

constexpr const char* kFormat = "curate_dist results";
constexpr int64_t kVersion = 1;
constexpr const char* kExampleInts[] = {"id", "prompt_tokens", "reasoning_tokens", "full_length"};

float mean(const std::vector<float>& values, std::size_t count) {
  count = std::min(count, values.size());
  if (count == 0) return std::numeric_limits<float>::quiet_NaN();
  double sum = 0;
  for (std::size_t i = 0; i < count; ++i) sum += values[i];
  return static_cast<float>(sum / static_cast<double>(count));
}

}  // namespace

ResumeCheck check_resume(const std::filesystem::path& path, const std::string& fingerprint, uint64_t records) {
  if (!std::filesystem::exists(path)) return {};
  try {
    store::H5File file = store::H5File::open(path, false);
    if (!file.exists("/examples/status")) return {ResumeCheck::kOtherConfiguration, path.string() + " was not written by curate_dist"};
    const std::string stored = file.string_attribute("/", "fingerprint");
    if (stored != fingerprint) {
      return {ResumeCheck::kOtherConfiguration,
              path.string() + " holds results of a different configuration or dataset (stored: " + stored + ")"};
    }
    if (file.dims("/examples/status") != std::vector<uint64_t>{records}) {
      return {ResumeCheck::kOtherConfiguration,
              path.string() + " was written for another number of records than the dataset's " + std::to_string(records)};
    }
    for (const char* pass : {"/calibration/done", "/difficulty/done", "/profile/done"}) {
      if (file.exists(pass)) file.read_u8(pass);  // the progress flags must be readable
    }
  } catch (const StoreError& e) {
    return {ResumeCheck::kDamaged, e.what()};
  }
  return {ResumeCheck::kResumable, ""};
}

std::filesystem::path move_aside(const std::filesystem::path& path) {
  const std::filesystem::path aside = path.string() + ".discarded-" + std::to_string(std::time(nullptr));
  std::filesystem::rename(path, aside);
  return aside;
}

RunFile::RunFile(const std::filesystem::path& path, const std::string& fingerprint, uint64_t records)
    : file_(std::filesystem::exists(path) ? store::H5File::open(path, true) : store::H5File::create(path)),
      records_(records) {
  if (file_.exists("/examples/status")) return;  // resuming: checked above
  file_.set_attribute("/", "format", kFormat);
  file_.set_attribute("/", "version", kVersion);
  file_.set_attribute("/", "fingerprint", fingerprint);
  file_.create_u8("/examples/status", {records});
  for (const char* name : kExampleInts) file_.create_i64(std::string("/examples/") + name, {records});
  for (const char* name : {"key", "source", "domain"}) file_.create_strings(std::string("/examples/") + name, records);
  file_.flush();
}

std::vector<uint8_t> RunFile::open_pass(const PassPlan& plan) {
  const uint64_t rows = plan.positions.size(), slots = plan.slots.size();
  const uint64_t chunk_rows = static_cast<uint64_t>(std::max<int64_t>(1, plan.unit_examples));
  const std::string g = plan.group;
  if (!file_.exists(g + "/done")) {
    const auto t = static_cast<uint64_t>(plan.tokens);
    if (plan.name == "calibration") {
      file_.create_f32(g + "/loss", {slots, rows}, {1, rows});
      file_.create_i64(g + "/sample", {rows});
      std::vector<int64_t> sample(plan.positions.begin(), plan.positions.end());
      file_.write(g + "/sample", {0}, {rows}, std::span<const int64_t>(sample));
    } else {
      file_.create_f32(g + "/losses", {slots, rows, t}, {1, chunk_rows, t});
      file_.create_f32(g + "/mean_loss", {slots, rows}, {1, chunk_rows});
      if (plan.name == "profile") file_.create_f32(g + "/mean_loss_first", {slots, rows}, {1, chunk_rows});
      const bool directional = plan.slots.front().family == model::Family::kDirectional;
      file_.create_f32(g + (directional ? "/distance" : "/noise_std"), {slots}, {slots});
    }
    file_.create_u8(g + "/done", {slots, static_cast<uint64_t>(plan.units())});
    file_.set_attribute(g, "tokens", plan.tokens);
    std::string names;
    for (const auto& key : plan.slots) names += (names.empty() ? "" : ",") + model::describe(key);
    file_.set_attribute(g, "checkpoints", names);
    file_.flush();
  }
  return file_.read_u8(g + "/done");
}

void RunFile::store_examples(const PassPlan& plan, const UnitResult& result) {
  // Rows of a unit are consecutive record positions only when the pass covers every record in order.
  const uint64_t first = plan.positions[static_cast<std::size_t>(result.index * plan.unit_examples)];
  const uint64_t n = result.examples.size();
  std::vector<uint8_t> status;
  std::vector<std::vector<int64_t>> ints(4);
  std::vector<std::string> ids, sources, domains;
  for (const auto& e : result.examples) {
    status.push_back(e.status);
    ints[0].push_back(e.line), ints[1].push_back(e.prompt_tokens);  // the id is the line number
    ints[2].push_back(e.reasoning_tokens), ints[3].push_back(e.full_length);
    ids.push_back(e.id.empty() ? std::to_string(e.line) : e.id), sources.push_back(e.source), domains.push_back(e.domain);
  }
  file_.write("/examples/status", {first}, {n}, std::span<const uint8_t>(status));
  for (int k = 0; k < 4; ++k) file_.write(std::string("/examples/") + kExampleInts[k], {first}, {n}, std::span<const int64_t>(ints[k]));
  file_.write("/examples/key", first, ids);
  file_.write("/examples/source", first, sources);
  file_.write("/examples/domain", first, domains);
}

void RunFile::store(const PassPlan& plan, const UnitResult& result) {
  const std::string g = plan.group;
  const uint64_t row = static_cast<uint64_t>(result.index * plan.unit_examples);
  const uint64_t n = result.examples.size(), slot = static_cast<uint64_t>(result.slot), slots = plan.slots.size();
  if (row + n > plan.positions.size() || slot >= slots) {
    throw DistError(cat("result for ", plan.name, " unit ", result.index, " slot ", slot, " does not fit the pass"));
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (plan.name == "calibration") {
    std::vector<float> means;
    for (const auto& e : result.examples) means.push_back(mean(e.losses, static_cast<std::size_t>(plan.tokens)));
    file_.write(g + "/loss", {slot, row}, {1, n}, std::span<const float>(means));
  } else {
    const auto t = static_cast<std::size_t>(plan.tokens);
    std::vector<float> block(n * t, nan), all, first;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& losses = result.examples[i].losses;
      std::copy_n(losses.begin(), std::min(losses.size(), t), block.begin() + static_cast<std::ptrdiff_t>(i * t));
      all.push_back(mean(losses, losses.size()));
      first.push_back(mean(losses, static_cast<std::size_t>(plan.first_tokens)));
    }
    file_.write(g + "/losses", {slot, row, 0}, {1, n, t}, std::span<const float>(block));
    file_.write(g + "/mean_loss", {slot, row}, {1, n}, std::span<const float>(all));
    if (plan.name == "profile") file_.write(g + "/mean_loss_first", {slot, row}, {1, n}, std::span<const float>(first));
    const bool directional = plan.slots.front().family == model::Family::kDirectional;
    const float measure = static_cast<float>(result.measure);
    file_.write(g + (directional ? "/distance" : "/noise_std"), {slot}, {1}, std::span<const float>(&measure, 1));
    store_examples(plan, result);
  }
  const uint8_t one = 1;
  file_.write(g + "/done", {slot, static_cast<uint64_t>(result.index)}, {1, 1}, std::span<const uint8_t>(&one, 1));
}

}  // namespace curate::service
