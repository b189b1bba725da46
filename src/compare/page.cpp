#include "compare/page.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "compare/compare.h"
#include "curate/util/strings.h"
#include "report/report_common.h"
#include "report/svg.h"

namespace curate::compare {
namespace {

namespace detail = report::detail;
using report::svg::escape;

constexpr const char* kPalette[] = {"#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2",
                                    "#b279a2", "#ff9da6", "#9d755d", "#bab0ac", "#eeca3b"};

const std::vector<const Selection*> distinct(const std::vector<Selection>& selections) {
  std::vector<const Selection*> out;
  for (const Selection& x : selections) {
    if (x.same_as.empty()) out.push_back(&x);
  }
  return out;
}

// The three per-record values the page compares, for the records at `rows`.
struct Values {
  std::vector<double> difficulty, brittleness, length;
};
Values values_of(const Columns& c, const std::vector<int64_t>& rows) {
  const std::size_t n = c.in.records(), last = static_cast<std::size_t>(std::max<int64_t>(c.in.checkpoints - 1, 0));
  Values v;
  for (int64_t r : rows) {
    const auto i = static_cast<std::size_t>(r);
    v.difficulty.push_back(c.in.difficulty[i]);
    v.brittleness.push_back(c.in.checkpoints ? c.in.mean_loss[last * n + i] - c.in.mean_loss[i] : NAN);
    v.length.push_back(static_cast<double>(c.in.full_length[i]));
  }
  return v;
}

std::vector<int64_t> pool_rows(const PageInput& input) {
  std::vector<uint8_t> out(input.columns.in.records(), 0);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = input.columns.in.candidate[i];
  for (std::size_t i : input.heldout) out[i] = 0;
  std::vector<int64_t> rows;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i]) rows.push_back(static_cast<int64_t>(i));
  }
  return rows;
}

nlohmann::json shares(const Columns& c, const std::vector<int64_t>& rows, bool by_domain) {
  const service::NamedIds& column = by_domain ? c.in.domain : c.in.source;
  const std::vector<std::string>& names = column.names;
  std::vector<int64_t> counts(names.size(), 0);
  for (int64_t r : rows) ++counts[static_cast<std::size_t>(column.ids[static_cast<std::size_t>(r)])];
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t k = 0; k < names.size(); ++k)
    out[names[k]] = detail::number(detail::ratio(counts[k], static_cast<int64_t>(rows.size())));
  return out;
}

int64_t tokens_of(const Columns& c, const std::vector<int64_t>& rows) {
  int64_t sum = 0;
  for (int64_t r : rows) sum += c.in.full_length[static_cast<std::size_t>(r)];
  return sum;
}

nlohmann::json group_json(const PageInput& input, const std::vector<int64_t>& rows) {
  const Values v = values_of(input.columns, rows);
  return {{"examples", rows.size()},
          {"training_tokens", tokens_of(input.columns, rows)},
          {"domains", shares(input.columns, rows, true)},
          {"sources", shares(input.columns, rows, false)},
          {"difficulty", detail::to_json(detail::stats(v.difficulty))},
          {"brittleness", detail::to_json(detail::stats(v.brittleness))},
          {"length", detail::to_json(detail::stats(v.length))}};
}

// Tokens the method's passes read (the early windows) against scoring every response whole.
nlohmann::json tokens_json(const PageInput& input) {
  const Columns& c = input.columns;
  const auto& pass = input.options.pass;
  int64_t early = 0, whole = 0, all_tokens = 0;
  for (std::size_t i = 0; i < c.in.records(); ++i) {
    if (!c.scored[i]) continue;
    const int64_t reasoning = c.in.reasoning_tokens[i];
    early += std::min(reasoning, pass.difficulty_tokens);
    whole += reasoning;
    all_tokens += c.in.full_length[i];
    if (c.in.candidate[i]) {
      early += c.in.checkpoints * std::min(reasoning, pass.profile_tokens);
      whole += c.in.checkpoints * reasoning;
    }
  }
  nlohmann::json passes = nlohmann::json::object();
  for (const auto& [name, tokens] : c.pass_scored_tokens) passes[name] = tokens;
  return {{"early_window_tokens", early},
          {"whole_response_tokens", whole},
          {"early_fraction", detail::number(detail::ratio(early, whole))},
          {"scored_records_tokens", all_tokens},
          {"passes_scored_tokens", passes}};
}

