#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang, AddressSanitizer and UndefinedBehavior-
# Sanitizer (torch-free, into build-fuzz), replays the reproducers of earlier findings
# (tests/fuzz/regressions/<harness>/), then fuzzes each harness for SECONDS from its seed corpus
# (tests/fuzz/corpus/<harness>/, never written to) and what earlier runs found (build-fuzz/fuzz/<harness>/corpus).
# A crash, leak, timeout or OOM fails the script and leaves its reproducer in build-fuzz/fuzz/<harness>/.
#   launch/fuzz.sh [SECONDS] [HARNESS...]     (default 30 s each; every harness)
# CURATE_FUZZ_BUILD_DIR (default build-fuzz) and CURATE_CMAKE_ARGS adjust the build; CURATE_FUZZ_ARGS
# adds libFuzzer options (e.g. -jobs=2 -workers=2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
[ $# -eq 0 ] || shift
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(record tokenizer safetensors config options h5_restart journal)
cd "$root"
build=${CURATE_FUZZ_BUILD_DIR:-build-fuzz}
command -v clang++ > /dev/null || { echo "fuzz.sh needs clang (apt-get install clang)" >&2; exit 2; }

mkdir -p "$build"
# -O1 -g1: half the compile time of -O2 -g, and line numbers in every report.
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCURATE_WITH_TORCH=OFF \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  -DCURATE_ENABLE_SANITIZERS=ON -DCURATE_BUILD_FUZZERS=ON ${CURATE_CMAKE_ARGS:-} > "$build/configure.log" 2>&1 \
  || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" --target curate_fuzzers -j "$(nproc)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# libhdf5 1.10 itself crashes, leaks and allocates whatever size a damaged file names (docs/FAULTS.md):
# the HDF5 harness runs in fork mode past such crashes, and only those whose innermost frame outside
# the sanitizer and libc is ours count as findings.
third_party=(h5_restart)
third_party_options=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -malloc_limit_mb=1048576)
third_party_asan=detect_leaks=0:allocator_may_return_null=1:abort_on_error=1
# ours ARTIFACT BINARY: whether replaying ARTIFACT fails in our code: the innermost frame that is ours
# or libhdf5's is ours (no stack at all, as for a broken invariant, counts as ours too).
ours() {
  local frame
  frame=$(ASAN_OPTIONS=$third_party_asan timeout 120 "$2" -timeout=20 "$1" 2>&1 | grep -E '^ *#[0-9]+ ' \
    | grep -E 'libhdf5|curate::|LLVMFuzzerTestOneInput' | head -1)
  [ -z "$frame" ] && return 0
  ! grep -q libhdf5 <<< "$frame"
}
failed=()
for harness in "${harnesses[@]}"; do
  binary=$build/tests/fuzz/${harness}_fuzz
  out=$build/fuzz/$harness
  mkdir -p "$out/corpus"
  options=() asan=$ASAN_OPTIONS
  if [[ " ${third_party[*]} " == *" $harness "* ]]; then options=("${third_party_options[@]}") asan=$third_party_asan; fi
  regressions=(tests/fuzz/regressions/$harness/*)
  if [ -e "${regressions[0]}" ]; then  # each must run clean now that its bug is fixed
    ASAN_OPTIONS=$asan "$binary" -rss_limit_mb=2048 "${regressions[@]}" > "$out/regressions.log" 2>&1 \
      || { tail -40 "$out/regressions.log"; failed+=("$harness (regression)"); continue; }
  fi
  dict=()
  [ ! -f "tests/fuzz/$harness.dict" ] || dict=(-dict="tests/fuzz/$harness.dict")
  rm -f "$out"/crash-* "$out"/leak-* "$out"/oom-* "$out"/timeout-*
  set +e
  ASAN_OPTIONS=$asan "$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
    "${options[@]}" -artifact_prefix="$out/" ${CURATE_FUZZ_ARGS:-} "$out/corpus" "tests/fuzz/corpus/$harness" > "$out/log" 2>&1
  code=$?
  set -e
  library=0
  if [ ${#options[@]} -gt 0 ]; then  # fork mode: judge each crash it stepped over
    code=0
    for artifact in "$out"/crash-* "$out"/timeout-*; do
      [ -e "$artifact" ] || continue
      if ours "$artifact" "$binary"; then code=1; echo "finding in our code: $artifact"; else library=$((library + 1)); fi
    done
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
  [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$out/log" | tail -1 | tr -d '#')
  printf '%-12s %4s s  %9s execs  corpus %5s  %s%s\n' "$harness" "$seconds" "${runs:-?}" \
    "$(find "$out/corpus" "tests/fuzz/corpus/$harness" -type f | wc -l)" "$([ $code -eq 0 ] && echo ok || echo FAILED)" \
    "$([ $library -eq 0 ] || echo ", $library libhdf5 crash(es) stepped over")"
  if [ $code -ne 0 ]; then
    grep -A30 -m1 -E "==ERROR|ERROR: libFuzzer|runtime error|invariant broken|terminate called" "$out/log" || tail -40 "$out/log"
    failed+=("$harness")
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz.sh: findings in: ${failed[*]} (reproducers under $build/fuzz/)"; exit 1; }
