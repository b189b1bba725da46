#!/usr/bin/env bash
# Calibration that finds its noise, on the demo models (configs/demo.ini, 3 ranks): a noise range that
# misses the 2-3x band ends with exit 3 on every rank (no MPI_Abort), naming the ratios seen and the std
# range to try; perturb.allow_calibration_miss = true then goes on with the stored calibration; --stage
# calibrate with perturb.gaussian_max_std = auto searches from the missing range into the band, prints
# the value, stores the search and gives the same bits with 1 and 3 ranks; the printed value
# calibrates in the band; a selection warning is printed once, by rank 0.
#   calibrate_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
tool=$(abs "$1") dist=$(abs "$2") same=$(abs "$3") mpiexec=$4
source "$(dirname "$3")/layout.sh"  # h5_* paths
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap '[ -n "${CURATE_KEEP_TEST_DIR:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "FAIL: $*"; exit 1; }
cd "$root"  # the demo's paths are relative to the repository root
demo=(--config configs/demo.ini --run.progress_seconds 60)
weak=(--perturb.gaussian_min_std 0.0001 --perturb.gaussian_max_std 0.0004)  # ratios ~1: far below 2-3

# ranked NAME ARGS...: curate_dist under 3 ranks, each rank's exit code in NAME.codes, the log in NAME.log.
ranked() {
  local name=$1
  shift
  set +e
  "$mpiexec" -n 3 sh -c '"$0" "$@"; code=$?; echo "rank $OMPI_COMM_WORLD_RANK exit $code" >> "'"$work/$name.codes"'"; exit $code' \
    "$dist" "$@" > "$work/$name.log" 2>&1
  code=$?
  set -e
}

# 1. A miss is an error: exit 3 on every rank, before the difficulty pass, with what to try.
ranked miss "${demo[@]}" "${weak[@]}" --stage difficulty --output.path "$work/miss.h5"
[ "$code" -eq 3 ] || { cat "$work/miss.log"; fail "a missed calibration: exit $code, expected 3"; }
[ "$(sort -u "$work/miss.codes" | sed 's/rank [0-9]* //' | sort -u)" = "exit 3" ] || { cat "$work/miss.codes"; fail "the ranks did not agree on exit 3"; }
grep -q "calibration missed its target: best ratio .* wanted 2-3 (ratios seen: std 0.0001 -> " "$work/miss.log" \
  || { cat "$work/miss.log"; fail "the miss does not name the ratios seen"; }
grep -q "try perturb.gaussian_max_std = [0-9.e-]* with perturb.gaussian_min_std <= " "$work/miss.log" \
  || grep -q "no checkpoint changed the loss measurably: try perturb.gaussian_max_std = " "$work/miss.log" \
  || { cat "$work/miss.log"; fail "the miss names no std to try"; }
grep -q "perturb.allow_calibration_miss = true" "$work/miss.log" || fail "the miss does not name allow_calibration_miss"
! grep -q "difficulty pass:" "$work/miss.log" || fail "the difficulty pass ran after a missed calibration"
! grep -q "MPI_ABORT was invoked" "$work/miss.log" || { cat "$work/miss.log"; fail "a refusal called MPI_Abort"; }

# The launcher (Open MPI's orte_execute_quiet): the same refusal without mpirun's "job has been aborted" banner.
set +e
"$root/launch/run_local.sh" -n 3 --dist "$dist" -- "${demo[@]}" "${weak[@]}" --stage difficulty --output.path "$work/miss.h5" > "$work/quiet.log" 2>&1
code=$?
set -e
[ "$code" -eq 3 ] || { cat "$work/quiet.log"; fail "run_local.sh: a missed calibration gave exit $code"; }
! grep -q "has been aborted\|MPI_ABORT" "$work/quiet.log" || { cat "$work/quiet.log"; fail "an abort banner after a refusal"; }
[ "$(grep -c "error calibration missed its target" "$work/quiet.log")" -eq 1 ] || { cat "$work/quiet.log"; fail "the refusal is not printed exactly once"; }

# 2. allow_calibration_miss: the stored calibration is reused (no calibration pass), then the difficulty pass.
ranked allow "${demo[@]}" "${weak[@]}" --stage difficulty --output.path "$work/miss.h5" --perturb.allow_calibration_miss true
[ "$code" -eq 0 ] || { cat "$work/allow.log"; fail "allow_calibration_miss: exit $code"; }
grep -q "perturb.allow_calibration_miss: going on with the closest, gaussian " "$work/allow.log" || { cat "$work/allow.log"; fail "no warning"; }
! grep -q "calibration pass:" "$work/allow.log" || fail "the stored calibration was not reused"
grep -q "difficulty pass done" "$work/allow.log" || fail "no difficulty pass after allow_calibration_miss"

