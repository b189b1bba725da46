#!/usr/bin/env bash
# store.token_losses on the demo (configs/demo.ini with configs/demo: its models, or two tiny random
# ones when the folder has none, as launch/demo.sh made them before): float32, float16 and none give
# the same selection and bitwise the same per-example means (computed from the float32 losses before
# rounding); float16 losses are the float32 ones rounded (relative difference <= 2^-11); none stores
# no per-token tensor; each file is smaller. The demo folder is copied first, so edits to it during
# the test do not change the fingerprint between a run's passes.
#   precision_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR (unused: the demo's own)
set -euo pipefail
tool=$1 dist=$2 same=$3 mpiexec=$4
source "$(dirname "$same")/layout.sh"  # h5_* paths
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap '[ -n "${CURATE_KEEP_TEST_DIR:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "FAIL: $*"; exit 1; }

cp -r "$root/configs/demo" demo
cp "$root/configs/demo.ini" demo.ini
if [ ! -f demo/base/config.json ]; then
  "$tool" make-model --shape tiny-qwen2 --seed 1 --init-std 0.1 --output demo/base --log-level warn
  "$tool" make-model --shape tiny-qwen2 --seed 2 --init-std 0.1 --output demo/tuned --log-level warn
fi
for precision in float32 float16 none; do
  "$mpiexec" -n 3 "$dist" --config demo.ini --model.path demo/base --perturb.target demo/tuned \
    --model.tokenizer demo --data.path demo/data.jsonl --output.path $precision.h5 \
    --store.token_losses $precision > $precision.log 2>&1 || { cat $precision.log; fail "the $precision run failed"; }
  "$tool" inspect $precision.h5 > $precision.inspect
done

cmp float32.selected.jsonl float16.selected.jsonl || fail "float16 selects other examples than float32"
cmp float32.selected.jsonl none.selected.jsonl || fail "none selects other examples than float32"
[ "$(wc -l < float32.selected.jsonl)" -gt 0 ] || fail "nothing was selected"
means="$h5_examples_status $h5_filter_kept $h5_difficulty_mean_loss $h5_profile_example $h5_profile_mean_loss $h5_profile_mean_loss_first
  $h5_profile_done $h5_selection_selected $h5_selection_cluster $h5_selection_score"
"$same" float32.h5 float16.h5 $means || fail "float16 changed the means or the selection"
"$same" float32.h5 none.h5 $means || fail "none changed the means or the selection"
"$same" --within 0.00048828125 float32.h5 float16.h5 $h5_difficulty_losses $h5_profile_losses \
  || fail "float16 losses are not the float32 ones rounded"
if "$same" float32.h5 float16.h5 $h5_profile_losses > /dev/null; then fail "float16 losses are bitwise float32"; fi
"$same" --profile-layout float16.h5 | grep -q "losses f16" || fail "float16 file does not store f16 losses"
"$same" --profile-layout none.h5 | grep -q "no token losses" || fail "none stores token losses"
grep -q "token losses: float16 \[8, " float16.inspect || { cat float16.inspect; fail "inspect does not show float16"; }
grep -q "token losses: none (per-example means only)" none.inspect || { cat none.inspect; fail "inspect does not show none"; }

size() { stat -c %s "$1"; }
echo "result file sizes: float32 $(size float32.h5), float16 $(size float16.h5), none $(size none.h5) bytes"
[ "$(size float16.h5)" -lt "$(size float32.h5)" ] && [ "$(size none.h5)" -lt "$(size float16.h5)" ] \
  || fail "the files do not shrink from float32 to float16 to none"
echo "ok: float32, float16 and none select the same examples from the same float32 means"
