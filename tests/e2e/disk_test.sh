#!/usr/bin/env bash
# Faults of the output and of the ranks, beyond kill -9 (faults_test.sh): a file-size limit (EFBIG)
# and a full file system (ENOSPC) in the middle of a run, an output folder that is or becomes
# read-only, a worker that hangs (SIGSTOP), and a finished file whose structure is overwritten with
# random bytes while no journal is left. Each fault must end the job with its documented exit code
# and a message naming the file or the rank; rerunning without the fault must give the
# uninterrupted result bit for bit. A case this container cannot stage (no mount, no chattr) is
# skipped with its reason; exit 77 (CTest: skipped) only when every case is.
#   disk_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
tool=$1 dist=$2 same=$3 mpiexec=$4 tokenizer=$5
source "$(dirname "$0")/common.sh"

mounted="" stopped=""
undo_faults() {  # immutable flags, a mount or a stopped rank left behind by a failing case
  chattr -R -i "$work" 2> /dev/null || true
  [ -z "$mounted" ] || umount -l "$mounted" 2> /dev/null || true
  [ -z "$stopped" ] || kill -9 "$stopped" 2> /dev/null || true
}
trap 'undo_faults; [ -n "${CURATE_KEEP_TEST_DIR:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT

passed=0 skipped=0
skip() { echo "SKIP: $*"; skipped=$((skipped + 1)); }
ok() { echo "ok: $*"; passed=$((passed + 1)); }

# dist_run OUTPUT LOG [options]: the job with 3 ranks; its exit code is in $code.
dist_run() {
  local out=$1 log=$2
  shift 2
  set +e
  timeout 300 "$mpiexec" -n 3 "$dist" --config run.ini --output.path "$out" "$@" > "$log" 2>&1
  code=$?
  set -e
  [ $code -ne 124 ] || { cat "$log"; fail "$out: the job did not end within 300 s"; }
}
# expect_exit CODE LOG WHAT: the job must have exited CODE.
expect_exit() {
  [ "$code" -eq "$1" ] || { cat "$2"; fail "$3: exit code $code, expected $1"; }
}
# expect_message LOG WHAT PATTERN...: the error the job printed (rank 0's "error" line and what
# follows it) matches every extended-regex PATTERN.
expect_message() {
  local log=$1 what=$2 message
  shift 2
  message=$(sed -n '/ error /,$p' "$log")
  [ -n "$message" ] || { cat "$log"; fail "$what: no error message"; }
  for pattern in "$@"; do
    grep -Eq -- "$pattern" <<< "$message" || { cat "$log"; fail "$what: the message does not say /$pattern/"; }
  done
}
# resume_to_reference OUTPUT WHAT: rerun without the fault; the result must equal the uninterrupted run.
resume_to_reference() {
  dist_run "$1" "$1.resume.log"
  expect_exit 0 "$1.resume.log" "$2: the rerun without the fault"
  "$same" ref.h5 "$1" $datasets || fail "$2: the resumed result differs from the uninterrupted one"
  cmp ref.selected.jsonl "${1%.h5}.selected.jsonl" || fail "$2: the resumed selection differs"
  [ ! -e "$1.journal" ] || fail "$2: the journal was left behind after the run completed"
}
# wait_for LOG TEXT: until the running job has printed TEXT (up to 60 s).
wait_for() {
  for _ in $(seq 1 1200); do
    grep -q -- "$2" "$1" 2> /dev/null && return 0
    sleep 0.05
  done
  cat "$1"
  fail "the job never printed '$2'"
}

dist_run ref.h5 ref.log
expect_exit 0 ref.log "the uninterrupted run"

# 1. File-size limit (RLIMIT_FSIZE, `ulimit -f` in KiB): a write that would grow a file past it fails
#    with EFBIG (curate_dist ignores SIGXFSZ, which would kill it). The limits fall in the difficulty
#    and in the profile pass. Open MPI's and PMIx's shared-memory files would hit the limit too, so
#    these runs talk over TCP and keep PMIx data in memory.
for kib in 120 480; do
  out=fsize$kib.h5
  set +e
  (ulimit -f $kib && OMPI_MCA_btl=self,tcp PMIX_MCA_gds=hash exec timeout 300 "$mpiexec" -n 3 "$dist" --config run.ini \
     --output.path $out) > $out.log 2>&1
  code=$?
  set -e
  expect_exit 5 $out.log "a $kib KiB file-size limit"
  expect_message $out.log "a $kib KiB file-size limit" "$out" "File too large"
  resume_to_reference $out "a $kib KiB file-size limit"
done
ok "a file-size limit mid-run: exit 5 naming the file; the rerun without it gives the uninterrupted result"