# 3. --stage calibrate with auto, from the default 0.008 (which misses on the demo: it needs ~0.04), with
# 1 and 3 ranks: the same search and bits.
for np in 1 3; do
  "$mpiexec" -n $np "$dist" "${demo[@]}" --perturb.gaussian_min_std 0.0001 --perturb.gaussian_max_std auto --stage calibrate \
    --output.path "$work/cal$np.h5" > "$work/cal$np.out" 2> "$work/cal$np.log" || { cat "$work/cal$np.log"; fail "--stage calibrate (np $np) failed"; }
done
cat "$work/cal1.out"
cmp "$work/cal1.out" "$work/cal3.out" || fail "--stage calibrate printed other values with 1 and 3 ranks"
found=$(sed -n 's/^gaussian_max_std = //p' "$work/cal1.out")
[ -n "$found" ] || fail "--stage calibrate printed no gaussian_max_std"
"$same" "$work/cal1.h5" "$work/cal3.h5" $h5_calibration_loss $h5_calibration_ratio /calibration/search_ratio \
  || fail "the search differs between 1 and 3 ranks"
h5dump -d /calibration/search_std "$work/cal1.h5" | grep -q "\"$found\"" || fail "the stored search lacks $found"
python3 - "$work/cal1.h5" <<'PY' || fail "the calibration after the search is not in the band"
import re, subprocess, sys
text = subprocess.run(["h5dump", "-a", "/calibration/missed", sys.argv[1]], capture_output=True, text=True).stdout
assert re.search(r"\(0\): 0\b", text), text
PY
grep -q "noise search: max std 0.008 -> ratio 1\.[0-9]* at gaussian 8" "$work/cal1.log" || { cat "$work/cal1.log"; fail "the search did not start below the band at the default std"; }

# 4. The printed value calibrates in the band on its own (a fresh run with min_std 0.0001 as before).
"$mpiexec" -n 3 "$dist" "${demo[@]}" --perturb.gaussian_min_std 0.0001 --perturb.gaussian_max_std "$found" --stage difficulty \
  --output.path "$work/found.h5" > "$work/found.log" 2>&1 || { cat "$work/found.log"; fail "the run with the found std failed"; }
grep -q "difficulty pass done" "$work/found.log" || fail "no difficulty pass with the found std"

# 5. A selection warning (the budget exceeds the candidates) is printed once, by rank 0.
"$mpiexec" -n 3 "$dist" "${demo[@]}" "${weak[@]}" --perturb.allow_calibration_miss true --output.path "$work/miss.h5" \
  --select.budget 1000 --select.method random > "$work/select.log" 2>&1 || { cat "$work/select.log"; fail "the selection failed"; }
warned=$(grep -c "warning.*select: " "$work/select.log" || true)
[ "$warned" -ge 1 ] || { cat "$work/select.log"; fail "no selection warning to count"; }
! grep -q "\[rank [12]\].*select: " "$work/select.log" || { grep "select: " "$work/select.log"; fail "a selection warning printed by a rank other than 0"; }
[ -z "$(grep "select: " "$work/select.log" | sed 's/^\[[0-9:]*\] //' | sort | uniq -d)" ] || fail "a selection warning printed twice"

# 6. explain: a selected example and one the selection did not take.
"$mpiexec" -n 2 "$dist" "${demo[@]}" "${weak[@]}" --perturb.allow_calibration_miss true --output.path "$work/miss.h5" \
  --stage select --select.output "$work/b40.selected.jsonl" > "$work/b40.log" 2>&1 || { cat "$work/b40.log"; fail "select 40 failed"; }
explain=("$tool" explain "${demo[@]}" "${weak[@]}" --output.path "$work/miss.h5" --select.output "$work/b40.selected.jsonl")
python3 - "$work" "${explain[@]}" <<'PY' || fail "explain"
import subprocess, sys
work, command = sys.argv[1], sys.argv[2:]
verdicts = {}
for line in range(1, 80):
    out = subprocess.run(command + ["--line", str(line)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for part in ("example ", "--- reasoning (scored)", "verdict: "):
        assert part in text, (part, text)
    verdict = text[text.index("verdict: "):].split("\n")[0]
    kind = "selected" if verdict == "verdict: selected" else verdict.split(":")[2].strip().split(" ")[0] if verdict.count(":") > 1 else verdict
    verdicts.setdefault(kind, text)
    if line == 1: open(work + "/explain1.txt", "w").write(text)
assert "selected" in verdicts, verdicts.keys()
selected = verdicts["selected"]
assert "difficulty loss: " in selected and "profile means per checkpoint: 1: " in selected and "cluster: " in selected, selected
assert "  allocation: level\tdomain\tsource" in selected, selected
assert len(verdicts) >= 2, verdicts.keys()  # one taken, one not (filtered or below its cluster's cut)
print("explain verdicts:", sorted(verdicts))
PY
set +e
"${explain[@]}" --id no-such-id > "$work/noid.log" 2>&1
code=$?
set -e
[ "$code" -eq 2 ] && grep -q "has no example with id 'no-such-id'" "$work/noid.log" || { cat "$work/noid.log"; fail "explain of an unknown id: exit $code"; }
echo "calibrate_test: ok"
