#!/usr/bin/env bash
# The A/B fine-tune end to end on the demo, with real LLaMA-Factory trainings on CPU: the demo is
# scored, `--stage compare` makes temp, random and longest selections (2 seeds) with a held-out split
# and the bundled benchmark (configs/demo.ini [compare]); one item runs through slurm/ab.sbatch as an
# array task would, one meets the leftovers of a killed training, and launch/ab.sh does the rest
# (skipping the finished item) and the page. Checks: the held-out records are in no selection; the
# compare page and JSON hold every selection, the overlap and the shares; results.json has a table per
# evaluation set with the base and every method, 2 runs per method, and every fine-tuned model's
# losses differ from the base's and from each other (each number comes from its own trained model).
# Needs the venv of launch/setup_llamafactory.sh; skipped (exit 77) without it.
#   ab_test.sh CURATE_TOOL CURATE_DIST MPIEXEC VENV_PYTHON
set -euo pipefail
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
tool=$(abs "$1") dist=$(abs "$2") mpiexec=$3 python=$4
root=$(cd "$(dirname "$0")/../.." && pwd)
if ! "$python" -c "import llamafactory.chat, datasets" 2>/dev/null; then
  echo "SKIP: $python cannot import llamafactory: no LLaMA-Factory venv (launch/setup_llamafactory.sh makes it; it needs PyPI)"
  exit 77
fi
work=$(mktemp -d)
trap '[ -n "${CURATE_KEEP_TEST_DIR:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export CURATE_TOOL=$tool CURATE_DIST=$dist CURATE_LF_PYTHON=$python OMP_NUM_THREADS=1 HF_DATASETS_CACHE=$work/hf-cache
fail() { echo "FAIL: $*"; exit 1; }

cd "$root"  # the demo's paths are relative to the repository root
"$mpiexec" -np 2 "$dist" --config configs/demo.ini --output.path "$work/run.h5" --run.progress_seconds 60 \
  > "$work/run.log" 2>&1 || { cat "$work/run.log"; fail "the demo run failed"; }
# Shorter answers than the demo's keep the test quick; everything else is the demo's [compare].
args=(--config configs/demo.ini --output.path "$work/run.h5" --stage compare --compare.max_new_tokens 32)
"$dist" "${args[@]}" > "$work/compare.log" 2>&1 || { cat "$work/compare.log"; fail "--stage compare failed"; }
folder=$work/run.compare
python3 - "$folder" <<'PY' || fail "the compare outputs"
import json, sys
folder = sys.argv[1]
s = json.load(open(folder + "/compare.json"))
names = [x["name"] for x in s["selections"]]
assert names == ["temp-s0", "temp-s1", "random-s0", "random-s1", "longest"], names
held = set(open(folder + "/heldout.ids.txt").read().split())
assert len(held) == 40 == s["heldout"]["examples"], len(held)
for x in s["selections"]:
    assert x["file"] == x["name"] + ".selected.jsonl" and x["dataset_name"] == x["name"] + ".selected", x
    ids = set(open(folder + "/" + x["ids"]).read().split())
    assert len(ids) == x["examples"] == 40, (x["name"], len(ids))
    assert not ids & held, "%s holds held-out records" % x["name"]
    assert abs(sum(x["sources"].values()) - 1) < 1e-9
jac = s["overlap"]["jaccard"]
assert all(jac[i][i] == 1 for i in range(len(jac))) and any(v < 1 for row in jac for v in row)
assert [t["name"] for t in s["ab"]["tasks"]] == ["temp-s0", "temp-s1", "random-s0", "random-s1", "longest-s0", "longest-s1"]
info = json.load(open(folder + "/dataset_info.json"))
assert {"heldout", "temp-s0.selected", "random-s1.selected", "longest.selected"} <= set(info), sorted(info)
html = open(folder + "/compare.html").read()
assert "Overlap" in html and "Not run yet" in html
print("ok: compare outputs: 5 selections, 40 held-out records in none of them, overlap, shares, plan of 6 tasks")
PY

# Item 1 as a Slurm array task would run it (no Slurm needed for that), then again: skipped.
SLURM_ARRAY_TASK_ID=1 CURATE_ROOT=$root "$root/slurm/ab.sbatch" "$folder" > "$work/item1.log" 2>&1 \
  || { cat "$work/item1.log"; fail "ab.sbatch item 1"; }
