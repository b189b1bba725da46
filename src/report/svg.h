// Small inline-SVG charts for the HTML report (internal to curate_report_render): overlaid
// histograms and line charts with axes, ticks at 1-2-5 numbers, axis labels and a legend. Every text
// is HTML-escaped; non-finite values are skipped; a chart without finite data says "no data".
// Each function returns one complete <svg>…</svg> element.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace curate::report::svg {

// Escapes & < > " ' so the result is safe as HTML text and as a quoted attribute value.
std::string escape(std::string_view text);

// The smallest number of the form {1, 2, 5} × 10^k that is >= raw (raw > 0 and finite; else 1).
double nice_step(double raw);

// Ticks k × step, step = nice_step(max((hi - lo) / target, min_step)), from the last one <= lo to the
// first one >= hi; each is the double nearest its decimal value (3 × 0.1 gives 0.3). lo == hi is
// widened around the value; non-finite bounds give {0, 1}.
std::vector<double> nice_ticks(double lo, double hi, int target = 5, double min_step = 0);

// A tick label with as many decimals as `step` needs ("0.25", "1200", "3e-05").
std::string format_tick(double value, double step);

struct Frame {
  std::string title;    // accessible name (<title>), not drawn
  std::string x_label;  // below the x axis
  std::string y_label;  // left of the y axis, rotated
  int width = 640;      // view box, px
  int height = 300;
  bool x_integers = false;  // x ticks at whole numbers only (counts, sizes, indices)
};

struct BarSeries {
  std::string label;            // legend text
  std::string color;            // CSS colour (trusted, not escaped: pass constants)
  std::vector<double> heights;  // one per bin; non-finite and <= 0 draw nothing
};

// Bars over bins [edges[i], edges[i+1]), each series drawn over the previous ones, semi-transparent.
// edges must be increasing; a series with fewer heights than bins leaves the rest empty. The y axis
// starts at 0.
std::string histogram(const std::vector<double>& edges, const std::vector<BarSeries>& series, const Frame& frame);

struct LineSeries {
  std::string label;
  std::string color;      // CSS colour (trusted)
  std::vector<double> x;  // paired with y (the shorter length counts)
  std::vector<double> y;  // a point with a non-finite coordinate is skipped and breaks the line
};

// Lines with a marker at every point; both axes span the nice ticks around the finite data.
std::string line_chart(const std::vector<LineSeries>& series, const Frame& frame);

struct IntervalRow {
  std::string label;                    // drawn left of the row
  double value = 0, low = 0, high = 0;  // a dot at value, a bar from low to high; non-finite: the row is empty
  std::string color;                    // CSS colour (trusted)
};

// One row per interval on a shared x axis (frame.x_label), a dashed line at 0; the rows' labels take
// the left 190 px.
std::string interval_chart(const std::vector<IntervalRow>& rows, const Frame& frame);

}  // namespace curate::report::svg
