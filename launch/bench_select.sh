#!/usr/bin/env bash
# The selection stage at scale: a synthetic dataset of N records (100 sources, 2 domains, short texts)
# scored by fake-worker ranks of the torch-free curate_dist (difficulty 8 tokens; the filter keeps
# about half, profiled at 4 directional checkpoints x 16 tokens; store.token_losses = none: means
# only), then `--stage select` (budget B, per_cluster 4) with each rank count of RANKS, each under
# /usr/bin/time per rank: wall time, peak RSS of every rank, the outputs' sizes, and a byte
# comparison of every output with the first rank count's. Memory at 10M: rank 0 ~2.6 GiB, every
# other rank ~0.3 GiB (the candidates' rows of what select() reads), so 16 ranks need ~7 GiB
# (docs/PERFORMANCE.md).
#   launch/bench_select.sh [N=10000000] ["RANKS"="1 4 16"] [B=100000] [SCORING_RANKS=3] [WORKDIR=build/bench_select]
#   (CURATE_BUILD_DIR: the build folder, default build; CURATE_DIST: the executable, default curate_dist_select)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000000} rank_counts=${2:-"1 4 16"} budget=${3:-100000} scoring=${4:-3} work=${5:-$root/build/bench_select}
build=$root/${CURATE_BUILD_DIR:-build}
tool=$build/src/tools/curate_tool dist=${CURATE_DIST:-$build/src/tools/curate_dist_select}
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
texts = [" ".join(r.choice(words) for _ in range(r.randint(4, 12))) for _ in range(4096)]
with open("data%d.jsonl.part" % n, "w") as f:
    for i in range(n):
        s = r.randrange(100)
        f.write(json.dumps({"prompt": texts[r.randrange(4096)], "reasoning": texts[r.randrange(4096)],
                            "source": "s%02d" % s, "domain": "d%d" % (s % 2)}) + "\n")
PY
  mv "data$n.jsonl.part" "data$n.jsonl"
fi
cat > select.ini <<INI
[model]
path = base
tokenizer = $root/tests/data/fixtures/byte_level
[data]
path = data$n.jsonl
[perturb]
target = tuned
gaussian_checkpoints = 2
directional_checkpoints = 4
[pass]
unit_examples = 2048
difficulty_tokens = 8
profile_tokens = 16
gaussian_checkpoint = 1
[store]
token_losses = none
[select]
budget = $budget
per_cluster = 4
threads = 1
[run]
progress_seconds = 60
INI
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "N = $n records ($(du -h "data$n.jsonl" | cut -f1)), budget $budget, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for stage in difficulty profile; do  # a stage already stored resumes with nothing to do
  t0=$(date +%s)
  mpirun --oversubscribe -np "$scoring" "$dist" --config select.ini --output.path scored$n.h5 --stage $stage \
    --test.fake_worker 1 > scored$n.$stage.log 2>&1 || { tail -20 scored$n.$stage.log; exit 1; }
  echo "scored ($stage, $scoring ranks, fake workers) in $(( $(date +%s) - t0 )) s: $(grep -o "$stage pass.*" scored$n.$stage.log | tail -1)"
done
echo "result file: $(du -h scored$n.h5 | cut -f1); $(grep -o 'difficulty filter.*' scored$n.profile.log | head -1)"
reference=""
for ranks in $rank_counts; do
  out=select$ranks
  rm -f $out.*
  cp --reflink=auto scored$n.h5 $out.h5  # each selection its own result file: outputs are named after it
  t0=$(date +%s.%N)
  mpirun --oversubscribe -np "$ranks" sh -c 'exec /usr/bin/time -o "$1.rank$OMPI_COMM_WORLD_RANK.time" -f "%e %U %S %M" "$0" \
      --config select.ini --output.path "$1.h5" --stage select --test.fake_worker 1' "$dist" "$out" > $out.log 2>&1 \
    || { tail -20 $out.log; exit 1; }
  wall=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
  python3 - "$out" "$ranks" "$wall" <<'PY'
import sys
out, ranks, wall = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = [list(map(float, open("%s.rank%d.time" % (out, r)).read().split())) for r in range(ranks)]
rss = [x[3] / 1024 for x in t]
print("%3d ranks: select %s s wall, rank 0 %.1f s CPU; peak RSS rank 0 %.0f MiB, other ranks %s MiB"
      % (ranks, wall, t[0][1] + t[0][2], rss[0], "%.0f-%.0f" % (min(rss[1:]), max(rss[1:])) if ranks > 1 else "-"))
PY
  ls -l $out.selected.jsonl $out.selected_ids.txt $out.scores.tsv $out.summary.json $out.report.html $out.selection.h5 \
    | awk '{printf "    %12d  %s\n", $5, $9}'
  if [ -z "$reference" ]; then
    reference=$out
  else
    for kind in selected.jsonl selected_ids.txt scores.tsv; do
      cmp "$out.$kind" "$reference.$kind" || { echo "$out.$kind differs from $reference.$kind"; exit 1; }
    done
    echo "    selected, ids and scores equal to the first rank count's byte for byte"
    for kind in report.html summary.json; do  # they name their own files and report the selection's time and ranks
      echo "    $kind: $(diff <(sed "s/$out\./$reference./g" "$out.$kind" | tr '<' '\n') <(tr '<' '\n' < "$reference.$kind") \
        | grep -c '^<') element(s) differ, file names aside (the selection's own seconds and rank count)"
    done
  fi
done
