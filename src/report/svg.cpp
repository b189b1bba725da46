#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

namespace curate::report::svg {
namespace {

// Plot box inside the view box, px.
constexpr double kMarginLeft = 64;
constexpr double kMarginRight = 18;
constexpr double kMarginTop = 30;  // room for the legend
constexpr double kMarginBottom = 46;
constexpr double kCharWidth = 6.2;  // average glyph width at font-size 11, for legend layout

// A coordinate with one decimal (enough at screen resolution, keeps the markup small).
std::string px(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

// Maps data coordinates to the plot box.
struct Plot {
  double x0, x1, y0, y1;  // data ranges, x0 < x1 and y0 < y1
  double left, right, top, bottom;

  Plot(const Frame& frame, double x_lo, double x_hi, double y_lo, double y_hi)
      : x0(x_lo),
        x1(x_hi),
        y0(y_lo),
        y1(y_hi),
        left(kMarginLeft),
        right(frame.width - kMarginRight),
        top(kMarginTop),
        bottom(frame.height - kMarginBottom) {}
  double x(double value) const { return left + (value - x0) / (x1 - x0) * (right - left); }
  double y(double value) const { return bottom - (value - y0) / (y1 - y0) * (bottom - top); }
};

std::string open_svg(const Frame& frame) {
  std::string title = escape(frame.title);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + std::to_string(frame.width) + " " +
         std::to_string(frame.height) + "\" width=\"" + std::to_string(frame.width) + "\" height=\"" +
         std::to_string(frame.height) + "\" role=\"img\" aria-label=\"" + title +
         "\" font-family=\"system-ui, sans-serif\" font-size=\"11\">\n<title>" + title + "</title>\n";
}

std::string no_data(const Frame& frame) {
  return open_svg(frame) + "<rect x=\"0.5\" y=\"0.5\" width=\"" + std::to_string(frame.width - 1) + "\" height=\"" +
         std::to_string(frame.height - 1) + "\" fill=\"#fafafa\" stroke=\"#ddd\"/>\n<text x=\"" +
         px(frame.width / 2.0) + "\" y=\"" + px(frame.height / 2.0) +
         "\" text-anchor=\"middle\" fill=\"#888\" font-size=\"14\">no data</text>\n</svg>\n";
}

// [lo, hi] widened by `fraction` of its span on each side (a point gets ±10% of its value, or ±1 at 0).
std::pair<double, double> with_margin(double lo, double hi, double fraction) {
  double span = hi - lo;
  if (span <= 0) span = lo == 0 ? 10.0 : std::abs(lo);
  return {lo - fraction * span, hi + fraction * span};
}

double tick_step(const std::vector<double>& ticks) { return ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0; }

// Grid, axis lines, ticks with labels and the axis titles. Ticks outside the ranges are not drawn.
std::string axes(const Plot& plot, const std::vector<double>& x_ticks, const std::vector<double>& y_ticks,
                 const Frame& frame) {
  std::string out = "<g stroke=\"#e4e4e4\">\n";
  const double x_slack = (plot.x1 - plot.x0) * 1e-9, y_slack = (plot.y1 - plot.y0) * 1e-9;
  for (double tick : y_ticks) {
    if (tick < plot.y0 - y_slack || tick > plot.y1 + y_slack) continue;
    out += "<line x1=\"" + px(plot.left) + "\" x2=\"" + px(plot.right) + "\" y1=\"" + px(plot.y(tick)) + "\" y2=\"" +
           px(plot.y(tick)) + "\"/>\n";
  }
  out += "</g>\n<g stroke=\"#333\" fill=\"none\">\n<path d=\"M" + px(plot.left) + " " + px(plot.top) + "V" +
         px(plot.bottom) + "H" + px(plot.right) + "\"/>\n";
  for (double tick : x_ticks) {
    if (tick < plot.x0 - x_slack || tick > plot.x1 + x_slack) continue;
    out += "<path d=\"M" + px(plot.x(tick)) + " " + px(plot.bottom) + "v5\"/>\n";
  }
  for (double tick : y_ticks) {
    if (tick < plot.y0 - y_slack || tick > plot.y1 + y_slack) continue;
    out += "<path d=\"M" + px(plot.left - 5) + " " + px(plot.y(tick)) + "h5\"/>\n";
  }
  out += "</g>\n<g fill=\"#333\">\n";
  for (double tick : x_ticks) {
    if (tick < plot.x0 - x_slack || tick > plot.x1 + x_slack) continue;
    out += "<text x=\"" + px(plot.x(tick)) + "\" y=\"" + px(plot.bottom + 17) + "\" text-anchor=\"middle\">" +
           escape(format_tick(tick, tick_step(x_ticks))) + "</text>\n";
  }
  for (double tick : y_ticks) {
    if (tick < plot.y0 - y_slack || tick > plot.y1 + y_slack) continue;
    out += "<text x=\"" + px(plot.left - 8) + "\" y=\"" + px(plot.y(tick) + 4) + "\" text-anchor=\"end\">" +
           escape(format_tick(tick, tick_step(y_ticks))) + "</text>\n";
  }
  out += "<text x=\"" + px((plot.left + plot.right) / 2) + "\" y=\"" + px(frame.height - 8.0) +
         "\" text-anchor=\"middle\" font-size=\"12\">" + escape(frame.x_label) + "</text>\n";
  out += "<text transform=\"rotate(-90)\" x=\"" + px(-(plot.top + plot.bottom) / 2) +
         "\" y=\"14\" text-anchor=\"middle\" font-size=\"12\">" + escape(frame.y_label) + "</text>\n</g>\n";
  return out;
}

// One row of colour swatches and labels above the plot box.
// Swatches are filled squares for bars, a stroke with a dot for lines.
std::string legend(const std::vector<std::pair<std::string, std::string>>& items, const Plot& plot, bool lines) {
  std::string out = "<g>\n";
  double x = plot.left;
  for (const auto& [label, color] : items) {
    if (lines) {
      out += "<path d=\"M" + px(x) + " 14h12\" stroke=\"" + color + "\" stroke-width=\"2\"/><circle cx=\"" + px(x + 6) +
             "\" cy=\"14\" r=\"3\" fill=\"" + color + "\"/>\n";
    } else {
      out += "<rect x=\"" + px(x) + "\" y=\"8\" width=\"12\" height=\"12\" fill=\"" + color +
             "\" fill-opacity=\"0.7\"/>\n";
    }
    out += "<text x=\"" + px(x + 17) + "\" y=\"18\" fill=\"#333\">" + escape(label) + "</text>\n";
    x += 17 + kCharWidth * static_cast<double>(label.size()) + 18;
  }
  return out + "</g>\n";
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

double nice_step(double raw) {
  if (!std::isfinite(raw) || raw <= 0) return 1.0;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double mantissa : {1.0, 2.0, 5.0, 10.0}) {
    if (mantissa * magnitude >= raw * (1 - 1e-12)) return mantissa * magnitude;
  }
  return 10 * magnitude;
}

std::vector<double> nice_ticks(double lo, double hi, int target, double min_step) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0.0, 1.0};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  double step = nice_step((hi - lo) / std::max(1, target));
  if (min_step > 0) step = std::max(step, nice_step(min_step));
  // k × step written as k × m / 10^-e (or × 10^e) lands on the double nearest the decimal value.
  int exponent = static_cast<int>(std::lround(std::floor(std::log10(step) + 1e-9)));
  double mantissa = std::round(step / std::pow(10.0, exponent));
  double scale = std::pow(10.0, std::abs(exponent));
  auto at = [&](double k) { return exponent < 0 ? k * mantissa / scale : k * mantissa * scale; };
  double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  // A span below double resolution of the values (1e9 ± 1e-8) has no usable multiples: the ends only.
  if (!(last - first <= 1000) || std::abs(first) > 1e15 || std::abs(last) > 1e15) return {lo, hi};
  std::vector<double> ticks;
  for (double k = first; k <= last; ++k) ticks.push_back(at(k) == 0 ? 0.0 : at(k));  // no -0
  return ticks;
}

std::string format_tick(double value, double step) {
  char buffer[48];
  if (std::abs(value) < std::abs(step) * 1e-9) value = 0;
  if (std::abs(value) >= 1e7 || (step < 1e-4 && value != 0)) {
    std::snprintf(buffer, sizeof buffer, "%.3g", value);
  } else {
    int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  }
  return buffer;
}

std::string histogram(const std::vector<double>& edges, const std::vector<BarSeries>& series, const Frame& frame) {
  const std::size_t bins = edges.size() < 2 ? 0 : edges.size() - 1;
  double top = 0;
  for (const BarSeries& bars : series) {
    for (std::size_t i = 0; i < std::min(bins, bars.heights.size()); ++i) {
      if (std::isfinite(bars.heights[i])) top = std::max(top, bars.heights[i]);
    }
  }
  if (bins == 0 || top <= 0 || !std::isfinite(edges.front()) || !std::isfinite(edges.back()) ||
      !(edges.back() > edges.front())) {
    return no_data(frame);
  }
  std::vector<double> y_ticks = nice_ticks(0, top, 5);
  std::vector<double> x_ticks = nice_ticks(edges.front(), edges.back(), 8, frame.x_integers ? 1 : 0);
  Plot plot(frame, edges.front(), edges.back(), 0, y_ticks.back());

  std::string out = open_svg(frame) + axes(plot, x_ticks, y_ticks, frame);
  std::vector<std::pair<std::string, std::string>> items;
  for (const BarSeries& bars : series) {
    out += "<g fill=\"" + bars.color + "\" fill-opacity=\"0.55\" stroke=\"" + bars.color + "\" stroke-width=\"0.8\">\n";
    for (std::size_t i = 0; i < std::min(bins, bars.heights.size()); ++i) {
      double height = bars.heights[i];
      if (!std::isfinite(height) || height <= 0) continue;
      double left = plot.x(edges[i]), right = plot.x(edges[i + 1]);
      if (right - left > 4) {  // a hairline of space between wide bars
        left += 0.5;
        right -= 0.5;
      }
      out += "<rect x=\"" + px(left) + "\" y=\"" + px(plot.y(height)) + "\" width=\"" + px(right - left) +
             "\" height=\"" + px(plot.bottom - plot.y(height)) + "\"/>\n";
    }
    out += "</g>\n";
    items.emplace_back(bars.label, bars.color);
  }
  return out + legend(items, plot, false) + "</svg>\n";
}

std::string line_chart(const std::vector<LineSeries>& series, const Frame& frame) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double x_lo = kInf, x_hi = -kInf, y_lo = kInf, y_hi = -kInf;
  for (const LineSeries& line : series) {
    for (std::size_t i = 0; i < std::min(line.x.size(), line.y.size()); ++i) {
      if (!std::isfinite(line.x[i]) || !std::isfinite(line.y[i])) continue;
      x_lo = std::min(x_lo, line.x[i]);
      x_hi = std::max(x_hi, line.x[i]);
      y_lo = std::min(y_lo, line.y[i]);
      y_hi = std::max(y_hi, line.y[i]);
    }
  }
  if (x_lo > x_hi) return no_data(frame);
  // The data range plus a margin, so that no marker sits on an axis; ticks inside it only.
  auto [x0, x1] = with_margin(x_lo, x_hi, 0.03);
  auto [y0, y1] = with_margin(y_lo, y_hi, 0.06);
  Plot plot(frame, x0, x1, y0, y1);
  std::vector<double> x_ticks = nice_ticks(x0, x1, 8, frame.x_integers ? 1 : 0);
  std::vector<double> y_ticks = nice_ticks(y0, y1, 5);

