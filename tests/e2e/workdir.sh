#!/usr/bin/env bash
# Shared by the end-to-end set-ups (common.sh, export_common.sh): a temporary directory (removed on
# exit unless CURATE_KEEP_TEST_DIR is set) made current, MPI allowed as root and oversubscribed,
# fail(), and a tiny base model `base` and fine-tuned model `tuned` in it; the result file's paths as
# h5_* variables (layout.sh beside h5_same, generated from src/results/layout.h). Sourced with tool and
# same (or the script's third argument, H5_SAME) set.
source "$(dirname "${same:-$3}")/layout.sh"
work=$(mktemp -d)
trap '[ -n "${CURATE_KEEP_TEST_DIR:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "FAIL: $*"; exit 1; }

"$tool" make-model --shape tiny-qwen2 --seed 1 --init-std 0.1 --output base --log-level warn
"$tool" make-model --shape tiny-qwen2 --seed 2 --init-std 0.1 --output tuned --log-level warn
