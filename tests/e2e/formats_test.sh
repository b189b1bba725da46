#!/usr/bin/env bash
# Inputs as users have them give the same selection as JSON Lines: the fixture dataset as one JSON
# array, as a folder of shards (plain, zstd, array), as a hub dataset folder (data/train-*.jsonl plus a
# test split that is not read) and, when python3 has pyarrow, as Parquet; fake workers (losses by
# line), so the same records at the same lines must be selected. Also: select.budget = 10% selects a
# tenth of the candidates; --plan refuses a count above the usable records (exit 2); auto markers
# and ids are logged and stored resolved in the fingerprint.
#   formats_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
tool=$1 dist=$2 same=$3 mpiexec=$4 tokenizer=$5
source "$(dirname "$0")/common.sh"

head -n 600 data.jsonl > clean.jsonl  # the array and Parquet forms cannot hold the malformed line 601
python3 - <<'PY'
import json, os
rows = [json.loads(l) for l in open("clean.jsonl")]
json.dump(rows, open("data.json", "w"), indent=1)
os.makedirs("shards", exist_ok=True)
with open("shards/part-0.jsonl", "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows[:250])
with open("shards/part-1.jsonl", "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows[250:400])
json.dump(rows[400:], open("shards/part-2.json", "w"))
os.makedirs("hub/data", exist_ok=True)
os.makedirs("hub/.cache/huggingface", exist_ok=True)
open("hub/README.md", "w").write("# a dataset card\n")
with open("hub/data/train-00000-of-00002.jsonl", "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows[:300])
with open("hub/data/train-00001-of-00002.jsonl", "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows[300:])
with open("hub/data/test-00000-of-00001.jsonl", "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows[:5])
try:
    import pyarrow as pa, pyarrow.parquet as pq
    pq.write_table(pa.Table.from_pylist(rows), "data.parquet", row_group_size=128)
except ImportError:
    pass
PY
zstd -q shards/part-1.jsonl && rm shards/part-1.jsonl

run() {  # run NAME DATA_PATH [options]: a fake-worker run of the whole job
  local name=$1 data=$2
  shift 2
  "$mpiexec" -n 2 "$dist" --config run.ini --data.path "$data" --output.path "$name.h5" --test.fake_worker 1 "$@" \
    > "$name.log" 2>&1 || { cat "$name.log"; fail "the run on $data failed"; }
}
run jsonl clean.jsonl
inputs="array:data.json shards:shards hub:hub glob:shards/part-*"
if [ ! -e data.parquet ]; then
  echo "note: python3 has no pyarrow; Parquet not tried here"
elif "$tool" check --input data.parquet > parquet_check.log 2>&1; then
  inputs="$inputs parquet:data.parquet"
else
  grep -q "built without Arrow: rebuild with pyarrow" parquet_check.log || { cat parquet_check.log; fail "Parquet: neither read nor refused"; }
  echo "note: this build has no Arrow (pyarrow); Parquet is refused as it should be"
fi
for entry in $inputs; do
  name=${entry%%:*} data=${entry#*:}
  run "$name" "$data"
  "$same" jsonl.selection.h5 "$name.selection.h5" /selection/selected /selection/cluster /selection/score \
    || fail "$name: the selection differs from the JSON Lines one"
  [ "$(wc -l < "$name.selected.jsonl")" -eq 40 ] || fail "$name: not 40 records selected"
done
grep -q "data.think_begin/think_end = auto: no known reasoning marker" jsonl.log || { cat jsonl.log; fail "no marker note"; }
grep -q "data.id_field = auto: line numbers" jsonl.log || { cat jsonl.log; fail "no id note"; }
grep -q "data.id_field = auto: file name:line" shards.log || { cat shards.log; fail "no id note for a folder"; }
grep -q "2 file(s) of data/ of the folder (train split)" hub.log || { cat hub.log; fail "the hub files are not named"; }
! grep -qvE '^part-[0-2]\.json(l|l\.zst)?:[0-9]+$' shards.selected_ids.txt \
  || { head -n 3 shards.selected_ids.txt; fail "a folder's ids are not FILE:LINE"; }
# JSON Lines records are written as their bytes; array records as their compact JSON.
cmp <(head -n 1 jsonl.selected.jsonl | python3 -c "import json,sys; print(json.dumps(json.loads(sys.stdin.read()), separators=(',', ':')))") \
    <(head -n 1 array.selected.jsonl) || fail "an array record is not written as its compact JSON"
echo "ok: a JSON array, shard folders, a glob, a hub folder (and Parquet) select what JSON Lines selects"

# The fingerprint holds the resolved markers: the same data with explicit markers resumes.
"$mpiexec" -n 1 "$dist" --config run.ini --data.path clean.jsonl --output.path jsonl.h5 --test.fake_worker 1 \
  --data.think_begin '' --data.think_end '' --data.id_field '' > resume.log 2>&1 || { cat resume.log; fail "the resolved settings did not resume"; }

# ... and other markers than those detected are a changed setting, named, never a silent resume.
set +e
"$mpiexec" -n 1 "$dist" --config run.ini --data.path clean.jsonl --output.path jsonl.h5 --test.fake_worker 1 \
  --data.think_begin '<think>' --data.think_end '</think>' > changed.log 2>&1
code=$?
set -e
[ $code -eq 2 ] && grep -q "data.think_begin: .* -> <think>" changed.log \
  || { cat changed.log; fail "other markers than the detected ones exited $code"; }

run fraction clean.jsonl --select.budget 10%
grep -q "select.budget = 10% of [0-9]* candidates" fraction.log || { cat fraction.log; fail "the fraction is not logged"; }
candidates=$(sed -n 's/.*select.budget = 10% of \([0-9]*\) candidates.*/\1/p' fraction.log | head -n 1)
[ "$(wc -l < fraction.selected.jsonl)" -eq $((candidates / 10)) ] || fail "10% of $candidates is not $((candidates / 10))"
set +e
"$mpiexec" -n 1 "$dist" --config run.ini --data.path clean.jsonl --output.path plan.h5 --plan --select.budget 601 > plan.log 2>&1
code=$?
set -e
[ $code -eq 2 ] && grep -q "select.budget = 601 is above the 600 usable records" plan.log \
  || { cat plan.log; fail "--plan with a budget above the records exited $code"; }
set +e
"$mpiexec" -n 1 "$dist" --config run.ini --data.path shards --output.path shards/run.h5 --test.fake_worker 1 > inside.log 2>&1
code=$?
set -e
[ $code -eq 2 ] && grep -q "lies inside the dataset folder (data.path)" inside.log && [ ! -e shards/run.h5 ] \
  || { cat inside.log; fail "an output inside the dataset folder exited $code"; }
echo "ok: fractions resolve against the candidates; --plan refuses a count above the usable records, outputs inside a dataset folder are refused (exit 2)"
