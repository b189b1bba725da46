#!/usr/bin/env bash
# Load benchmark: N synthetic examples through the whole pipeline (calibration, difficulty pass,
# filter, profile pass, selection) with a tiny random model, under mpirun with R ranks. Prints the
# wall time of the run and, per rank, its elapsed, CPU seconds and peak RSS (/usr/bin/time), then
# rank 0's CPU cost per work unit: the rate at which it could hand out and store units.
#   launch/bench_load.sh [N=1000000] [RANKS=3] [WORKDIR=build/bench_load]   (CURATE_UNIT_EXAMPLES=256: unit size)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000000} ranks=${2:-3} work=${3:-$root/build/bench_load}
build=$root/${CURATE_BUILD_DIR:-build}
tool=$build/src/tools/curate_tool dist=$build/src/tools/curate_dist
mkdir -p "$work"
cd "$work"
[ -f base/config.json ] || "$tool" make-model --shape tiny-qwen2 --seed 1 --init-std 0.1 --output base --log-level warn
[ -f tuned/config.json ] || "$tool" make-model --shape tiny-qwen2 --seed 2 --init-std 0.1 --output tuned --log-level warn
if [ ! -f "data$n.jsonl" ]; then
  python3 - "$n" <<'PY'
import json, random, sys
n = int(sys.argv[1])
r = random.Random(0)
words = "the patient has fever cough so we consider pneumonia order chest x ray antibiotics sum of two primes even wait check".split()
with open("data%d.jsonl" % n, "w") as f:
    for i in range(n):
        f.write(json.dumps({"prompt": " ".join(r.choice(words) for _ in range(r.randint(3, 12))),
                            "reasoning": " ".join(r.choice(words) for _ in range(r.randint(4, 40))),
                            "source": "s%d" % r.randrange(4), "domain": "d%d" % r.randrange(2)}) + "\n")
PY
fi
cat > load.ini <<INI
[model]
path = base
tokenizer = $root/tests/data/fixtures/byte_level
[data]
path = data$n.jsonl
[output]
path = load$n.h5
[perturb]
target = tuned
gaussian_checkpoints = 2
directional_checkpoints = 2
allow_calibration_miss = true
[pass]
unit_examples = ${CURATE_UNIT_EXAMPLES:-256}
difficulty_tokens = 16
profile_tokens = 32
calibration_samples = 256
[select]
budget = 1000
[run]
progress_seconds = 30
INI
rm -f "load$n".* *.rank*.time
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run_stage() {  # run_stage STAGE: one mpirun; per-rank /usr/bin/time into STAGE.rankR.time
  local t0 wall
  t0=$(date +%s.%N)
  mpirun --oversubscribe -np "$ranks" sh -c \
    'exec /usr/bin/time -o "$1.rank$OMPI_COMM_WORLD_RANK.time" -f "%e %U %S %M" "$0" --config load.ini --stage "$1"' \
    "$dist" "$1" >> "load$n.log" 2>&1 || { tail -20 "load$n.log"; exit 1; }
  wall=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
  echo "stage $1: ${wall} s wall"
  for r in $(seq 0 $((ranks - 1))); do
    read -r elapsed user sys rss < "$1.rank$r.time"
    echo "  rank $r: $(python3 -c "print('%.1f' % ($user + $sys))") s CPU, peak RSS $((rss / 1024)) MiB"
  done
}
echo "N = $n examples, $ranks ranks (1 coordinator + $((ranks - 1)) workers), $(nproc) cores"
run_stage difficulty
run_stage profile
run_stage select
grep -E "pass done|filter|selection" "load$n.log" | sed 's/^\[[^]]*\] //'
for stage in difficulty profile; do
  units=$(grep -Eo "$stage pass done: [0-9]+ units" "load$n.log" | awk '{print $4}')
  read -r _ user sys _ < "$stage.rank0.time"
  python3 -c "import sys; u, s, n = map(float, sys.argv[2:]); print('rank 0, %s stage: %.2f ms CPU per unit (start-up included) -> it could store %.0f units/s' % (sys.argv[1], 1e3 * (u + s) / n, n / (u + s)))" "$stage" "$user" "$sys" "$units"
done
ls -l "load$n.h5" "load$n.selection.h5" | awk '{print $5, $9}'