std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::string html = "<table><tr>";
  for (const std::string& h : head) html += "<th>" + escape(h) + "</th>";
  html += "</tr>";
  for (const auto& row : rows) {
    html += "<tr>";
    for (const std::string& cell : row) html += "<td>" + escape(cell) + "</td>";
    html += "</tr>";
  }
  return html + "</table>";
}

std::string text_of(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "–";
  if (j.is_number_float()) return detail::format_general(j.get<double>());
  return j.dump();
}

std::string stat_cell(const nlohmann::json& s) {
  return cat(text_of(s.value("mean", nlohmann::json())), " (", text_of(s.value("p10", nlohmann::json())), " / ",
             text_of(s.value("p50", nlohmann::json())), " / ", text_of(s.value("p90", nlohmann::json())), ")");
}

std::string histogram_svg(const PageInput& input, const std::vector<const Selection*>& list, const char* metric,
                          const std::string& label) {
  std::vector<std::vector<double>> samples;
  std::vector<std::string> names;
  for (const Selection* x : list) {
    const Values v = values_of(input.columns, x->selected);
    samples.push_back(detail::finite_values(std::string(metric) == "difficulty"    ? v.difficulty
                                            : std::string(metric) == "brittleness" ? v.brittleness
                                                                                   : v.length));
    names.push_back(x->name);
  }
  const detail::Histogram h = detail::shared_histogram(samples, 20, std::string(metric) == "length");
  std::vector<report::svg::BarSeries> series;
  for (std::size_t k = 0; k < samples.size(); ++k) {
    series.push_back(
        {names[k], kPalette[k % std::size(kPalette)], detail::density(h, k, static_cast<int64_t>(samples[k].size()))});
  }
  return report::svg::histogram(h.edges, series, {label + " of each selection", label, "density", 640, 260, false});
}

std::string ab_section(const nlohmann::json& plan, const nlohmann::json& results, const std::string& folder) {
  std::string html =
      "<h2>A/B fine-tune</h2><p>Each selection is fine-tuned with the same LLaMA-Factory settings "
      "(" +
      escape(cat(plan.value("finetuning_type", ""), ", ", text_of(plan.value("epochs", nlohmann::json())),
                 " epochs, learning rate ", text_of(plan.value("learning_rate", nlohmann::json())), ", template ",
                 plan.value("template", ""))) +
      ") once per method and seed, then measured with the base model on the evaluation sets.</p>"
      "<ul><li><b>benchmark</b> (compare.eval_path, the primary row): problems of the kind the paper reports "
      "(AIME, MATH500, MedQA) with checkable answers. The method aims at hard, high-value examples; a separate "
      "benchmark is the fairer judge.</li><li><b>heldout</b>: a split of your candidates drawn before any selection "
      "(compare.eval_examples, per source). It rewards matching the candidates' own distribution, which favours "
      "random selection by construction; the two rows can disagree.</li></ul>";
  if (results.is_null()) {
    return html + "<p>Not run yet: <code>launch/ab.sh " + escape(folder) +
           "</code> (or <code>slurm/ab.sbatch</code>) trains, measures and writes ab/results.json; rerun "
           "<code>--stage compare</code> to put its tables here.</p>";
  }
  if (results.contains("note")) html += "<p>" + escape(text_of(results["note"])) + "</p>";
  for (const nlohmann::json& t : results.value("tables", nlohmann::json::array())) {
    html += "<h3>" + escape(text_of(t.value("title", nlohmann::json("")))) + "</h3>";
    if (t.contains("note")) html += "<p class=note>" + escape(text_of(t["note"])) + "</p>";
    std::vector<std::string> head;
    for (const auto& h : t.value("columns", nlohmann::json::array())) head.push_back(text_of(h));
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : t.value("rows", nlohmann::json::array())) {
      std::vector<std::string> row;
      for (const auto& cell : r) row.push_back(text_of(cell));
      rows.push_back(row);
    }
    html += table(head, rows);
  }
  return html;
}

}  // namespace

