#!/usr/bin/env bash
# The A/B fine-tune of a `curate_dist --stage compare` folder on one machine (launch/ab/ab.py does the
# work): evaluates the base model, fine-tunes every method x seed with LLaMA-Factory and evaluates it,
# one after the other; writes FOLDER/ab/results.json, prints its tables, and reruns --stage compare (the
# options stored in FOLDER/compare.json) so that FOLDER/compare.html shows them. Run it from the folder
# the compare stage ran in (the stored paths may be relative). Rerunning resumes: finished items
# (FOLDER/ab/runs/NAME/done.json) are skipped, a killed training starts over.
#   launch/ab.sh FOLDER
# CURATE_LF_PYTHON: the Python of a LLaMA-Factory venv (default .venv-llamafactory/bin/python of this
# checkout, made by launch/setup_llamafactory.sh); CURATE_BUILD_DIR (default build) or CURATE_TOOL and
# CURATE_DIST: the programs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 1 ] || { sed -n 2,12p "$0"; exit 2; }
folder=$1
python=${CURATE_LF_PYTHON:-$root/.venv-llamafactory/bin/python}
build=${CURATE_BUILD_DIR:-$root/build}
export CURATE_TOOL=${CURATE_TOOL:-$build/src/tools/curate_tool}
dist=${CURATE_DIST:-$build/src/tools/curate_dist}
if ! "$python" -c "import llamafactory" 2>/dev/null; then
  echo "ab: $python cannot import llamafactory: make the venv with launch/setup_llamafactory.sh or set CURATE_LF_PYTHON" >&2
  exit 2
fi
items=$("$python" "$root/launch/ab/ab.py" count "$folder")
for ((i = 0; i < items; i++)); do
  "$python" "$root/launch/ab/ab.py" run "$folder" "$i"
done
"$python" "$root/launch/ab/ab.py" table "$folder"
"$python" "$root/launch/ab/ab.py" page "$folder" "$dist"
echo "ab: tables in $folder/ab/results.json and $folder/compare.html"
