#!/usr/bin/env bash
# End-to-end test of curate_dist under mpirun: the same configuration gives bitwise the same HDF5
# results with 1, 2 and 3 ranks; a run stopped by SIGTERM exits 130 and, rerun, ends equal to an
# uninterrupted run; a changed configuration is refused on resume; a failing worker ends the job
# with a message naming its rank.
#   service_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
tool=$1 dist=$2 same=$3 mpiexec=$4 tokenizer=$5
source "$(dirname "$0")/common.sh"

for np in 1 2 4; do
  "$mpiexec" -n $np "$dist" --config run.ini --output.path np$np.h5 > np$np.log 2>&1 || { cat np$np.log; fail "np=$np run failed"; }
done
"$same" np1.h5 np2.h5 $datasets || fail "1 and 2 ranks differ"
"$same" np1.h5 np4.h5 $datasets || fail "1 and 4 ranks differ"
cmp np1.selected.jsonl np2.selected.jsonl && cmp np1.selected.jsonl np4.selected.jsonl || fail "selections differ across rank counts"
[ "$(wc -l < np1.selected.jsonl)" -eq 40 ] || fail "the budget of 40 examples was not met exactly"
python3 - <<'PY' || fail "selection outputs are incomplete"
import json
summary = json.load(open("np1.summary.json"))
assert summary["totals"]["selected"] == 40, summary["totals"]
records = set(open("data.jsonl").read().split("\n"))
for line in open("np1.selected.jsonl").read().split("\n")[:-1]:
    assert line in records, line  # the dataset's own lines (tests/e2e/export_test.sh checks every format)
info = json.load(open("dataset_info.json"))  # flat prompt/reasoning records: no LLaMA-Factory entry can read them
assert "np1.selected" not in info, info
html = open("np1.report.html").read()
assert "<svg" in html and "</html>" in html
PY
grep -q "chosen: gaussian" np1.log || fail "no calibration table in the log"
# The profile pass stores only the examples the filter kept: [C, K, T] rows = /profile/example.
"$same" --profile-layout np1.h5 || fail "the compact profile layout is wrong"
"$tool" inspect np1.h5 > inspect.txt
kept=$(sed -n 's/^filter: .*, the profile pass scores \([0-9]*\) examples$/\1/p' inspect.txt)
[ -n "$kept" ] || { cat inspect.txt; fail "inspect does not show the filter"; }
grep -qx "  rows: $kept examples (/profile/example); token losses: float32 \[3, $kept, 80\]" inspect.txt \
  || { cat inspect.txt; fail "inspect does not show the compact profile [3, $kept, 80]"; }
# A filter that keeps about half: profile rows are then a proper subset of the records.
"$mpiexec" -n 2 "$dist" --config run.ini --output.path half.h5 --filter.method quantile --filter.quantile 0.5 --filter.whole_budget 0 \
  > half.log 2>&1 || { cat half.log; fail "the run with a quantile filter failed"; }
"$same" --profile-layout half.h5 || fail "the compact profile layout is wrong under a filter that keeps half"
half=$("$tool" inspect half.h5 | sed -n 's/^  rows: \([0-9]*\) examples (\/profile\/example).*/\1/p')
[ -n "$half" ] && [ "$half" -lt 400 ] && [ "$half" -gt 100 ] || fail "a filter keeping half stored $half profile rows"
grep -q "profile pass done" np4.log || fail "np=4 did not finish the profile pass"
echo "ok: identical results and selections with 1, 2 and 4 ranks; budget met; the selected lines are the input lines; summary and report written"

# The service's losses equal curate_tool nll's on the same tokens at the same perturbed checkpoint.
chosen=$("$tool" inspect np1.h5 | sed -n 's/^calibration: done, chosen gaussian //p')
[ -n "$chosen" ] || fail "inspect does not show the chosen checkpoint"
"$tool" prepare --tokenizer "$tokenizer" --input data.jsonl --output prepared.jsonl --log-level warn
python3 - <<'PY'
import json
with open("nll_in.jsonl", "w") as out:
    for line in list(open("prepared.jsonl"))[:6]:
        row = json.loads(line)
        out.write(json.dumps({"line": row["line"], "start": row["reasoning_start"], "input_ids": row["input_ids"]}) + "\n")
