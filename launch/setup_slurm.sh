#!/usr/bin/env bash
# Installs a single-node Slurm from the Debian/Ubuntu packages (slurm-wlm: slurmctld, slurmd, the
# client commands; munge for authentication) if they are missing. Idempotent: does nothing when they
# are installed. Used by tests/slurm/slurm_test.sh; a real cluster has its own Slurm.
#   launch/setup_slurm.sh [--check]   --check: install nothing, exit 1 when something is missing
# Exit codes: 0 installed, 1 missing (--check), 2 usage, 3 cannot install (not root and no sudo, apt failed).
set -euo pipefail
check=0
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "setup_slurm.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

packages=(slurm-wlm slurmctld slurmd slurm-client munge)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$check" -eq 0 ] || { echo "setup_slurm: missing ${missing[*]}" >&2; exit 1; }

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "setup_slurm: ${missing[*]} missing, and neither root nor password-less sudo to install them" >&2
    exit 3
  fi
fi
command -v apt-get >/dev/null || { echo "setup_slurm: no apt-get: install ${missing[*]} by hand" >&2; exit 3; }
echo "setup_slurm: installing ${missing[*]}"
# Package scripts must not start the system daemons (the test starts its own with its own
# configuration): without a policy-rc.d, install a temporary one that forbids starting services.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  added_policy=1
fi
status=0
{ "${sudo[@]}" apt-get update -qq &&
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || status=$?
[ "$added_policy" -eq 0 ] || "${sudo[@]}" rm -f "$policy"
[ "$status" -eq 0 ] || { echo "setup_slurm: apt-get failed ($status)" >&2; exit 3; }
