#!/usr/bin/env bash
# End-to-end test of slurm/ on a real single-node Slurm started here (Debian's slurm-wlm and munge,
# installed by launch/setup_slurm.sh when missing; daemons run as root from a temporary directory
# with their own ports and munge socket, and are stopped on exit). With the tiny setup of
# tests/e2e/common.sh and 3 ranks, each of these ends bitwise equal to an uninterrupted mpirun
# run (HDF5 result datasets, and the selected examples when both runs wrote them):
#  1. curate.sbatch (srun --mpi=pmix) sent SIGUSR1 as at the time limit (scancel --signal=USR1
#     --batch): it exits 130, requeues itself and the second run resumes;
#  2. a job requeued from outside (scontrol requeue) resumes;
#  3. submit.sh (mpirun launcher) stopped by a plain scancel, then submitted again with the
#     selection job chained by --dependency=afterok: the scoring job resumes, the selection follows.
# Also submit.sh --dry-run. CURATE_TEST_KEEP=1 keeps the temporary directory (logs, slurm.conf). Skips (exit 77, with the reason) only where Slurm cannot start: not root
# and no password-less sudo, packages not installable, or daemons that do not come up.
#   slurm_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
tool=$(abs "$1") dist=$(abs "$2") same=$(abs "$3") mpiexec=$4 tokenizer=$(abs "$5")
root=$(cd "$(dirname "$0")/../.." && pwd)
skip() { echo "SKIP: Slurm test not run: $*"; exit 77; }
started=$(date +%s)

# submit.sh --dry-run needs no Slurm: tasks for GPU nodes, the dependency, both jobs' options.
out=$(env -u SBATCH_PARTITION "$root/slurm/submit.sh" --dry-run -c /dev/null -o x.h5 --nodes 2 --gpus-per-node 4 --account acct \
  --score-args '--partition=gpu' --select-args '--partition=cpu' -- --run.seed 3)
echo "$out"
grep -q -- "--nodes=2 --gpus-per-node=4 --ntasks=9 --partition=gpu --account acct $root/slurm/curate.sbatch --run.seed 3\$" <<<"$out" \
  || { echo "FAIL: submit.sh --dry-run scoring command"; exit 1; }
grep -q -- "--partition=cpu --account acct --kill-on-invalid-dep=yes --dependency=afterok:SCORING_JOB $root/slurm/select.sbatch --run.seed 3\$" <<<"$out" \
  || { echo "FAIL: submit.sh --dry-run selection command"; exit 1; }
echo "ok: submit.sh --dry-run prints both sbatch commands"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo -n); else skip "the Slurm daemons need root: not root and no password-less sudo"; fi
fi
code=0; "$root/launch/setup_slurm.sh" || code=$?
[ $code -ne 3 ] || skip "slurm-wlm/munge are missing and cannot be installed (see above)"
[ $code -eq 0 ] || { echo "FAIL: launch/setup_slurm.sh exited $code"; exit 1; }

