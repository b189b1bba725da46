#include "curate/report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "report/report_common.h"

namespace curate::report {

namespace detail {

// x of each checkpoint: the given distances, or 1, 2, … when there are none.
std::vector<double> profile_x(const ReportData& data) {
  if (!data.distance.empty()) return data.distance;
  std::vector<double> x(std::max(data.mean_all.size(), data.mean_selected.size()));
  std::iota(x.begin(), x.end(), 1.0);
  return x;
}

std::string profile_x_label(const ReportData& data) {
  return data.distance.empty() ? "checkpoint" : data.distance_label;
}

}  // namespace detail

namespace {

using nlohmann::json;
using namespace detail;

constexpr int kDifficultyBins = 30;  // about this many bins (the step is a 1-2-5 number)
constexpr int kClusterBins = 20;

std::vector<double> as_doubles(const std::vector<int64_t>& values) { return {values.begin(), values.end()}; }

Histogram cluster_histogram(const ReportData& data) {
  return shared_histogram({finite_values(data.cluster_sizes), finite_values(data.selected_cluster_sizes)}, kClusterBins,
                          true);
}

Histogram difficulty_histogram(const ReportData& data) {
  return shared_histogram({finite_values(data.difficulty_all), finite_values(data.difficulty_selected)},
                          kDifficultyBins, false);
}

int64_t skipped_total(const ReportData& data) {
  int64_t total = 0;
  for (const auto& [reason, count] : data.skipped) total += count;
  return total;
}

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1040px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin:0 0 .3em}
h2{font-size:1.2em;margin:2em 0 .6em;padding-bottom:.2em;border-bottom:1px solid #ddd}
h3{font-size:1.05em;margin:1.4em 0 .3em}
h4{font-size:.95em;margin:1em 0 .3em;color:#444}
table{border-collapse:collapse;margin:.4em 0}
th,td{padding:.25em .75em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
thead th{background:#f4f4f4;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tfoot td,tr.sub td{font-weight:600;border-top:1px solid #bbb}
tr.sub td{font-weight:normal;color:#555;background:#fafafa}
tr.chosen td{background:#fff4e0;font-weight:600}
table.run th{color:#666;font-weight:normal;padding-left:0}
nav{margin:1em 0;font-size:.92em}
nav a{margin-right:1em;color:#2a5d9f;text-decoration:none}
a{color:#2a5d9f}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1.2em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;min-width:10em}
.card b{display:block;font-size:1.5em;font-variant-numeric:tabular-nums}
.card span{color:#666;font-size:.9em}
.bar{display:inline-block;height:.65em;background:#4c78a8;opacity:.75;margin-right:.45em}
.bar.sel{background:#f58518}
figure{margin:.6em 0}
figcaption{color:#555;font-size:.9em;max-width:640px}
.charts{display:flex;flex-wrap:wrap;gap:.6em}
.charts figure{margin:0;flex:0 1 330px}
svg{max-width:100%;height:auto}
.empty{color:#888;font-style:italic}
.note{color:#666;font-size:.9em;max-width:820px}
.warn{border-left:4px solid #d62728;background:#fdecea;padding:.5em .8em;margin:.6em 0;max-width:820px}
.caution{border-left:4px solid #e8a33d;background:#fff6e5;padding:.5em .8em;margin:.6em 0;max-width:820px}
.ok{border-left:4px solid #2ca02c;background:#eef8ee;padding:.5em .8em;margin:.6em 0;max-width:820px}
code.fp{display:block;font-size:.8em;color:#444;background:#f6f6f6;padding:.5em;word-break:break-all;white-space:pre-wrap}
.examples{display:grid;grid-template-columns:repeat(auto-fill,minmax(310px,1fr));gap:.6em;margin:.4em 0 1em}
.ex{border:1px solid #ddd;border-left:4px solid #4c78a8;border-radius:4px;padding:.4em .6em;font-size:.88em;overflow-wrap:anywhere}
.ex.selected{border-left-color:#f58518}
.ex.filtered{border-left-color:#9d9d9d;background:#fbfbfb}
.ex .tag{font-weight:600;font-size:.85em;text-transform:uppercase;letter-spacing:.03em}
.ex .facts{color:#555;font-size:.92em;margin:.15em 0}
.ex .why{color:#333;margin:.2em 0;font-style:italic}
.ex .prompt{margin:.3em 0}
.ex pre{white-space:pre-wrap;font-size:.92em;background:#f6f6f6;padding:.35em;margin:.3em 0 0;max-height:12em;overflow:auto}
footer{margin-top:3em;color:#999;font-size:.85em}
)";

std::string card(const std::string& value, const std::string& label) {
  return "<div class=\"card\"><b>" + escape(value) + "</b><span>" + escape(label) + "</span></div>\n";
}

std::string header_html(const ReportData& data) {
  std::string out = "<h1>Selection report</h1>\n<table class=\"run\">\n";
  const std::pair<const char*, const std::string*> rows[] = {{"Model", &data.model},
                                                             {"Dataset", &data.dataset},
                                                             {"Method", &data.method},
                                                             {"Budget", &data.budget},
                                                             {"Seed", &data.seed}};
  for (const auto& [name, value] : rows) {
    out += std::string("<tr><th>") + name + "</th><td>" + (value->empty() ? "–" : escape(*value)) + "</td></tr>\n";
  }
  if (!data.links.empty()) {
    out += "<tr><th>Files</th><td>";
    for (std::size_t i = 0; i < data.links.size(); ++i) {
      out += std::string(i ? " · " : "") + escape(data.links[i].first) + " <a href=\"" + escape(data.links[i].second) +
             "\">" + escape(data.links[i].second) + "</a>";
    }
    out += "</td></tr>\n";
  }
  out += "</table>\n";
  for (const auto& [label, name] : data.links) {
    if (label == "examples")
      out += "<p>Every selected example, searchable: <a href=\"" + escape(name) + "\">" + escape(name) +
             "</a> (<code>curate_tool explain RUN.h5 ID</code> prints any example whole).</p>\n";
  }
  out += "<div class=\"cards\">\n";
  out += card(format_count(data.examples), "examples scored");
  out += card(format_count(data.kept),
              "kept by the difficulty filter (" + format_percent(ratio(data.kept, data.examples)) + ")");
  out +=
      card(format_count(data.selected), "selected (" + format_percent(ratio(data.selected, data.kept)) + " of kept)");
  out += card(format_count(skipped_total(data)), "records skipped");
  out += "</div>\n<nav>";
  const std::pair<const char*, const char*> sections[] = {
      {"run", "Run"},           {"calibration", "Calibration"}, {"funnel", "Funnel"},     {"allocation", "Allocation"},
      {"clusters", "Clusters"}, {"difficulty", "Difficulty"},   {"loss", "Loss profile"}, {"sources", "Per source"},
      {"skipped", "Skipped"}};
  for (const auto& [id, name] : sections) out += std::string("<a href=\"#") + id + "\">" + name + "</a>";
  return out + "</nav>\n";
}

std::string allocation_row(const AllocationLine& line, bool sources, const char* css = "") {
  double width = std::isfinite(line.share) ? std::clamp(line.share, 0.0, 1.0) * 80 : 0;
  return std::string("<tr") + css + "><td>" + escape(line.domain) + "</td>" +
         (sources ? "<td>" + escape(line.source) + "</td>" : "") + "<td class=\"num\">" + format_count(line.examples) +
         "</td><td class=\"num\">" + format_general(line.score) +
         "</td><td class=\"num\"><span class=\"bar\" style=\"width:" + format_general(width, 3) + "px\"></span>" +
         format_percent(line.share) + "</td><td class=\"num\">" + format_count(line.allocated) +
         "</td><td class=\"num\">" + format_percent(ratio(line.allocated, line.examples)) + "</td></tr>\n";
}

// One table for the lines of `level`; the source column appears when any line names a source. Shares
// are fractions of the parent's budget, so lines that name a source are subtotalled per domain (each
// domain's sources sum to 100%), and the total share is shown only when no line names a source.
std::string allocation_table(const std::vector<const AllocationLine*>& lines) {
  bool sources = std::any_of(lines.begin(), lines.end(), [](const AllocationLine* l) { return !l->source.empty(); });
  std::string out = "<table>\n<thead><tr><th>Domain</th>" + std::string(sources ? "<th>Source</th>" : "") +
                    "<th class=\"num\">Examples</th><th class=\"num\">Score</th><th class=\"num\">Share</th>"
                    "<th class=\"num\">Allocated</th><th class=\"num\">Taken</th></tr></thead>\n<tbody>\n";
  int64_t examples = 0, allocated = 0;
  double share = 0;
  AllocationLine domain_total{"", "", "", 0, NAN, 0, 0};
  int domain_lines = 0;
  auto close_domain = [&] {
    if (sources && domain_lines > 1) {
      domain_total.source = "all sources of " + domain_total.domain;
      out += allocation_row(domain_total, true, " class=\"sub\"");
    }
  };
  std::vector<int64_t> sizes;
  for (const AllocationLine* line : lines) sizes.push_back(line->examples);
  const std::vector<uint8_t> shown = largest_rows(sizes);
  AllocationLine others{"", "", "", 0, NAN, NAN, 0};
  int64_t folded = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const AllocationLine* line = lines[i];
    if (sources && line->domain != domain_total.domain) {
      close_domain();
      domain_total = {"", line->domain, "", 0, NAN, 0, 0};
      domain_lines = 0;
    }
    if (shown[i]) {
      out += allocation_row(*line, sources);
    } else {
      others.examples += line->examples, others.allocated += line->allocated, ++folded;
    }
    examples += line->examples;
    allocated += line->allocated;
    domain_total.examples += line->examples;
    domain_total.allocated += line->allocated;
    ++domain_lines;
    if (std::isfinite(line->share)) share += line->share, domain_total.share += line->share;
  }
  close_domain();
  if (folded > 0) {
    others.source = format_count(folded) + " other groups (the summary JSON lists each)";
    out += allocation_row(others, sources, " class=\"sub\"");
  }
  out += "</tbody>\n<tfoot><tr><td" + std::string(sources ? " colspan=\"2\"" : "") + ">total</td><td class=\"num\">" +
         format_count(examples) + "</td><td></td><td class=\"num\">" + (sources ? "" : format_percent(share)) +
         "</td><td class=\"num\">" + format_count(allocated) + "</td><td class=\"num\">" +
         format_percent(ratio(allocated, examples)) + "</td></tr></tfoot>\n</table>\n";
  return out;
}

std::string allocation_html(const ReportData& data) {
  std::string out = "<section id=\"allocation\">\n<h2>Budget allocation</h2>\n";
  std::vector<std::string> levels;  // in order of first appearance
  for (const AllocationLine& line : data.allocation) {
    if (std::find(levels.begin(), levels.end(), line.level) == levels.end()) levels.push_back(line.level);
  }
  if (levels.empty()) return out + "<p class=\"empty\">no allocation</p>\n</section>\n";
  for (const std::string& level : levels) {
    std::vector<const AllocationLine*> lines;
    for (const AllocationLine& line : data.allocation) {
      if (line.level == level) lines.push_back(&line);
    }
    out += "<h3>By " + escape(level) + "</h3>\n" + allocation_table(lines);
  }
  out +=
      "<p class=\"note\">Share: the group's part of its parent's budget (domains: of the whole budget; sources: "
      "of their domain's, so the sources of each domain sum to 100%). Taken: allocated as a share of the group's "
      "candidates. Score: √(max(0, L<sub>last</sub> − L<sub>first</sub>) · L<sub>last</sub>) of the group's mean "
      "loss over the first reasoning tokens at the first and the last profile checkpoint; the budget is split by "
      "softmax(score / temperature), capped at each group's candidates.</p>\n";
  int64_t zero = 0, scored = 0;
  for (const AllocationLine& line : data.allocation) {
    if (std::isfinite(line.score)) ++scored, zero += line.score == 0;
  }
  if (zero > 0) {
    out += "<p class=\"caution\">" + format_count(zero) + " of " + format_count(scored) +
           " group scores are 0: their mean loss does not rise from the first to the last profile checkpoint (it "
           "falls along the fine-tuning direction, as it does when the fine-tuned model has already learnt such "
           "data). Groups with equal scores get equal softmax shares, so where every score is 0 the budget is split "
           "uniformly, up to each group's candidates.</p>\n";
  }
  return out + "</section>\n";
}

std::string clusters_html(const ReportData& data) {
  Histogram h = cluster_histogram(data);
  Stats sizes = stats(data.cluster_sizes);
  std::vector<svg::BarSeries> bars;
  if (!h.edges.empty()) {
    bars.push_back({"all clusters (" + format_count(sizes.count) + ")", kColorAll, as_doubles(h.counts[0])});
    bars.push_back(
        {"with a selected example (" + format_count(static_cast<int64_t>(data.selected_cluster_sizes.size())) + ")",
         kColorSelected, as_doubles(h.counts[1])});
  }
  std::string out =
      "<section id=\"clusters\">\n<h2>Clusters</h2>\n<figure>\n" +
      svg::histogram(h.edges, bars,
                     {"Histogram of cluster sizes", "cluster size (examples)", "clusters", 640, 300, true});
  if (sizes.count > 0) {
    out += "<figcaption>" + format_count(sizes.count) + " clusters, " +
           format_count(static_cast<int64_t>(data.selected_cluster_sizes.size())) +
           " of them gave at least one selected example. Size: min " + format_general(sizes.min) + ", median " +
           format_general(sizes.p50) + ", mean " + format_general(sizes.mean) + ", max " + format_general(sizes.max) +
           ".</figcaption>\n";
  }
  return out + "</figure>\n</section>\n";
}

std::string difficulty_html(const ReportData& data) {
  Histogram h = difficulty_histogram(data);
  Stats all = stats(data.difficulty_all), selected = stats(data.difficulty_selected);
  std::vector<svg::BarSeries> bars;
  const std::pair<const Stats*, const char*> samples[] = {{&all, "all candidates"}, {&selected, "selected"}};
  for (std::size_t s = 0; s < h.counts.size(); ++s) {
    bars.push_back({std::string(samples[s].second) + " (" + format_count(samples[s].first->count) + ")",
                    s == 0 ? kColorAll : kColorSelected, density(h, s, samples[s].first->count)});
  }
  std::string out =
      "<section id=\"difficulty\">\n<h2>Difficulty</h2>\n<figure>\n" +
      svg::histogram(h.edges, bars,
                     {"Difficulty of the selected examples against all candidates", "difficulty", "density"});
  std::string caption;
  for (const auto& [s, name] : samples) {
    if (s->count == 0) continue;
    caption += std::string(caption.empty() ? "" : "; ") + name + ": mean " + format_general(s->mean) + ", median " +
               format_general(s->p50) + ", 10–90% " + format_general(s->p10) + "–" + format_general(s->p90);
  }
  if (all.nan + selected.nan > 0) caption += " (" + format_count(all.nan + selected.nan) + " NaN values left out)";
  if (!caption.empty()) out += "<figcaption>Densities on shared bins. " + caption + ".</figcaption>\n";
  return out + "</figure>\n</section>\n";
}

std::string loss_html(const ReportData& data) {
  std::vector<double> x = profile_x(data);
  std::vector<svg::LineSeries> lines = {{"all", kColorAll, x, data.mean_all},
                                        {"selected", kColorSelected, x, data.mean_selected}};
  return "<section id=\"loss\">\n<h2>Loss profile</h2>\n<figure>\n" +
         svg::line_chart(lines, {"Mean loss per profile checkpoint", profile_x_label(data), "mean loss (nats/token)",
                                 640, 300, data.distance.empty()}) +
         "<figcaption>Mean per-token loss of the profiled reasoning tokens at each perturbed checkpoint.</figcaption>\n"
         "</figure>\n</section>\n";
}

std::string skipped_html(const ReportData& data) {
  std::string out = "<section id=\"skipped\">\n<h2>Skipped records</h2>\n";
  if (data.skipped.empty()) return out + "<p class=\"empty\">No record was skipped.</p>\n</section>\n";
  out += "<table>\n<thead><tr><th>Reason</th><th class=\"num\">Records</th></tr></thead>\n<tbody>\n";
  for (const auto& [reason, count] : data.skipped) {
    out += "<tr><td>" + escape(reason) + "</td><td class=\"num\">" + format_count(count) + "</td></tr>\n";
  }
  return out + "</tbody>\n<tfoot><tr><td>total</td><td class=\"num\">" + format_count(skipped_total(data)) +
         "</td></tr></tfoot>\n</table>\n</section>\n";
}

}  // namespace

json summary_json(const ReportData& data) {
  json allocation = json::array();
  for (const AllocationLine& line : data.allocation) {
    allocation.push_back({{"level", line.level},
                          {"domain", line.domain},
                          {"source", line.source},
                          {"examples", line.examples},
                          {"score", number(line.score)},
                          {"share", number(line.share)},
                          {"allocated", line.allocated}});
  }
  json out = {
      {"run",
       {{"model", data.model},
        {"dataset", data.dataset},
        {"method", data.method},
        {"budget", data.budget},
        {"seed", data.seed}}},
      {"totals",
       {{"examples", data.examples},
        {"kept", data.kept},
        {"selected", data.selected},
        {"skipped", skipped_total(data)}}},
      {"allocation", std::move(allocation)},
      {"clusters",
       {{"count", data.cluster_sizes.size()},
        {"with_selected", data.selected_cluster_sizes.size()},
        {"sizes", to_json(stats(data.cluster_sizes))},
        {"histogram", to_json(cluster_histogram(data), {"all", "with_selected"})}}},
      {"difficulty",
       {{"all", to_json(stats(data.difficulty_all))},
        {"selected", to_json(stats(data.difficulty_selected))},
        {"histogram", to_json(difficulty_histogram(data), {"all", "selected"})}}},
      {"loss_profile",
       {{"x", numbers(profile_x(data))},
        {"x_label", profile_x_label(data)},
        {"mean_all", numbers(data.mean_all)},
        {"mean_selected", numbers(data.mean_selected)}}},
      {"skipped", data.skipped},
  };
  out.update(run_json(data));
  out["sources"] = sources_json(data);
  out["premise"] = premise_json(data);
  return out;
}

std::string html_report(const ReportData& data) {
  std::string title = "Selection report";
  if (!data.method.empty()) title += " — " + data.method;
  if (!data.dataset.empty()) title += " on " + data.dataset;
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n" + header_html(data) +
         run_facts_html(data) + calibration_html(data) + funnel_html(data) + allocation_html(data) +
         clusters_html(data) + difficulty_html(data) + loss_html(data) + premise_html(data) + sources_html(data) +
         skipped_html(data) +
         "<footer>Written by curate_dist. One static file: no script, no external "
         "resource.</footer>\n</body>\n</html>\n";
}

}  // namespace curate::report
