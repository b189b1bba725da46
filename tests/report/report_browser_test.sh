#!/usr/bin/env bash
# The HTML report in a real browser: headless Chromium loads the realistic fixture report (written by
# report_test's Report.RealisticReport) with console logging on; the test fails on any console message
# (a script error, an SVG attribute the browser rejects) and checks that the loaded DOM holds every
# section. A page with a known console error is loaded first, to show that this Chromium's messages
# are seen at all. The examples page (Report's ExamplesPage tests write it: CURATE_EXAMPLES_EXAMPLE) loads
# the same way, and its script runs: it shows the search box the page hides without JavaScript, and
# filters the rows by the text after '#' in the page's address.
# Exits 77 (CTest: skipped) when no Chromium is installed.
#   report_browser_test.sh REPORT_TEST
set -euo pipefail
report_test=$1
browser=${CURATE_CHROMIUM:-}
if [ -z "$browser" ]; then
  for candidate in chromium-headless-shell chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null; then browser=$candidate; break; fi
  done
fi
if [ -z "$browser" ]; then
  echo "SKIP: no Chromium (apt-get install chromium-headless-shell, or set CURATE_CHROMIUM)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# load PAGE: the DOM after loading into PAGE.dom, the browser's log into PAGE.log.
load() {
  # --no-sandbox: CI runs as root; a fresh profile so that no other Chromium is joined.
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" \
    --enable-logging=stderr --v=0 --dump-dom "file://$1" > "$1.dom" 2> "$1.log" || fail "$browser could not load $1: $(tail -5 "$1.log")"
}

printf '<!DOCTYPE html><html><body><p>control</p><script>console.error("control-error")</script></body></html>\n' > "$work/control.html"
load "$work/control.html"
grep -q 'CONSOLE.*control-error' "$work/control.html.log" ||
  fail "the control page's console error is not in $browser's log; this check cannot see console messages: $(cat "$work/control.html.log")"

CURATE_REPORT_EXAMPLE="$work/report.html" "$report_test" --gtest_filter=Report.RealisticReport > "$work/gtest.log" ||
  fail "report_test could not write the report: $(cat "$work/gtest.log")"
load "$work/report.html"
if grep 'CONSOLE' "$work/report.html.log"; then fail "the report logs console messages (above)"; fi
for id in run calibration funnel allocation clusters difficulty loss sources skipped; do
  grep -q "<section id=\"$id\">" "$work/report.html.dom" || fail "section $id is missing from the loaded page"
done
svgs=$(grep -o '<svg ' "$work/report.html.dom" | wc -l)
[ "$svgs" -ge 10 ] || fail "only $svgs charts in the loaded page"
echo "report loads in $browser without console messages: $(wc -c < "$work/report.html") bytes, $svgs charts"

CURATE_EXAMPLES_EXAMPLE="$work/examples.html" "$report_test" --gtest_filter=ExamplesPage.OneRowPerExample* > "$work/gtest.log" ||
  fail "report_test could not write the examples page: $(cat "$work/gtest.log")"
[ -s "$work/examples.html" ] || fail "report_test wrote no examples page"
load "$work/examples.html"
if grep 'CONSOLE' "$work/examples.html.log"; then fail "the examples page logs console messages (above)"; fi
grep -q '<input id="search" type="search" placeholder=' "$work/examples.html.dom" ||
  fail "the examples page's script did not show its search box: $(grep -o '<input[^>]*>' "$work/examples.html.dom")"
rows=$(grep -o '<tr><td>' "$work/examples.html.dom" | wc -l)
[ "$rows" -eq 7 ] || fail "the loaded examples page holds $rows rows, not 7"
# The search: the page opened as examples.html#rec-3 keeps the one row whose cells hold rec-3.
load "$work/examples.html#rec-3"
shown=$(grep -o '<tr><td>' "$work/examples.html#rec-3.dom" | wc -l)
hidden=$(grep -o '<tr hidden=""><td>' "$work/examples.html#rec-3.dom" | wc -l)
[ "$shown" -eq 1 ] && [ "$hidden" -eq 6 ] && grep -q '<span id="shown">1</span>' "$work/examples.html#rec-3.dom" ||
  fail "searching rec-3 shows $shown rows and hides $hidden: $(grep -o '<tr[^>]*><td>[^<]*' "$work/examples.html#rec-3.dom")"
echo "examples page loads in $browser without console messages; its script shows the search box over $rows rows and filters them"
