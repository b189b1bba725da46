// SEL.examples.html: every selected example as one row of a table, with a search box (report.h).
#include <string>
#include <string_view>

#include "curate/report/report.h"
#include "curate/util/terminal.h"
#include "report/report_common.h"

namespace curate::report {
namespace {

using detail::escape;

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:2em;padding:0}
h1{font-size:1.5em;margin:0 0 .3em}
p{margin:.4em 0}
code{background:#f3f3f3;padding:0 .25em}
input{font:inherit;width:30em;max-width:100%;padding:.25em .4em;margin:.6em 0}
table{border-collapse:collapse}
th,td{border-bottom:1px solid #e3e3e3;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f6f6f6;position:sticky;top:0}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.text{font-size:.92em;color:#333;max-width:48em;white-space:pre-wrap;overflow-wrap:anywhere}
)";

// Filters the rows by the search box's text, case-insensitive, against every cell of a row; the page's
// address may carry the text (SEL.examples.html#medqa). The box is hidden until this runs, so without
// JavaScript the page is a plain table.
constexpr const char* kScript = R"(
(function(){
var box=document.getElementById('search'),shown=document.getElementById('shown');
var rows=Array.prototype.slice.call(document.querySelectorAll('#examples tbody tr'));
var texts=rows.map(function(r){return r.textContent.toLowerCase();});
function filter(){
var q=box.value.toLowerCase(),n=0;
rows.forEach(function(r,i){var m=texts[i].indexOf(q)>=0;r.hidden=!m;if(m)n++;});
shown.textContent=String(n);
}
box.hidden=false;
box.addEventListener('input',filter);
if(location.hash.length>1){box.value=decodeURIComponent(location.hash.slice(1));filter();}
})();
)";

std::string number_cell(double value) { return "<td class=\"n\">" + detail::format_general(value) + "</td>"; }

// User text as HTML: control characters made visible (\x1b), then HTML-escaped.
std::string text(std::string_view raw) { return escape(escape_control(raw, /*keep_newlines=*/false)); }

}  // namespace

std::string examples_html(const ExamplesPage& page) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Selected examples: " +
      text(page.title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  out +=
      "<h1>Selected examples: " + text(page.title) + "</h1>\n<p>" + detail::format_count(page.selected) + " selected";
  if (static_cast<int64_t>(page.rows.size()) < page.selected) {
    out += "; the first " + detail::format_count(static_cast<int64_t>(page.rows.size())) +
           " in dataset order are listed (the page lists at most " +
           detail::format_count(static_cast<int64_t>(kMaxExampleRows)) +
           " rows; the selected ids file and the scores table hold every one)";
  }
  out += ". Each row shows the first " + std::to_string(kExampleTextChars) +
         " characters of the reasoning text (control characters as \\xNN). <code>curate_tool explain " +
         text(page.results) + " ID</code> prints any example whole, with why it was or was not selected.";
  if (!page.report.empty()) out += " <a href=\"" + escape(page.report) + "\">The selection report</a>.";
  out +=
      "</p>\n<input id=\"search\" type=\"search\" hidden placeholder=\"filter the rows: any column\" "
      "aria-label=\"filter the rows\"> <span><span id=\"shown\">" +
      std::to_string(page.rows.size()) + "</span> rows shown</span>\n";
  out +=
      "<table id=\"examples\">\n<thead><tr><th>id</th><th>line</th><th>source</th><th>domain</th><th>cluster</th>"
      "<th>score</th><th>difficulty</th><th>prompt tokens</th><th>reasoning tokens</th><th>reasoning "
      "(beginning)</th></tr></thead>\n<tbody>\n";
  for (const ExampleRow& row : page.rows) {
    out += "<tr><td>" + text(row.id) + "</td><td class=\"n\">" + std::to_string(row.line) + "</td><td>" +
           text(row.source) + "</td><td>" + text(row.domain) + "</td><td class=\"n\">" +
           (row.cluster < 0 ? std::string("–") : std::to_string(row.cluster)) + "</td>" + number_cell(row.score) +
           number_cell(row.difficulty) + "<td class=\"n\">" + std::to_string(row.prompt_tokens) +
           "</td><td class=\"n\">" + std::to_string(row.reasoning_tokens) + "</td><td class=\"text\">" +
           escape(detail::shorten(escape_control(row.text), kExampleTextChars)) + "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n<script>";
  out += kScript;
  return out + "</script>\n</body>\n</html>\n";
}

}  // namespace curate::report
