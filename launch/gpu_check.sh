#!/usr/bin/env bash
# The GPU checks of issue 7 in one run on the GPU machine (../shared/gpu/README.md), 8-9 minutes:
#   1. build curate_tool, curate_dist and the test binaries (CUDA torch, NCCL);
#   2. CUDA tests: bf16 CUDA losses against float32 (CPU) and the float64 references on the golden
#      models, noise and perturbed checkpoints CPU = CUDA, weights received in device memory;
#   3. the NCCL one-rank communicator test;
#   4. `curate_tool bench` and launch/peer_bench.py side by side on the Qwen2.5-7B and
#      Llama-3.1-8B shapes (1,100 fixed tokens with 1,000 scored; prompts of 50-600 tokens with 1,000
#      and with 100 scored), with a profile of one step of the Qwen mix;
#   5. when curate_dist has score.weight_broadcast: the demo job on the GPU with its weights received
#      over NCCL, compared bit for bit with the same job reading from disk.
# Every step has its own timeout, a failed step does not stop the others, and steps that would not
# fit the overall budget are skipped (said so in the summary). Outputs, in $OUT (8 files at most):
#   summary.txt      each step's status and time, then the tables for docs/PERFORMANCE.md
#   results.jsonl    one JSON line per benchmark run (ours and the peer's)
#   build.log, tests.log, bench.log, service.log, profile.txt, profile.json.gz
#
# Layout (the caller copies ../shared/gpu beside the repository's files):
# shared-gpu/setup.sh; the peer is launch/peer_bench.py (the golden models are in tests/data/reference).
# Overrides: CURATE_GPU_SETUP, CURATE_PEER, CURATE_GPU_BUILD (build folder), CURATE_GPU_CHECK_SECONDS
# (overall budget, default 540: run it with a 600 s limit), CURATE_BENCH_ITERS (default 5), CURATE_EXTRA_DEBS (a folder of .deb
# files unpacked into /opt/deps first, for libraries the image lacks: pcre2, utf8proc, zstd, nanoflann, xxhash (libxxhash-dev: its header)),
# CURATE_GPU_SKIP_BUILD=1 (reuse the build folder as it is, e.g. a second run on a warm machine).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-$root/gpu_check_out}
mkdir -p "$OUT"
setup=${CURATE_GPU_SETUP:-$root/shared-gpu/setup.sh}
peer_script=${CURATE_PEER:-$root/launch/peer_bench.py}
build=${CURATE_GPU_BUILD:-$root/build-gpu}
budget=${CURATE_GPU_CHECK_SECONDS:-540}
ITERS=${CURATE_BENCH_ITERS:-5}
summary=$OUT/summary.txt
results=$OUT/results.jsonl
tool=$build/src/tools/curate_tool
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 PYTHONUNBUFFERED=1 GTEST_COLOR=no
: >"$summary"
: >"$results"
start=$SECONDS

note() { echo "$*" | tee -a "$summary"; }

# step NAME LIMIT LOG COMMAND...: runs COMMAND (stdout and stderr appended to LOG) under `timeout`,
# unless the overall budget is spent; one status line in the summary. Returns COMMAND's status.
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  local left=$((budget - (SECONDS - start)))
  if [ "$left" -lt 15 ]; then
    note "$(printf '%-9s %-52s' SKIPPED "$name") (overall budget of ${budget}s spent)"
    return 125
  fi
  [ "$limit" -le "$left" ] || limit=$left
  local began=$SECONDS status rc
  echo "=== $(date -u +%T) $name (limit ${limit}s): $*" >>"$log"
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    status=OK
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    status=TIMEOUT
  else
    status="FAIL($rc)"
  fi
  note "$(printf '%-9s %-52s %4ds' "$status" "$name" $((SECONDS - began)))"
  return $rc
}

# --- 0. the machine --------------------------------------------------------------------------------
{
  echo "# gpu_check $(date -u +%FT%TZ) on $(hostname), $(nproc) cores, budget ${budget}s"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | sed 's/^/# gpu: /'
  python3 -c 'import torch, transformers; print("# torch", torch.__version__, "cuda", torch.version.cuda, "nccl", torch.cuda.nccl.version(), "transformers", transformers.__version__)' 2>&1
  echo "# git $(git -C "$root" rev-parse --short HEAD 2>/dev/null) $(git -C "$root" status --porcelain 2>/dev/null | wc -l) changed files"
} >>"$summary" 2>&1