nlohmann::json compare_json(const PageInput& input) {
  const Columns& c = input.columns;
  const service::Options& o = input.options;
  nlohmann::json selections = nlohmann::json::array();
  for (const Selection& x : input.selections) {
    nlohmann::json j = group_json(input, x.selected);
    j["name"] = x.name;
    j["method"] = select::select_method_name(x.method);
    j["seed"] = x.seed;
    j["file"] = x.file;
    j["ids"] = x.ids;
    j["report"] = x.report;
    j["dataset_name"] = x.dataset_name;
    j["same_as"] = x.same_as;
    j["shortfall"] = x.shortfall;
    selections.push_back(j);
  }
  const std::vector<const Selection*> list = distinct(input.selections);
  nlohmann::json names = nlohmann::json::array(), matrix = nlohmann::json::array();
  for (const Selection* a : list) {
    names.push_back(a->name);
    nlohmann::json row = nlohmann::json::array();
    for (const Selection* b : list) row.push_back(jaccard(a->selected, b->selected));
    matrix.push_back(row);
  }
  std::vector<int64_t> heldout(input.heldout.begin(), input.heldout.end());
  nlohmann::json held = group_json(input, heldout);
  held["file"] = heldout.empty() ? "" : "heldout.jsonl";
  held["seed"] = o.compare.eval_seed;
  nlohmann::json out = {{"results", o.run.output},
                        {"dataset", o.run.dataset},
                        {"budget", o.select.token_budget > 0 ? o.select.token_budget : o.select.budget},
                        {"budget_unit", o.select.token_budget > 0 ? "tokens" : "examples"},
                        {"methods", o.compare.methods},
                        {"seeds", o.compare.seeds},
                        {"records", c.in.records()},
                        {"pool", group_json(input, pool_rows(input))},
                        {"heldout", held},
                        {"selections", selections},
                        {"overlap", {{"names", names}, {"jaccard", matrix}}},
                        {"tokens", tokens_json(input)},
                        {"ab", input.ab_plan}};
  if (!input.ab_results.is_null()) out["ab_results"] = input.ab_results;
  return out;
}