source "$root/tests/e2e/common.sh"  # cd's into $work
sdir=$work/slurm
mkdir -p "$sdir/state" "$sdir/spool" logs
cleanup() {
  set +e
  if [ -f "$sdir/slurmctld.pid" ]; then
    ids=$(squeue -h -o %i 2>/dev/null)
    [ -z "$ids" ] || scancel $ids 2>/dev/null
    for _ in $(seq 1 40); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  for daemon in slurmd slurmctld munged; do
    pid=$(cat "$sdir/$daemon.pid" 2>/dev/null) || continue
    "${sudo[@]}" kill "$pid" 2>/dev/null
    for _ in $(seq 1 20); do "${sudo[@]}" kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    "${sudo[@]}" kill -9 "$pid" 2>/dev/null
  done
  cd /
  if [ -n "${CURATE_TEST_KEEP:-}" ]; then echo "kept $work"; else "${sudo[@]}" rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Daemons: own munge key and socket, own ports, state and spool under $work.
read -r ctld_port slurmd_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
cpus=$(nproc); [ "$cpus" -ge 4 ] || cpus=4  # 3 ranks + room; config_overrides accepts more than the hardware
export SLURM_CONF=$sdir/slurm.conf
cat > "$SLURM_CONF" <<CONF
ClusterName=curatetest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sdir/munge.socket,cred_expire=10
CredType=cred/munge
StateSaveLocation=$sdir/state
SlurmdSpoolDir=$sdir/spool
SlurmctldPidFile=$sdir/slurmctld.pid
SlurmdPidFile=$sdir/slurmd.pid
SlurmctldLogFile=$sdir/slurmctld.log
SlurmdLogFile=$sdir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobRequeue=1
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=20
# A requeued job waits cred_expire seconds (default 120) before it starts again (AuthInfo above).
MinJobAge=600
InactiveLimit=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
head -c 1024 /dev/urandom > "$sdir/munge.key"
chmod 600 "$sdir/munge.key"
"${sudo[@]}" chown root "$sdir/munge.key" 2>/dev/null || true
cannot_start() {
  for f in "$sdir"/*.log; do [ -f "$f" ] && { echo "== $f"; "${sudo[@]}" tail -n 20 "$f"; }; done
  skip "$*"
}
"${sudo[@]}" munged --force --socket="$sdir/munge.socket" --key-file="$sdir/munge.key" --pid-file="$sdir/munged.pid" \
  --log-file="$sdir/munged.log" --seed-file="$sdir/munged.seed" || cannot_start "munged does not start"
munge -n -S "$sdir/munge.socket" | unmunge -S "$sdir/munge.socket" > /dev/null || cannot_start "munge does not work"
"${sudo[@]}" slurmctld -c -f "$SLURM_CONF" || cannot_start "slurmctld does not start"
"${sudo[@]}" slurmd -N localhost -f "$SLURM_CONF" || cannot_start "slurmd does not start"
for _ in $(seq 1 60); do [ "$(sinfo -h -n localhost -o %T 2>/dev/null)" = idle ] && break; sleep 0.5; done
[ "$(sinfo -h -n localhost -o %T 2>/dev/null)" = idle ] || cannot_start "the node does not become idle: $(sinfo 2>&1)"
echo "ok: Slurm $(sinfo -V | cut -d' ' -f2) up ($cpus CPUs, ports $ctld_port/$slurmd_port, MPI plugins: $(srun --mpi=list 2>&1 | sed -n 's/^\t//p' | tr '\n' ' '))"

export CURATE_ROOT=$root CURATE_DIST=$dist
export CURATE_EXTRA_ARGS="--run.progress_seconds 1"  # the same as run.ini: only tests the variable
unset CURATE_CONFIG CURATE_OUTPUT CURATE_STAGE CURATE_LAUNCHER CURATE_REQUEUE
"$mpiexec" -n 3 "$dist" --config run.ini --output.path ref.h5 $CURATE_EXTRA_ARGS > ref.log 2>&1 || { cat ref.log; fail "uninterrupted run failed"; }

same_result() {  # same_result A B: HDF5 results equal, and the selected examples when both runs wrote them
  "$same" "$1.h5" "$2.h5" $datasets || fail "$2 differs from the uninterrupted run"
  if [ -f "$1.selected.jsonl" ] && [ -f "$2.selected.jsonl" ]; then
    cmp "$1.selected.jsonl" "$2.selected.jsonl" || fail "$2.selected.jsonl differs from the uninterrupted run's"
  fi
}
field() { scontrol show job -o "$1" | grep -o " $2=[^ ]*" | cut -d= -f2-; }  # field JOB NAME
job_fail() { echo "== job $1"; scontrol show job "$1"; echo "== log $2"; cat "$2" 2>/dev/null; fail "$3"; }
wait_log() {  # wait_log JOB LOG PATTERN SECONDS
  for _ in $(seq 1 $(($4 * 10))); do grep -q "$3" "$2" 2>/dev/null && return; sleep 0.1; done
  job_fail "$1" "$2" "no '$3' in the log after $4 s"
}
wait_end() {  # wait_end JOB LOG SECONDS: until the job has ended and its processes are gone; prints its final state
  local state
  for _ in $(seq 1 $(($3 * 4))); do
    state=$(squeue -h -t all -j "$1" -o %T)  # COMPLETING while processes of a cancelled job remain
    case "$state" in
      COMPLETED|CANCELLED|FAILED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) echo "$state"; return ;;
    esac
    sleep 0.25
  done
  job_fail "$1" "$2" "job $1 did not end within $3 s (state $state)" >&2
}

# 1. SIGUSR1 to the batch script (what --signal=B:USR1@300 sends before the time limit): save, 130,
#    the script requeues the job, the second run resumes. Default launcher: srun --mpi=pmix.
t=$(date +%s)
jid=$(env -u CURATE_ROOT sbatch --parsable --ntasks=3 "$root/slurm/curate.sbatch" --config run.ini --output.path usr1.h5)  # finds the repository itself
log=logs/curate-$jid.out  # the script's own --output default
wait_log "$jid" "$log" "difficulty pass:" 90
scancel --signal=USR1 --batch "$jid"
wait_log "$jid" "$log" "requeueing job $jid" 60
state=$(wait_end "$jid" "$log" 120)
[ "$state" = COMPLETED ] || job_fail "$jid" "$log" "the requeued job ended $state"
[ "$(field "$jid" Restarts)" = 1 ] || job_fail "$jid" "$log" "the job should have run twice"
grep -q "srun --mpi=pmix" "$log" || grep -q "mpirun" "$log" || job_fail "$jid" "$log" "no launch command in the log"
grep -q "curate_dist exited 130" "$log" || job_fail "$jid" "$log" "the stopped run did not exit 130"
grep -q "resuming" "$log" || job_fail "$jid" "$log" "the requeued run did not resume"
same_result ref usr1
echo "ok: SIGUSR1 -> exit 130 -> requeued by the script -> resumed, equal to the uninterrupted run ($(( $(date +%s) - t )) s)"

# 2. Requeued from outside (scontrol requeue: Slurm sends SIGTERM, then requeues the job itself).
t=$(date +%s)
jid=$(sbatch --parsable --ntasks=3 --job-name=requeue "$root/slurm/curate.sbatch" --config run.ini --output.path requeue.h5)
log=logs/requeue-$jid.out
wait_log "$jid" "$log" "difficulty pass:" 90
scontrol requeue "$jid"
state=$(wait_end "$jid" "$log" 120)
[ "$state" = COMPLETED ] && [ "$(field "$jid" Restarts)" = 1 ] || job_fail "$jid" "$log" "requeued job: $state, restarts $(field "$jid" Restarts)"
grep -q "resuming" "$log" || job_fail "$jid" "$log" "the requeued run did not resume"
same_result ref requeue
echo "ok: scontrol requeue -> resumed, equal to the uninterrupted run ($(( $(date +%s) - t )) s)"

# 3. submit.sh with mpirun: a plain scancel stops the job (not requeued); submitting the same
#    command again resumes, and the chained selection job runs after it. (Slurm's SIGTERM also hits
#    mpirun, which then drops the ranks' output and exits 1: the log cannot show the ranks' stop.)
t=$(date +%s)
export CURATE_LAUNCHER=mpirun
out=$("$root/slurm/submit.sh" -c run.ini -o cancel.h5 --ntasks 3 --job-name=cancel --no-select)
jid=$(sed -n 's/^scoring job //p' <<<"$out")
log=logs/cancel-$jid.out
wait_log "$jid" "$log" "difficulty pass:" 90
scancel "$jid"
state=$(wait_end "$jid" "$log" 60)
[ "$state" = CANCELLED ] || job_fail "$jid" "$log" "the cancelled job ended $state"
grep -q "TERM received" "$log" || job_fail "$jid" "$log" "the batch script did not see SIGTERM"
grep -q "requeueing" "$log" && job_fail "$jid" "$log" "a cancelled job must not requeue itself"
[ -f cancel.h5 ] || job_fail "$jid" "$log" "the cancelled run left no result file"
out=$("$root/slurm/submit.sh" -c run.ini -o cancel.h5 --ntasks 3 --job-name=cancel)
jid=$(sed -n 's/^scoring job //p' <<<"$out") sid=$(sed -n 's/^selection job //p' <<<"$out")
log=logs/cancel-$jid.out slog=logs/cancel-$sid.out
[[ "$(field "$sid" Dependency)" == afterok:$jid* ]] || job_fail "$sid" "$slog" "selection job dependency: $(field "$sid" Dependency)"
state=$(wait_end "$jid" "$log" 120)
[ "$state" = COMPLETED ] || job_fail "$jid" "$log" "the resubmitted job ended $state"
grep -q "mpirun" "$log" || job_fail "$jid" "$log" "CURATE_LAUNCHER=mpirun was not used"
grep -q "resuming" "$log" || job_fail "$jid" "$log" "the resubmitted job did not resume"
state=$(wait_end "$sid" "$slog" 120)
[ "$state" = COMPLETED ] || job_fail "$sid" "$slog" "the selection job ended $state"
grep -q -- "--stage select" "$slog" || job_fail "$sid" "$slog" "the selection job did not run --stage select"
same_result ref cancel
[ -f cancel.selected.jsonl ] || job_fail "$sid" "$slog" "the selection job wrote no cancel.selected.jsonl"
echo "ok: scancel -> submit.sh again resumes, the chained selection job follows ($(( $(date +%s) - t )) s)"
echo "ok: slurm test done in $(( $(date +%s) - started )) s"
