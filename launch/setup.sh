#!/usr/bin/env bash
# Installs what curate_dist needs on Debian 12 / Ubuntu (apt packages, a project-local .venv with the
# torch wheel) and builds it into build/. Idempotent: only missing pieces are installed.
#   launch/setup.sh [--with-peer]   --with-peer also installs transformers (for benchmarks)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

TORCH_VERSION=${CURATE_TORCH_VERSION:-2.11.0}
BUILD_DIR=${CURATE_BUILD_DIR:-build}
with_peer=0
for arg in "$@"; do
  case "$arg" in
    --with-peer) with_peer=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

packages=(build-essential cmake ninja-build pkg-config python3 python3-venv
  libopenmpi-dev openmpi-bin libhdf5-dev libboost-program-options-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev libzstd-dev zlib1g-dev libnanoflann-dev libxxhash-dev
  hdf5-tools)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A python3 that is not Debian's (pyenv, conda) brings its own venv module.
if [ ${#missing[@]} -gt 0 ] && command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing=("${missing[@]/python3-venv/}")
  missing=("${missing[@]/#python3/}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "setup: creating .venv with torch==$TORCH_VERSION (a few minutes the first time)"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q "torch==$TORCH_VERSION"
fi
# pyarrow ships Arrow C++ and Parquet (headers and libraries): curate_dist reads Parquet datasets with them
# (cmake/CurateArrow.cmake finds them in .venv, as cmake/CurateTorch.cmake finds libtorch).
if ! .venv/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('pyarrow') is None)" 2>/dev/null; then
  echo "setup: installing pyarrow into .venv (Parquet datasets)"
  .venv/bin/pip install -q pyarrow
fi
if [ "$with_peer" -eq 1 ] && ! .venv/bin/python -c "import transformers" 2>/dev/null; then
  echo "setup: installing transformers into .venv (benchmark peer)"
  .venv/bin/pip install -q transformers numpy
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# ccache, when installed, makes rebuilds in a second build folder (sanitizers, other branches) cheap.
command -v ccache >/dev/null && generator+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CURATE_CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
