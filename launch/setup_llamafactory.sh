#!/usr/bin/env bash
# Creates the test venv of tests/e2e/llamafactory_test.sh: VENV (default .venv-llamafactory beside .venv)
# with LLaMA-Factory and Hugging Face datasets from PyPI. The project's .venv is put on its path
# (a .pth file), but pip still installs its own torch there (about 10 minutes and 4 GB on the first
# run, measured 2026-11). Idempotent: does nothing when both packages import. Exit 0 on success,
# non-zero when the venv cannot be made (no network).
#   launch/setup_llamafactory.sh [VENV]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$root/.venv-llamafactory}
version=${CURATE_LLAMAFACTORY_VERSION:-0.9.5}  # the release the test was written against; empty = the newest
if "$venv/bin/python" -c "import llamafactory.data, datasets" 2>/dev/null; then exit 0; fi
echo "setup: creating $venv with llamafactory${version:+==$version} and datasets (pip, a few minutes the first time)"
python3 -m venv "$venv"
if [ -x "$root/.venv/bin/python" ]; then
  torch_site=$("$root/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  own_site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  [ "$("$root/.venv/bin/python" -c 'import sys; print(sys.version_info[:2])')" = "$("$venv/bin/python" -c 'import sys; print(sys.version_info[:2])')" ] \
    && echo "$torch_site" > "$own_site/curate_torch.pth"
fi
"$venv/bin/pip" install -q --upgrade pip
# torch, torchvision and torchaudio pinned to one release: unpinned, pip pairs the newest torchvision
# (and its torch) with an older torchaudio whose library does not load (llamafactory.data imports it).
"$venv/bin/pip" install -q "llamafactory${version:+==$version}" datasets "torch==2.11.0" "torchvision==0.26.0" "torchaudio==2.11.0"
"$venv/bin/python" -c "import llamafactory.data, datasets"
