#!/usr/bin/env bash
# Checks that every C++ file git tracks (outside a git checkout: under src, include, tests) is formatted as .clang-format says (clang-format --dry-run
# --Werror); `launch/check_format.sh --fix` formats them in place instead. Exit 1 lists the files
# that differ. Needs clang-format (Debian: apt-get install clang-format; the check uses version 14,
# Debian 12's, since other versions format some constructs differently).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
format=${CLANG_FORMAT:-clang-format}
command -v "$format" >/dev/null || { echo "check_format: $format not found (apt-get install clang-format)" >&2; exit 2; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh')
else  # a copy without .git (.ci/run tests one): the source folders
  mapfile -t files < <(find src include tests -type f \( -name '*.cpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) | sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "check_format: no C++ file found under $root" >&2; exit 1; }
if [ "${1:-}" = --fix ]; then
  "$format" -i "${files[@]}"
  exit 0
fi
bad=()
for file in "${files[@]}"; do
  "$format" --dry-run --Werror "$file" >/dev/null 2>&1 || bad+=("$file")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: ${#bad[@]} file(s) differ from .clang-format; run launch/check_format.sh --fix:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted as .clang-format says"