  std::string out = open_svg(frame) + axes(plot, x_ticks, y_ticks, frame);
  std::vector<std::pair<std::string, std::string>> items;
  for (const LineSeries& line : series) {
    std::string path, markers;
    bool pen_down = false;
    for (std::size_t i = 0; i < std::min(line.x.size(), line.y.size()); ++i) {
      if (!std::isfinite(line.x[i]) || !std::isfinite(line.y[i])) {
        pen_down = false;  // a gap in the data breaks the line
        continue;
      }
      std::string x = px(plot.x(line.x[i])), y = px(plot.y(line.y[i]));
      path += (pen_down ? "L" : "M") + x + " " + y;
      pen_down = true;
      markers += "<circle cx=\"" + x + "\" cy=\"" + y + "\" r=\"3\"/>\n";
    }
    if (!path.empty()) {
      out += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + line.color + "\" stroke-width=\"2\"/>\n";
    }
    out += "<g fill=\"" + line.color + "\">\n" + markers + "</g>\n";
    items.emplace_back(line.label, line.color);
  }
  return out + legend(items, plot, true) + "</svg>\n";
}

std::string interval_chart(const std::vector<IntervalRow>& rows, const Frame& frame) {
  double lo = 0, hi = 0;  // 0 is always on the axis
  bool any = false;
  for (const IntervalRow& row : rows) {
    if (!std::isfinite(row.value) || !std::isfinite(row.low) || !std::isfinite(row.high)) continue;
    lo = std::min({lo, row.low, row.value});
    hi = std::max({hi, row.high, row.value});
    any = true;
  }
  if (!any) return no_data(frame);
  const auto [x0, x1] = with_margin(lo, hi, 0.05);
  Plot plot(frame, x0, x1, 0, static_cast<double>(rows.size()));
  plot.left = 190;
  plot.top = 10;
  const std::vector<double> ticks = nice_ticks(x0, x1, 6);
  std::string out = open_svg(frame) + axes(plot, ticks, {}, frame);
  out += "<path d=\"M" + px(plot.x(0)) + " " + px(plot.top) + "V" + px(plot.bottom) +
         "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const IntervalRow& row = rows[r];
    const std::string y = px(plot.y(static_cast<double>(rows.size() - r) - 0.5));
    out += "<text x=\"" + px(plot.left - 8) + "\" y=\"" + y + "\" dy=\"4\" text-anchor=\"end\" fill=\"#333\">" +
           escape(row.label) + "</text>\n";
    if (!std::isfinite(row.value) || !std::isfinite(row.low) || !std::isfinite(row.high)) continue;
    out += "<path d=\"M" + px(plot.x(row.low)) + " " + y + "H" + px(plot.x(row.high)) + "\" stroke=\"" + row.color +
           "\" stroke-width=\"6\" stroke-linecap=\"round\" opacity=\"0.6\"/>\n<circle cx=\"" + px(plot.x(row.value)) +
           "\" cy=\"" + y + "\" r=\"4\" fill=\"" + row.color + "\"/>\n";
  }
  return out + "</svg>\n";
}

}  // namespace curate::report::svg
