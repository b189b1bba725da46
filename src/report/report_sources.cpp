// Report sections per source: loss curves, token-length distributions and a handful of examples
// (selected, profiled but not picked, filtered out by difficulty) with why each was or was not taken.
#include <numeric>

#include "report/report_common.h"

namespace curate::report {

std::vector<std::size_t> shown_sources(const std::vector<SourceView>& sources) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (!(sources[i].source.empty() && sources[i].domain.empty())) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return sources[a].kept > sources[b].kept; });
  if (order.size() > kMaxSourceViews) order.resize(kMaxSourceViews);
  std::sort(order.begin(), order.end());
  return order;
}

std::vector<uint8_t> largest_rows(const std::vector<int64_t>& sizes) {
  if (sizes.size() <= kMaxTableRows) return std::vector<uint8_t>(sizes.size(), 1);
  std::vector<std::size_t> order(sizes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return sizes[a] > sizes[b]; });
  std::vector<uint8_t> shown(sizes.size(), 0);
  for (std::size_t k = 0; k < kMaxTableRows; ++k) shown[order[k]] = 1;
  return shown;
}

int examples_per_status(std::size_t shown) { return shown <= 8 ? 3 : shown <= 14 ? 2 : 1; }

std::vector<std::size_t> spread_pick(std::span<const std::size_t> members, std::span<const float> key,
                                     std::size_t count) {
  std::vector<std::size_t> order(members.size());
  std::iota(order.begin(), order.end(), 0);
  auto value = [&](std::size_t j) { return static_cast<double>(key[members[j]]); };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const double x = value(a), y = value(b);
    if (std::isfinite(x) != std::isfinite(y)) return std::isfinite(x);  // non-finite last
    return std::isfinite(x) && x < y;
  });
  std::vector<std::size_t> out;
  count = std::min(count, members.size());
  for (std::size_t j = 0; j < count; ++j) {
    const auto at = static_cast<std::size_t>((static_cast<double>(j) + 0.5) / static_cast<double>(count) *
                                             static_cast<double>(members.size()));
    out.push_back(members[order[std::min(at, members.size() - 1)]]);
  }
  return out;
}

