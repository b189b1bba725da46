#!/usr/bin/env bash
# Submits the pipeline: slurm/curate.sbatch (scoring, GPU nodes), then slurm/select.sbatch
# (selection, CPU node) with --dependency=afterok:SCORING_JOB --kill-on-invalid-dep=yes.
#   slurm/submit.sh [-c|--config FILE] [-o|--output FILE.h5] [--nodes N --gpus-per-node G | --ntasks N]
#                   [--score-args 'SBATCH OPTIONS'] [--select-args 'SBATCH OPTIONS'] [--no-select]
#                   [--logs DIR] [--dry-run] [SBATCH OPTIONS FOR BOTH...] [-- CURATE_DIST ARGS...]
# e.g. slurm/submit.sh -c run.ini -o /scratch/run.h5 --nodes 2 --gpus-per-node 4 --account proj \
#        --score-args '--partition=gpu --time=24:00:00' --select-args '--partition=cpu --cpus-per-task=8'
#
# --config/--output: curate_dist's --config and --output.path (default $CURATE_CONFIG, $CURATE_OUTPUT).
# --nodes N --gpus-per-node G: the scoring job asks for N nodes with G GPUs each and N*G + 1 tasks
#   (rank 0 coordinates and does not score; launch/bind_gpu.sh gives each rank one GPU, which
#   score.device = auto, the default, uses). --ntasks N instead: N ranks on whatever Slurm gives.
# --score-args / --select-args: sbatch options for one of the two jobs (partition, time, memory);
#   default $CURATE_SCORE_SBATCH_ARGS / $CURATE_SELECT_SBATCH_ARGS. Other options that are not this
#   script's (--account, --qos, --mail-user, ...) go to both sbatch calls, as do Slurm's own
#   SBATCH_* environment variables (SBATCH_ACCOUNT, SBATCH_PARTITION, ...).
# Arguments after -- and the words of $CURATE_EXTRA_ARGS go to curate_dist in both jobs.
# Logs: DIR/%x-%j.out (default $CURATE_LOG_DIR or logs), created here; a requeued job appends.
# --dry-run prints the two sbatch commands and submits nothing. Prints the job ids
# ("scoring job ID", "selection job ID"). Exit code: sbatch's; 2 for a bad option.
# The scoring job requeues itself when its time runs out (SIGUSR1 300 s before, exit 130); after a
# plain scancel the selection job is cancelled too: run the same submit.sh command again to resume.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
launcher=submit.sh
source "$root/launch/lib.sh"

config=${CURATE_CONFIG:-} output=${CURATE_OUTPUT:-} nodes="" gpus="" ntasks=""
score_args=${CURATE_SCORE_SBATCH_ARGS:-} select_args=${CURATE_SELECT_SBATCH_ARGS:-}
logs=${CURATE_LOG_DIR:-logs} with_select=1 dry_run=0
launch_others=collect launch_parse "-c|--config config
-o|--output output
--nodes|-N nodes
--gpus-per-node gpus
--ntasks|-n ntasks
--score-args score_args
--select-args select_args
--logs logs
--no-select with_select=0
--dry-run dry_run=1" "$@"
common=(${launch_other[@]+"${launch_other[@]}"}) dist_args=(${launch_rest[@]+"${launch_rest[@]}"})
for v in nodes gpus ntasks; do
  [ -z "${!v}" ] || [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || launch_die "--$v must be a positive number, not '${!v}'"
done
[ -z "$gpus" ] || [ -z "$ntasks" ] || launch_die "give --gpus-per-node (tasks = nodes * GPUs + 1) or --ntasks, not both"
[ -z "$config" ] || [ -r "$config" ] || launch_die "cannot read configuration '$config'"
command -v sbatch >/dev/null || [ "$dry_run" -eq 1 ] || launch_die "sbatch not found: run this on a Slurm login node"

score=(--parsable --output="$logs/%x-%j.out")
if [ -n "$gpus" ]; then
  score+=(--nodes="${nodes:-1}" --gpus-per-node="$gpus" --ntasks="$(launch_ranks $((${nodes:-1} * gpus)))")
else
  [ -z "$nodes" ] || score+=(--nodes="$nodes")
  [ -z "$ntasks" ] || score+=(--ntasks="$ntasks")
fi
if [ -n "$score_args" ]; then read -r -a words <<<"$score_args"; score+=("${words[@]}"); fi
select=(--parsable --output="$logs/%x-%j.out")
if [ -n "$select_args" ]; then read -r -a words <<<"$select_args"; select+=("${words[@]}"); fi

# The batch scripts read these (sbatch passes the environment on, --export=ALL is its default).
export CURATE_ROOT=${CURATE_ROOT:-$root}
if [ -n "$config" ]; then export CURATE_CONFIG=$config; else unset CURATE_CONFIG; fi
if [ -n "$output" ]; then export CURATE_OUTPUT=$output; else unset CURATE_OUTPUT; fi
exports=(--export=ALL)

score_cmd=(sbatch "${exports[@]}" "${score[@]}" ${common[@]+"${common[@]}"} "$here/curate.sbatch" ${dist_args[@]+"${dist_args[@]}"})
select_cmd=(sbatch "${exports[@]}" "${select[@]}" ${common[@]+"${common[@]}"} --kill-on-invalid-dep=yes)
if [ "$dry_run" -eq 1 ]; then
  echo "# CURATE_ROOT=$CURATE_ROOT CURATE_CONFIG=${CURATE_CONFIG:-} CURATE_OUTPUT=${CURATE_OUTPUT:-} CURATE_EXTRA_ARGS=${CURATE_EXTRA_ARGS:-}"
  printf '%q ' "${score_cmd[@]}" | sed 's/ $//'; echo
  if [ "$with_select" -eq 1 ]; then
    printf '%q ' "${select_cmd[@]}" --dependency=afterok:SCORING_JOB "$here/select.sbatch" ${dist_args[@]+"${dist_args[@]}"} | sed 's/ $//'; echo
  fi
  exit 0
fi

mkdir -p "$logs"
score_id=$("${score_cmd[@]}")
score_id=${score_id%%;*}
echo "scoring job $score_id"
if [ "$with_select" -eq 1 ]; then
  select_id=$("${select_cmd[@]}" --dependency=afterok:"$score_id" "$here/select.sbatch" ${dist_args[@]+"${dist_args[@]}"})
  echo "selection job ${select_id%%;*}"
fi