[ -f "$folder/ab/runs/temp-s0/done.json" ] || fail "item 1 (temp-s0) did not finish"
# A training that fails (here a stand-in for llamafactory-cli that exits 1): the item is not finished.
code=0; LLAMAFACTORY_CLI=false "$python" "$root/launch/ab/ab.py" run "$folder" 3 > "$work/fail.log" 2>&1 || code=$?
[ $code -ne 0 ] && grep -q "ab: false failed (exit 1); the end of .*runs/random-s0/train.log" "$work/fail.log" \
  && [ ! -e "$folder/ab/runs/random-s0/done.json" ] || { cat "$work/fail.log"; fail "a failed training was not reported"; }
code=0; "$python" "$root/launch/ab/ab.py" table "$folder" > "$work/table.log" 2>&1 || code=$?
[ $code -ne 0 ] && grep -q "item(s) not finished: base, temp-s1, random-s0" "$work/table.log" \
  || { cat "$work/table.log"; fail "a table over unfinished items was not refused"; }
echo "ok: a failed training is named with its log; the table waits for every item"
# Item 2 was killed in training: a partial model and a log are left, no done.json.
mkdir -p "$folder/ab/runs/temp-s1/model.partial" && echo junk > "$folder/ab/runs/temp-s1/model.partial/model.safetensors"
"$root/launch/ab.sh" "$folder" > "$work/ab.log" 2>&1 || { cat "$work/ab.log"; fail "launch/ab.sh"; }
grep -q "ab: temp-s0 is finished .*: skipped" "$work/ab.log" || { cat "$work/ab.log"; fail "the finished item was not skipped"; }
[ ! -e "$folder/ab/runs/temp-s1/model.partial" ] && [ -f "$folder/ab/runs/temp-s1/model/trained.json" ] \
  || fail "the killed training did not start over"
cat "$work/ab.log"
python3 - "$folder" <<'PY' || fail "the A/B results"
import json, sys
folder = sys.argv[1]
r = json.load(open(folder + "/ab/results.json"))
assert [e["name"] for e in r["eval_sets"]] == ["benchmark", "heldout"], r["eval_sets"]
assert r["eval_sets"][0]["primary"] and r["eval_sets"][0]["examples"] == 36 and r["eval_sets"][0]["checkable"] == 36
for e in ("benchmark", "heldout"):
    m = r["metrics"][e]
    assert list(m) == ["base", "temp", "random", "longest"], list(m)
    assert [m[k]["runs"] for k in m] == [1, 2, 2, 2]
    for k in ("temp", "longest"):
        d = m[k]["diff_to_random"]["loss_all"]
        assert d["lo"] <= d["mean"] <= d["hi"], d
    titles = [t["title"] for t in r["tables"] if t["title"].startswith(e + " (")]
    assert len(titles) == 1, titles
runs = {x["name"]: x for x in r["runs"]}
assert len(runs) == 7 and all(x["train_loss_last"] is not None for n, x in runs.items() if n != "base")
for e in ("benchmark", "heldout"):
    losses = {n: x["evals"][e]["loss_all"] for n, x in runs.items()}
    base = losses.pop("base")
    for n, v in losses.items():
        assert abs(v - base) > 1e-6, "%s: loss %r equals the base model's on %s" % (n, v, e)
    values = sorted(losses.values())
    assert all(b - a > 1e-7 for a, b in zip(values, values[1:])), "two fine-tunes have the same %s loss" % e
html = open(folder + "/compare.html").read()
assert "benchmark (primary: your benchmark)" in html and "Not run yet" not in html, "the page lacks the A/B tables"
print("ok: A/B tables of 2 evaluation sets, base + 3 methods x 2 seeds, every fine-tune's losses its own")
PY

# Another budget makes other selections: the finished fine-tunes must not be mixed with new ones.
"$dist" "${args[@]}" --select.budget 30 > "$work/compare2.log" 2>&1 || { cat "$work/compare2.log"; fail "the second compare"; }
code=0; "$root/launch/ab.sh" "$folder" > "$work/ab2.log" 2>&1 || code=$?
[ $code -ne 0 ] && grep -q "runs/temp-s0 was made under other settings" "$work/ab2.log" \
  || { cat "$work/ab2.log"; fail "finished items of other selections were not refused (exit $code)"; }
echo "ok: after another budget, the finished fine-tunes are refused, not mixed in"
