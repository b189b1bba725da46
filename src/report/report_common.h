// Pieces shared by the report's sections (internal to curate_report_render): statistics and shared-bin
// histograms of samples, number formatting, HTML text helpers, and the section renderers of the
// files report_run.cpp, report_sources.cpp and report_premise.cpp. Every function that takes user text escapes it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "curate/report/report.h"
#include "report/svg.h"

namespace curate::report::detail {

inline constexpr const char* kColorAll = "#4c78a8";       // blue
inline constexpr const char* kColorSelected = "#f58518";  // orange
inline constexpr const char* kColorFiltered = "#9d9d9d";  // grey

template <typename Values>
std::vector<double> finite_values(const Values& values) {
  std::vector<double> out;
  out.reserve(values.size());
  for (auto value : values) {
    if (std::isfinite(static_cast<double>(value))) out.push_back(static_cast<double>(value));
  }
  return out;
}

nlohmann::json number(double value);  // null when not finite
nlohmann::json numbers(const std::vector<double>& values);

// Order statistics of the finite values; `count` excludes the non-finite ones, counted in `nan`.
struct Stats {
  int64_t count = 0;
  int64_t nan = 0;
  double min = NAN, max = NAN, mean = NAN, p10 = NAN, p50 = NAN, p90 = NAN;
};
Stats stats_of(std::vector<double> finite, int64_t total);  // `finite`: the finite values of `total`
template <typename Values>
Stats stats(const Values& values) {
  return stats_of(finite_values(values), static_cast<int64_t>(values.size()));
}
nlohmann::json to_json(const Stats& s);

// Counts of several samples over shared bins; no edges when no sample has a finite value.
struct Histogram {
  std::vector<double> edges;                 // bins [edges[i], edges[i+1]), the last one closed
  std::vector<std::vector<int64_t>> counts;  // per sample, one per bin
};
// Bins at a 1-2-5 step spanning every value. Integer samples get integral steps and half-integer
// edges, so that each bin holds whole sizes (0.5..5.5 holds 1 to 5).
Histogram shared_histogram(const std::vector<std::vector<double>>& samples, int target_bins, bool integers);
nlohmann::json to_json(const Histogram& h, const std::vector<std::string>& names);
// Count / (n × bin width) per bin, so that samples of different sizes compare; NaN when n = 0.
std::vector<double> density(const Histogram& h, std::size_t sample, int64_t n);

using svg::escape;
std::string format_count(int64_t value);                   // 12345 -> "12,345"
std::string format_general(double value, int digits = 4);  // %g, "–" when not finite
std::string format_percent(double fraction);               // 0.123 -> "12.3%", "–" when not finite
std::string format_duration(double seconds);               // "3.2 s", "12 min", "4.1 h"; "–" when not finite
double ratio(int64_t part, int64_t whole);                 // NaN when whole is 0

// At most `max_chars` code points of `text`, as valid UTF-8 (invalid bytes become U+FFFD), control
// characters other than newline and tab replaced by U+FFFD, "…" appended when shortened. Not escaped.
std::string shorten(std::string_view text, std::size_t max_chars);

// x of each profile checkpoint: data.distance, or 1, 2, … when it is empty; and the axis title.
std::vector<double> profile_x(const ReportData& data);
std::string profile_x_label(const ReportData& data);

// Section renderers, each returning a complete <section> with an id (report_run.cpp, report_sources.cpp).
std::string run_facts_html(const ReportData& data);
std::string calibration_html(const ReportData& data);
std::string funnel_html(const ReportData& data);
std::string sources_html(const ReportData& data);
nlohmann::json run_json(const ReportData& data);      // calibration, passes, settings, fingerprint, links
nlohmann::json sources_json(const ReportData& data);  // funnel and per-source numbers, example ids
std::string premise_html(const ReportData& data);     // report_premise.cpp
nlohmann::json premise_json(const ReportData& data);

}  // namespace curate::report::detail