# 2. Full file system (ENOSPC): the output on a 320 KiB tmpfs, which then grows to 64 MiB.
mkdir full
if mount -t tmpfs -o size=320k curate_full full 2> mount.err; then
  mounted=$work/full
  dist_run full/run.h5 full.log
  expect_exit 5 full.log "a full file system"
  expect_message full.log "a full file system" "full/run.h5" "No space left on device"
  mount -o remount,size=64m full
  dist_run full/run.h5 full.resume.log
  expect_exit 0 full.resume.log "the rerun after space was freed"
  "$same" ref.h5 full/run.h5 $datasets || fail "the run resumed after a full disk differs from the uninterrupted one"
  cmp ref.selected.jsonl full/run.selected.jsonl || fail "the selection resumed after a full disk differs"
  umount full && mounted=""
  ok "a full file system mid-run: exit 5 naming the file; the rerun with space gives the uninterrupted result"
else
  skip "full file system: cannot mount a tmpfs here ($(tr '\n' ' ' < mount.err))"
fi

# 3. Read-only output. As root, permissions do not stop writes; the immutable attribute does
#    (chattr +i: no new file in the folder, no write to a file, even one already open).
mkdir ro
if chattr +i ro 2> chattr.err; then
  dist_run ro/run.h5 ro.log
  expect_exit 5 ro.log "a read-only output folder"
  expect_message ro.log "a read-only output folder" "ro/run\.h5" "Operation not permitted"
  chattr -i ro
  resume_to_reference ro/run.h5 "a read-only output folder"
  ok "a read-only output folder: exit 5 naming the file; once writable, the run gives the uninterrupted result"

  # The folder and its files become read-only while the profile pass runs.
  mkdir ro2
  timeout 300 "$mpiexec" -n 3 "$dist" --config run.ini --output.path ro2/run.h5 > ro2.log 2>&1 &
  pid=$!
  wait_for ro2.log "profile pass:"
  chattr +i ro2 ro2/*
  set +e
  wait $pid
  code=$?
  set -e
  chattr -R -i ro2
  expect_exit 5 ro2.log "an output made read-only mid-run"
  expect_message ro2.log "an output made read-only mid-run" "ro2/run\.h5" "Operation not permitted|read-only"
  resume_to_reference ro2/run.h5 "an output made read-only mid-run"
  ok "an output made read-only mid-run: exit 5 naming the file; once writable, the rerun gives the uninterrupted result"
else
  skip "read-only output: chattr +i does not work on $(df --output=fstype . | tail -1) here ($(tr '\n' ' ' < chattr.err))"
fi

# 4. A hung worker: rank 1 stopped (SIGSTOP) during the difficulty pass, with a 5 s worker timeout.
timeout 300 "$mpiexec" -n 3 "$dist" --config run.ini --output.path hung.h5 --run.worker_timeout 5 > hung.log 2>&1 &
pid=$!
wait_for hung.log "difficulty pass:"
stopped=$(rank_pid "$(pgrep -P $pid)" 1)
[ -n "$stopped" ] || fail "rank 1 ended before it could be stopped"
kill -STOP "$stopped"
set +e
wait $pid
code=$?
set -e
kill -9 "$stopped" 2> /dev/null && stopped=""
expect_exit 6 hung.log "a hung worker"
expect_message hung.log "a hung worker" "rank 1 has not answered for 5 s" "hung or dead"
resume_to_reference hung.h5 "a hung worker"
ok "a worker stopped with SIGSTOP: exit 6 naming rank 1 after the 5 s timeout; the rerun gives the uninterrupted result"

# 5. A finished file (no journal left) whose structure in the middle of the file is overwritten with
#    random bytes: the object header of /profile/losses, written between the two passes' data.
if command -v h5ls > /dev/null; then
  address=$(h5ls -v "hung.h5$h5_profile_losses" | sed -n 's/^ *Location: *[0-9]*:\([0-9]*\)$/\1/p')
  [ -n "$address" ] || fail "h5ls gave no address for $h5_profile_losses"
  python3 -c "
import random, sys
with open('hung.h5', 'r+b') as f:
    f.seek(int(sys.argv[1])); f.write(random.Random(5).randbytes(512))" "$address"
  dist_run hung.h5 damaged.log
  expect_exit 5 damaged.log "a finished file with overwritten bytes"
  expect_message damaged.log "a finished file with overwritten bytes" "hung\.h5" "no journal of this configuration" "--fresh"
  dist_run hung.h5 fresh.log --fresh
  expect_exit 0 fresh.log "--fresh after a damaged file"
  grep -q "moved damaged" fresh.log || { cat fresh.log; fail "--fresh did not say where the damaged file went"; }
  ls hung.h5.discarded-* > /dev/null || fail "the damaged file was not kept aside"
  "$same" ref.h5 hung.h5 $datasets || fail "the run started over with --fresh differs from the uninterrupted one"
  cmp ref.selected.jsonl hung.selected.jsonl || fail "the selection after --fresh differs"
  ok "a finished file with 512 random bytes over an object header: exit 5 suggesting --fresh, which starts over to the same result"
else
  skip "overwritten bytes: h5ls (hdf5-tools) is needed to find an object header"
fi

echo "disk faults: $passed case(s) passed, $skipped skipped"
[ $passed -gt 0 ] || exit 77
