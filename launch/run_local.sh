#!/usr/bin/env bash
# Runs curate_dist on this machine under Open MPI's mpirun, one scoring rank per GPU.
#   launch/run_local.sh [-n N] [--bind none|core|socket] [--dry-run] [--dist PATH] [--mpirun PATH]
#                       [--mpirun-args 'ARGS'] [--] CURATE_DIST_ARGS...
# e.g. launch/run_local.sh -- --config run.ini --output.path out.h5
#
# Ranks (-n): rank 0 coordinates and writes the HDF5 file, the others score. Default: G + 1 with G
# GPUs (CUDA_VISIBLE_DEVICES when set, else nvidia-smi -L; CURATE_GPUS_PER_NODE overrides), else
# min(cores, 16) + 1 CPU ranks (each CPU rank holds its own copy of the model: memory is the limit;
# score.threads sets torch threads per rank). Results do not depend on N.
# GPU binding: every rank runs through launch/bind_gpu.sh, which sets CUDA_VISIBLE_DEVICES to GPU
# (node-local rank mod G); score.device = auto (the default) then scores on it in bfloat16.
# Open MPI settings: --bind-to none (default: scoring ranks run torch thread pools or drive a GPU;
# `--bind core` pins one core per rank for CPU runs with score.threads = 1), --map-by slot,
# --oversubscribe when N exceeds the cores, --allow-run-as-root only as root, and for one node
# shared memory plus loopback: --mca btl self,vader --mca pml ob1 --mca oob_tcp_if_include lo
# --mca btl_vader_single_copy_mechanism none, and --mca orte_execute_quiet 1 (curate_dist reports its
# own errors, and every rank leaves with the job's exit code: without it mpirun adds its "job has been
# aborted" banner to every non-zero exit, a refusal or a clean stop included) (each skipped when
# OMPI_MCA_<name> is set).
# --dry-run prints the exact command and runs nothing. The first argument that is not an option
# of this script (or everything after --) goes to curate_dist.
# Environment: CURATE_DIST (default build/src/tools/curate_dist, else curate_dist on PATH),
# CURATE_MPIRUN (default mpirun), CURATE_MPIRUN_ARGS (extra mpirun arguments).
# Exit code: curate_dist's (0 ok, 2 config, 3 data, 4 model, 5 store, 6 MPI, 130 stopped: rerun the
# same command to resume); 2 also for a bad option of this script or a missing mpirun/curate_dist.
# Ctrl-C, SIGTERM or SIGHUP to this script become SIGUSR1 to the ranks: they save and exit 130.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
launcher=run_local.sh
source "$here/lib.sh"

launch_mpirun_defaults
launch_parse "$launch_mpirun_spec" "$@"
args=(${launch_rest[@]+"${launch_rest[@]}"})
launch_check_mpirun_options

gpus() {  # number of GPUs this node offers
  if [ -n "${CURATE_GPUS_PER_NODE:-}" ]; then echo "$CURATE_GPUS_PER_NODE"
  elif [ -n "${CUDA_VISIBLE_DEVICES+set}" ]; then
    local list
    IFS=, read -r -a list <<<"$CUDA_VISIBLE_DEVICES"
    echo "${#list[@]}"
  elif command -v nvidia-smi >/dev/null; then nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true
  else echo 0
  fi
}
cores=$(nproc)
if [ -z "$ranks" ]; then
  g=$(gpus)
  if [ "${g:-0}" -gt 0 ]; then ranks=$(launch_ranks "$g"); else ranks=$(launch_ranks $((cores < 16 ? cores : 16))); fi
fi
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || launch_die "-n must be a positive number, not '$ranks'"

dist=$(launch_find_dist "$dist")
command -v "$mpirun" >/dev/null || launch_die "'$mpirun' not found: install Open MPI (launch/setup.sh) or set CURATE_MPIRUN"

cmd=("$mpirun" -np "$ranks")
if [ "$bind" = core ]; then cmd+=(--map-by core --bind-to core); else cmd+=(--map-by slot --bind-to "$bind"); fi
[ "$ranks" -le "$cores" ] || cmd+=(--oversubscribe)
[ "$(id -u)" -ne 0 ] || cmd+=(--allow-run-as-root)
for setting in "btl self,vader" "pml ob1" "oob_tcp_if_include lo" "btl_vader_single_copy_mechanism none" \
  "orte_execute_quiet 1"; do
  name=${setting%% *}
  var="OMPI_MCA_$name"
  [ -n "${!var:-}" ] || cmd+=(--mca "$name" "${setting#* }")
done
if [ -n "$mpirun_args" ]; then read -r -a extra <<<"$mpirun_args"; cmd+=("${extra[@]}"); fi
cmd+=("$here/bind_gpu.sh" "$dist" ${args[@]+"${args[@]}"})

run_or_print run_local.sh "$dry_run" "${cmd[@]}"