std::string compare_html(const PageInput& input, const nlohmann::json& s) {
  const std::vector<const Selection*> list = distinct(input.selections);
  const std::string& folder = input.folder;
  std::string html =
      "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>curate_dist compare</title><style>"
      "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:.5em 0}"
      "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#f3f3f3}"
      ".note{color:#555}</style></head><body><h1>Selections compared</h1>";
  html += "<p>" +
          escape(cat("Result file ", text_of(s["results"]), ", dataset ", text_of(s["dataset"]), ": ",
                     text_of(s["records"]), " records; budget ", text_of(s["budget"]), " ", text_of(s["budget_unit"]),
                     "; methods ", text_of(s["methods"]), ", ", text_of(s["seeds"]),
                     " seed(s) for the seeded ones (temp, random, s2l); ", text_of(s["heldout"]["examples"]),
                     " held-out records drawn per source before any selection and kept "
                     "out of every pool, which holds ",
                     text_of(s["pool"]["examples"]), " candidates.")) +
          "</p>";
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : s["selections"]) {
    rows.push_back({text_of(x["name"]), text_of(x["method"]), text_of(x["seed"]), text_of(x["examples"]),
                    detail::format_count(x["training_tokens"].get<int64_t>()), text_of(x["length"]["mean"]),
                    text_of(x["file"]),
                    x["same_as"].get<std::string>().empty() ? "" : "same records as " + text_of(x["same_as"]),
                    text_of(x["shortfall"])});
  }
  html += "<h2>Selections</h2>" + table({"name", "method", "seed", "examples", "training tokens", "mean length", "file",
                                         "identical", "shortfall"},
                                        rows);
  rows.clear();
  std::vector<std::string> head{""};
  for (const auto& n : s["overlap"]["names"]) head.push_back(text_of(n));
  for (std::size_t a = 0; a < s["overlap"]["names"].size(); ++a) {
    std::vector<std::string> row{text_of(s["overlap"]["names"][a])};
    for (const auto& v : s["overlap"]["jaccard"][a]) row.push_back(cat(std::lround(v.get<double>() * 1000) / 1000.0));
    rows.push_back(row);
  }
  html += "<h2>Overlap (Jaccard index of the distinct selections)</h2>" + table(head, rows);
  for (const char* level : {"domains", "sources"}) {
    std::vector<std::string> h{"selection"};
    for (const auto& [name, share] : s["pool"][level].items()) h.push_back(name);
    std::vector<std::vector<std::string>> r;
    const auto add = [&](const std::string& label, const nlohmann::json& group) {
      std::vector<std::string> row{label};
      for (const auto& [name, share] : s["pool"][level].items()) {
        row.push_back(share.is_null() ? "–" : detail::format_percent(group[level].value(name, 0.0)));
      }
      r.push_back(row);
    };
    add("pool (all candidates)", s["pool"]);
    add("held-out split", s["heldout"]);
    for (const auto& x : s["selections"]) {
      if (x["same_as"].get<std::string>().empty()) add(text_of(x["name"]), x);
    }
    html += cat("<h2>Shares per ", std::string(level) == "domains" ? "domain" : "source", "</h2>") + table(h, r);
  }
  html +=
      "<h2>Difficulty, brittleness and length</h2><p class=note>mean (p10 / median / p90). Difficulty: mean loss "
      "of the first reasoning tokens at the difficulty checkpoint; brittleness: profile loss at the last "
      "checkpoint minus the first; length: tokens of the whole example.</p>";
  rows.clear();
  const auto stat_row = [&](const std::string& label, const nlohmann::json& g) {
    rows.push_back({label, stat_cell(g["difficulty"]), stat_cell(g["brittleness"]), stat_cell(g["length"])});
  };
  stat_row("pool (all candidates)", s["pool"]);
  stat_row("held-out split", s["heldout"]);
  for (const auto& x : s["selections"]) {
    if (x["same_as"].get<std::string>().empty()) stat_row(text_of(x["name"]), x);
  }
  html += table({"selection", "difficulty", "brittleness", "length (tokens)"}, rows);
  html += histogram_svg(input, list, "difficulty", "difficulty (nats)");
  html += histogram_svg(input, list, "brittleness", "brittleness (nats)");
  html += histogram_svg(input, list, "length", "length (tokens)");
  const nlohmann::json& t = s["tokens"];
  html += "<h2>Tokens</h2><p>" +
          escape(cat("The method scored ", detail::format_count(t["early_window_tokens"].get<int64_t>()),
                     " early-window tokens (difficulty pass over every scored record, the profile pass over the "
                     "filter's candidates at each checkpoint); scoring the whole reasoning of the same records at the "
                     "same checkpoints would read ",
                     detail::format_count(t["whole_response_tokens"].get<int64_t>()), " (the early windows are ",
                     detail::format_percent(t["early_fraction"].is_null() ? NAN : t["early_fraction"].get<double>()),
                     " of that). A selection's training tokens (table above) are what its fine-tune reads.")) +
          "</p>";
  html += ab_section(s["ab"], s.value("ab_results", nlohmann::json()), folder);
  return html + "</body></html>\n";
}

}  // namespace curate::compare
