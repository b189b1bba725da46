#!/usr/bin/env bash
# Fault injection for curate_dist: kill -9 of rank 0 or of a worker at random moments (each trial
# resumed, once with a second kill during the resume), every final file equal bit for bit to an
# uninterrupted run; a result file cut short rebuilt from the journal; a damaged file without journal
# refused with exit 5. Each stage (difficulty, profile, selection) is also killed on purpose, and
# rank 0 with units queued for its writer, in each store.token_losses (float32, float16, none).
#   faults_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR [TRIALS]
set -euo pipefail
tool=$1 dist=$2 same=$3 mpiexec=$4 tokenizer=$5 trials=${6:-20}
source "$(dirname "$0")/common.sh"

start=$(date +%s.%N)
"$mpiexec" -n 3 "$dist" --config run.ini --output.path ref.h5 > ref.log 2>&1 || { cat ref.log; fail "uninterrupted run failed"; }
span=$(python3 -c "import sys; print(int((float(sys.argv[2]) - float(sys.argv[1])) * 10))" "$start" "$(date +%s.%N)")  # deciseconds

# Trial i kills rank i % 3 after a random delay within the length of an uninterrupted run; every
# other trial kills again, at random, while resuming. Then the same command finishes the run.
RANDOM=7
kills=0
kill_once() {  # kill_once OUTPUT RANK LOG: start a run, kill -9 RANK at a random moment, wait for the job to end
  timeout 120 "$mpiexec" -n 3 "$dist" --config run.ini --output.path "$1" > "$3" 2>&1 &
  local pid=$! victim
  sleep "$(( RANDOM % (span * 6 / 10 + 1) + 2 ))e-1"  # within the first 60% of a run: other tests may speed it up
  victim=$(rank_pid "$(pgrep -P $pid)" "$2")  # $pid is timeout; its child is mpiexec
  if [ -n "$victim" ]; then kill -9 "$victim" && kills=$((kills + 1)); fi
  set +e
  wait $pid
  local code=$?
  set -e
  [ $code -ne 124 ] || { cat "$3"; fail "a job with a killed rank did not end by itself"; }
}
for trial in $(seq 1 "$trials"); do
  kill_once k$trial.h5 $(( trial % 3 )) k$trial.a.log
  if [ $(( trial % 2 )) -eq 0 ]; then kill_once k$trial.h5 $(( (trial + 1) % 3 )) k$trial.b.log; fi
  timeout 300 "$mpiexec" -n 3 "$dist" --config run.ini --output.path k$trial.h5 > k$trial.c.log 2>&1 \
    || { cat k$trial.c.log; fail "trial $trial: resume after kill -9 failed"; }
  "$same" ref.h5 k$trial.h5 $datasets || fail "trial $trial: the resumed run differs from the uninterrupted one"
  cmp ref.selected.jsonl k$trial.selected.jsonl || fail "trial $trial: the resumed selection differs"
  [ ! -f k$trial.h5.journal ] || fail "trial $trial: the journal was not removed after the run completed"
done
[ $kills -ge "$trials" ] || fail "only $kills kills landed in $trials trials (runs ended before the kill)"
echo "ok: $kills kill -9 in $trials trials (rank 0 and workers), every resumed run equals the uninterrupted one"

# kill_at OUTPUT TEXT [ARGS...]: start a run, kill -9 rank 0 as soon as its log shows TEXT.
kill_at() {
  local out=$1 text=$2 pid victim
  shift 2
  timeout 120 "$mpiexec" -n 3 "$dist" --config run.ini --output.path "$out" "$@" > "$out.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do
    grep -q "$text" "$out.log" 2>/dev/null && break
    sleep 0.01
  done
  victim=$(rank_pid "$(pgrep -P $pid)" 0)
  [ -n "$victim" ] || fail "the run ended before the kill at '$text'"
  kill -9 "$victim"
  set +e
  wait $pid
  set -e
}
resume_same() {  # resume_same OUTPUT WHAT: finish the run with two ranks; it must equal the uninterrupted one
  timeout 300 "$mpiexec" -n 2 "$dist" --config run.ini --output.path "$1" > "$1.resume.log" 2>&1 \
    || { cat "$1.resume.log"; fail "resume after $2 failed"; }
  "$same" ref.h5 "$1" $datasets || fail "the run after $2 differs from the uninterrupted one"
  cmp ref.selected.jsonl "${1%.h5}.selected.jsonl" || fail "the selection after $2 differs"
}

# A kill -9 of rank 0 in the middle of each stage: difficulty pass, profile pass, selection.
for stage in "difficulty pass:" "profile pass:" "profile pass done"; do
  out=s$(echo "$stage" | tr -dc a-z).h5
  kill_at "$out" "$stage"
  resume_same "$out" "a kill at '$stage'"
done
echo "ok: kill -9 of rank 0 during the difficulty pass, the profile pass and the selection, each resumed to the same result"

