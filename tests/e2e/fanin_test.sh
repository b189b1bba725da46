#!/usr/bin/env bash
# Many ranks, light workers: the torch-free curate_dist (curate_dist_select in a torch build: it links
# no libtorch) runs the whole job with 17 fake-worker ranks (--test.fake_worker: synthetic losses, no
# model), and its result file and selection equal, bit for bit, the torch build's with 3 ranks; so
# does a job whose rank 0 is the torch build and whose workers are the torch-free one (MPMD).
#   fanin_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR CURATE_DIST_SELECT
set -euo pipefail
tool=$1 dist=$2 same=$3 mpiexec=$4 tokenizer=$5 cpu=$6
source "$(dirname "$0")/common.sh"

if ldd "$cpu" | grep -Eq 'libtorch|libc10|libcuda'; then fail "$cpu links libtorch or CUDA"; fi
"$mpiexec" -n 3 "$dist" --config run.ini --output.path three.h5 --test.fake_worker 1 > three.log 2>&1 \
  || { cat three.log; fail "the 3-rank run (torch build) failed"; }
"$mpiexec" -n 17 "$cpu" --config run.ini --output.path many.h5 --test.fake_worker 1 > many.log 2>&1 \
  || { cat many.log; fail "the 17-rank run of the torch-free build failed"; }
grep -q "16 worker(s)" many.log || { cat many.log; fail "the 17-rank run did not have 16 workers"; }
"$same" three.h5 many.h5 $datasets || fail "17 torch-free ranks stored other bits than 3 ranks"
cmp three.selected.jsonl many.selected.jsonl || fail "17 torch-free ranks selected other records"
cmp three.scores.tsv many.scores.tsv || fail "the scores tables differ"
echo "ok: 17 torch-free fake-worker ranks store and select what 3 ranks of the torch build do"

"$mpiexec" -n 1 "$dist" --config run.ini --output.path mixed.h5 --test.fake_worker 1 : \
  -n 4 "$cpu" --config run.ini --output.path mixed.h5 --test.fake_worker 1 > mixed.log 2>&1 \
  || { cat mixed.log; fail "rank 0 of the torch build with torch-free workers failed"; }
"$same" three.h5 mixed.h5 $datasets || fail "torch-free workers under a torch rank 0 stored other bits"
cmp three.selected.jsonl mixed.selected.jsonl || fail "the mixed job selected other records"
echo "ok: a torch-build rank 0 with torch-free workers stores the same bits"
