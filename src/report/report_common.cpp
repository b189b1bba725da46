#include "report/report_common.h"

#include <cstdio>

namespace curate::report::detail {

using nlohmann::json;

json number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json numbers(const std::vector<double>& values) {
  json out = json::array();
  for (double value : values) out.push_back(number(value));
  return out;
}

namespace {
double quantile(const std::vector<double>& sorted, double q) {  // linear interpolation, as numpy's default
  double position = q * static_cast<double>(sorted.size() - 1);
  auto below = static_cast<std::size_t>(std::floor(position));
  std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}
}  // namespace

Stats stats_of(std::vector<double> sorted, int64_t total) {
  Stats out;
  out.count = static_cast<int64_t>(sorted.size());
  out.nan = total - out.count;
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

std::vector<double> density(const Histogram& h, std::size_t sample, int64_t n) {
  std::vector<double> out(h.edges.empty() ? 0 : h.edges.size() - 1, NAN);
  for (std::size_t i = 0; i < out.size() && n > 0 && sample < h.counts.size(); ++i) {
    out[i] = static_cast<double>(h.counts[sample][i]) / (static_cast<double>(n) * (h.edges[i + 1] - h.edges[i]));
  }
  return out;
}

std::string format_count(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string format_general(double value, int digits) {
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

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "–";
  if (seconds < 120) return format_general(seconds, 3) + " s";
  if (seconds < 7200) return format_general(seconds / 60, 3) + " min";
  return format_general(seconds / 3600, 3) + " h";
}

double ratio(int64_t part, int64_t whole) {
  return whole == 0 ? NAN : static_cast<double>(part) / static_cast<double>(whole);
}

std::string shorten(std::string_view text, std::size_t max_chars) {
  static constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  std::size_t chars = 0, at = 0;
  while (at < text.size()) {
    if (chars == max_chars) return out + "…";
    const auto lead = static_cast<unsigned char>(text[at]);
    const std::size_t length = lead < 0x80           ? 1
                               : (lead >> 5) == 0x6  ? 2
                               : (lead >> 4) == 0xE  ? 3
                               : (lead >> 3) == 0x1E ? 4
                                                     : 0;
    bool valid = length > 0 && at + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k) valid = (static_cast<unsigned char>(text[at + k]) & 0xC0) == 0x80;
    if (valid && length > 1) {  // no overlong forms, surrogates or code points past U+10FFFF
      uint32_t code = lead & (0xFF >> (length + 1));
      for (std::size_t k = 1; k < length; ++k) code = code << 6 | (static_cast<unsigned char>(text[at + k]) & 0x3F);
      const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
      valid = code >= smallest[length] && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
    }
    if (!valid) {
      out += kReplacement;
      at += 1;
    } else if (length == 1 && ((lead < 0x20 && lead != '\n' && lead != '\t') || lead == 0x7F)) {
      out += kReplacement;
      at += 1;
    } else {
      out.append(text.substr(at, length));
      at += length;
    }
    ++chars;
  }
  return out;
}

}  // namespace curate::report::detail
