#!/usr/bin/env bash
# Any example, whole, on a real (fake-worker) run file: `curate_tool explain RUN.h5 ID` with the
# settings the result file records (from any folder, --line after the file, the command line over
# them), a moved dataset named with the option that finds it, --help; the selection's examples page
# (one row per selected example, linked from the report, listed with its digest in the selection
# file) and a re-selection that replaces it.
#   explain_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
tool=$(abs "$1") dist=$(abs "$2") same=$(abs "$3") mpiexec=$4 tokenizer=$(abs "$5")
source "$(dirname "$0")/common.sh"

run scored --test.fake_worker 1 --output.path run.h5
expect 0 scored "the fake-worker run"
id=$(sed -n 3p run.selected_ids.txt)
[ -n "$id" ] || fail "no selected ids"

# 1. The positional form, from another folder, with a relative path to the file.
mkdir elsewhere
(cd elsewhere && "$tool" explain ../run.h5 "$id") > explain.out 2> explain.err || { cat explain.err; fail "explain RUN.h5 ID"; }
grep -q "^example $id: line [0-9]* of $work/data.jsonl, source " explain.out || { cat explain.out; fail "the example's heading"; }
grep -q "^--- reasoning (scored)$" explain.out && grep -q "^verdict: selected$" explain.out \
  || { cat explain.out; fail "the text or the verdict"; }
line=$(sed -n 's/^example [^:]*: line \([0-9]*\) of .*/\1/p' explain.out)
"$tool" explain run.h5 --line "$line" > line.out 2>&1 || { cat line.out; fail "explain RUN.h5 --line N"; }
diff <(grep -v '^selection: ' explain.out) <(grep -v '^selection: ' line.out) \
  || fail "--line $line after the file explains another example than its id"  # the selection's path is relative
"$tool" explain run.h5 --id "$id" > id.out 2>&1 || { cat id.out; fail "explain RUN.h5 --id ID"; }
diff <(grep -v '^selection: ' explain.out) <(grep -v '^selection: ' id.out) || fail "--id after the file explains another example"
set +e
"$tool" explain run.h5 "$id" --id 1 > twice.log 2>&1
code=$?
set -e
[ "$code" -eq 2 ] && grep -q "explain: the id is given twice ('$id' and --id 1)" twice.log || { cat twice.log; fail "an id given twice: exit $code"; }
"$tool" explain run.h5 "$id" --pass.difficulty_tokens 7 > override.out 2>&1 || { cat override.out; fail "an override"; }
grep -q "(mean over the first 7 scored tokens)" override.out || fail "a --section.key value does not go over the recorded settings"
"$tool" explain --config run.ini --output.path run.h5 --id "$id" > config.out 2>&1 || { cat config.out; fail "the --config form"; }
grep -q "^verdict: selected$" config.out || { cat config.out; fail "the --config form's verdict"; }
h5dump -a /settings run.h5 > settings.txt
grep -q "^ *path = $work/data.jsonl$" settings.txt || { cat settings.txt; fail "the file does not record the dataset's absolute path"; }
echo "ok: explain RUN.h5 ID with the recorded settings, from another folder; --line, overrides and --config agree"

# 2. --help names the positional form.
"$tool" explain --help > help.out || fail "explain --help"
grep -q "curate_tool explain RUN.h5 ID" help.out && grep -q -- "--data.path PATH when the dataset moved" help.out \
  || { cat help.out; fail "--help lacks the positional form"; }

# 3. A moved dataset: exit 3 naming it and --data.path; --data.path finds it.
mv data.jsonl moved.jsonl
set +e
"$tool" explain run.h5 "$id" > moved.log 2>&1
code=$?
set -e
[ "$code" -eq 3 ] || { cat moved.log; fail "explain with the dataset moved: exit $code, expected 3"; }
grep -q "the dataset $work/data.jsonl that run.h5 was scored from is missing (moved or deleted): give its new place with --data.path PATH" moved.log \
  || { cat moved.log; fail "the refusal does not name the dataset and --data.path"; }
"$tool" explain run.h5 "$id" --data.path moved.jsonl > found.out 2>&1 || { cat found.out; fail "--data.path of the moved dataset"; }
grep -q "^verdict: selected$" found.out || { cat found.out; fail "--data.path of the moved dataset: no verdict"; }
mv moved.jsonl data.jsonl
echo "ok: a moved dataset is refused with exit 3 naming it and --data.path, which finds it"

# 4. The examples page: a row per selected example, linked from the report, vouched for by the selection file.
rows() { grep -o '<tr><td>' "$1" | wc -l; }
[ "$(rows run.examples.html)" -eq "$(wc -l < run.selected_ids.txt)" ] || fail "the page's rows are not the selected examples"
grep -q "<tr><td>$id</td>" run.examples.html || fail "the page lacks $id"
grep -q "curate_tool explain $work/run.h5 ID" run.examples.html || fail "the page does not name explain"
grep -q '<a href="run.examples.html">' run.report.html || fail "the report does not link the page"
listed() {
  h5dump -d /selection/outputs run.selection.h5 > outputs.txt
  grep -o "\"run.examples.html"$'\t'"[0-9]*" outputs.txt | cut -f2
}
[ "$(listed)" = "$(stat -c %s run.examples.html)" ] || fail "the selection file does not list the page with its size"
before=$(cksum < run.examples.html)

# 5. A re-selection replaces the page with the rest of the selection.
run reselect --test.fake_worker 1 --output.path run.h5 --stage select --select.budget 20
expect 0 reselect "the re-selection"
[ "$(wc -l < run.selected_ids.txt)" -eq 20 ] && [ "$(rows run.examples.html)" -eq 20 ] || fail "the page of the re-selection"
[ "$(cksum < run.examples.html)" != "$before" ] || fail "the page was not rewritten"
[ "$(listed)" = "$(stat -c %s run.examples.html)" ] || fail "the selection file lists the old page"
echo "ok: the examples page lists every selected example, is linked and listed, and follows a re-selection"
