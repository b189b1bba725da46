#!/usr/bin/env bash
# The selection on CPU-only nodes: curate_dist built without libtorch (CURATE_WITH_TORCH=OFF; in a
# torch build the same program is curate_dist_select) selects from a result file the torch build
# scored (fake workers: synthetic losses, no model loaded), and its outputs equal the torch build's
# byte for byte; it prints --plan; it refuses the scoring stages with exit 2 and says what to use.
#   select_cpu_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR CURATE_DIST_SELECT
set -euo pipefail
tool=$1 dist=$2 same=$3 mpiexec=$4 tokenizer=$5 cpu=$6
source "$(dirname "$0")/common.sh"

"$mpiexec" -n 2 "$dist" --config run.ini --output.path torch.h5 --test.fake_worker 1 > torch.log 2>&1 \
  || { cat torch.log; fail "the torch build's fake-worker run failed"; }
cp torch.h5 cpu.h5
"$mpiexec" -n 2 "$cpu" --config run.ini --output.path cpu.h5 --test.fake_worker 1 --stage select > cpu.log 2>&1 \
  || { cat cpu.log; fail "the torch-free --stage select failed"; }
[ "$(wc -l < cpu.selected.jsonl)" -eq 40 ] || fail "the torch-free selection did not meet the budget of 40"
cmp torch.selected.jsonl cpu.selected.jsonl || fail "the torch-free build selected other records"
cmp torch.selected_ids.txt cpu.selected_ids.txt || fail "the selected ids differ"
cmp torch.scores.tsv cpu.scores.tsv || fail "the scores tables differ"
"$same" torch.selection.h5 cpu.selection.h5 $h5_selection_selected $h5_selection_cluster $h5_selection_score $h5_selection_candidate \
  || fail "the selection files differ"
echo "ok: the torch-free build's --stage select equals the torch build's selection"

# A setting that changes the scores is refused by name; how they were computed (device) is not asked.
set +e
"$mpiexec" -n 1 "$cpu" --config run.ini --output.path cpu.h5 --test.fake_worker 1 --stage select --pass.profile_tokens 81 \
  > changed.log 2>&1
code=$?
set -e
[ $code -eq 2 ] || { cat changed.log; fail "a changed pass.profile_tokens exited $code, expected 2"; }
grep -q "pass.profile_tokens: 80 -> 81" changed.log || { cat changed.log; fail "the refusal does not name the setting"; }
"$mpiexec" -n 1 "$cpu" --config run.ini --output.path cpu.h5 --test.fake_worker 1 --stage select --score.device cpu \
  > device.log 2>&1 || { cat device.log; fail "--score.device changed the selection's check"; }

"$mpiexec" -n 1 "$cpu" --config run.ini --output.path plan.h5 --plan > plan.log 2>&1 || { cat plan.log; fail "--plan failed"; }
grep -q "GPU-hours at" plan.log && [ ! -e plan.h5 ] || { cat plan.log; fail "--plan of the torch-free build"; }
for stage in difficulty profile all; do
  set +e
  "$mpiexec" -n 1 "$cpu" --config run.ini --output.path refused.h5 --stage $stage > refused.log 2>&1
  code=$?
  set -e
  [ $code -eq 2 ] || { cat refused.log; fail "--stage $stage in the torch-free build exited $code, expected 2"; }
  grep -q "built without libtorch" refused.log && grep -q "CURATE_WITH_TORCH=ON" refused.log \
    || { cat refused.log; fail "--stage $stage: no explanation"; }
  [ ! -e refused.h5 ] || fail "--stage $stage wrote a file"
done
echo "ok: the torch-free build checks the settings by name, prints --plan and refuses the scoring stages (exit 2)"
