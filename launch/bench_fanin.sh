#!/usr/bin/env bash
# Fan-in benchmark of the coordinator: many worker ranks on one machine in the test-only fake-worker
# mode (--test.fake_worker: no model, synthetic losses that depend only on the record and the
# checkpoint), so that hundreds of ranks fit in memory and rank 0 meets the message rate of a large
# cluster. Every rank runs the torch-free curate_dist (curate_dist_select of a torch build: no libtorch
# or CUDA mapped, a few MiB a rank; CURATE_DIST picks another executable). For each rank count R: the difficulty and profile passes under `mpirun -np R`, rank 0 timed
# by /usr/bin/time, every worker's units / seconds scoring / seconds waiting for a unit from its log;
# then the file is compared bit for bit with the first rank count's, and selected with 3 ranks.
#   launch/bench_fanin.sh [N=20000] ["RANKS"="3 65 129 257"] [UNIT_SECONDS=0] [WORKDIR=build/bench_fanin]
#   (CURATE_BUILD_DIR: the build folder, default build; CURATE_UNIT_EXAMPLES=64: pass.unit_examples;
#    CURATE_MPIRUN_ARGS: extra mpirun arguments, e.g. "--mca btl self,vader"; CURATE_EXTRA_ARGS: extra
#    curate_dist arguments of the passes, e.g. "--test.writer_delay_seconds 0.02")
# Also printed: rank 1's peak RSS (a worker, shared library pages included) and the job's peak memory:
# the sum of every rank's PSS (/proc/PID/smaps_rollup, shared pages divided among their users),
# sampled every second, over the processes named like the executable.
# UNIT_SECONDS > 0 makes every fake worker sleep that long per unit, as a GPU would take to score it.
set -euo pipefail
export CURATE_EXTRA_ARGS=${CURATE_EXTRA_ARGS:-}
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20000} rank_counts=${2:-"3 65 129 257"} unit_seconds=${3:-0} work=${4:-$root/build/bench_fanin}
build=$root/${CURATE_BUILD_DIR:-build}
tool=$build/src/tools/curate_tool dist=${CURATE_DIST:-$build/src/tools/curate_dist_select} same=$build/tests/h5_same
mkdir -p "$work"
cd "$work"
[ -f base/config.json ] || "$tool" make-model --shape tiny-qwen2 --seed 1 --init-std 0.1 --output base --log-level warn
[ -f tuned/config.json ] || "$tool" make-model --shape tiny-qwen2 --seed 2 --init-std 0.1 --output tuned --log-level warn
if [ ! -f "data$n.jsonl" ]; then  # reasoning of 1,100-1,600 bytes: every profile row holds 1,000 byte-level tokens
  python3 - "$n" <<'PY'
import json, random, sys
n = int(sys.argv[1])
r = random.Random(0)
words = "the patient has fever cough so we consider pneumonia order chest x ray antibiotics sum of two primes even wait check".split()
def text(low, high):
    out = ""
    while len(out) < r.randint(low, high):
        out += r.choice(words) + " "
    return out.strip()
with open("data%d.jsonl" % n, "w") as f:
    for i in range(n):
        f.write(json.dumps({"prompt": text(20, 200), "reasoning": text(1100, 1600),
                            "source": "s%d" % r.randrange(4), "domain": "d%d" % r.randrange(2)}) + "\n")
