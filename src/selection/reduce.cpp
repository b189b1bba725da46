#include "selection/reduce.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "curate/select/filter.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "results/example_status.h"
#include "results/layout.h"
#include "selection/columns.h"

namespace curate::service {

void require_scored_examples(const store::H5File& file, const std::string& dataset) {
  const std::vector<uint8_t> status = file.read_u8(layout::kStatus);
  const std::vector<float> difficulty = file.read_f32(layout::path(Pass::kDifficulty, layout::dataset::kMeanLoss));
  std::map<uint8_t, std::pair<int64_t, std::size_t>> skips;  // status -> count, first row
  int64_t scored = 0;
  for (std::size_t i = 0; i < status.size(); ++i) {
    if (example_ok(status[i]) && i < difficulty.size() && std::isfinite(difficulty[i])) {
      ++scored;
      continue;
    }
    auto& [count, first] = skips[status[i]];
    if (count++ == 0) first = i;
  }
  if (skips.empty()) return;
  const std::vector<int64_t> lines = layout::read_lines(file);
  std::string reasons;
  for (const auto& [code, skip] : skips) {
    const std::string why = example_ok(code) ? "nothing_scored (no reasoning token, or a NaN loss)" : skip_name(code);
    reasons += cat(reasons.empty() ? "" : ", ", why, " ", skip.first, " (first: line ", lines.at(skip.second), ")");
  }
  if (scored > 0) {
    log::info(cat("difficulty pass: ", scored, " of ", status.size(), " records scored; not scored: ", reasons));
    return;
  }
  throw DataError(
      cat("the difficulty pass scored none of the ", status.size(), " records of ", dataset, "; why: ", reasons,
          "\ncheck the data options (curate_tool check --config) and that model.tokenizer belongs to model.path"));
}

std::vector<uint8_t> run_difficulty_filter(const store::H5File& file, const select::FilterOptions& options,
                                           uint64_t records) {
  if (!layout::pass_complete(file, Pass::kDifficulty)) {
    throw ConfigError("the profile pass scores the examples the difficulty filter keeps, and " + file.path().string() +
                      " has no complete difficulty pass: run --stage difficulty (or all) first");
  }
  const std::vector<uint8_t> status = file.read_u8(layout::kStatus);
  std::vector<float> difficulty = file.read_f32(layout::path(Pass::kDifficulty, layout::dataset::kMeanLoss));
  difficulty.resize(records);
  for (std::size_t i = 0; i < records; ++i) {
    if (!example_ok(status[i])) difficulty[i] = std::nanf("");
  }
  const std::vector<int32_t> source = name_ids(file.read_strings(layout::kSource)).ids;
  std::vector<uint8_t> kept = select::difficulty_filter(difficulty, source, options);
  const int64_t count = std::count(kept.begin(), kept.end(), uint8_t{1});
  int64_t scored = 0;
  std::set<int32_t> sources;
  for (std::size_t i = 0; i < records; ++i) {
    if (std::isfinite(difficulty[i])) ++scored, sources.insert(source[i]);
  }
  log::info(cat("difficulty filter (", select::filter_method_name(options.method), "): the profile pass scores ", count,
                " of ", scored, " scored examples in ", sources.size(), " source(s)"));
  return kept;
}

}  // namespace curate::service
