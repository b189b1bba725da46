#include "report/report_gather.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

#include "curate/data/dataset.h"
#include "curate/data/prompt.h"
#include "curate/data/tokenizer.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "results/example_status.h"
#include "results/layout.h"

namespace curate::service {
namespace {

using report::ExampleView;

constexpr int64_t kWindowTokens = 48;  // tokens of the scored window shown per example

// Per-example facts every part below reads: N records.
struct Facts {
  std::size_t n = 0, c = 0;
  std::vector<uint8_t> chosen;
  bool profiled(const SelectionColumns& in, std::size_t i) const {
    if (!in.candidate[i]) return false;
    for (std::size_t k = 0; k < c; ++k) {
      if (std::isfinite(in.mean_loss[k * n + i])) return true;
    }
    return false;
  }
  double brittleness(const SelectionColumns& in, std::size_t i) const {  // loss rise, last − first checkpoint
    return c ? static_cast<double>(in.mean_loss[(c - 1) * n + i]) - static_cast<double>(in.mean_loss[i]) : NAN;
  }
};

// Totals, clusters, difficulty, mean curves and the allocation; shares within each parent level.
void overview(report::ReportData& r, const store::H5File& f, const SelectionColumns& in, const Facts& x,
              const select::SelectResult& result) {
  std::map<std::pair<int32_t, int32_t>, std::pair<int64_t, bool>> clusters;  // (source, cluster) -> size, has selected
  std::map<std::pair<int32_t, int32_t>, int64_t> taken;                      // (domain, source) -> selected
  for (std::size_t i = 0; i < x.n; ++i) {
    if (example_ok(in.status[i]))
      ++r.examples;
    else
      ++r.skipped[skip_name(in.status[i])];
    if (!in.candidate[i]) continue;
    ++r.kept;
    r.difficulty_all.push_back(in.difficulty[i]);
    if (result.cluster[i] >= 0) {
      auto& entry = clusters[{in.source.ids[i], result.cluster[i]}];
      ++entry.first;
      entry.second = entry.second || x.chosen[i];
    }
    if (x.chosen[i]) r.difficulty_selected.push_back(in.difficulty[i]), ++taken[{in.domain.ids[i], in.source.ids[i]}];
  }
  r.selected = static_cast<int64_t>(result.selected.size());
  for (const auto& [key, entry] : clusters) {
    r.cluster_sizes.push_back(entry.first);
    if (entry.second) r.selected_cluster_sizes.push_back(entry.first);
  }
  // Shares as fractions of the parent: domains of the whole budget, sources of their domain's.
  double domains = 0;
  std::map<int32_t, double> sources;  // domain -> sum of its sources' shares
  for (const auto& row : result.allocation) {
    if (!std::isfinite(row.share)) continue;
    if (row.level == "domain")
      domains += row.share;
    else
      sources[row.domain] += row.share;
  }
  for (const auto& row : result.allocation) {
    report::AllocationLine line{row.level,
                                in.domain.names[static_cast<std::size_t>(row.domain)],
                                row.source >= 0 ? in.source.names[static_cast<std::size_t>(row.source)] : "",
                                row.examples,
                                row.score,
                                0,
                                0};
    const double parent = row.level == "domain" ? domains : sources[row.domain];
    line.share = parent > 0 ? row.share / parent : 0;
    for (const auto& [group, count] : taken) {
      if (group.first == row.domain && (row.source < 0 || group.second == row.source)) line.allocated += count;
    }
    r.allocation.push_back(line);
  }
  const std::string distance_path = layout::path(Pass::kProfile, layout::dataset::kDistance);
  const bool directional = f.exists(distance_path);
  const std::vector<float> distance =
      f.read_f32(directional ? distance_path : layout::path(Pass::kProfile, layout::dataset::kNoiseStd));
  r.distance.assign(distance.begin(), distance.end());
  if (!directional) r.distance_label = "Gaussian noise std";
  for (std::size_t k = 0; k < x.c; ++k) {
    double all = 0, sel = 0;
    int64_t n_all = 0, n_sel = 0;
    for (std::size_t i = 0; i < x.n; ++i) {
      const float v = in.mean_loss[k * x.n + i];
      if (!in.candidate[i] || !std::isfinite(v)) continue;
      all += v, ++n_all;
      if (x.chosen[i]) sel += v, ++n_sel;
    }
    r.mean_all.push_back(n_all ? all / static_cast<double>(n_all) : NAN);
    r.mean_selected.push_back(n_sel ? sel / static_cast<double>(n_sel) : NAN);
  }
}

report::Calibration calibration(const store::H5File& f, const ReportSettings& settings) {
  report::Calibration c;
  c.low = settings.calibration_low;
  c.high = settings.calibration_high;
  const std::optional<int> chosen = layout::read_chosen_checkpoint(f);
  if (!chosen) {
    c.chosen = settings.gaussian_checkpoint > 0 ? settings.gaussian_checkpoint : -1;
    return c;
  }
  const auto at = [](const char* name) { return layout::path(Pass::kCalibration, name); };
  const std::vector<float> mean = f.read_f32(at(layout::dataset::kMeanLoss)),
                           ratio = f.read_f32(at(layout::dataset::kRatio));
  const std::vector<std::string> names = layout::checkpoint_names(f, Pass::kCalibration);
  for (std::size_t k = 0; k < ratio.size(); ++k) {
    c.lines.push_back({k < names.size() ? names[k] : std::to_string(k), k < mean.size() ? mean[k] : NAN, ratio[k]});
  }
  c.chosen = *chosen;
  c.tokens = f.int_attribute(layout::group(Pass::kCalibration), layout::attr::kTokens);
  c.samples =
      f.exists(at(layout::dataset::kSample)) ? static_cast<int64_t>(f.dims(at(layout::dataset::kSample)).at(0)) : 0;
  return c;
}

std::vector<report::PassFacts> passes(const store::H5File& f, int64_t candidates, double select_seconds, int ranks) {
  std::vector<report::PassFacts> out;
  for (Pass pass : kPasses) {
    const std::string done = layout::path(pass, layout::dataset::kDone);
    if (!f.exists(done)) continue;
    report::PassFacts p{std::string(pass_name(pass)), static_cast<int64_t>(f.dims(done).at(0)), 0, 0, NAN, NAN, 0};
    if (const std::optional<layout::PassCost> cost =
            layout::read_pass_cost(f, pass)) {  // files since the report shows pass costs
      p.seconds = static_cast<double>(cost->wall_ms) / 1000;
      p.worker_seconds = static_cast<double>(cost->worker_ms) / 1000;
      p.examples = cost->scored_examples;
      p.tokens = cost->scored_tokens;
      p.ranks = cost->ranks;
    }
    out.push_back(p);
  }
  out.push_back({"selection", 0, candidates, 0, select_seconds, NAN, ranks});
  return out;
}

std::vector<report::NanLossLine> nan_losses(const store::H5File& f) {
  std::vector<report::NanLossLine> out;
  for (Pass pass : kPasses) {
    const std::vector<std::vector<uint64_t>> rows = layout::read_nan_rows(f, pass);
    if (rows.empty()) continue;
    const std::vector<std::string> names = layout::checkpoint_names(f, pass);
    for (std::size_t c = 0; c < rows.size(); ++c) {
      if (rows[c].empty()) continue;
      out.push_back({std::string(pass_name(pass)), c < names.size() ? names[c] : std::to_string(c),
                     static_cast<int64_t>(rows[c].size())});
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> settings_table(const Options& o) {
  const auto& p = o.engine.perturb;
  return {{"model.path", o.engine.model},
          {"model.tokenizer", o.run.tokenizer},
          {"perturb.target", o.engine.target.empty() ? "none (Gaussian profile)" : o.engine.target},
          {"data.path", o.run.dataset},
          {"score.device / dtype", cat(o.engine.device, " / ", o.engine.dtype)},
          {"score.window", data::score_window_name(o.prompt.window)},
          {"pass.difficulty_tokens / profile_tokens", cat(o.pass.difficulty_tokens, " / ", o.pass.profile_tokens)},
          {"pass.gaussian_checkpoint",
           o.pass.gaussian_checkpoint > 0 ? std::to_string(o.pass.gaussian_checkpoint) : "0 (calibrate)"},
          {"perturb.gaussian (checkpoints, std)",
           cat(p.gaussian_checkpoints, ", ", p.gaussian_min_std, "–",
               p.search_max_std ? "auto (the calibration's noise search)" : cat(p.gaussian_max_std))},
          {"perturb.directional (checkpoints, radius)",
           cat(p.directional_checkpoints, ", ", p.min_radius, "–", p.max_radius)},
          {"filter", cat(select::filter_method_name(o.filter.method), " (k ", o.filter.k, ", keep ", o.filter.keep,
                         ", quantile ", o.filter.quantile, ")")},
          {"select.method / features",
           cat(select::select_method_name(o.select.method), " / ", select::select_features_name(o.select.features))},
          {"select.budget", o.select.token_budget > 0       ? cat(o.select.token_budget, " tokens")
                            : o.select.budget.is_fraction() ? cat(o.select.budget.text, " of the candidates")
                                                            : cat(o.select.budget.count, " examples")},
          {"select.allocation / temperature",
           cat(options::name_of(o.select.allocation, select::kAllocationModes), " / ", o.select.temperature)},
          {"select.k_rule / per_cluster",
           cat(options::name_of(o.select.k_rule, select::kKRules), " / ", o.select.per_cluster)},
          {"select.iterations / init / standardize",
           cat(o.select.iterations, " / ", o.select.init, " / ", o.select.standardize)},
          {"select.seed / run.seed", cat(o.select.seed, " / ", o.engine.perturb.seed)}};
}

// One group per (domain, source) name pair in name order; records that did not parse (no names) last.
std::vector<report::SourceView> funnel(const SelectionColumns& in, const Facts& x, std::vector<int32_t>& group_of) {
  std::map<std::pair<std::string, std::string>, int32_t> ids;
  for (std::size_t i = 0; i < x.n; ++i) {
    ids.emplace(std::make_pair(in.domain[i], in.source[i]), 0);
  }
  std::vector<report::SourceView> views;
  for (auto& [names, id] : ids) {
    if (names.first.empty() && names.second.empty()) continue;
    id = static_cast<int32_t>(views.size());
    report::SourceView view;
    view.domain = names.first;
    view.source = names.second;
    views.push_back(std::move(view));
  }
  if (auto unknown = ids.find({"", ""}); unknown != ids.end())
    unknown->second = static_cast<int32_t>(views.size()), views.emplace_back();
  group_of.resize(x.n);
  std::vector<std::vector<double>> sum_all(views.size(), std::vector<double>(x.c)), sum_sel = sum_all;
  std::vector<std::vector<int64_t>> n_all(views.size(), std::vector<int64_t>(x.c)), n_sel = n_all;
  for (std::size_t i = 0; i < x.n; ++i) {
    const int32_t g = ids.at({in.domain[i], in.source[i]});
    group_of[i] = g;
    report::SourceView& s = views[static_cast<std::size_t>(g)];
    ++s.read;
    if (!example_ok(in.status[i])) {
      ++s.skipped[skip_name(in.status[i])];
      continue;
    }
    if (std::isfinite(in.difficulty[i])) ++s.scored;
    s.prompt_tokens_all.push_back(static_cast<float>(in.prompt_tokens[i]));
    s.response_tokens_all.push_back(static_cast<float>(in.full_length[i] - in.prompt_tokens[i]));
    if (x.chosen[i]) {
      ++s.selected;
      s.prompt_tokens_selected.push_back(static_cast<float>(in.prompt_tokens[i]));
      s.response_tokens_selected.push_back(static_cast<float>(in.full_length[i] - in.prompt_tokens[i]));
    }
    if (!in.candidate[i]) continue;
    ++s.kept;
    if (x.profiled(in, i)) ++s.profiled;
    for (std::size_t k = 0; k < x.c; ++k) {
      const float v = in.mean_loss[k * x.n + i];
      if (!std::isfinite(v)) continue;
      sum_all[static_cast<std::size_t>(g)][k] += v, ++n_all[static_cast<std::size_t>(g)][k];
      if (x.chosen[i]) sum_sel[static_cast<std::size_t>(g)][k] += v, ++n_sel[static_cast<std::size_t>(g)][k];
    }
  }
  for (std::size_t g = 0; g < views.size(); ++g) {
    for (std::size_t k = 0; k < x.c && !(views[g].source.empty() && views[g].domain.empty()); ++k) {
      views[g].mean_all.push_back(n_all[g][k] ? sum_all[g][k] / static_cast<double>(n_all[g][k]) : NAN);
      views[g].mean_selected.push_back(n_sel[g][k] ? sum_sel[g][k] / static_cast<double>(n_sel[g][k]) : NAN);
    }
  }
  return views;
}

// A ranking key or loss for a sentence: 4 significant digits, "none" when not finite.
std::string short_number(double value) {
  if (!std::isfinite(value)) return "none";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

// Members and picks of one k-means cluster, and the lowest ranking key among its picks.
struct ClusterFacts {
  int64_t members = 0, taken = 0;
  double lowest_taken = INFINITY;
};

std::string why(const ExampleView& e, const ReportSettings& settings, std::size_t i, const SelectionColumns& in,
                const select::SelectResult& result, const std::map<std::pair<int32_t, int32_t>, ClusterFacts>& clusters,
                const report::SourceView& s, double lowest_kept) {
  const double key = result.score[i];
  std::string cluster_text;
  if (auto it = clusters.find({in.source.ids[i], result.cluster[i]}); it != clusters.end()) {
    const ClusterFacts& c = it->second;
    cluster_text = cat("cluster ", result.cluster[i], " gave ", c.taken, " of its ", c.members, " member(s)");
    if (c.taken > 0 && e.status == ExampleView::Status::kNotPicked) {
      cluster_text += cat("; the lowest ranking key taken there is ", short_number(c.lowest_taken));
    }
  }
  switch (e.status) {
    case ExampleView::Status::kSelected:
      return cat("Selected by ", select::select_method_name(settings.select.method), ": ",
                 cluster_text.empty() ? "" : cluster_text + "; ", "ranking key ", short_number(key), ".");
    case ExampleView::Status::kNotPicked:
      return cat("Not picked: the source's ", s.selected, " places (of ", s.kept,
                 " candidates) went to other examples; ", cluster_text.empty() ? "" : cluster_text + "; ",
                 "this one's ranking key ", short_number(key), ".");
    case ExampleView::Status::kFilteredOut:
      return cat("Filtered out by the difficulty filter (", select::filter_method_name(settings.filter.method),
                 "): difficulty ", short_number(e.difficulty), ", while the source's kept examples have ",
                 std::isfinite(lowest_kept) ? "≥ " + short_number(lowest_kept) : std::string("none"),
                 "; never profiled.");
  }
  return "";
}

// Fills `views[g].examples` for the shown groups: per status, spread over the difficulty order.
void examples(std::vector<report::SourceView>& views, const std::vector<int32_t>& group_of,
              const ReportSettings& settings, const SelectionColumns& in, const Facts& x,
              const select::SelectResult& result) {
  const std::vector<std::size_t> shown = report::shown_sources(views);
  const auto per = static_cast<std::size_t>(report::examples_per_status(shown.size()));
  std::map<std::pair<int32_t, int32_t>, ClusterFacts> clusters;
  for (std::size_t i = 0; i < x.n; ++i) {
    if (!in.candidate[i] || result.cluster[i] < 0) continue;
    ClusterFacts& c = clusters[{in.source.ids[i], result.cluster[i]}];
    ++c.members;
    if (x.chosen[i]) ++c.taken, c.lowest_taken = std::min(c.lowest_taken, static_cast<double>(result.score[i]));
  }
  std::vector<std::vector<std::size_t>> members(views.size() * 3);  // [group][status]
  std::vector<double> lowest_kept(views.size(), INFINITY);
  for (std::size_t i = 0; i < x.n; ++i) {
    const auto g = static_cast<std::size_t>(group_of[i]);
    if (!example_ok(in.status[i]) || !std::isfinite(in.difficulty[i])) continue;
    if (in.candidate[i]) lowest_kept[g] = std::min(lowest_kept[g], static_cast<double>(in.difficulty[i]));
    if (x.chosen[i])
      members[g * 3].push_back(i);
    else if (in.candidate[i] && x.profiled(in, i))
      members[g * 3 + 1].push_back(i);
    else if (!in.candidate[i])
      members[g * 3 + 2].push_back(i);
  }
  std::vector<std::pair<std::size_t, std::size_t>> picked;  // (record, group)
  for (std::size_t g : shown) {
    for (std::size_t status = 0; status < 3; ++status) {
      for (std::size_t i : report::spread_pick(members[g * 3 + status], in.difficulty, per)) picked.emplace_back(i, g);
    }
  }
  if (picked.empty()) return;
  std::vector<std::size_t> positions;
  for (const auto& [i, g] : picked) positions.push_back(i);
  std::vector<std::size_t> sorted = positions;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const data::RecordIndex index = data::load_or_build_index(settings.dataset, settings.index);
  const std::vector<data::ParseResult> records = data::read_records(settings.dataset, index, sorted, settings.data);
  std::optional<data::Tokenizer> tokenizer;
  std::optional<data::ChatTemplate> chat;
  try {
    tokenizer.emplace(data::Tokenizer::load(settings.tokenizer));
    const std::filesystem::path dir = std::filesystem::is_directory(settings.tokenizer)
                                          ? std::filesystem::path(settings.tokenizer)
                                          : std::filesystem::path(settings.tokenizer).parent_path();
    chat.emplace(data::ChatTemplate::resolve(dir, settings.prompt.chat_template));
  } catch (const Error& e) {
    log::warn(cat("report: the examples show the start of their reasoning text, not tokens: ", e.what()));
    tokenizer.reset();
  }
  std::optional<data::Tokenizer::Session> session;
  if (tokenizer) session.emplace(*tokenizer);
  for (const auto& [i, g] : picked) {
    ExampleView e;
    const std::size_t at = static_cast<std::size_t>(std::lower_bound(sorted.begin(), sorted.end(), i) - sorted.begin());
    const data::ParseResult& record = records[at];
    e.status = x.chosen[i]       ? ExampleView::Status::kSelected
               : in.candidate[i] ? ExampleView::Status::kNotPicked
                                 : ExampleView::Status::kFilteredOut;
    e.key = in.id[i];
    e.line = in.line[i];
    e.difficulty = in.difficulty[i];
    e.cluster = in.candidate[i] ? result.cluster[i] : -1;
    e.brittleness = in.candidate[i] ? x.brittleness(in, i) : NAN;
    e.why = why(e, settings, i, in, result, clusters, views[g], lowest_kept[g]);
    if (!record.example) {
      e.prompt = cat("(the record no longer parses: ", record.detail, "; the dataset changed since it was scored)");
    } else {
      const data::Example& example = *record.example;
      for (const data::Message& m : example.context) {
        if (m.role == "user") e.prompt = m.content;  // the last user turn
      }
      if (tokenizer) {
        const data::TokenizedExample tokens = data::assemble(example, *chat, settings.prompt, *session);
        const auto begin = std::min<std::size_t>(static_cast<std::size_t>(tokens.reasoning_start), tokens.ids.size());
        const std::size_t end = std::min(tokens.ids.size(), begin + static_cast<std::size_t>(kWindowTokens));
        e.window = tokenizer->decode(std::span<const data::TokenId>(tokens.ids).subspan(begin, end - begin));
        e.window_tokens = static_cast<int64_t>(end - begin);
        if (example.pretokenized && e.prompt.empty()) {
          e.prompt = tokenizer->decode(std::span<const data::TokenId>(tokens.ids).first(begin), /*skip_special=*/true);
        }
      } else {
        e.window = example.reasoning.substr(0, 2000);
      }
    }
    views[g].examples.push_back(std::move(e));
  }
}

// " (select.budget = 10%)" for a fraction, "" for a count.
std::string fraction_note(const select::Budget& budget) {
  return budget.is_fraction() ? cat(" (select.budget = ", budget.text, ")") : "";
}

}  // namespace

ReportSettings report_settings(const Options& options, const RunFiles& run) {
  ReportSettings s;
  s.model = options.engine.model;
  s.tokenizer = options.run.tokenizer;
  s.device = options.engine.device;
  s.dataset = options.run.dataset;
  s.index = run.index;
  s.data = options.data;
  s.prompt = options.prompt;
  s.filter = options.filter;
  s.select = options.select;
  s.calibration_low = options.pass.calibration_low;
  s.calibration_high = options.pass.calibration_high;
  s.gaussian_checkpoint = options.pass.gaussian_checkpoint;
  s.table = settings_table(options);
  return s;
}

report::ReportData gather_report(const store::H5File& f, const ReportSettings& settings, const SelectionColumns& in,
                                 const select::SelectResult& result, const SelectionFiles& files,
                                 const std::filesystem::path& results, double select_seconds, int ranks) {
  report::ReportData r;
  r.model = settings.model;
  r.dataset = settings.dataset.string();
  r.method = select::select_method_name(settings.select.method);
  r.budget = settings.select.token_budget > 0 ? cat(settings.select.token_budget, " tokens")
                                              : cat(result.budget, " examples", fraction_note(settings.select.budget));
  r.seed = std::to_string(settings.select.seed);
  Facts x;
  x.n = in.records();
  x.c = static_cast<std::size_t>(in.checkpoints);
  x.chosen.assign(x.n, 0);
  for (int64_t i : result.selected) x.chosen[static_cast<std::size_t>(i)] = 1;
  overview(r, f, in, x, result);
  r.calibration = calibration(f, settings);
  r.nan_losses = nan_losses(f);
  r.passes = passes(f, r.kept, select_seconds, ranks);
  r.settings = settings.table;
  r.fingerprint = f.string_attribute(layout::kRoot, layout::attr::kFingerprint);
  r.device = settings.device;
  const std::filesystem::path folder = std::filesystem::absolute(files.report).parent_path();
  const std::vector<std::pair<std::string, std::filesystem::path>> outputs = {
      {"selected", files.selected}, {"ids", files.ids},   {"scores", files.scores},
      {"summary", files.summary},   {"results", results}, {"selection", files.selection},
      {"examples", files.examples}};
  for (const auto& [label, path] : outputs) {
    r.links.emplace_back(label, std::filesystem::absolute(path).lexically_proximate(folder).generic_string());
  }
  std::vector<int32_t> group_of;
  r.sources = funnel(in, x, group_of);
  examples(r.sources, group_of, settings, in, x, result);
  r.premise = gather_premise(f, settings.select, in, result);
  return r;
}

}  // namespace curate::service