PY
"$tool" nll --model base --input nll_in.jsonl --output nll_out.jsonl --family gaussian --checkpoint "$chosen" \
  --perturb.gaussian_checkpoints 4 --threads 1 --log-level warn
while read -r row; do
  line=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["line"])' "$row")
  "$same" --row np1.h5 $h5_difficulty_losses $((line - 1)) > stored.json
  python3 - "$row" <<'PY' || fail "service and curate_tool nll disagree on line $line"
import json, sys
row = json.loads(sys.argv[1])
stored = json.load(open("stored.json"))
mine = row["nll"][row["start"] - 1:row["start"] - 1 + len(stored)]
pairs = [(a, b) for a, b in zip(stored, mine) if a is not None]
assert pairs, "nothing to compare"
worst = max(abs(a - b) for a, b in pairs)
assert worst < 1e-5, worst
PY
done < nll_out.jsonl
echo "ok: difficulty losses equal curate_tool nll at gaussian $chosen within 1e-5"

# Stop with SIGTERM (to the ranks, as scancel and Ctrl-C deliver it) once some profile units are stored, then resume.
"$mpiexec" -n 3 "$dist" --config run.ini --output.path stopped.h5 > stopped.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q "profile pass:" stopped.log 2>/dev/null && break
  sleep 0.05
done
pkill -TERM -P $pid
set +e
wait $pid
code=$?
set -e
[ $code -eq 130 ] || { cat stopped.log; fail "stopped run exited $code, expected 130"; }
grep -q "stop requested" stopped.log || { cat stopped.log; fail "no stop message"; }
"$mpiexec" -n 2 "$dist" --config run.ini --output.path stopped.h5 > resumed.log 2>&1 || { cat resumed.log; fail "resume failed"; }
grep -q "resuming" resumed.log || { cat resumed.log; fail "the rerun did not resume"; }
"$same" np1.h5 stopped.h5 $datasets || fail "resumed run differs from the uninterrupted one"
echo "ok: SIGTERM exits 130 and the resumed run equals the uninterrupted one"

# While a run is going, its file opens in h5dump, and a second run on the same output is refused.
# Its workers are paused (SIGSTOP) so that it is surely still going, then let go to finish.
"$mpiexec" -n 3 "$dist" --config run.ini --output.path busy.h5 > busy.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q "profile pass:" busy.log 2>/dev/null && break
  sleep 0.05
done
workers="$(rank_pid $pid 1) $(rank_pid $pid 2)"
kill -STOP $workers
h5dump -H busy.h5 > dump.txt 2>&1 || { cat dump.txt; kill -CONT $workers; fail "h5dump cannot open a file that is being written"; }
grep -q "profile" dump.txt || { kill -CONT $workers; fail "h5dump does not show the passes of a running job"; }
set +e
"$mpiexec" -n 1 "$dist" --config run.ini --output.path busy.h5 > second.log 2>&1
code=$?
kill -CONT $workers
wait $pid
busy=$?
set -e
[ $code -eq 5 ] && grep -q "another curate_dist run" second.log || { cat second.log; fail "a second run on the same output exited $code"; }
[ $busy -eq 0 ] || { cat busy.log; fail "the paused run did not finish"; }
"$same" np1.h5 busy.h5 $datasets || fail "the paused run differs"
echo "ok: a running job's file opens in h5dump; a second run on the same output is refused (exit 5)"

# A different configuration must not be mixed into an existing file.
set +e
"$mpiexec" -n 1 "$dist" --config run.ini --output.path np1.h5 --run.seed 5 > changed.log 2>&1
code=$?
set -e
[ $code -eq 2 ] || { cat changed.log; fail "changed configuration exited $code, expected 2"; }
grep -q "different configuration" changed.log || fail "no explanation for the refused resume"
"$mpiexec" -n 1 "$dist" --config run.ini --output.path np1.h5 --run.seed 5 --stage difficulty --fresh > fresh.log 2>&1 \
  || { cat fresh.log; fail "--fresh did not start over"; }
