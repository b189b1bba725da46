#include "curate/select/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "svg.h"

namespace curate::select {
namespace {

using nlohmann::json;

constexpr const char* kColorAll = "#4c78a8";       // blue
constexpr const char* kColorSelected = "#f58518";  // orange
constexpr int kDifficultyBins = 30;                // about this many bins (the step is a 1-2-5 number)
constexpr int kClusterBins = 20;

std::vector<double> finite_values(const auto& values) {
  std::vector<double> out;
  out.reserve(values.size());
  for (auto value : values) {
    if (std::isfinite(static_cast<double>(value))) out.push_back(static_cast<double>(value));
  }
  return out;
}

std::vector<double> as_doubles(const std::vector<int64_t>& values) { return {values.begin(), values.end()}; }

json number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json numbers(const std::vector<double>& values) {
  json out = json::array();
  for (double value : values) out.push_back(number(value));
  return out;
}

// Order statistics of the finite values; `count` excludes the non-finite ones, counted in `nan`.
struct Stats {
  int64_t count = 0;
  int64_t nan = 0;
  double min = NAN, max = NAN, mean = NAN, p10 = NAN, p50 = NAN, p90 = NAN;
};

double quantile(const std::vector<double>& sorted, double q) {  // linear interpolation, as numpy's default
  double position = q * static_cast<double>(sorted.size() - 1);
  auto below = static_cast<std::size_t>(std::floor(position));
  std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

Stats stats(const auto& values) {
  Stats out;
  std::vector<double> sorted = finite_values(values);
  out.count = static_cast<int64_t>(sorted.size());
  out.nan = static_cast<int64_t>(values.size()) - out.count;
  if (sorted.empty()) return out;
  std::sort(sorted.begin(), sorted.end());
  out.min = sorted.front();
  out.max = sorted.back();
  out.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(sorted.size());
  out.p10 = quantile(sorted, 0.1);
  out.p50 = quantile(sorted, 0.5);
  out.p90 = quantile(sorted, 0.9);
  return out;
}

json to_json(const Stats& s) {
  return {{"count", s.count},       {"nan", s.nan},         {"min", number(s.min)}, {"max", number(s.max)},
          {"mean", number(s.mean)}, {"p10", number(s.p10)}, {"p50", number(s.p50)}, {"p90", number(s.p90)}};
}

// Counts of several samples over shared bins; no edges when no sample has a finite value.
struct Histogram {
  std::vector<double> edges;                 // bins [edges[i], edges[i+1]), the last one closed
  std::vector<std::vector<int64_t>> counts;  // per sample, one per bin
};

// Bins at a 1-2-5 step spanning every finite value. Integer samples get integral steps and
// half-integer edges, so that each bin holds whole sizes (0.5..5.5 holds 1 to 5).
Histogram shared_histogram(const std::vector<std::vector<double>>& samples, int target_bins, bool integers) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& sample : samples) {
    for (double value : sample) {
      lo = std::min(lo, value);
      hi = std::max(hi, value);
    }
  }
  Histogram out;
  if (lo > hi) return out;
  if (integers) {
    double step = std::max(1.0, svg::nice_step((hi - lo) / target_bins));
    double first = std::floor((lo - 1) / step) * step + 0.5;
    auto bins = static_cast<int64_t>(std::max(1.0, std::ceil((hi - first) / step)));
    for (int64_t i = 0; i <= bins; ++i) out.edges.push_back(first + static_cast<double>(i) * step);
  } else {
    out.edges = svg::nice_ticks(lo, hi, target_bins);
  }
  const std::size_t bins = out.edges.size() - 1;
  for (const auto& sample : samples) {
    std::vector<int64_t> counts(bins, 0);
    for (double value : sample) {
      auto bin = std::upper_bound(out.edges.begin(), out.edges.end(), value) - out.edges.begin() - 1;
      ++counts[std::clamp<std::size_t>(static_cast<std::size_t>(std::max<std::ptrdiff_t>(bin, 0)), 0, bins - 1)];
    }
    out.counts.push_back(std::move(counts));
  }
  return out;
}

json to_json(const Histogram& h, const std::vector<std::string>& names) {
  json out = {{"edges", numbers(h.edges)}};
  for (std::size_t i = 0; i < names.size(); ++i) {
    out[names[i]] = i < h.counts.size() ? json(h.counts[i]) : json::array();
  }
  return out;
}

Histogram cluster_histogram(const ReportData& data) {
  return shared_histogram({finite_values(data.cluster_sizes), finite_values(data.selected_cluster_sizes)}, kClusterBins,
                          true);
}

Histogram difficulty_histogram(const ReportData& data) {
  return shared_histogram({finite_values(data.difficulty_all), finite_values(data.difficulty_selected)},
                          kDifficultyBins, false);
}

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

int64_t skipped_total(const ReportData& data) {
  int64_t total = 0;
  for (const auto& [reason, count] : data.skipped) total += count;
  return total;
}

// ---- HTML text helpers ----

using svg::escape;

std::string format_count(int64_t value) {  // 12345 -> "12,345"
  std::string digits = std::to_string(value < 0 ? -value : value), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string format_general(double value, int digits = 4) {
  if (!std::isfinite(value)) return "–";
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
  return buffer;
}

std::string format_percent(double fraction) {
  if (!std::isfinite(fraction)) return "–";
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.1f%%", 100 * fraction);
  return buffer;
}

double ratio(int64_t part, int64_t whole) {
  return whole == 0 ? NAN : static_cast<double>(part) / static_cast<double>(whole);
}

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:980px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin:0 0 .3em}
h2{font-size:1.2em;margin:2em 0 .6em;padding-bottom:.2em;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.4em 0}
th,td{padding:.25em .75em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
thead th{background:#f4f4f4;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tfoot td{font-weight:600;border-top:1px solid #bbb}
table.run th{color:#666;font-weight:normal;padding-left:0}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1.2em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;min-width:10em}
.card b{display:block;font-size:1.5em;font-variant-numeric:tabular-nums}
.card span{color:#666;font-size:.9em}
.bar{display:inline-block;height:.65em;background:#4c78a8;opacity:.75;margin-right:.45em}
figure{margin:.6em 0}
figcaption{color:#555;font-size:.9em;max-width:640px}
svg{max-width:100%;height:auto}
.empty{color:#888;font-style:italic}
.note{color:#666;font-size:.9em}
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
  out += "</table>\n<div class=\"cards\">\n";
  out += card(format_count(data.examples), "examples scored");
  out += card(format_count(data.kept),
              "kept by the difficulty filter (" + format_percent(ratio(data.kept, data.examples)) + ")");
  out +=
      card(format_count(data.selected), "selected (" + format_percent(ratio(data.selected, data.kept)) + " of kept)");
  out += card(format_count(skipped_total(data)), "records skipped");
  return out + "</div>\n";
}

// One table for the lines of `level`; the source column appears when any line names a source.
std::string allocation_table(const std::vector<const AllocationLine*>& lines) {
  bool sources = std::any_of(lines.begin(), lines.end(), [](const AllocationLine* l) { return !l->source.empty(); });
  std::string out = "<table>\n<thead><tr><th>Domain</th>" + std::string(sources ? "<th>Source</th>" : "") +
                    "<th class=\"num\">Examples</th><th class=\"num\">Score</th><th class=\"num\">Share</th>"
                    "<th class=\"num\">Allocated</th><th class=\"num\">Taken</th></tr></thead>\n<tbody>\n";
  int64_t examples = 0, allocated = 0;
  double share = 0;
  for (const AllocationLine* line : lines) {
    double width = std::isfinite(line->share) ? std::clamp(line->share, 0.0, 1.0) * 80 : 0;
    out += "<tr><td>" + escape(line->domain) + "</td>" + (sources ? "<td>" + escape(line->source) + "</td>" : "") +
           "<td class=\"num\">" + format_count(line->examples) + "</td><td class=\"num\">" +
           format_general(line->score) +
           "</td><td class=\"num\"><span class=\"bar\" style=\"width:" + format_general(width, 3) + "px\"></span>" +
           format_percent(line->share) + "</td><td class=\"num\">" + format_count(line->allocated) +
           "</td><td class=\"num\">" + format_percent(ratio(line->allocated, line->examples)) + "</td></tr>\n";
    examples += line->examples;
    allocated += line->allocated;
    if (std::isfinite(line->share)) share += line->share;
  }
  out += "</tbody>\n<tfoot><tr><td" + std::string(sources ? " colspan=\"2\"" : "") + ">total</td><td class=\"num\">" +
         format_count(examples) + "</td><td></td><td class=\"num\">" + format_percent(share) +
         "</td><td class=\"num\">" + format_count(allocated) + "</td><td class=\"num\">" +
         format_percent(ratio(allocated, examples)) + "</td></tr></tfoot>\n</table>\n";
  return out;
}

std::string allocation_html(const ReportData& data) {
  std::string out = "<h2>Budget allocation</h2>\n";
  std::vector<std::string> levels;  // in order of first appearance
  for (const AllocationLine& line : data.allocation) {
    if (std::find(levels.begin(), levels.end(), line.level) == levels.end()) levels.push_back(line.level);
  }
  if (levels.empty()) return out + "<p class=\"empty\">no allocation</p>\n";
  for (const std::string& level : levels) {
    std::vector<const AllocationLine*> lines;
    for (const AllocationLine& line : data.allocation) {
      if (line.level == level) lines.push_back(&line);
    }
    out += "<h3>By " + escape(level) + "</h3>\n" + allocation_table(lines);
  }
  return out + "<p class=\"note\">Taken: allocated as a share of the group's candidates.</p>\n";
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
      "<h2>Clusters</h2>\n<figure>\n" +
      svg::histogram(h.edges, bars,
                     {"Histogram of cluster sizes", "cluster size (examples)", "clusters", 640, 300, true});
  if (sizes.count > 0) {
    out += "<figcaption>" + format_count(sizes.count) + " clusters, " +
           format_count(static_cast<int64_t>(data.selected_cluster_sizes.size())) +
           " of them gave at least one selected example. Size: min " + format_general(sizes.min) + ", median " +
           format_general(sizes.p50) + ", mean " + format_general(sizes.mean) + ", max " + format_general(sizes.max) +
           ".</figcaption>\n";
  }
  return out + "</figure>\n";
}

std::string difficulty_html(const ReportData& data) {
  Histogram h = difficulty_histogram(data);
  Stats all = stats(data.difficulty_all), selected = stats(data.difficulty_selected);
  std::vector<svg::BarSeries> bars;
  const std::pair<const Stats*, const char*> samples[] = {{&all, "all candidates"}, {&selected, "selected"}};
  for (std::size_t s = 0; s < h.counts.size(); ++s) {
    // Density: count / (n × bin width), so both samples integrate to 1 whatever their sizes.
    std::vector<double> density(h.counts[s].size(), NAN);
    for (std::size_t i = 0; i < density.size() && samples[s].first->count > 0; ++i) {
      density[i] = static_cast<double>(h.counts[s][i]) /
                   (static_cast<double>(samples[s].first->count) * (h.edges[i + 1] - h.edges[i]));
    }
    bars.push_back({std::string(samples[s].second) + " (" + format_count(samples[s].first->count) + ")",
                    s == 0 ? kColorAll : kColorSelected, std::move(density)});
  }
  std::string out =
      "<h2>Difficulty</h2>\n<figure>\n" +
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
  return out + "</figure>\n";
}

std::string loss_html(const ReportData& data) {
  std::vector<double> x = profile_x(data);
  std::vector<svg::LineSeries> lines = {{"all", kColorAll, x, data.mean_all},
                                        {"selected", kColorSelected, x, data.mean_selected}};
  return "<h2>Loss profile</h2>\n<figure>\n" +
         svg::line_chart(lines, {"Mean loss per profile checkpoint", profile_x_label(data), "mean loss (nats/token)",
                                 640, 300, data.distance.empty()}) +
         "<figcaption>Mean per-token loss of the profiled reasoning tokens at each perturbed checkpoint.</figcaption>\n"
         "</figure>\n";
}

std::string skipped_html(const ReportData& data) {
  std::string out = "<h2>Skipped records</h2>\n";
  if (data.skipped.empty()) return out + "<p class=\"empty\">No record was skipped.</p>\n";
  out += "<table>\n<thead><tr><th>Reason</th><th class=\"num\">Records</th></tr></thead>\n<tbody>\n";
  for (const auto& [reason, count] : data.skipped) {
    out += "<tr><td>" + escape(reason) + "</td><td class=\"num\">" + format_count(count) + "</td></tr>\n";
  }
  return out + "</tbody>\n<tfoot><tr><td>total</td><td class=\"num\">" + format_count(skipped_total(data)) +
         "</td></tr></tfoot>\n</table>\n";
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
  return {
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
}

std::string html_report(const ReportData& data) {
  std::string title = "Selection report";
  if (!data.method.empty()) title += " — " + data.method;
  if (!data.dataset.empty()) title += " on " + data.dataset;
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n" + header_html(data) +
         allocation_html(data) + clusters_html(data) + difficulty_html(data) + loss_html(data) + skipped_html(data) +
         "<footer>Written by curate_dist.</footer>\n</body>\n</html>\n";
}

}  // namespace curate::select
