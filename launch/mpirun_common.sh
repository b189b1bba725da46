# Sourced by run_local.sh and run_hosts.sh: run_or_print NAME DRY_RUN CMD... prints the command
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
  exit "$rc"
}