ls np1.h5.discarded-* > /dev/null || fail "--fresh did not keep the old file aside"
echo "ok: a changed configuration is refused, and --fresh starts over keeping the old file aside"

# A truncated fine-tuned model is refused by rank 0 before any worker loads (exit 4, the file named);
# one that only a worker finds broken when it builds a directional checkpoint (a NaN weight) ends the job
# naming the rank and the tensor, with the worker's exit code (4, not 6).
mkdir broken && cp tuned/config.json broken/ && head -c 1000 tuned/model.safetensors > broken/model.safetensors
set +e
"$mpiexec" -n 2 "$dist" --config run.ini --output.path broken.h5 --perturb.target broken > broken.log 2>&1
code=$?
set -e
[ $code -eq 4 ] || { cat broken.log; fail "a truncated fine-tuned model: exit $code, expected 4"; }
grep -q "broken/model.safetensors" broken.log && grep -q "truncated" broken.log || { cat broken.log; fail "the refusal does not say what is wrong"; }
cp tuned/model.safetensors broken/model.safetensors
python3 - <<'PY'
import json, struct
path = "broken/model.safetensors"
data = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", data[:8])[0]
t = json.loads(data[8:8 + n])["model.layers.0.mlp.up_proj.weight"]
struct.pack_into("<f", data, 8 + n + t["data_offsets"][0] + 12, float("nan"))
open(path, "wb").write(data)
PY
set +e
"$mpiexec" -n 2 "$dist" --config run.ini --output.path broken.h5 --perturb.target broken > broken.log 2>&1
code=$?
set -e
[ $code -eq 4 ] || { cat broken.log; fail "a NaN weight in the fine-tuned model: exit $code, expected 4"; }
grep -q "rank 1 failed on directional 1" broken.log || { cat broken.log; fail "the failure does not name the rank and checkpoint"; }
grep -q "model.layers.0.mlp.up_proj.weight" broken.log || { cat broken.log; fail "the failure does not name the tensor"; }
echo "ok: a failing worker is named"

# A prompt longer than data.max_prompt_tokens is skipped as prompt_too_long (it used to run the model over
# every prompt token: a 2 MB prompt spun until run.worker_timeout); the others are scored as before.
"$mpiexec" -n 2 "$dist" --config run.ini --output.path limit.h5 --stage difficulty --data.max_prompt_tokens 60 > limit.log 2>&1 \
  || { cat limit.log; fail "the run with data.max_prompt_tokens failed"; }
"$tool" inspect limit.h5 > limit.txt
grep -q " prompt_too_long" limit.txt || { cat limit.txt; fail "inspect counts no prompt_too_long record"; }
python3 - "$h5_examples_status" "$h5_examples_prompt_tokens" <<'PY' || fail "prompt_too_long does not mark exactly the prompts over 60 tokens"
import subprocess, sys
def numbers(path):
    text = subprocess.run(["h5dump", "-d", path, "-y", "-w", "0", "limit.h5"], check=True, capture_output=True, text=True).stdout
    body = text[text.index("DATA {") + 6:text.rindex("}")]
    return [int(x) for x in body.replace(",", " ").split() if x.lstrip("-").isdigit()]
status, prompt = numbers(sys.argv[1]), numbers(sys.argv[2])
too_long = [i for i, s in enumerate(status) if s == 10]  # 1 + SkipReason::kPromptTooLong
assert too_long and all(prompt[i] > 60 for i in too_long), too_long[:5]
assert all(prompt[i] <= 60 for i, s in enumerate(status) if s == 0 and prompt[i] > 0)
PY
echo "ok: prompts over data.max_prompt_tokens are skipped as prompt_too_long"
