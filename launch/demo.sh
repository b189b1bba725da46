#!/usr/bin/env bash
# Sets up and builds (launch/setup.sh), then runs the default job on bundled data: a tiny random
# Qwen2-shaped model is generated and `curate_tool nll` scores configs/demo/sequences.jsonl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/setup.sh"
cd "$root"
build=${CURATE_BUILD_DIR:-build}
tool="$build/src/tools/curate_tool"
out="$build/demo"
mkdir -p "$out"
"$tool" make-model --shape tiny-qwen2 --seed 1 --init-std 0.1 --output "$out/model"
"$tool" nll --model "$out/model" --input configs/demo/sequences.jsonl --output "$out/nll.jsonl"
echo
echo "demo: per-token losses in $out/nll.jsonl; mean loss per sequence:"
.venv/bin/python - "$out/nll.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    row = json.loads(line)
    nll = row["nll"]
    print(f"  {row.get('name', '?'):>12}  {len(row['input_ids']):4d} tokens  mean nll {sum(nll) / max(len(nll), 1):.4f}")
PY
