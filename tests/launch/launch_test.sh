#!/usr/bin/env bash
# Test of the one-node and hostfile launchers: launch/run_local.sh with 1, 2 and 4 CPU ranks gives
# bitwise the same results (and the same selected examples); --dry-run prints the command and runs
# nothing; launch/bind_gpu.sh gives rank L the GPU L mod G; SIGTERM to the launcher exits 130 and the
# rerun resumes to the same result; a bad curate_dist option exits 2 through the launcher; a rank
# killed by SIGKILL exits 137 with the signal named;
# launch/run_hosts.sh with a hostfile `localhost slots=4` (5 ranks) gives the same result.
#   launch_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
tool=$(abs "$1") dist=$(abs "$2") same=$(abs "$3") mpiexec=$4 tokenizer=$(abs "$5")
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/e2e/common.sh"
export CURATE_DIST=$dist CURATE_MPIRUN=$mpiexec
unset CUDA_VISIBLE_DEVICES CURATE_GPUS_PER_NODE CURATE_MPIRUN_ARGS CURATE_HOSTFILE
run_local=$root/launch/run_local.sh run_hosts=$root/launch/run_hosts.sh

# same_result A B: the HDF5 result datasets equal, and the selected examples when both runs wrote them.
same_result() {
  "$same" "$1.h5" "$2.h5" $datasets || fail "$2 differs from $1"
  if [ -f "$1.selected.jsonl" ] && [ -f "$2.selected.jsonl" ]; then
    cmp "$1.selected.jsonl" "$2.selected.jsonl" || fail "$2.selected.jsonl differs from $1.selected.jsonl"
  fi
}

for np in 1 2 4; do
  "$run_local" -n $np -- --config run.ini --output.path np$np.h5 > np$np.log 2>&1 || { cat np$np.log; fail "run_local.sh -n $np failed"; }
done
same_result np1 np2
same_result np1 np4
grep -q "4 rank(s), 3 worker(s)" np4.log || { cat np4.log; fail "run_local.sh -n 4 did not start 4 ranks"; }
echo "ok: run_local.sh with 1, 2 and 4 ranks gives identical results"

# --dry-run prints the exact command and starts nothing.
cmd=$("$run_local" -n 3 --dry-run -- --config run.ini --output.path dry.h5)
echo "$cmd"
[ "$(echo "$cmd" | wc -l)" -eq 1 ] || fail "--dry-run printed more than the command"
case "$cmd" in "$mpiexec -np 3 "*"$root/launch/bind_gpu.sh $dist --config run.ini --output.path dry.h5") ;;
  *) fail "--dry-run command is not mpirun -np 3 ... bind_gpu.sh curate_dist ARGS: $cmd" ;; esac
[ ! -e dry.h5 ] || fail "--dry-run ran curate_dist"
cmd=$(CURATE_GPUS_PER_NODE=2 "$run_local" --dry-run --config run.ini)
case "$cmd" in *" -np 3 "*) ;; *) fail "2 GPUs should give 3 ranks by default: $cmd" ;; esac
cmd=$(CUDA_VISIBLE_DEVICES= "$run_local" --dry-run --config run.ini)  # no GPU visible
cores=$(nproc)
case "$cmd" in *" -np $(( (cores < 16 ? cores : 16) + 1 )) "*) ;; *) fail "without GPUs the default is min(cores, 16) + 1 ranks: $cmd" ;; esac
eval "set -- $cmd"  # the printed command is valid shell: words as given
[ "${*: -3}" = "$dist --config run.ini" ] || fail "the printed command does not parse back"
echo "ok: --dry-run prints the command and runs nothing"

# bind_gpu.sh: rank L sees GPU L mod G, from nvidia-smi's count or from the list Slurm gives.
got=$(CURATE_GPUS_PER_NODE=2 "$run_local" -n 3 --dist "$(command -v printenv)" -- CUDA_VISIBLE_DEVICES | sort | tr '\n' ' ')
[ "$got" = "0 0 1 " ] || fail "3 ranks on 2 GPUs should see devices 0, 1, 0; saw: $got"
got=$(OMPI_COMM_WORLD_LOCAL_RANK=4 CUDA_VISIBLE_DEVICES=3,5,7 "$root/launch/bind_gpu.sh" printenv CUDA_VISIBLE_DEVICES)
[ "$got" = 5 ] || fail "local rank 4 of CUDA_VISIBLE_DEVICES=3,5,7 should get 5, got $got"
got=$(SLURM_LOCALID=1 CUDA_VISIBLE_DEVICES= "$root/launch/bind_gpu.sh" printenv CUDA_VISIBLE_DEVICES || true)
[ -z "$got" ] || fail "no visible GPU must stay no visible GPU, got '$got'"
echo "ok: bind_gpu.sh gives local rank L GPU L mod G"

# Exit codes pass through: SIGTERM to the launcher saves and exits 130, the rerun resumes; bad option 2.
"$run_local" -n 3 -- --config run.ini --output.path stopped.h5 > stopped.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -q "difficulty pass:" stopped.log 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid
code=0; wait $pid || code=$?
[ $code -eq 130 ] || { cat stopped.log; fail "run_local.sh stopped by SIGTERM exited $code, expected 130"; }
grep -q "stop requested" stopped.log || { cat stopped.log; fail "curate_dist did not see the stop"; }
"$run_local" -n 2 -- --config run.ini --output.path stopped.h5 > resumed.log 2>&1 || { cat resumed.log; fail "resume failed"; }
grep -q "resuming" resumed.log || { cat resumed.log; fail "the rerun did not resume"; }
same_result np1 stopped
code=0; "$run_local" -n 2 -- --config run.ini --output.path bad.h5 --run.seed x > bad.log 2>&1 || code=$?
[ $code -eq 2 ] || { cat bad.log; fail "a bad curate_dist option exited $code through run_local.sh, expected 2"; }
echo "ok: SIGTERM exits 130 and resumes to the same result; curate_dist's exit code passes through"

# A rank killed outright (out of memory, kill -9): mpirun's own notice is silenced by
# orte_execute_quiet, so the launcher names the signal and keeps the code (128 + 9).
printf '#!/bin/sh\nkill -9 $$\n' > killed_dist && chmod +x killed_dist
code=0; "$run_local" -n 2 --dist "$PWD/killed_dist" -- --config run.ini > killed.log 2>&1 || code=$?
[ $code -eq 137 ] || { cat killed.log; fail "a rank killed by SIGKILL exited $code through run_local.sh, expected 137"; }
grep -q "a rank ended on signal 9 (KILL)" killed.log || { cat killed.log; fail "run_local.sh did not name the signal"; }
echo "ok: a rank killed by a signal exits 128 + N with the signal named"

# Several hosts: a hostfile with one host of 4 slots gives 4 workers and the coordinator.
echo "localhost slots=4  # one node, 4 GPUs" > hostfile
cmd=$("$run_hosts" --hostfile hostfile --dry-run -- --config run.ini --output.path hosts.h5)
case "$cmd" in "$mpiexec -np 5 --hostfile $work/hostfile "*) ;; *) fail "run_hosts.sh --dry-run: $cmd" ;; esac
"$run_hosts" --hostfile hostfile -- --config run.ini --output.path hosts.h5 > hosts.log 2>&1 || { cat hosts.log; fail "run_hosts.sh failed"; }
grep -q "5 rank(s), 4 worker(s)" hosts.log || { cat hosts.log; fail "run_hosts.sh did not start 5 ranks"; }
same_result np1 hosts
echo "ok: run_hosts.sh with a hostfile gives the same result"
