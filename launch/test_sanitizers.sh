#!/usr/bin/env bash
# The torch-free part (util, data, model formats, store, select, dist) under sanitizers:
#   1. AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan) and every test CTest has
#      there (unit and MPI tests; the torch tests do not exist in a torch-free build; the torch-free
#      curate_dist, which runs only --stage select and --plan, is tested by curate_dist_no_torch);
#   2. ThreadSanitizer build (build-tsan) of the tests whose code runs threads (parallel_for: the
#      tokenizer's batch encoding in data_test, the k-means assignment in select_test);
#   3. launch/fuzz.sh: every libFuzzer harness for CURATE_FUZZ_SECONDS (default 20) with clang.
# launch/test.sh runs it after the main suite when CURATE_SANITIZERS=1 or CI is set.
#   launch/test_sanitizers.sh [ctest arguments for step 1]
# CURATE_TSAN=0 or CURATE_FUZZ_SECONDS=0 skip steps 2 or 3; CURATE_CMAKE_ARGS is passed to CMake.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
# configure DIR [cmake args]: quiet unless it fails. -O1 -g1 halves the compile time of -O2 -g (the
# builds dominate the run) and keeps file:line in every sanitizer report.
configure() {
  local dir=$1
  shift
  mkdir -p "$dir"
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCURATE_WITH_TORCH=OFF \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
    -DCURATE_ENABLE_SANITIZERS=ON "$@" ${CURATE_CMAKE_ARGS:-} > "$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; exit 1; }
}
step() { echo "== test_sanitizers: $* ($(date +%T))"; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

step "AddressSanitizer + UndefinedBehaviorSanitizer: build-asan"
configure build-asan -DCURATE_SANITIZE=address,undefined
cmake --build build-asan -j "$jobs"
ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE mpi "$@"
# Open MPI and PMIx keep allocations until exit on purpose: tests/sanitizers/lsan.supp names their
# libraries, which LeakSanitizer can only see with their plugins kept loaded and full stacks.
OMPI_MCA_mca_base_component_disable_dlclose=1 PMIX_MCA_mca_base_component_disable_dlclose=1 \
  ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0 \
  LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0} \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -L mpi "$@"

if [ "${CURATE_TSAN:-1}" != 0 ]; then
  step "ThreadSanitizer: build-tsan (data_test, select_test)"
  configure build-tsan -DCURATE_SANITIZE=thread
  cmake --build build-tsan -j "$jobs" --target data_test select_test
  # TSan wants a fixed address-space layout (setarch -R). data_test: the tests that encode on several
  # threads (the rest only loads tokenizers, minutes under TSan); select_test: all of it (k-means threads).
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
  setarch "$(uname -m)" -R build-tsan/tests/data_test --gtest_brief=1 --gtest_filter='*BatchOnSeveralThreads*:*InvalidUtf8IsRejected*'
  setarch "$(uname -m)" -R build-tsan/tests/select_test --gtest_brief=1
fi

if [ "${CURATE_FUZZ_SECONDS:-20}" != 0 ]; then
  if ! command -v clang++ > /dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang > /dev/null
  fi
  step "libFuzzer: ${CURATE_FUZZ_SECONDS:-20} s per harness"
  "$root/launch/fuzz.sh" "${CURATE_FUZZ_SECONDS:-20}"
fi
step "done"
