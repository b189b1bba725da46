#!/usr/bin/env bash
# Sets up and builds (launch/setup.sh), then runs the whole test suite with CTest.
# Everything the tests read is in the repository (tests/data; CMake unpacks the large files).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/setup.sh"
cd "$root"
ctest --test-dir "${CURATE_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "$@"
# Sanitizer builds, ThreadSanitizer and a short fuzzing run of the torch-free part (launch/test_sanitizers.sh).
if [ "${CURATE_SANITIZERS:-0}" = 1 ] || [ -n "${CI:-}" ]; then
  "$root/launch/test_sanitizers.sh"
fi
