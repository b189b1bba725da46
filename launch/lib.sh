# Sourced by the launchers (launch/run_local.sh, launch/run_hosts.sh, slurm/submit.sh): their option
# parser, the rank rule, where curate_dist is, and run_or_print. A caller sets `launcher` (its name,
# for messages) before using them.

# launch_usage SCRIPT: prints SCRIPT's header comment (its --help).
launch_usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$1"; }

# launch_die MESSAGE...: prints "LAUNCHER: MESSAGE" on stderr and exits 2 (a bad option or setup).
launch_die() {
  echo "$launcher: $*" >&2
  exit 2
}

# launch_parse SPEC ARGS...: parses the launcher's own options into shell variables.
# SPEC: one option a line, "ALIAS|ALIAS... VAR" (takes a value: VAR=value; --alias=value works too)
# or "ALIAS|ALIAS... VAR=VALUE" (a flag: sets VAR=VALUE). -h/--help prints $0's usage and exits 0.
# After "--" every argument goes to the array launch_rest. Another argument: with
# launch_others=collect it goes to the array launch_other and parsing goes on; else (the default) it
# and all after it go to launch_rest. Dies (exit 2) for a value option without its value.
launch_parse() {
  local spec=$1 aliases target arg name found
  shift
  launch_rest=() launch_other=()
  while [ $# -gt 0 ]; do
    arg=$1 name=${1%%=*} found=""
    case "$arg" in
      -h | --help) launch_usage "$0"; exit 0 ;;
      --) shift; launch_rest+=("$@"); return 0 ;;
    esac
    while read -r aliases target; do
      case "|$aliases|" in *"|$name|"*) found=$target; break ;; esac
    done <<<"$spec"
    if [ -z "$found" ]; then
      if [ "${launch_others:-stop}" = collect ]; then launch_other+=("$arg"); shift; continue; fi
      launch_rest+=("$@")
      return 0
    fi
    if [ "${found#*=}" != "$found" ]; then  # a flag
      printf -v "${found%%=*}" '%s' "${found#*=}"
      shift
    elif [ "$name" != "$arg" ]; then  # --option=value
      printf -v "$found" '%s' "${arg#*=}"
      shift
    else
      [ $# -ge 2 ] || launch_die "$arg needs a value"
      printf -v "$found" '%s' "$2"
      shift 2
    fi
  done
}

# The options of the mpirun launchers (run_local.sh, run_hosts.sh), for launch_parse, with their
# defaults set by launch_mpirun_defaults; launch_check_mpirun_options checks them after parsing.
launch_mpirun_spec="-n|-np|--ranks ranks
--bind bind
--dist dist
--mpirun mpirun
--mpirun-args mpirun_args
--dry-run dry_run=1"
launch_mpirun_defaults() {
  ranks="" bind=none dry_run=0
  dist=${CURATE_DIST:-} mpirun=${CURATE_MPIRUN:-mpirun} mpirun_args=${CURATE_MPIRUN_ARGS:-}
}
launch_check_mpirun_options() {
  case "$bind" in none | core | socket) ;; *) launch_die "--bind must be none, core or socket, not '$bind'" ;; esac
}

# launch_ranks SCORERS: the ranks of a job with SCORERS scoring ranks (GPUs, hostfile slots or CPU
# ranks): one more for rank 0, which coordinates, writes the HDF5 file and does not score.
launch_ranks() { echo $(($1 + 1)); }

# launch_find_dist GIVEN: prints curate_dist's path: GIVEN when set, else ROOT/build/src/tools/curate_dist
# (CURATE_BUILD_DIR for another build folder), else curate_dist on PATH. Dies when it is not executable.
launch_find_dist() {
  local dist=$1 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [ -z "$dist" ]; then
    dist="$root/${CURATE_BUILD_DIR:-build}/src/tools/curate_dist"
    [ -x "$dist" ] || dist=$(command -v curate_dist || true)
  fi
  [ -n "$dist" ] && [ -x "$dist" ] || launch_die "curate_dist not found: build it (launch/setup.sh) or set CURATE_DIST / --dist"
  echo "$dist"
}

# run_or_print NAME DRY_RUN CMD... prints the command
# (dry run) or runs it and exits with its status.
# mpirun runs in its own session so that a terminal's Ctrl-C reaches only the calling script, which
# turns it into SIGUSR1: mpirun forwards that to every rank unchanged (on SIGINT/SIGTERM it would kill
# the ranks itself and exit 1); curate_dist saves and mpirun exits 130.
run_or_print() {
  local name=$1 dry_run=$2 rc
  shift 2
  if [ "$dry_run" -eq 1 ]; then
    printf '%q ' "$@" | sed 's/ $//'
    echo
    exit 0
  fi
  _mpirun_pid=""
  _mpirun_name=$name
  forward() {
    echo "$_mpirun_name: $1: asking curate_dist to save and stop (exit 130; rerun to resume)" >&2
    [ -z "$_mpirun_pid" ] || kill -USR1 "$_mpirun_pid" 2>/dev/null || true
  }
  for sig in INT TERM HUP USR1; do trap "forward $sig" "$sig"; done
  if command -v setsid >/dev/null; then setsid "$@" </dev/null & else "$@" </dev/null & fi
  _mpirun_pid=$!
  while :; do
    rc=0; wait "$_mpirun_pid" || rc=$?
    kill -0 "$_mpirun_pid" 2>/dev/null || break
  done
  rc=0; wait "$_mpirun_pid" || rc=$?
  # orte_execute_quiet also silences mpirun's "exited on signal" notice: say it here (130 is
  # curate_dist's own clean stop).
  if [ "$rc" -gt 128 ] && [ "$rc" -ne 130 ]; then
    echo "$name: a rank ended on signal $((rc - 128)) ($(kill -l "$((rc - 128))" 2>/dev/null || echo unknown))" \
      "before curate_dist could report (killed, out of memory, or a crash); rerun the same command to" \
      "resume: every stored unit is kept" >&2
  fi
  exit "$rc"
}
