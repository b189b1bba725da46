#!/usr/bin/env bash
# --stage gradients (issue 28) on a scored file of the tiny models: -np 1 and -np 3 store the same
# /gradients bit for bit; kill -9 of rank 0 or of a worker mid-stage, then a resume, equals the
# uninterrupted run; a missing file and other gradient settings are refused (exit 2), --fresh rebuilds
# /gradients alone (the scored passes stay as they were); a finished stage is not computed again.
#   gradients_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
tool=$1 dist=$2 same=$3 mpiexec=$4 tokenizer=$5
source "$(dirname "$0")/common.sh"

"$mpiexec" -n 2 "$dist" --config run.ini --output.path scored.h5 > scored.log 2>&1 || { cat scored.log; fail "scoring failed"; }
gradients="$h5_gradients_example $h5_gradients_projected $h5_gradients_norm $h5_gradients_done"
base=(--stage gradients --gradients.examples 40 --gradients.tokens 100 --run.progress_seconds 0)
stage=("${base[@]}" --gradients.dim 64) other=("${base[@]}" --gradients.dim 32)

for np in 1 3; do
  cp scored.h5 np$np.h5
  "$mpiexec" -n $np "$dist" --config run.ini --output.path np$np.h5 "${stage[@]}" > np$np.log 2>&1 \
    || { cat np$np.log; fail "np=$np gradients failed"; }
done
"$same" np1.h5 np3.h5 $gradients || fail "-np 1 and -np 3 store different gradients"
"$same" scored.h5 np1.h5 $datasets || fail "the gradient stage changed the scored passes"
[ ! -f np3.h5.journal ] && [ ! -f np3.h5.base ] || fail "journal or base copy left after a finished stage"
h5dump -d "$h5_gradients_projected" -s 0,0 -c 1,4 np1.h5 | grep -q "(0,0):" || fail "no projected gradients"
if h5dump -d "$h5_gradients_norm" np1.h5 | grep -qi nan; then fail "a sampled example has no gradient"; fi
echo "ok: -np 1 and -np 3 store the same 40 x 64 projected gradients; the scored passes are untouched"

# kill_mid VICTIM_RANK OUTPUT: start the stage with 3 ranks, kill -9 the rank once a unit is stored.
kill_mid() {
  cp scored.h5 "$2"
  timeout 300 "$mpiexec" -n 3 "$dist" --config run.ini --output.path "$2" "${stage[@]}" > "$2.a.log" 2>&1 &
  local pid=$! victim=""
  for _ in $(seq 1 6000); do
    grep -q "gradients: [1-9][0-9]*/" "$2.a.log" 2>/dev/null && break
    sleep 0.01
  done
  victim=$(rank_pid "$(pgrep -P $pid)" "$1")
  [ -n "$victim" ] || { cat "$2.a.log"; fail "the stage ended before the kill of rank $1"; }
  kill -9 "$victim"
  set +e
  wait $pid
  local code=$?
  set -e
  [ $code -ne 0 ] && [ $code -ne 124 ] || { cat "$2.a.log"; fail "a job with a killed rank $1 ended with $code"; }
  grep -q "gradients pass done" "$2.a.log" && fail "rank $1 was killed after the stage finished"
  "$mpiexec" -n 2 "$dist" --config run.ini --output.path "$2" "${stage[@]}" > "$2.b.log" 2>&1 \
    || { cat "$2.b.log"; fail "resume after kill -9 of rank $1 failed"; }
  grep -q "resuming, [1-9][0-9]* units already stored" "$2.b.log" || { cat "$2.b.log"; fail "the resume after killing rank $1 kept no unit"; }
  "$same" np1.h5 "$2" $gradients || fail "kill -9 of rank $1 and resume differ from the uninterrupted run"
  "$same" scored.h5 "$2" $datasets || fail "kill -9 of rank $1 and resume changed the scored passes"
}
kill_mid 0 k0.h5
kill_mid 1 k1.h5
echo "ok: kill -9 of rank 0 and of a worker mid-stage, then a resume, store the uninterrupted run's gradients"

set +e
"$mpiexec" -n 1 "$dist" --config run.ini --output.path missing.h5 "${stage[@]}" > missing.log 2>&1
code=$?
set -e
[ $code -eq 2 ] || { cat missing.log; fail "a missing result file gave exit $code, not 2"; }
grep -q "does not exist: --stage gradients" missing.log || { cat missing.log; fail "no reason for the refusal"; }
[ ! -e missing.h5 ] || fail "the refused stage created missing.h5"

set +e
"$mpiexec" -n 1 "$dist" --config run.ini --output.path np1.h5 "${other[@]}" > other.log 2>&1
code=$?
set -e
[ $code -eq 2 ] || { cat other.log; fail "other gradient settings gave exit $code, not 2"; }
grep -q "holds /gradients made under other \[gradients\] settings" other.log || { cat other.log; fail "no reason for the refusal"; }
grep -q "gradients.dim: 64 -> 32" other.log || { cat other.log; fail "the refusal does not name the changed setting"; }
"$same" np1.h5 np3.h5 $gradients || fail "the refused run changed the stored gradients"

"$mpiexec" -n 1 "$dist" --config run.ini --output.path np1.h5 "${stage[@]}" > again.log 2>&1 || { cat again.log; fail "rerun failed"; }
grep -q "already stored" again.log || { cat again.log; fail "a finished stage was computed again"; }
"$mpiexec" -n 2 "$dist" --config run.ini --output.path np3.h5 "${other[@]}" --fresh > fresh.log 2>&1 \
  || { cat fresh.log; fail "--fresh with other gradient settings failed"; }
h5dump -H -d "$h5_gradients_projected" np3.h5 | grep -q "( 40, 32 )" || fail "--fresh did not rebuild /gradients at dim 32"
"$same" scored.h5 np3.h5 $datasets || fail "--fresh on --stage gradients changed the scored passes"
echo "ok: refusals exit 2 (missing file, other settings), a finished stage is kept, --fresh rebuilds /gradients alone"