# --- 1. build -------------------------------------------------------------------------------------
configure() {
  if [ -n "${CURATE_EXTRA_DEBS:-}" ]; then
    mkdir -p /opt/deps
    for f in "$CURATE_EXTRA_DEBS"/*.deb; do dpkg -x "$f" /opt/deps; done
    # Their .pc files say prefix=/usr: point them at /opt/deps.
    find /opt/deps -name '*.pc' -exec sed -i 's|^prefix=/usr|prefix=/opt/deps/usr|' {} +
    export PKG_CONFIG_PATH=/opt/deps/usr/lib/x86_64-linux-gnu/pkgconfig:/opt/deps/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  fi
  for module in libpcre2-8 libutf8proc libzstd zlib libxxhash; do
    pkg-config --exists "$module" || echo "gpu_check: pkg-config module $module is missing (set CURATE_EXTRA_DEBS)"
  done
  local args
  args=$(bash "$setup") || return 1
  eval "cmake $args -S '$root' -B '$build' -DCMAKE_BUILD_TYPE=Release -DCURATE_PYTHON='$(command -v python3)' \
        -DCURATE_WITH_NCCL=ON"
}
compile() { ninja -C "$build" -k 0 curate_tool curate_dist model_test nccl_test h5_same; }
export -f configure compile
export build setup root
if [ "${CURATE_GPU_SKIP_BUILD:-0}" = 1 ]; then
  note "SKIPPED   build (CURATE_GPU_SKIP_BUILD=1: using $build as it is)"
else
  step "configure (cmake)" 120 "$OUT/build.log" bash -c configure
  grep -h "NCCL\|libtorch\|missing" "$OUT/build.log" | sed 's/^/# /' >>"$summary"
  step "build curate_tool, curate_dist, tests" 360 "$OUT/build.log" bash -c compile
fi

# --- 2, 3. CUDA tests and the one-rank NCCL communicator ---------------------------------------------
if [ -x "$build/tests/model_test" ]; then
  step "CUDA tests (parity, noise, broadcast, pipelining)" 150 "$OUT/tests.log" \
    "$build/tests/model_test" --gtest_filter='Cuda.*:Noise.*:WeightBroadcast.*'
fi
if [ -x "$build/tests/nccl_test" ]; then
  step "NCCL one-rank communicator (mpiexec -n 1)" 90 "$OUT/tests.log" mpiexec -n 1 "$build/tests/nccl_test"
fi
# gtest's verdicts, so that skipped tests (no device?) are not mistaken for passed ones.
[ -f "$OUT/tests.log" ] && grep -E '^\[  (PASSED|FAILED|SKIPPED) +\]' "$OUT/tests.log" | sed 's/^/# tests: /' >>"$summary"

# --- 4. throughput against the transformers peer ---------------------------------------------------
ours() {  # SHAPE BATCH SEQ_LEN SCORED fixed|mix [more curate_tool bench options]
  local shape=$1 batch=$2 len=$3 scored=$4 mix=()
  [ "$5" = mix ] && mix=(--mix)
  shift 5
  "$tool" bench --log-level warn --shape "$shape" --batch "$batch" --seq-len "$len" --scored "$scored" "${mix[@]}" \
    --device cuda --dtype bfloat16 --iters "$ITERS" "$@" >>"$results"
}
peer() {  # SHAPE BATCH SEQ_LEN SCORED fixed|mix smart|plain
  local mix=() smart=()
  [ "$5" = mix ] && mix=(--mix)
  [ "$6" = smart ] && smart=(--smart)
  python3 "$peer_script" --device cuda --shape "$1" --batch "$2" --seq-len "$3" --scored "$4" "${mix[@]}" "${smart[@]}" \
    --iters "$ITERS" >>"$results"
}
export -f ours peer
export tool results peer_script ITERS OUT
pair() {  # SHAPE BATCH SEQ_LEN SCORED fixed|mix [more curate_tool bench options]
  local label="$1 ${2}x$([ "$5" = mix ] && echo mix || echo "$3") scored $4"
  [ -x "$tool" ] && step "curate_tool bench $label" 120 "$OUT/bench.log" bash -c 'ours "$@"' _ "$@"
  step "hf_peer --smart $label" 150 "$OUT/bench.log" bash -c 'peer "$@" smart' _ "$1" "$2" "$3" "$4" "$5"
}
pair qwen2.5-7b 16 1100 1000 mix --profile "$OUT/profile"
pair qwen2.5-7b 16 1100 1000 fixed
pair qwen2.5-7b 32 1100 100 mix
pair llama3.1-8b 16 1100 1000 fixed
pair llama3.1-8b 16 1100 1000 mix
step "hf_peer (plain) qwen2.5-7b 16xmix scored 1000" 150 "$OUT/bench.log" bash -c 'peer "$@" plain' _ qwen2.5-7b 16 1100 1000 mix
[ -f "$OUT/profile.json" ] && gzip -f "$OUT/profile.json"

# --- 5. the service: weights over NCCL equal weights from disk ---------------------------------------
service_check() {
  local d=$build/gpu_demo
  rm -rf "$d" && mkdir -p "$d"
  "$tool" make-model --shape tiny-qwen2 --seed 1 --init-std 0.1 --output "$d/base" &&
    "$tool" make-model --shape tiny-qwen2 --seed 2 --init-std 0.1 --output "$d/tuned" || return 1
  for mode in nccl disk; do
    mpirun --oversubscribe -np 2 "$build/src/tools/curate_dist" --config configs/demo.ini --model.path "$d/base" \
      --perturb.target "$d/tuned" --output.path "$d/$mode.h5" --score.device cuda --score.dtype bfloat16 \
      --score.weight_broadcast "$mode" --stage all || return 1
  done
  "$build/tests/h5_same" "$d/nccl.h5" "$d/disk.h5" /difficulty/losses /profile/losses /profile/distance
}
export -f service_check
if [ -x "$build/src/tools/curate_dist" ] && "$build/src/tools/curate_dist" --help 2>&1 | grep -q weight_broadcast; then
  step "curate_dist demo on CUDA: NCCL-received = disk weights" 120 "$OUT/service.log" bash -c service_check
else
  note "SKIPPED   curate_dist demo over NCCL (score.weight_broadcast is not in curate_dist's options yet)"
fi

# --- summary ---------------------------------------------------------------------------------------
python3 - "$results" "$OUT/tests.log" >>"$summary" 2>&1 <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
def key(r): return (r["shape"], r["batch"], r["mix"], r["scored"])
ours = {key(r): r for r in rows if r.get("impl") == "curate_tool"}
peers = {}
for r in rows:
    if "peer" in r: peers.setdefault(key(r), {})[r["peer"]] = r
print("\n## Throughput (real tokens/s), bf16 on CUDA, same sequences on both sides")
print("| shape | batch | lengths | scored | curate_tool | transformers-smart | transformers | ratio to best peer | peak GiB (ours / smart) | MFU ours | padding ours |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for k in sorted(set(ours) | set(peers)):
    o, p = ours.get(k), peers.get(k, {})
    s, plain = p.get("transformers-smart"), p.get("transformers")
    best = max([x["tokens_per_s"] for x in (s, plain) if x] or [0])
    fmt = lambda x: f"{x['tokens_per_s']/1e3:.1f}k" if x else "-"
    ratio = f"{o['tokens_per_s']/best:.2f}x" if o and best else "-"
    peak = f"{o['peak_gb']:.1f} / {s['peak_gb']:.1f}" if o and s else (f"{o['peak_gb']:.1f} / -" if o else "-")
    mfu = f"{100*o['mfu']:.0f}%" if o and o.get("mfu") else "-"
    pad = f"{100*o['padding']:.1f}%" if o and "padding" in o else "-"
    lengths = "mix 50-600 + scored" if k[2] else f"{(o or s or plain)['max_len']} fixed"
    print(f"| {k[0]} | {k[1]} | {lengths} | {k[3]} | {fmt(o)} | {fmt(s)} | {fmt(plain)} | {ratio} | {peak} | {mfu} | {pad} |")
print("\n## Parity and noise (model_test Cuda.*)")
try:
    for line in open(sys.argv[2]):
        if line.startswith("PARITY ") or line.startswith("NOISE "):
            print(line.rstrip())
except FileNotFoundError:
    print("no tests.log")
EOF
note "total $((SECONDS - start))s"
[ -f "$OUT/profile.txt" ] && { echo; echo "## Profile of one step (qwen2.5-7b, 16 x mix, 1,000 scored)"; head -25 "$OUT/profile.txt"; } >>"$summary"
exit 0
