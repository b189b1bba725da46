#!/usr/bin/env bash
# Sets up and builds (launch/setup.sh), then runs the whole test suite with CTest.
# Test data is read from ../shared (override with CURATE_CMAKE_ARGS=-DCURATE_SHARED_DIR=...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/setup.sh"
cd "$root"
ctest --test-dir "${CURATE_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "$@"
# Sanitizer builds, ThreadSanitizer and a short fuzzing run of the torch-free part (launch/test_sanitizers.sh).
if [ "${CURATE_SANITIZERS:-0}" = 1 ] || [ -n "${CI:-}" ]; then
  "$root/launch/test_sanitizers.sh"
fi
