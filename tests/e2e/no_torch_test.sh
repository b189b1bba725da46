#!/usr/bin/env bash
# curate_dist of a build without libtorch (CURATE_WITH_TORCH=OFF): --help works, the scoring stages
# are refused with exit 2 naming the build option, and --stage select gets as far as the result file.
#   no_torch_test.sh CURATE_DIST MPIEXEC
set -euo pipefail
dist=$1 mpiexec=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "FAIL: $*"; exit 1; }
echo '{"prompt": "p", "reasoning": "r"}' > data.jsonl
"$mpiexec" -n 1 "$dist" --help > help.log 2>&1 || { cat help.log; fail "--help"; }
grep -q -- "--select.method" help.log || { cat help.log; fail "--help lists no select options"; }
for stage in difficulty profile all; do
  set +e
  "$mpiexec" -n 1 "$dist" --model.path base --data.path data.jsonl --output.path out.h5 --stage $stage > refused.log 2>&1
  code=$?
  set -e
  [ $code -eq 2 ] || { cat refused.log; fail "--stage $stage exited $code, expected 2"; }
  grep -q "built without libtorch" refused.log && grep -q "CURATE_WITH_TORCH=ON" refused.log \
    || { cat refused.log; fail "--stage $stage: no explanation"; }
  [ ! -e out.h5 ] || fail "--stage $stage wrote a file"
done
set +e
"$mpiexec" -n 1 "$dist" --model.path base --data.path data.jsonl --output.path missing.h5 --stage select > select.log 2>&1
code=$?
set -e
[ $code -ne 0 ] && grep -q "missing.h5" select.log || { cat select.log; fail "--stage select without a result file"; }
echo "ok: the torch-free curate_dist refuses the scoring stages (exit 2) and selects from result files only"