PY
fi
cat > fanin.ini <<INI
[model]
path = base
tokenizer = $root/tests/data/fixtures/byte_level
[data]
path = data$n.jsonl
[perturb]
target = tuned
gaussian_checkpoints = 4
directional_checkpoints = 8
[pass]
unit_examples = ${CURATE_UNIT_EXAMPLES:-64}
difficulty_tokens = 100
profile_tokens = 1000
gaussian_checkpoint = 2
[select]
budget = 1000
threads = 1
[run]
progress_seconds = 30
log_level = debug
INI
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "N = $n records, fake workers (test mode), unit sleep ${unit_seconds} s, $(nproc) cores, ulimit -n $(ulimit -n)"
reference=""
for ranks in $rank_counts; do
  out=fanin$ranks
  rm -f $out.* ./*.rank0.time ./*.rank1.time
  for stage in difficulty profile; do
    name=$(basename "$dist" | cut -c1-15)
    (while :; do
       pids=$( (pgrep -x "$name" || true) | sed 's|.*|/proc/&/smaps_rollup|' | tr '\n' ' ')
       [ -z "$pids" ] || cat $pids 2>/dev/null | awk '/^Pss:/ {s += $2} END {print int(s / 1024)}'
       sleep 1
     done) > "$out.$stage.memory" &
    sampler=$!
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    mpirun --oversubscribe ${CURATE_MPIRUN_ARGS:-} -np "$ranks" sh -c \
      'case "$OMPI_COMM_WORLD_RANK" in 0|1) exec /usr/bin/time -o "$1.$2.rank$OMPI_COMM_WORLD_RANK.time" -f "%e %U %S %M" "$0" --config fanin.ini --output.path "$1.h5" --stage "$2" --test.fake_worker 1 --test.fake_unit_seconds "$3" $CURATE_EXTRA_ARGS;; *) exec "$0" --config fanin.ini --output.path "$1.h5" --stage "$2" --test.fake_worker 1 --test.fake_unit_seconds "$3" $CURATE_EXTRA_ARGS;; esac' \
      "$dist" "$out" "$stage" "$unit_seconds" > "$out.$stage.log" 2>&1 || { kill "$sampler" 2>/dev/null; tail -20 "$out.$stage.log"; exit 1; }
    wall=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
    kill "$sampler" 2>/dev/null || true
    python3 - "$out.$stage.log" "$out.$stage.rank0.time" "$stage" "$ranks" "$wall" "$out.$stage.rank1.time" \
      "$out.$stage.memory" <<'PY'
import re, sys
log, timing, stage, ranks, wall = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
worker_rss = float(open(sys.argv[6]).read().split()[3]) / 1024
job_pss = max([int(x) for x in open(sys.argv[7]).read().split()] or [0])
text = open(log).read()
done = re.search(r"%s pass done: (\d+) units, \d+ examples, \d+ tokens in (?:(\d+)h)?(?:(\d+)m)?(?:([0-9.]+)s)?" % stage, text)
units = int(done.group(1))
seconds = 3600 * float(done.group(2) or 0) + 60 * float(done.group(3) or 0) + float(done.group(4) or 0)
elapsed, user, system, rss = map(float, open(timing).read().split())
writer = re.search(r"result writer: (\d+) unit\(s\) stored, ([0-9.e+-]+) s CPU", text)
writer_cpu = float(writer.group(2)) if writer else float("nan")
workers = [tuple(map(float, m)) for m in re.findall(r"rank \d+: (\d+) units, ([0-9.e+-]+) s scoring, ([0-9.e+-]+) s waiting", text)]
busy = sum(w[1] for w in workers); waiting = sum(w[2] for w in workers); got = [w[0] for w in workers]
print("%4d ranks, %-10s: %5d units in %6.1f s (%6.1f units/s; mpirun %s s); rank 0: %.1f s CPU = %.2f ms/unit, "
      "%.0f%% of a core, peak RSS %d MiB; workers: %d reported, units each %d-%d, scoring %.1f s, waiting %.1f s (%.0f%% idle), "
      "rank 1 peak RSS %.1f MiB; all ranks' PSS %d MiB (%.1f MiB a rank); rank 0's writer thread %.2f s CPU"
      % (ranks, stage, units, seconds, units / seconds, wall, user + system, 1e3 * (user + system) / units,
         100 * (user + system) / elapsed, rss / 1024, len(workers), min(got or [0]), max(got or [0]), busy, waiting,
         100 * waiting / max(busy + waiting, 1e-9), worker_rss, job_pss, job_pss / ranks, writer_cpu))
PY
  done
  if [ -z "$reference" ]; then
    reference=$out
  else
    "$same" "$reference.h5" "$out.h5" /examples/status /examples/line /examples/id /examples/reasoning_tokens \
      /difficulty/losses /difficulty/mean_loss /difficulty/done /filter/kept /profile/example /profile/losses \
      /profile/mean_loss /profile/mean_loss_first /profile/distance /profile/done \
      && echo "  $out.h5 equals $reference.h5 bit for bit" || { echo "  $out.h5 DIFFERS from $reference.h5"; exit 1; }
  fi
done
for ranks in $rank_counts; do  # the selection of every file, with 3 ranks: the same examples
  mpirun --oversubscribe ${CURATE_MPIRUN_ARGS:-} -np 3 "$dist" --config fanin.ini --output.path fanin$ranks.h5 --stage select --test.fake_worker 1 \
    > fanin$ranks.select.log 2>&1 || { tail -20 fanin$ranks.select.log; exit 1; }
  cmp "$reference.selected.jsonl" fanin$ranks.selected.jsonl || { echo "selections differ"; exit 1; }
done
echo "selections of all rank counts are identical ($(wc -l < "$reference.selected.jsonl") examples)"
ls -l fanin*.h5 | awk '{print $5, $9}'
