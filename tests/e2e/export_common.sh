#!/usr/bin/env bash
# Shared set-up of the export tests: tiny models, one dataset per input format built from the
# hand-written records of tests/data/export (each record repeated with a counter spliced in after its
# "{", so every other byte stays as written), in plain, CRLF, BOM, .gz and .zst variants, each scored
# once and selected. Sourced with tool, dist, mpiexec, tokenizer set; leaves the caller in a temporary
# directory (removed on exit) holding, per dataset NAME: NAME.jsonl[.gz|.zst] and NAME.h5 with its
# selection NAME.selected.jsonl[...], NAME.selected_ids.txt, NAME.scores.tsv.
fixtures=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data/export" && pwd)
source "$(dirname "${BASH_SOURCE[0]}")/workdir.sh"
python3 - "$fixtures" <<'PY'
import gzip, sys, subprocess
fixtures = sys.argv[1]
def variants(name, copies=8):
    rows = [l.rstrip(b"\n") for l in open(f"{fixtures}/{name}.jsonl", "rb")]
    return [r.replace(b"{", b'{"n": %d, ' % k, 1) for k in range(copies) for r in rows]
for name in ["sharegpt", "messages", "flat", "openthoughts"]:
    rows = variants(name)
    open(f"{name}.jsonl", "wb").write(b"".join(r + b"\n" for r in rows))
rows = variants("sharegpt")
open("crlf.jsonl", "wb").write(b"".join(r + b"\r\n" for r in rows))
open("bom.jsonl", "wb").write(b"\xef\xbb\xbf" + b"".join(r + b"\n" for r in rows))
with open("gz.jsonl.gz", "wb") as f:
    f.write(gzip.compress(b"".join(r + b"\n" for r in variants("messages"))))
open("zst.jsonl", "wb").write(b"".join(r + b"\n" for r in variants("flat")))
subprocess.run(["zstd", "-q", "--rm", "zst.jsonl"], check=True)
PY
cat > run.ini <<INI
[model]
path = base
tokenizer = $tokenizer
[perturb]
target = tuned
gaussian_checkpoints = 2
directional_checkpoints = 2
max_radius = 5
# random tiny models: the calibration misses its band
allow_calibration_miss = true
[run]
flush_seconds = 0
log_level = warn
[pass]
unit_examples = 8
difficulty_tokens = 8
profile_tokens = 16
calibration_samples = 8
[filter]
method = none
[select]
budget = 6
per_cluster = 2
INI
# data options per dataset (openthoughts names its prompt "problem"), and the datasets to export
data_args() { case "$1" in openthoughts*) echo "--data.prompt_field problem" ;; esac; }
datasets="sharegpt messages flat openthoughts crlf bom gz zst"
data_file() { case "$1" in gz) echo gz.jsonl.gz ;; zst) echo zst.jsonl.zst ;; *) echo "$1.jsonl" ;; esac; }
for name in $datasets; do
  "$mpiexec" -n 1 "$dist" --config run.ini --data.path "$(data_file $name)" --output.path $name.h5 $(data_args $name) \
    --select.compress auto > $name.log 2>&1 || { cat $name.log; fail "scoring $name failed"; }
done
