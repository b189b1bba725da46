#!/usr/bin/env bash
# What rank 0 checks before any rank loads a model, and `curate_dist --plan`: the plan's figures,
# zero usable records (exit 3, top reasons), a hub id as model path (exit 4, download command), an
# unknown chat template (exit 2), the profile family line, and `curate_tool check --config`.
#   preflight_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
tool=$1 dist=$2 mpiexec=$4 tokenizer=$5
source "$(dirname "$0")/common.sh"

# --plan: nothing loaded or written; the counts are exact, the token figures hand-checked below.
"$mpiexec" -n 2 "$dist" --config run.ini --output.path plan.h5 --plan > plan.log 2>&1 || { cat plan.log; fail "--plan failed"; }
[ ! -e plan.h5 ] && [ ! -e plan.h5.index ] || fail "--plan wrote a file"
grep -q "601 records, 600 usable, 1 skipped" plan.log || { cat plan.log; fail "--plan: record counts"; }
grep -q "skipped: malformed_json 1 (first: line 601, not valid JSON)" plan.log || { cat plan.log; fail "--plan: skip reason"; }
grep -q "^  calibration: 32 examples x 5 checkpoint(s)" plan.log || { cat plan.log; fail "--plan: calibration"; }
grep -q "^  difficulty: 600 examples x 1 checkpoint(s), .* in 75 units of 8 examples" plan.log || { cat plan.log; fail "--plan: difficulty"; }
# filter.whole_budget = 1000 keeps both sources (about 300 records each) whole: 600 x 3 checkpoints.
grep -q "^  profile: 600 examples x 3 checkpoint(s), .* in 225 units of 8 examples" plan.log || { cat plan.log; fail "--plan: profile"; }
grep -q "GPU-hours at" plan.log && grep -q "^result file: about" plan.log || { cat plan.log; fail "--plan: estimate"; }
grep -q "^profile: directional family, 3 checkpoints" plan.log || { cat plan.log; fail "--plan: profile family"; }
# The token means, recomputed: prompt tokens and min(window, reasoning) from curate_tool prepare.
"$tool" prepare --tokenizer "$tokenizer" --input data.jsonl --output prepared.jsonl --log-level warn
python3 - <<'PY' || fail "--plan token means"
import json, re
rows = [json.loads(l) for l in open("prepared.jsonl")][:1000]
prompt = sum(r["reasoning_start"] for r in rows) / len(rows)
first = sum(min(20, len(r["input_ids"]) - r["reasoning_start"]) for r in rows) / len(rows)
log = open("plan.log").read()
m = re.search(r"difficulty: 600 examples x 1 checkpoint\(s\), ([0-9.]+) tokens each \(prompt ([0-9.]+) \+ window ([0-9.]+)\)", log)
assert m, log
assert abs(float(m.group(2)) - prompt) < 0.06 and abs(float(m.group(3)) - first) < 0.06, (m.groups(), prompt, first)
PY

# Without perturb.target the first lines name the Gaussian family.
"$mpiexec" -n 1 "$dist" --config run.ini --perturb.target "" --plan > gauss.log 2>&1 || { cat gauss.log; fail "--plan without target"; }
grep -q "^profile: Gaussian family (4 noise checkpoints), because perturb.target is empty" gauss.log || { cat gauss.log; fail "no Gaussian family line"; }

# Zero usable records: exit 3 before any worker loads the model, naming the top reasons.
printf '{"text": "a"}\n{"text": "b"}\nnot json\n' > bad.jsonl
set +e
"$mpiexec" -n 2 "$dist" --config run.ini --data.path bad.jsonl --output.path bad.h5 > bad.log 2>&1
code=$?
set -e
[ "$code" -eq 3 ] || { cat bad.log; fail "zero usable records: exit $code, expected 3"; }
grep -q "no usable record in bad.jsonl (3 read)" bad.log && grep -q "unknown_format 2 (first: line 1" bad.log || { cat bad.log; fail "zero usable: message"; }
grep -q "profile: directional family" bad.log || { cat bad.log; fail "the job did not name its profile family first"; }
[ ! -e bad.h5 ] || fail "a result file was created for a dataset without usable records"

# A hub id as model path: exit 4 with the download command.
set +e
"$mpiexec" -n 2 "$dist" --config run.ini --model.path Qwen/Qwen2.5-7B-Instruct --model.tokenizer "$tokenizer" \
  --output.path hub.h5 > hub.log 2>&1
code=$?
set -e
[ "$code" -eq 4 ] || { cat hub.log; fail "hub id: exit $code, expected 4"; }
grep -q "hf download Qwen/Qwen2.5-7B-Instruct --local-dir models/Qwen2.5-7B-Instruct" hub.log || { cat hub.log; fail "hub id: no download command"; }

# An unknown chat template: exit 2 naming the choices.
set +e
"$mpiexec" -n 1 "$dist" --config run.ini --data.chat_template vicuna --output.path tpl.h5 > tpl.log 2>&1
code=$?
set -e
[ "$code" -eq 2 ] && grep -q "vicuna.*chatml, llama3" tpl.log || { cat tpl.log; fail "unknown template: exit $code"; }

# A configured template unlike the tokenizer's own: a warning of --plan (as of rank 0's preflight) naming both.
mkdir -p tok_chat && cp "$tokenizer/tokenizer.json" tok_chat/
printf '%s' '{"chat_template": "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"}' > tok_chat/tokenizer_config.json
"$mpiexec" -n 1 "$dist" --config run.ini --model.tokenizer tok_chat --data.chat_template chatml --output.path warn.h5 --plan > warn.log 2>&1 \
  || { cat warn.log; fail "--plan with a configured template"; }
grep -q "warning: data.chat_template = chatml renders prompts unlike the tokenizer's own chat template (tok_chat/tokenizer_config.json)" warn.log \
  || { cat warn.log; fail "no warning for a template unlike the tokenizer's own"; }

# curate_tool check with the job's options, one preview.
"$tool" check --config run.ini --preview 1 > check.log 2>&1 || { cat check.log; fail "curate_tool check --config failed"; }
grep -q "600 usable" check.log && grep -q "^---- preview 1: line 1" check.log && grep -q "scored window (" check.log \
  || { cat check.log; fail "curate_tool check output"; }
echo "preflight_test: ok"
