#!/usr/bin/env bash
# Per-rank wrapper: gives the rank one GPU chosen by its node-local rank, then execs the command
# (so signals reach it directly and its exit code is the rank's).
#   bind_gpu.sh COMMAND [ARGS...]
# Node-local rank L: OMPI_COMM_WORLD_LOCAL_RANK (mpirun), SLURM_LOCALID (srun), MPI_LOCALRANKID or
# PMI_LOCAL_RANK (MPICH).
# GPUs of the node: the list in CUDA_VISIBLE_DEVICES when it is set (Slurm sets it for --gpus*),
# else 0..G-1 with G from `nvidia-smi -L`; CURATE_GPUS_PER_NODE=G overrides the count.
# The rank gets entry L mod G as its only visible device (so it uses cuda:0). L mod G rather than L
# because curate_dist's rank 0 coordinates and does not score: on G GPUs the launch scripts start
# G + 1 ranks, and the first node's local rank G shares GPU 0 with the idle coordinator.
# No GPU, no local rank, or CURATE_BIND_GPU=0: the command runs unchanged.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: bind_gpu.sh COMMAND [ARGS...]" >&2; exit 2; }
case "$1" in -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;; esac

local_rank=${OMPI_COMM_WORLD_LOCAL_RANK:-${SLURM_LOCALID:-${MPI_LOCALRANKID:-${PMI_LOCAL_RANK:-}}}}
if [ "${CURATE_BIND_GPU:-1}" != 0 ] && [ -n "$local_rank" ]; then
  devices=()
  if [ -n "${CUDA_VISIBLE_DEVICES+set}" ]; then
    IFS=, read -r -a devices <<<"$CUDA_VISIBLE_DEVICES"
  elif [ -n "${CURATE_GPUS_PER_NODE:-}" ]; then
    for ((i = 0; i < CURATE_GPUS_PER_NODE; i++)); do devices+=("$i"); done
  elif command -v nvidia-smi >/dev/null; then
    count=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
    for ((i = 0; i < count; i++)); do devices+=("$i"); done
  fi
  if [ ${#devices[@]} -gt 0 ]; then
    export CUDA_VISIBLE_DEVICES=${devices[local_rank % ${#devices[@]}]}
    [ -z "${CURATE_BIND_GPU_VERBOSE:-}" ] || echo "bind_gpu: $(hostname) local rank $local_rank -> CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES" >&2
  fi
fi
exec "$@"