# A kill -9 of rank 0 while its writer queue holds units: each unit waits 0.3 s in the writer (a slow
# disk), so two seconds into each pass the workers have delivered units that are in neither the
# journal nor the file. The resumed run (no delay) schedules them again.
#   kill_queued OUTPUT STAGE [ARGS...]
kill_queued() {
  local out=$1 stage=$2 pid victim
  shift 2
  timeout 120 "$mpiexec" -n 3 "$dist" --config run.ini --output.path "$out" --test.writer_delay_seconds 0.3 "$@" \
    > "$out.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do
    grep -q "$stage" "$out.log" 2>/dev/null && break
    sleep 0.01
  done
  sleep 2
  victim=$(rank_pid "$(pgrep -P $pid)" 0)
  [ -n "$victim" ] || fail "the run with a slow writer ended before the kill in the '$stage'"
  kill -9 "$victim"
  set +e
  wait $pid
  set -e
}
for stage in "difficulty pass:" "profile pass:"; do
  out=q$(echo "$stage" | tr -dc a-z).h5
  kill_queued "$out" "$stage"
  resume_same "$out" "a kill with units queued for the writer ('$stage')"
done
echo "ok: kill -9 of rank 0 with units queued for its writer thread, resumed to the same result"

# The same in each store.token_losses: the journal holds the units as the file stores them (float16
# bits, or no per-token losses), and the file rebuilt from it equals an uninterrupted run of that
# precision bit for bit, with the float32 run's selection.
for precision in float16 none; do
  "$mpiexec" -n 3 "$dist" --config run.ini --output.path ref_$precision.h5 --store.token_losses $precision \
    > ref_$precision.log 2>&1 || { cat ref_$precision.log; fail "uninterrupted $precision run failed"; }
  sets=$datasets
  if [ $precision = none ]; then sets=$(printf '%s\n' $datasets | grep -vx -e "$h5_difficulty_losses" -e "$h5_profile_losses"); fi
  for stage in "difficulty pass:" "profile pass:"; do
    out=q$precision$(echo "$stage" | tr -dc a-z).h5
    kill_queued "$out" "$stage" --store.token_losses $precision
    [ -s "$out.journal" ] || fail "no journal beside the killed $precision run"
    timeout 300 "$mpiexec" -n 2 "$dist" --config run.ini --output.path "$out" --store.token_losses $precision \
      > "$out.resume.log" 2>&1 || { cat "$out.resume.log"; fail "resume of the $precision run failed"; }
    grep -q "restored from the journal" "$out.resume.log" \
      || { cat "$out.resume.log"; fail "the $precision run killed in the '$stage' restored nothing from its journal"; }
    "$same" ref_$precision.h5 "$out" $sets || fail "the $precision run killed in the '$stage' differs after its resume"
    cmp ref.selected.jsonl "${out%.h5}.selected.jsonl" || fail "the $precision run selects other examples"
  done
done
echo "ok: float16 and none runs killed with units queued resume from their journal bit for bit"

# Stage by stage: the finished difficulty stage removes its journal; a kill in the profile stage that
# follows must not lose it (the run keeps a copy of the finished file until it ends).
"$mpiexec" -n 3 "$dist" --config run.ini --output.path st.h5 --stage difficulty > st.first.log 2>&1 \
  || { cat st.first.log; fail "the difficulty stage failed"; }
[ ! -f st.h5.journal ] || fail "the journal of a finished stage was not removed"
kill_at st.h5 "profile pass:"
[ -f st.h5.base ] || fail "no copy of the finished difficulty stage beside the killed profile stage"
resume_same st.h5 "a kill in the stage after a finished one"
[ ! -f st.h5.base ] || fail "the copy of the finished stage was not removed after the run completed"
echo "ok: a kill -9 in the profile stage keeps the finished difficulty stage (rebuilt from its copy and the journal)"

cp ref.h5 ref_copy.h5
# A result file cut short (as a kill in the middle of a metadata write can leave it) is rebuilt from the journal.
kill_at cut.h5 "profile pass:"
[ -f cut.h5.journal ] || fail "no journal beside a killed run"
head -c 3000 cut.h5 > cut.tmp && mv cut.tmp cut.h5
timeout 300 "$mpiexec" -n 2 "$dist" --config run.ini --output.path cut.h5 > cut2.log 2>&1 || { cat cut2.log; fail "resume of a damaged file failed"; }
grep -q "rebuilding it from" cut2.log || { cat cut2.log; fail "the damaged file was not rebuilt from the journal"; }
"$same" ref.h5 cut.h5 $datasets || fail "the rebuilt file differs from the uninterrupted one"
ls cut.h5.discarded-* > /dev/null || fail "the damaged file was not kept aside"
echo "ok: a damaged result file is rebuilt from the journal"

# Without a journal, a damaged file is refused (exit 5) and every rank stops.
head -c 3000 ref_copy.h5 > np2.tmp && mv np2.tmp ref_copy.h5
set +e
timeout 120 "$mpiexec" -n 2 "$dist" --config run.ini --output.path ref_copy.h5 > damaged.log 2>&1
code=$?
set -e
[ $code -eq 5 ] || { cat damaged.log; fail "a damaged file without journal exited $code, expected 5"; }
grep -q "no journal of this configuration" damaged.log || fail "no explanation for the damaged file"
echo "ok: a damaged file without journal is refused and the job ends"

