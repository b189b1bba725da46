// The report's premise section: do examples in one loss-pattern cluster have similar gradients?
#include "report/report_common.h"

namespace curate::report::detail {
namespace {

using nlohmann::json;

std::string with_interval(double value, double low, double high) {
  return format_general(value, 3) + " <span class=\"note\">[" + format_general(low, 3) + ", " +
         format_general(high, 3) + "]</span>";
}

json interval(double low, double high) { return json::array({number(low), number(high)}); }

}  // namespace

std::string premise_html(const ReportData& data) {
  const Premise& p = data.premise;
  std::string out = "<section id=\"premise\">\n<h2>Similar loss patterns, similar gradients?</h2>\n";
  if (p.state != "tested") return out + "<p class=\"empty\">" + escape(p.note) + "</p>\n</section>\n";
  out +=
      "<p class=\"note\">The selection clusters each source's examples by their loss pattern, on the premise that "
      "examples with similar loss patterns induce similar gradients. Projected gradients (dimension " +
      format_count(p.dim) + ") of " + format_count(p.sampled) + " sampled examples, " + format_count(p.examples) +
      " of them in " + format_count(p.clusters) + " clusters of " + format_count(p.groups) +
      " sources: mean cosine of pairs in the same cluster, in the same source but other clusters, and of all "
      "pairs; gaps with 95% bootstrap intervals; Spearman of the clustering's distance (loss pattern, or "
      "difficulty) and the cosine over pairs of one source (negative: closer examples, more similar "
      "gradients).</p>\n";
  out +=
      "<table>\n<thead><tr><th>Clusters</th><th class=\"num\">Same cluster</th><th class=\"num\">Same source, "
      "other cluster</th><th class=\"num\">All pairs</th><th class=\"num\">Gap to all pairs [95%]</th>"
      "<th class=\"num\">Gap to other clusters [95%]</th><th class=\"num\">Spearman</th></tr></thead>\n<tbody>\n";
  std::vector<svg::IntervalRow> rows;
  const char* colors[] = {kColorSelected, kColorFiltered, kColorAll};
  for (std::size_t i = 0; i < p.clusterings.size(); ++i) {
    const PremiseClustering& c = p.clusterings[i];
    out += "<tr><td>" + escape(c.name) + "</td><td class=\"num\">" + format_general(c.same_cluster, 3) +
           "</td><td class=\"num\">" + format_general(c.other_cluster, 3) + "</td><td class=\"num\">" +
           format_general(c.random, 3) + "</td><td class=\"num\">" + with_interval(c.gap, c.gap_low, c.gap_high) +
           "</td><td class=\"num\">" + with_interval(c.gap_other, c.gap_other_low, c.gap_other_high) +
           "</td><td class=\"num\">" + format_general(c.spearman, 3) + "</td></tr>\n";
    rows.push_back({c.name, c.gap_other, c.gap_other_low, c.gap_other_high, colors[i % 3]});
  }
  out += "</tbody>\n</table>\n<figure>\n" +
         svg::interval_chart(rows, {"gap of the gradient cosine, same cluster minus other clusters of the source",
                                    "same-cluster − other-cluster cosine (dot: gap, bar: 95% interval)", "", 640,
                                    60 + 34 * static_cast<int>(rows.size())}) +
         "<figcaption>Each clustering's gap to the other clusters of the same source, with its 95% bootstrap "
         "interval. The premise holds when the loss-pattern interval lies right of 0, and so does its gap to all "
         "pairs (the table): pairs of one source are often alike whatever their cluster.</figcaption>\n</figure>\n";
  return out + "<p class=\"" + (p.holds ? "ok" : "warn") + "\">" + escape(p.verdict) + "</p>\n</section>\n";
}

json premise_json(const ReportData& data) {
  const Premise& p = data.premise;
  const bool tested = p.state == "tested";
  json clusterings = json::array();
  for (const PremiseClustering& c : p.clusterings) {
    clusterings.push_back({{"name", c.name},
                           {"same_cluster", number(c.same_cluster)},
                           {"other_cluster", number(c.other_cluster)},
                           {"random", number(c.random)},
                           {"gap", number(c.gap)},
                           {"gap_interval", interval(c.gap_low, c.gap_high)},
                           {"gap_other", number(c.gap_other)},
                           {"gap_other_interval", interval(c.gap_other_low, c.gap_other_high)},
                           {"spearman", number(c.spearman)},
                           {"pairs",
                            {{"same", c.same_pairs},
                             {"other", c.other_pairs},
                             {"random", c.random_pairs},
                             {"spearman", c.spearman_pairs}}}});
  }
  return {{"state", p.state},
          {"note", p.note},
          {"sampled", p.sampled},
          {"examples", p.examples},
          {"groups", p.groups},
          {"clusters", p.clusters},
          {"dim", p.dim},
          {"holds", tested ? json(p.holds) : json(nullptr)},
          {"verdict", tested ? json(p.verdict) : json(nullptr)},
          {"clusterings", std::move(clusterings)}};
}

}  // namespace curate::report::detail
