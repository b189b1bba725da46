// Report sections about the run itself: settings and cost of each pass, the calibration of the
// difficulty checkpoint, and the funnel from records read to examples selected.
#include <map>

#include "report/report_common.h"

namespace curate::report {

bool Calibration::in_band() const {
  if (chosen < 0 || static_cast<std::size_t>(chosen) >= lines.size()) return false;
  const double r = lines[static_cast<std::size_t>(chosen)].ratio;
  return r >= low && r <= high;
}

namespace detail {
namespace {

using nlohmann::json;

struct Funnel {
  int64_t read = 0, scored = 0, kept = 0, profiled = 0, selected = 0;
  std::map<std::string, int64_t> skipped;
  int64_t skipped_total() const {
    int64_t n = 0;
    for (const auto& [reason, count] : skipped) n += count;
    return n;
  }
};

Funnel funnel_of(const SourceView& s) { return {s.read, s.scored, s.kept, s.profiled, s.selected, s.skipped}; }

// Sums of the per-source funnels; without per-source data, the report's totals.
Funnel total_funnel(const ReportData& data) {
  Funnel f;
  if (data.sources.empty()) {
    f.skipped = data.skipped;
    f.scored = data.examples;
    f.read = data.examples + f.skipped_total();
    f.kept = f.profiled = data.kept;
    f.selected = data.selected;
    return f;
  }
  for (const SourceView& s : data.sources) {
    f.read += s.read, f.scored += s.scored, f.kept += s.kept, f.profiled += s.profiled, f.selected += s.selected;
    for (const auto& [reason, count] : s.skipped) f.skipped[reason] += count;
  }
  return f;
}

std::string bar_cell(int64_t count, int64_t whole, bool selected = false) {
  const double fraction = std::clamp(std::isfinite(ratio(count, whole)) ? ratio(count, whole) : 0.0, 0.0, 1.0);
  return "<td class=\"num\">" + format_count(count) + "</td><td><span class=\"bar" + (selected ? " sel" : "") +
         "\" style=\"width:" + format_general(fraction * 240, 4) + "px\"></span>" +
         format_percent(ratio(count, whole)) + "</td>";
}

}  // namespace

std::string run_facts_html(const ReportData& data) {
  std::string out = "<section id=\"run\">\n<h2>Run</h2>\n";
  const bool gpu = data.device.rfind("cuda", 0) == 0;
  if (data.passes.empty()) {
    out += "<p class=\"empty\">The result file records no pass timings.</p>\n";
  } else {
    out +=
        "<table>\n<thead><tr><th>Pass</th><th class=\"num\">Checkpoints</th><th class=\"num\">Examples</th>"
        "<th class=\"num\">Tokens</th><th class=\"num\">Time</th><th class=\"num\">Tokens/s</th><th class=\"num\">" +
        std::string(gpu ? "GPU-hours" : "Worker-hours") + "</th><th class=\"num\">Ranks</th></tr></thead>\n<tbody>\n";
    double seconds = 0, worker_seconds = 0;
    for (const PassFacts& p : data.passes) {
      const double rate = p.seconds > 0 ? static_cast<double>(p.tokens) / p.seconds : NAN;
      out += "<tr><td>" + escape(p.name) + "</td><td class=\"num\">" +
             (p.checkpoints ? format_count(p.checkpoints) : "–") + "</td><td class=\"num\">" +
             format_count(p.examples) + "</td><td class=\"num\">" + (p.tokens ? format_count(p.tokens) : "–") +
             "</td><td class=\"num\">" + format_duration(p.seconds) + "</td><td class=\"num\">" +
             (std::isfinite(rate) && p.tokens ? format_count(std::llround(rate)) : "–") + "</td><td class=\"num\">" +
             format_general(p.worker_seconds / 3600, 3) + "</td><td class=\"num\">" +
             (p.ranks ? format_count(p.ranks) : "–") + "</td></tr>\n";
      if (std::isfinite(p.seconds)) seconds += p.seconds;
      if (std::isfinite(p.worker_seconds)) worker_seconds += p.worker_seconds;
    }
    out += "</tbody>\n<tfoot><tr><td colspan=\"4\">total</td><td class=\"num\">" + format_duration(seconds) +
           "</td><td></td><td class=\"num\">" + format_general(worker_seconds / 3600, 3) +
           "</td><td></td></tr></tfoot>\n</table>\n<p class=\"note\">Time and tokens are summed over the runs that "
           "completed each pass (a run stopped in the middle of a pass is not counted). " +
           (gpu ? "GPU-hours" : "Worker-hours") + ": wall time × scoring ranks (device " +
           (data.device.empty() ? "–" : escape(data.device)) + ").</p>\n";
  }
  for (const NanLossLine& n : data.nan_losses) {
    out += "<p class=\"warn\"><b>NaN losses:</b> " + format_count(n.examples) + " example(s) of the " + escape(n.pass) +
           " pass have NaN losses at " + escape(n.checkpoint) +
           "; they count as not scored (run.max_nan_fraction stops a run with more).</p>\n";
  }
  if (!data.settings.empty()) {
    out += "<h3>Settings that change the result</h3>\n<table class=\"run\">\n";
    for (const auto& [name, value] : data.settings) {
      out += "<tr><th>" + escape(name) + "</th><td>" + (value.empty() ? "–" : escape(value)) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  if (!data.fingerprint.empty()) {
    out += "<details><summary>Configuration fingerprint (stored in the result file)</summary><code class=\"fp\">" +
           escape(data.fingerprint) + "</code></details>\n";
  }
  return out + "</section>\n";
}

std::string calibration_html(const ReportData& data) {
  const Calibration& c = data.calibration;
  std::string out = "<section id=\"calibration\">\n<h2>Calibration of the difficulty checkpoint</h2>\n";
  if (c.lines.empty()) {
    if (c.chosen > 0) {
      return out + "<p>The difficulty pass used Gaussian checkpoint " + std::to_string(c.chosen) +
             ", fixed by pass.gaussian_checkpoint; nothing was calibrated.</p>\n</section>\n";
    }
    return out + "<p class=\"empty\">The result file holds no calibration.</p>\n</section>\n";
  }
  out += "<p class=\"note\">Mean loss of the first " + format_count(c.tokens) + " reasoning tokens of " +
         format_count(c.samples) +
         " sampled examples at the base model and at each cumulative Gaussian checkpoint; the difficulty pass uses "
         "the first checkpoint whose ratio to the base model falls in the wanted band [" +
         format_general(c.low) + ", " + format_general(c.high) + "], else the one closest to its middle.</p>\n";
  out +=
      "<table>\n<thead><tr><th>Checkpoint</th><th class=\"num\">Mean loss</th><th class=\"num\">Ratio to base</th>"
      "<th>In band</th></tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    const CalibrationLine& line = c.lines[i];
    const bool chosen = static_cast<int>(i) == c.chosen;
    const bool in = line.ratio >= c.low && line.ratio <= c.high;
    out += std::string("<tr") + (chosen ? " class=\"chosen\"" : "") + "><td>" + escape(line.checkpoint) +
           (chosen ? " ◀ chosen" : "") + "</td><td class=\"num\">" + format_general(line.mean_loss) +
           "</td><td class=\"num\">" + format_general(line.ratio) + "</td><td>" +
           (i == 0 ? ""
            : in   ? "yes"
                   : "no") +
           "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n";
  if (c.in_band()) {
    out += "<p class=\"ok\">The chosen checkpoint's ratio " +
           format_general(c.lines[static_cast<std::size_t>(c.chosen)].ratio) + " lies in the wanted band.</p>\n";
  } else {
    const std::string got = c.chosen >= 0 && static_cast<std::size_t>(c.chosen) < c.lines.size()
                                ? format_general(c.lines[static_cast<std::size_t>(c.chosen)].ratio)
                                : "–";
    out += "<p class=\"warn\"><b>Calibration missed:</b> no checkpoint reached a ratio in [" + format_general(c.low) +
           ", " + format_general(c.high) + "]; the difficulty pass used the closest (ratio " + got +
           "). Difficulties are then measured under too little (or too much) noise to separate the examples well: "
           "change perturb.gaussian_min_std / gaussian_max_std (or the band, pass.calibration_low / "
           "calibration_high) and rerun with a new output.</p>\n";
  }
  return out + "</section>\n";
}

std::string funnel_html(const ReportData& data) {
  const Funnel total = total_funnel(data);
  std::string out =
      "<section id=\"funnel\">\n<h2>Funnel</h2>\n<table>\n<thead><tr><th>Stage</th>"
      "<th class=\"num\">Records</th><th>Of read</th></tr></thead>\n<tbody>\n";
  out += "<tr><td>read</td>" + bar_cell(total.read, total.read) + "</tr>\n";
  out += "<tr><td>skipped</td>" + bar_cell(total.skipped_total(), total.read) + "</tr>\n";
  for (const auto& [reason, count] : total.skipped) {
    out += "<tr class=\"sub\"><td>&nbsp;&nbsp;" + escape(reason) + "</td>" + bar_cell(count, total.read) + "</tr>\n";
  }
  out += "<tr><td>scored (difficulty pass)</td>" + bar_cell(total.scored, total.read) + "</tr>\n";
  out += "<tr><td>kept by the difficulty filter</td>" + bar_cell(total.kept, total.read) + "</tr>\n";
  out += "<tr><td>profiled</td>" + bar_cell(total.profiled, total.read) + "</tr>\n";
  out += "<tr><td>selected</td>" + bar_cell(total.selected, total.read, true) + "</tr>\n</tbody>\n</table>\n";
  if (data.sources.empty()) return out + "</section>\n";
  out +=
      "<h3>By source</h3>\n<table>\n<thead><tr><th>Domain</th><th>Source</th><th class=\"num\">Read</th>"
      "<th class=\"num\">Skipped</th><th class=\"num\">Scored</th><th class=\"num\">Kept</th>"
      "<th class=\"num\">Profiled</th><th class=\"num\">Selected</th><th class=\"num\">Selected of kept</th>"
      "</tr></thead>\n<tbody>\n";
  std::vector<int64_t> sizes;
  for (const SourceView& s : data.sources) sizes.push_back(s.read);
  const std::vector<uint8_t> shown = largest_rows(sizes);
  const auto row = [&](const std::string& domain, const std::string& source, const Funnel& f) {
    out += "<tr><td>" + domain + "</td><td>" + source + "</td>";
    for (int64_t v : {f.read, f.skipped_total(), f.scored, f.kept, f.profiled, f.selected}) {
      out += "<td class=\"num\">" + format_count(v) + "</td>";
    }
    out += "<td class=\"num\">" + format_percent(ratio(f.selected, f.kept)) + "</td></tr>\n";
  };
  Funnel others;
  int64_t folded = 0;
  for (std::size_t i = 0; i < data.sources.size(); ++i) {
    const SourceView& s = data.sources[i];
    const Funnel f = funnel_of(s);
    if (!shown[i]) {
      others.read += f.read, others.scored += f.scored, others.kept += f.kept, others.profiled += f.profiled,
          others.selected += f.selected, ++folded;
      for (const auto& [reason, count] : f.skipped) others.skipped[reason] += count;
      continue;
    }
    const bool unknown = s.source.empty() && s.domain.empty();
    row(unknown ? std::string("–") : escape(s.domain),
        unknown ? std::string("<i>unknown (record not parsed)</i>") : escape(s.source), f);
  }
  if (folded > 0) row("", "<i>" + format_count(folded) + " other groups (the summary JSON lists each)</i>", others);
  out +=
      "</tbody>\n</table>\n<p class=\"note\">Scored: the difficulty pass had reasoning tokens to score. Profiled: "
      "kept examples with a finite loss profile. Records that did not parse have no source.</p>\n";
  return out + "</section>\n";
}

json run_json(const ReportData& data) {
  json calibration = {{"low", number(data.calibration.low)}, {"high", number(data.calibration.high)},
                      {"tokens", data.calibration.tokens},   {"samples", data.calibration.samples},
                      {"chosen", data.calibration.chosen},   {"in_band", data.calibration.in_band()},
                      {"checkpoints", json::array()}};
  for (const CalibrationLine& line : data.calibration.lines) {
    calibration["checkpoints"].push_back(
        {{"checkpoint", line.checkpoint}, {"mean_loss", number(line.mean_loss)}, {"ratio", number(line.ratio)}});
  }
  json passes = json::array();
  for (const PassFacts& p : data.passes) {
    passes.push_back({{"name", p.name},
                      {"checkpoints", p.checkpoints},
                      {"examples", p.examples},
                      {"tokens", p.tokens},
                      {"seconds", number(p.seconds)},
                      {"worker_seconds", number(p.worker_seconds)},
                      {"ranks", p.ranks}});
  }
  json nan_losses = json::array();
  for (const NanLossLine& n : data.nan_losses) {
    nan_losses.push_back({{"pass", n.pass}, {"checkpoint", n.checkpoint}, {"examples", n.examples}});
  }
  json settings = json::object();
  for (const auto& [name, value] : data.settings) settings[name] = value;
  json links = json::object();
  for (const auto& [label, name] : data.links) links[label] = name;
  const Funnel f = total_funnel(data);
  return {{"calibration", std::move(calibration)},
          {"passes", std::move(passes)},
          {"nan_losses", std::move(nan_losses)},
          {"settings", std::move(settings)},
          {"fingerprint", data.fingerprint},
          {"device", data.device},
          {"files", std::move(links)},
          {"funnel",
           {{"read", f.read},
            {"skipped", f.skipped},
            {"scored", f.scored},
            {"kept", f.kept},
            {"profiled", f.profiled},
            {"selected", f.selected}}}};
}

}  // namespace detail
}  // namespace curate::report
