#!/usr/bin/env bash
# Side-by-side CPU benchmark: `curate_tool bench` against the transformers peer
# (launch/peer_bench.py) on the same shapes, batches and length mixes. Prints JSON lines.
#   launch/bench_cpu.sh [PEER_SCRIPT]
# Needs `launch/setup.sh --with-peer` (transformers in .venv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
peer=${1:-${CURATE_PEER:-$root/launch/peer_bench.py}}
tool=${CURATE_BUILD_DIR:-build}/src/tools/curate_tool
py=.venv/bin/python
run() {  # shape batch seq_len scored mix iters
  local mixflag=()
  [ "$5" = mix ] && mixflag=(--mix)
  "$tool" bench --log-level warn --shape "$1" --batch "$2" --seq-len "$3" --scored "$4" "${mixflag[@]}" --iters "$6"
  "$py" "$peer" --device cpu --shape "$1" --batch "$2" --seq-len "$3" --scored "$4" "${mixflag[@]}" --iters "$6"
  "$py" "$peer" --device cpu --shape "$1" --batch "$2" --seq-len "$3" --scored "$4" "${mixflag[@]}" --iters "$6" --smart
}
echo "# $(date -u +%FT%TZ) $(nproc) cores, torch $($py -c 'import torch; print(torch.__version__)')"
run tiny 16 1100 1000 fixed 5
run tiny 16 0 1000 mix 5
run tiny 32 0 100 mix 5
run qwen2.5-0.5b 4 512 0 fixed 2
run qwen2.5-0.5b 4 0 100 mix 2
