#!/usr/bin/env bash
# Runs curate_dist on several machines under Open MPI's mpirun (started over ssh), one scoring rank
# per slot, with a hostfile whose slots are the GPUs per node:
#   launch/run_hosts.sh --hostfile FILE [-n N] [--net IFACE] [--bind none|core|socket] [--dry-run]
#                       [--dist PATH] [--mpirun PATH] [--mpirun-args 'ARGS'] [--] CURATE_DIST_ARGS...
# e.g. printf 'node1 slots=8\nnode2 slots=8\n' > hosts
#      launch/run_hosts.sh --hostfile hosts -- --config run.ini
#
# Needs password-less ssh between the nodes, the same paths everywhere (shared file system for the
# build, models, dataset and output) and Open MPI installed alike.
# Ranks (-n): default = slots in the hostfile + 1 (lines `host slots=G`; `#` comments; a line
# without slots= counts 1). Rank 0 (the coordinator, which writes the HDF5 file and does not score)
# runs on the first host; the extra rank wraps around to the first host too (--oversubscribe), where
# launch/bind_gpu.sh gives it GPU (local rank mod G) = 0, shared with the idle coordinator.
# Open MPI settings: --hostfile FILE, --map-by slot, --bind-to none (default, see run_local.sh),
# --oversubscribe when N exceeds the slots, --allow-run-as-root only as root; -x forwards PATH,
# LD_LIBRARY_PATH and every CURATE_*, OMP_*, NCCL_*, HDF5_* and TORCH_* variable to remote ranks
# (OMPI_MCA_* variables travel anyway). --net IFACE adds --mca btl_tcp_if_include IFACE
# --mca oob_tcp_if_include IFACE (choose the cluster network when nodes have several);
# --mca orte_execute_quiet 1 unless OMPI_MCA_orte_execute_quiet is set (as run_local.sh).
# --dry-run prints the exact command and runs nothing. The first argument that is not an option
# of this script (or everything after --) goes to curate_dist.
# Environment: CURATE_HOSTFILE, CURATE_DIST, CURATE_MPIRUN, CURATE_MPIRUN_ARGS as in run_local.sh.
# Exit code: curate_dist's (130: stopped and saved, rerun to resume); 2 for a bad option, hostfile,
# or missing mpirun/curate_dist. Ctrl-C, SIGTERM or SIGHUP become SIGUSR1 to the ranks (save, 130).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
launcher=run_hosts.sh
source "$here/lib.sh"

hostfile=${CURATE_HOSTFILE:-} net=""
launch_mpirun_defaults
launch_parse "--hostfile|-hostfile|--machinefile hostfile
--net net
$launch_mpirun_spec" "$@"
args=(${launch_rest[@]+"${launch_rest[@]}"})
launch_check_mpirun_options
[ -n "$hostfile" ] || launch_die "--hostfile FILE is required (lines 'host slots=GPUS'); see --help"
[ -r "$hostfile" ] || launch_die "cannot read hostfile '$hostfile'"
hostfile=$(cd "$(dirname "$hostfile")" && pwd)/$(basename "$hostfile")

slots=0 hosts=0
while read -r line; do
  line=${line%%#*}
  read -r -a words <<<"$line"
  [ ${#words[@]} -gt 0 ] || continue
  hosts=$((hosts + 1))
  n=1
  for w in "${words[@]:1}"; do
    case "$w" in slots=*) n=${w#slots=} ;; esac
  done
  [[ "$n" =~ ^[0-9]+$ ]] || launch_die "$hostfile: bad slots in '$line'"
  slots=$((slots + n))
done <"$hostfile"
[ "$hosts" -gt 0 ] && [ "$slots" -gt 0 ] || launch_die "$hostfile names no host with slots"
[ -n "$ranks" ] || ranks=$(launch_ranks "$slots")
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || launch_die "-n must be a positive number, not '$ranks'"

dist=$(launch_find_dist "$dist")
dist=$(cd "$(dirname "$dist")" && pwd)/$(basename "$dist")
command -v "$mpirun" >/dev/null || launch_die "'$mpirun' not found: install Open MPI (launch/setup.sh) or set CURATE_MPIRUN"

cmd=("$mpirun" -np "$ranks" --hostfile "$hostfile")
if [ "$bind" = core ]; then cmd+=(--map-by core --bind-to core); else cmd+=(--map-by slot --bind-to "$bind"); fi
[ "$ranks" -le "$slots" ] || cmd+=(--oversubscribe)
[ "$(id -u)" -ne 0 ] || cmd+=(--allow-run-as-root)
[ -z "$net" ] || cmd+=(--mca btl_tcp_if_include "$net" --mca oob_tcp_if_include "$net")
[ -n "${OMPI_MCA_orte_execute_quiet:-}" ] || cmd+=(--mca orte_execute_quiet 1)  # no abort banner on a non-zero exit
for var in PATH LD_LIBRARY_PATH $(compgen -v | grep -E '^(CURATE|OMP|NCCL|HDF5|TORCH)_' || true); do
  [ -z "${!var+set}" ] || cmd+=(-x "$var")
done
if [ -n "$mpirun_args" ]; then read -r -a extra <<<"$mpirun_args"; cmd+=("${extra[@]}"); fi
cmd+=("$here/bind_gpu.sh" "$dist" ${args[@]+"${args[@]}"})

run_or_print run_hosts.sh "$dry_run" "${cmd[@]}"
