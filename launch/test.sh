#!/usr/bin/env bash
# Sets up and builds (launch/setup.sh), then runs the whole test suite with CTest.
# Everything the tests read is in the repository (tests/data; CMake unpacks the large files).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/setup.sh"
cd "$root"
# The report's browser test (tests/report/report_browser_test.sh) needs a headless Chromium: Debian's
# chromium-headless-shell without recommends (no desktop), installed once; CURATE_BROWSER_TEST=0 skips
# the install (the test then reports itself skipped).
if [ "${CURATE_BROWSER_TEST:-1}" != 0 ] && ! command -v chromium-headless-shell >/dev/null && ! command -v chromium >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test: installing chromium-headless-shell (the report's browser test)"
  { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium-headless-shell ||
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium-headless-shell; }; } >/dev/null ||
    echo "test: chromium-headless-shell could not be installed; the browser test will be skipped"
fi
# The code's format (.clang-format) is part of the test: clang-format 14, Debian 12's, installed once.
if ! command -v clang-format >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test: installing clang-format (the format check)"
  { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang-format ||
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang-format; }; } >/dev/null
fi
"$root/launch/check_format.sh"
# The LLaMA-Factory loader test (tests/e2e/llamafactory_test.sh) needs its own venv with llamafactory
# and datasets from PyPI (about 10 minutes and 4 GB the first time); without it that test is skipped.
"$root/launch/setup_llamafactory.sh" || echo "test: the LLaMA-Factory venv could not be made; curate_llamafactory will be skipped"
ctest --test-dir "${CURATE_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "$@"
# Sanitizer builds, ThreadSanitizer and a short fuzzing run of the torch-free part (launch/test_sanitizers.sh).
if [ "${CURATE_SANITIZERS:-0}" = 1 ] || [ -n "${CI:-}" ]; then
  "$root/launch/test_sanitizers.sh"
fi
