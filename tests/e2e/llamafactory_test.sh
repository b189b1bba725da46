#!/usr/bin/env bash
# Every kind of export loads in LLaMA-Factory (its own loader, from the dataset_info.json entry we
# write) and in Hugging Face datasets, with turns equal to the input text. Needs the venv made by
# launch/setup_llamafactory.sh (launch/test.sh makes it); without it the test is skipped (exit 77).
#   llamafactory_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR VENV_PYTHON
set -euo pipefail
tool=$1 dist=$2 same=$3 mpiexec=$4 tokenizer=$5 python=$6
check=$(cd "$(dirname "$0")" && pwd)/llamafactory_check.py
if ! "$python" -c "import llamafactory.data, datasets" 2>/dev/null; then
  echo "SKIP: $python cannot import llamafactory and datasets: no LLaMA-Factory test venv (launch/setup_llamafactory.sh makes it; it needs PyPI)"
  exit 77
fi
source "$(dirname "$0")/export_common.sh"
for format in sharegpt messages; do
  "$mpiexec" -n 1 "$dist" --config run.ini --data.path flat.jsonl --output.path flat.h5 --stage select --select.format $format \
    --select.output flat.$format.jsonl > convert.log 2>&1 || { cat convert.log; fail "conversion to $format failed"; }
done
"$mpiexec" -n 1 "$dist" --config run.ini --data.path messages.jsonl --output.path messages.h5 --stage select --select.format sharegpt \
  --select.output messages.sharegpt.jsonl > convert.log 2>&1 || { cat convert.log; fail "conversion of messages failed"; }
export HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 HF_DATASETS_CACHE="$work/hf-cache"
"$python" "$check" "$work" sharegpt.selected:sharegpt.jsonl messages.selected:messages.jsonl \
  openthoughts.selected:openthoughts.jsonl:problem,response crlf.selected:crlf.jsonl bom.selected:bom.jsonl \
  flat.sharegpt:flat.jsonl:prompt,reasoning,distilled_answer_string flat.messages:flat.jsonl:prompt,reasoning,distilled_answer_string \
  messages.sharegpt:messages.jsonl:conv || fail "an export does not load as written"
