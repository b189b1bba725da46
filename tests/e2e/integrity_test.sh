#!/usr/bin/env bash
# Nothing silently wrong (docs/FAULTS.md, "Tampering and broken numbers"): a run resumes only what the
# same inputs and settings computed, and refuses by naming what changed; broken weights and losses
# stop the run with exit 4; inputs that would spin are bounded; a budget that selects nothing says so.
#   integrity_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
tool=$1 dist=$2 mpiexec=$4 tokenizer=$5
source "$(dirname "$0")/common.sh"
head -n 96 data.jsonl > small.jsonl
cp -r "$tokenizer" tok
sed -i "s|^tokenizer = .*|tokenizer = tok|; s|^path = data.jsonl|path = small.jsonl|" run.ini

# st_edit FILE MODE: rewrites a float32 safetensors file in place: nan-row (one NaN in row 7 of the
# embedding), nan-weight (one NaN in layer 1's q_proj), scale (every value x 1e30).
st_edit() {
  python3 - "$1" "$2" <<'PY'
import json, struct, sys
path, mode = sys.argv[1], sys.argv[2]
data = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
base = 8 + n
def put(name, index, value):
    t = header[name]
    assert t["dtype"] == "F32", t
    struct.pack_into("<f", data, base + t["data_offsets"][0] + 4 * index, value)
if mode == "nan-row":
    cols = header["model.embed_tokens.weight"]["shape"][1]
    put("model.embed_tokens.weight", 7 * cols + 3, float("nan"))
elif mode == "nan-weight":
    put("model.layers.1.self_attn.q_proj.weight", 5, float("nan"))
elif mode == "scale":
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        begin, end = t["data_offsets"]
        values = struct.unpack_from("<%df" % ((end - begin) // 4), data, base + begin)
        struct.pack_into("<%df" % len(values), data, base + begin, *[v * 1e30 for v in values])
open(path, "wb").write(data)
PY
}

# --- Resume by content: what changes results is refused by name, what does not is resumed. -------
run first --stage difficulty --output.path r.h5
expect 0 first "difficulty stage"
# Not a change: the dataset by absolute path, touch, a cp -r copy of the model, a lower batch_tokens.
touch small.jsonl base/model.safetensors tok/tokenizer.json
cp -r base base_copy
run same --stage difficulty --output.path r.h5 --data.path "$PWD/small.jsonl" --model.path base_copy --score.batch_tokens 512
expect 0 same "resume with equal content"
has same "already stored" "resume with equal content"
! grep -q "different configuration" same.log || fail "equal content was refused"

# Changes: each refusal names the key, the old and the new value, and the remedy; nothing is touched.
cp r.h5 r.before
cp tuned/model.safetensors base_copy/model.safetensors  # new weights, same config.json
run weights --stage all --output.path r.h5 --model.path base_copy
expect 2 weights "new base weights"
has weights "model.content" "new base weights"
has weights "--fresh" "new base weights"
cmp -s r.h5 r.before || fail "a refused resume changed the result file"
rm -rf base_copy

python3 - <<'PY'
import json
t = json.load(open("tok/tokenizer.json"))
t["added_tokens"] = t.get("added_tokens", []) + [{"id": 999, "content": "<|extra|>", "single_word": False, "lstrip": False,
    "rstrip": False, "normalized": False, "special": True}]
json.dump(t, open("tok/tokenizer.json", "w"))
PY
run tokenizer --stage all --output.path r.h5
expect 2 tokenizer "edited tokenizer.json"
has tokenizer "tokenizer.content" "edited tokenizer.json"
rm -rf tok && cp -r "$tokenizer" tok

cp -r tuned tuned_copy
run target_first --stage difficulty --output.path t.h5 --perturb.target tuned_copy
expect 0 target_first "difficulty stage with a target copy"
cp base/model.safetensors tuned_copy/model.safetensors
run target --stage all --output.path t.h5 --perturb.target tuned_copy
expect 2 target "replaced target weights"
has target "target.content" "replaced target weights"

cp small.jsonl same_size.jsonl
run data_first --stage difficulty --output.path d.h5 --data.path same_size.jsonl
expect 0 data_first "difficulty stage"
touch -r same_size.jsonl stamp
sed -i '5s/Q4:/Q9:/' same_size.jsonl  # same size, other text
touch -r stamp same_size.jsonl        # mtime restored
run dataset --stage all --output.path d.h5 --data.path same_size.jsonl
expect 2 dataset "dataset edited with its mtime restored"
has dataset "dataset.content" "dataset edited with its mtime restored"

# --fresh always starts fresh, even when the stored run is resumable.
run fresh --stage difficulty --output.path r.h5 --fresh
expect 0 fresh "--fresh"
ls r.h5.discarded-* > /dev/null 2>&1 || fail "--fresh did not move the resumable file aside"
! grep -q "already stored" fresh.log || { cat fresh.log; fail "--fresh resumed"; }
run full --output.path r.h5
expect 0 full "the whole run after the difficulty stage"
has full "already stored" "the whole run after the difficulty stage"

# A run that fails before storing anything leaves nothing that blocks the fixed rerun.
mkdir nocfg && cp base/model.safetensors nocfg/
run nocfg --stage difficulty --output.path n.h5 --model.path nocfg
expect 4 nocfg "model folder without config.json"
cp base/config.json nocfg/
run nocfg_fixed --stage difficulty --output.path n.h5 --model.path nocfg
expect 0 nocfg_fixed "rerun after adding config.json"
echo "ok: resume by content; refusals name the key; --fresh; a failed start blocks nothing"

# --- Broken weights and losses: exit 4 naming the tensor or the checkpoint. -----------------------
for mode in nan-row nan-weight scale; do
  rm -rf "m_$mode" && cp -r base "m_$mode" && st_edit "m_$mode/model.safetensors" "$mode"
  run "$mode" --stage difficulty --output.path "$mode.h5" --model.path "m_$mode"
  expect 4 "$mode" "weights $mode"
done
has nan-row "model.embed_tokens.weight" "NaN in an embedding row"
has nan-weight "model.layers.1.self_attn.q_proj.weight" "NaN in a weight"
has scale "ln(vocab)" "weights x 1e30 (uniform predictions)"

# Truncated weights with one worker: the worker's failure ends the job with the model's exit code at
# once (it used to wait out run.worker_timeout and exit 6).
rm -rf trunc && cp -r base trunc && truncate -s 100000 trunc/model.safetensors
run trunc --stage difficulty --output.path trunc.h5 --model.path trunc --run.worker_timeout 3600
expect 4 trunc "truncated weights"
has trunc "trunc/model.safetensors" "truncated weights"

# Every record skipped by the model (ids beyond its vocabulary): exit 3 with the reason, no selection.
python3 - <<'PY'
import json
with open("ids.jsonl", "w") as f:
    for i in range(20):
        f.write(json.dumps({"input_ids": [5, 6, 7, 4000 + i, 8, 9, 10, 11], "reasoning_start": 3}) + "\n")
PY
run skipped --output.path skipped.h5 --data.path ids.jsonl
expect 3 skipped "every record outside the vocabulary"
has skipped "bad_token_ids" "every record outside the vocabulary"

# NaN losses (synthetic: hidden test option): counted below the threshold, exit 4 above it.
run nan_few --output.path nan_few.h5 --data.path data.jsonl --test.fake_worker 1 --test.fake_nan_every 200
expect 0 nan_few "a few NaN losses"
has nan_few "NaN loss" "a few NaN losses"
"$tool" inspect nan_few.h5 > nan_few.inspect
grep -q "NaN" nan_few.inspect || { cat nan_few.inspect; fail "inspect does not count NaN losses"; }
run nan_many --output.path nan_many.h5 --test.fake_worker 1 --test.fake_nan_every 2
expect 4 nan_many "NaN losses above run.max_nan_fraction"
has nan_many "run.max_nan_fraction" "NaN losses above the threshold"
# A record that fails alone (synthetic: hidden test option) is skipped as score_failed, named in the
# log; the others of its unit are kept and the run goes on (it used to fail every rerun at that unit).
run failing --output.path failing.h5 --test.fake_worker 1 --test.fake_fail_line 50
expect 0 failing "a record that cannot be scored"
has failing "small.jsonl:50: cannot be scored at" "a record that cannot be scored"
"$tool" inspect failing.h5 > failing.inspect
grep -q "1 score_failed" failing.inspect || { cat failing.inspect; fail "inspect does not count the record that failed"; }
echo "ok: NaN and Inf weights, uniform predictions, failed loads, all-skipped data and NaN losses stop the run", a failing record is skipped

# --- Bounded inputs: a 2 MB prompt is skipped with its reason; the run ends. ----------------------
python3 - <<'PY'
import json
rows = [json.loads(l) for l in open("small.jsonl")][:40]
rows[3]["prompt"] = "fever " * 350000
with open("huge.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
PY
run huge --output.path huge.h5 --data.path huge.jsonl --data.max_line_bytes 4000000 --select.budget 10 --run.worker_timeout 3600
expect 0 huge "a 2 MB prompt"
has huge "prompt_too_long" "a 2 MB prompt"
echo "ok: a prompt beyond data.max_prompt_tokens is skipped with its reason"

# --- Budgets and calibration that miss say so (exit 0 stays). -------------------------------------
run budget --stage select --output.path r.h5 --select.token_budget 1 --select.output budget.jsonl
expect 0 budget "token budget 1"
has budget "selects nothing" "token budget 1"
run calib --stage difficulty --output.path c.h5 --pass.calibration_low 50 --pass.calibration_high 60
expect 0 calib "calibration out of reach"
grep -q "warning.*calibration" calib.log || { cat calib.log; fail "a missed calibration target is not a warning"; }
"$tool" inspect c.h5 > c.inspect
grep -qi "calibration missed" c.inspect || { cat c.inspect; fail "inspect does not flag the missed calibration"; }
echo "ok: a budget that selects nothing and a missed calibration are warnings"

# --- Stopping a bare mpirun: SIGUSR1 saves and exits 130; SIGTERM saves, Open MPI then exits 1. ----
for sig in USR1 TERM; do
  "$mpiexec" -n 2 "$dist" --config run.ini --output.path "sig$sig.h5" --test.fake_worker 1 --test.fake_unit_seconds 0.3 \
    > "sig$sig.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q "calibration: [0-9]*/" "sig$sig.log" && break; sleep 0.1; done
  kill -"$sig" $pid
  code=0
  wait $pid || code=$?
  has "sig$sig" "finished work is saved" "SIG$sig to mpirun"
  [ -e "sig$sig.h5.journal" ] || fail "SIG$sig: no journal kept"
  if [ "$sig" = USR1 ]; then expect 130 "sig$sig" "SIGUSR1 to mpirun"; else expect 1 "sig$sig" "SIGTERM to mpirun (Open MPI's own code)"; fi
done
echo "ok: stopping a bare mpirun keeps the work; exit codes as docs/USAGE.md says"