namespace detail {
namespace {

using nlohmann::json;

constexpr std::size_t kPromptChars = 240;  // shown of each prompt
constexpr std::size_t kWindowChars = 480;  // shown of each scored window
constexpr int kLengthBins = 16;
constexpr int kChartWidth = 340, kChartHeight = 230;

const char* status_name(ExampleView::Status s) {
  switch (s) {
    case ExampleView::Status::kSelected:
      return "selected";
    case ExampleView::Status::kNotPicked:
      return "not picked";
    case ExampleView::Status::kFilteredOut:
      return "filtered out";
  }
  return "";
}

const char* status_class(ExampleView::Status s) {
  switch (s) {
    case ExampleView::Status::kSelected:
      return "selected";
    case ExampleView::Status::kNotPicked:
      return "picked-not";
    case ExampleView::Status::kFilteredOut:
      return "filtered";
  }
  return "";
}

std::string lengths_chart(const std::vector<float>& all, const std::vector<float>& selected, const std::string& what) {
  const Histogram h = shared_histogram({finite_values(all), finite_values(selected)}, kLengthBins, false);
  std::vector<svg::BarSeries> bars;
  const int64_t n_all = static_cast<int64_t>(finite_values(all).size());
  const int64_t n_sel = static_cast<int64_t>(finite_values(selected).size());
  if (!h.edges.empty()) {
    bars.push_back({"all (" + format_count(n_all) + ")", kColorAll, density(h, 0, n_all)});
    bars.push_back({"selected (" + format_count(n_sel) + ")", kColorSelected, density(h, 1, n_sel)});
  }
  return svg::histogram(
      h.edges, bars, {what + " length, all vs selected", what + " tokens", "density", kChartWidth, kChartHeight, true});
}

std::string example_html(const ExampleView& e) {
  std::string out = std::string("<div class=\"ex ") + status_class(e.status) + "\"><div><span class=\"tag\">" +
                    status_name(e.status) + "</span> · id <b>" + escape(shorten(e.key, 60)) + "</b> · line " +
                    format_count(e.line) + "</div>\n<div class=\"facts\">difficulty " + format_general(e.difficulty) +
                    " · cluster " + (e.cluster >= 0 ? std::to_string(e.cluster) : std::string("–")) +
                    " · brittleness " + format_general(e.brittleness, 3) + "</div>\n";
  if (!e.why.empty()) out += "<div class=\"why\">" + escape(shorten(e.why, kPromptChars)) + "</div>\n";
  out += "<div class=\"prompt\"><b>Prompt:</b> " + escape(shorten(e.prompt, kPromptChars)) + "</div>\n";
  out +=
      "<div class=\"facts\">" +
      (e.window_tokens > 0 ? "first " + format_count(e.window_tokens) + " scored tokens:" : "start of the reasoning:") +
      "</div><pre>" + escape(shorten(e.window, kWindowChars)) + "</pre>\n";
  return out + "</div>\n";
}

std::string source_html(const ReportData& data, const SourceView& s, std::size_t index) {
  std::string out = "<h3 id=\"source-" + std::to_string(index) + "\">" + escape(s.domain) + " / " + escape(s.source) +
                    "</h3>\n<p class=\"note\">read " + format_count(s.read) + " → scored " + format_count(s.scored) +
                    " → kept " + format_count(s.kept) + " → profiled " + format_count(s.profiled) + " → selected " +
                    format_count(s.selected) + "</p>\n<div class=\"charts\">\n";
  const std::vector<double> x = profile_x(data);
  out += "<figure>\n" +
         svg::line_chart({{"all profiled", kColorAll, x, s.mean_all}, {"selected", kColorSelected, x, s.mean_selected}},
                         {"Mean loss per profile checkpoint of " + s.source, profile_x_label(data), "mean loss",
                          kChartWidth, kChartHeight, data.distance.empty()}) +
         "</figure>\n";
  out += "<figure>\n" + lengths_chart(s.prompt_tokens_all, s.prompt_tokens_selected, "prompt") + "</figure>\n";
  out += "<figure>\n" + lengths_chart(s.response_tokens_all, s.response_tokens_selected, "response") + "</figure>\n";
  out += "</div>\n";
  if (s.examples.empty()) return out + "<p class=\"empty\">no examples to show</p>\n";
  out += "<div class=\"examples\">\n";
  for (const ExampleView& e : s.examples) out += example_html(e);
  return out + "</div>\n";
}

}  // namespace

std::string sources_html(const ReportData& data) {
  std::string out = "<section id=\"sources\">\n<h2>Per source</h2>\n";
  const std::vector<std::size_t> shown = shown_sources(data.sources);
  if (shown.empty()) return out + "<p class=\"empty\">no per-source data</p>\n</section>\n";
  out +=
      "<p class=\"note\">For each source: the mean profile loss of its profiled and its selected examples, the "
      "token lengths of its scored and selected examples (prompt; response = reasoning + answer), and examples "
      "chosen evenly over the difficulty order of each group: <b>selected</b>, <b>not picked</b> (profiled but not "
      "selected) and <b>filtered out</b> (dropped by the difficulty filter, never profiled). Brittleness: the rise "
      "of the example's mean loss from the first to the last profile checkpoint.</p>\n";
  const std::size_t shown_count = shown.size();
  for (std::size_t i : shown) out += source_html(data, data.sources[i], i);
  const std::size_t hidden = data.sources.size() - shown_count;
  if (hidden > 0) {
    out += "<p class=\"note\">" + format_count(static_cast<int64_t>(hidden)) +
           " more group(s) appear in the funnel table only.</p>\n";
  }
  return out + "</section>\n";
}

json sources_json(const ReportData& data) {
  json out = json::array();
  for (const SourceView& s : data.sources) {
    json examples = json::array();
    for (const ExampleView& e : s.examples) {
      examples.push_back({{"status", status_name(e.status)},
                          {"key", e.key},
                          {"line", e.line},
                          {"difficulty", number(e.difficulty)},
                          {"cluster", e.cluster},
                          {"brittleness", number(e.brittleness)},
                          {"why", e.why}});
    }
    out.push_back(
        {{"domain", s.domain},
         {"source", s.source},
         {"read", s.read},
         {"skipped", s.skipped},
         {"scored", s.scored},
         {"kept", s.kept},
         {"profiled", s.profiled},
         {"selected", s.selected},
         {"mean_all", numbers(s.mean_all)},
         {"mean_selected", numbers(s.mean_selected)},
         {"prompt_tokens",
          {{"all", to_json(stats(s.prompt_tokens_all))}, {"selected", to_json(stats(s.prompt_tokens_selected))}}},
         {"response_tokens",
          {{"all", to_json(stats(s.response_tokens_all))}, {"selected", to_json(stats(s.response_tokens_selected))}}},
         {"examples", std::move(examples)}});
  }
  return out;
}

}  // namespace detail
}  // namespace curate::report
