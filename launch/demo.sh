#!/usr/bin/env bash
# Sets up and builds (launch/setup.sh), then runs curate_dist on the bundled demo (configs/demo.ini):
# the two small trained Qwen2 models of configs/demo (launch/train_demo_models.py made them) score 430
# reasoning records with 3 MPI ranks (calibration, difficulty pass, filter, profile pass) into
# build/demo/run.h5, 40 are selected into build/demo/run.selected.jsonl with a report
# build/demo/run.report.html, then --stage gradients adds the projected gradients of 160 sampled examples
# (configs/demo.ini [gradients]; /gradients in run.h5), the selection is made again so that the report
# shows the premise test (similar loss patterns, similar gradients?), and the file is summarised.
# --ab (first argument): then also `--stage compare` (temp, random and longest, 2 seeds, configs/demo.ini
# [compare]) into build/demo/run.compare/ and the A/B fine-tune of launch/ab.sh on CPU with LLaMA-Factory
# (launch/setup_llamafactory.sh makes its venv, from PyPI the first time): tables in
# build/demo/run.compare/compare.html and ab/results.json.
set -euo pipefail
ab=0
if [ "${1:-}" = --ab ]; then ab=1; shift; fi
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/setup.sh"
cd "$root"
build=${CURATE_BUILD_DIR:-build}
tool="$build/src/tools/curate_tool"
mkdir -p build/demo
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --oversubscribe -np "${CURATE_DEMO_RANKS:-3}" "$build/src/tools/curate_dist" --config configs/demo.ini "$@"
mpirun --oversubscribe -np "${CURATE_DEMO_RANKS:-3}" "$build/src/tools/curate_dist" --config configs/demo.ini "$@" \
  --stage gradients
# The same selection again, now with /gradients beside it: the report's premise test gets its numbers.
mpirun --oversubscribe -np "${CURATE_DEMO_RANKS:-3}" "$build/src/tools/curate_dist" --config configs/demo.ini "$@" \
  --stage select
echo
"$tool" inspect build/demo/run.h5
echo
echo "selected: build/demo/run.selected.jsonl ($(wc -l < build/demo/run.selected.jsonl) examples, ShareGPT; dataset_info.json beside it)"
echo "report:   build/demo/run.report.html (summary: build/demo/run.summary.json)"
if [ $ab -eq 1 ]; then
  "$root/launch/setup_llamafactory.sh"
  echo
  "$build/src/tools/curate_dist" --config configs/demo.ini --stage compare "$@"
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} CURATE_BUILD_DIR="$build" "$root/launch/ab.sh" build/demo/run.compare
fi
