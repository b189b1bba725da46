#!/usr/bin/env bash
# End-to-end test of the selection's outputs: every selected record is byte-identical to
# its input line for every input format (ShareGPT, messages, flat, OpenThoughts, CRLF, BOM, .gz,
# .zst); the same selection twice gives the same files; conversion only when asked; ids and scores;
# outputs never overwrite an input or each other; a failed selection leaves the previous one whole;
# a moved result file does not show a stale selection; concurrent selections keep every
# dataset_info.json entry; every selection owns its files and /selection follows the latest one; an option given as another option's value, or a stray argument, is refused.
#   export_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
tool=$1 dist=$2 same=$3 mpiexec=$4 tokenizer=$5
source "$(dirname "$0")/export_common.sh"

# Byte equality, input order, budget, ids.
python3 - $datasets <<'PY' || fail "selected records differ from their input lines"
import gzip, json, subprocess, sys
def raw(path):
    data = open(path, "rb").read()
    if path.endswith(".gz"): data = gzip.decompress(data)
    if path.endswith(".zst"): data = subprocess.run(["zstd", "-dcq", path], capture_output=True, check=True).stdout
    if data.startswith(b"\xef\xbb\xbf"): data = data[3:]  # not part of the first record
    lines = data.split(b"\n")
    return [l[:-1] if l.endswith(b"\r") else l for l in lines if l.strip()]
files = {"gz": ("gz.jsonl.gz", "gz.selected.jsonl.gz"), "zst": ("zst.jsonl.zst", "zst.selected.jsonl.zst")}
for name in sys.argv[1:]:
    source, selected = files.get(name, (name + ".jsonl", name + ".selected.jsonl"))
    records, chosen = raw(source), raw(selected)
    assert len(chosen) == 6, (name, len(chosen))
    where = [records.index(r) for r in chosen]  # every record byte for byte, else ValueError
    assert where == sorted(where), (name, "not in input order", where)
    out = open(selected, "rb").read()
    if name in files: out = gzip.decompress(out) if name == "gz" else subprocess.run(["zstd", "-dcq", selected], capture_output=True, check=True).stdout
    assert out == b"".join(r + b"\n" for r in chosen), (name, "terminators: one \\n per record")
    ids = open(name + ".selected_ids.txt").read().split("\n")[:-1]
    assert ids == [str(i + 1) for i in where], (name, ids, where)  # line numbers (no BOM/blank lines here)
print("ok")
PY
echo "ok: selected records are their input lines byte for byte (8 formats, .gz/.zst kept compressed), input order, ids"
grep -q 'no entry' flat.log || fail "flat records with separate reasoning were given a dataset_info entry"

# The same selection twice gives the same files; --stage select again with other names too.
for name in sharegpt gz; do
  ext=; [ $name = gz ] && ext=.gz
  cp $name.selected.jsonl$ext first.jsonl$ext && cp $name.scores.tsv first.tsv
  "$mpiexec" -n 1 "$dist" --config run.ini --data.path "$(data_file $name)" --output.path $name.h5 --stage select \
    --select.compress auto > again.log 2>&1 || { cat again.log; fail "reselection failed"; }
  cmp first.jsonl$ext $name.selected.jsonl$ext && cmp first.tsv $name.scores.tsv || fail "$name: a second selection differs"
done
echo "ok: the same selection twice gives byte-identical files"

# Scores: one row per record, fixed columns, every text escaped.
python3 - <<'PY' || fail "scores table is malformed"
rows = [l.split("\t") for l in open("sharegpt.scores.tsv").read().split("\n")[:-1]]
head = rows[0]
assert head[:9] == ["id", "line", "source", "domain", "difficulty", "kept", "cluster", "brittleness", "score"], head
assert head[-2:] == ["selected", "method"] and sum(h.startswith("loss:") for h in head) == 2, head  # perturb.directional_checkpoints
assert all(len(r) == len(head) for r in rows) and len(rows) == 1 + 24, len(rows)
assert sum(r[-2] == "1" for r in rows[1:]) == 6 and {r[-1] for r in rows[1:]} == {"temp"}
assert {r[2] for r in rows[1:]} == {"m23k", "other"}
PY
echo "ok: scores table with one row per record"

# Conversion only when asked: flat -> sharegpt equals the hand-written file's lines for the chosen records.
"$mpiexec" -n 1 "$dist" --config run.ini --data.path flat.jsonl --output.path flat.h5 --stage select --select.format sharegpt \
  --select.output flat.sharegpt.jsonl > convert.log 2>&1 || { cat convert.log; fail "conversion failed"; }
python3 - "$fixtures" <<'PY' || fail "converted records differ from the hand-written expectation"
import json, sys
expected = [l.rstrip("\n") for l in open(sys.argv[1] + "/flat.sharegpt.expected.jsonl", encoding="utf-8")]
ids = [int(i) for i in open("flat.selected_ids.txt").read().split()]
got = [l.rstrip("\n") for l in open("flat.sharegpt.jsonl", encoding="utf-8")]
assert len(got) == 6
for line, text in zip(ids, got):
    k, row = divmod(line - 1, 2)  # the fixture's 2 records, each with "n": k spliced in
    want = json.loads(expected[row]); want["n"] = k
    assert json.loads(text) == want, (text, want)
info = json.load(open("dataset_info.json"))
assert info["flat.sharegpt"]["columns"] == {"messages": "conversations"}, info["flat.sharegpt"]
assert info["flat.sharegpt"]["tags"]["user_tag"] == "human", info["flat.sharegpt"]
assert "flat.selected" not in info, "a file LLaMA-Factory cannot read got an entry"
PY
echo "ok: --select.format=sharegpt converts flat records as the hand-written file says; dataset_info entries match"

# Outputs never destroy inputs.
refuse() {  # refuse WHAT EXPECTED_TEXT ARGS...: exit 2 with the text, nothing overwritten
  local what=$1 text=$2; shift 2
  local before; before=$(cat sharegpt.jsonl sharegpt.h5 base/config.json | md5sum)
  set +e; "$mpiexec" -n 1 "$dist" --config run.ini --data.path sharegpt.jsonl --output.path sharegpt.h5 --stage select "$@" > refused.log 2>&1
  local code=$?; set -e
  [ $code -eq 2 ] && grep -q -- "$text" refused.log || { cat refused.log; fail "$what: exit $code, expected 2 with '$text'"; }
  [ "$(cat sharegpt.jsonl sharegpt.h5 base/config.json | md5sum)" = "$before" ] || fail "$what: an input changed"
}
refuse "output = dataset" "is the dataset (data.path)" --select.output sharegpt.jsonl
refuse "output = dataset by another path" "is the dataset (data.path)" --select.output ./sub/../sharegpt.jsonl
ln -f sharegpt.jsonl hardlink.jsonl
refuse "output = dataset through a hard link" "is the dataset" --select.output hardlink.jsonl
refuse "output = result file" "is the result file (output.path)" --select.output sharegpt.h5
refuse "output inside the model folder" "inside the model folder" --select.output base/selected.jsonl
refuse "output = another output" "is also select.output" --select.output sharegpt.summary.json
cp sharegpt.h5 clash.h5 && cp sharegpt.h5 clash.hdf5
set +e; "$mpiexec" -n 1 "$dist" --config run.ini --data.path sharegpt.jsonl --output.path clash.hdf5 --stage select > clash.log 2>&1; code=$?; set -e
[ $code -eq 2 ] && grep -q "would share the output names" clash.log || { cat clash.log; fail "r.h5 beside r.hdf5 was not refused ($code)"; }
echo "ok: outputs that are the dataset, the result file, in a model folder, another output, or a sibling's are refused (exit 2)"

# A selection that fails half-way (file-size limit) leaves the previous one whole and consistent.
cp sharegpt.selected.jsonl before.jsonl
# (Open MPI's and PMIx's shared-memory files would hit the limit too: TCP and in-memory PMIx data, as disk_test.sh.)
set +e; (ulimit -f 4; OMPI_MCA_btl=self,tcp PMIX_MCA_gds=hash exec "$mpiexec" -n 1 "$dist" --config run.ini --data.path sharegpt.jsonl --output.path sharegpt.h5 --stage select \
  --select.method random --select.budget 20 > limited.log 2>&1); code=$?; set -e
[ $code -eq 5 ] && grep -q "File too large" limited.log || { cat limited.log; fail "a selection beyond the file-size limit exited $code, expected 5"; }
cmp before.jsonl sharegpt.selected.jsonl || fail "the failed selection changed the previous output"
"$tool" inspect sharegpt.h5 > inspect.txt
grep -q "by temp" inspect.txt && ! grep -q "changed\|missing" inspect.txt || { cat inspect.txt; fail "inspect after a failed selection"; }
ls *.tmp 2>/dev/null && fail "temporaries left behind"
echo "ok: a selection that fails on the file-size limit (exit 5) leaves the previous selection whole"

# A moved result file shows no stale selection; a copy selects on its own.
mv messages.h5 moved.h5
"$tool" inspect moved.h5 > moved.txt
grep -q "selection: none for this file" moved.txt || { cat moved.txt; fail "a moved file showed a selection"; }
cp sharegpt.h5 copy.h5
"$tool" inspect copy.h5 | grep -q "selection: none" || fail "a copied file showed the original's selection"
"$mpiexec" -n 1 "$dist" --config run.ini --data.path sharegpt.jsonl --output.path copy.h5 --stage select --select.method random \
  > copy.log 2>&1 || { cat copy.log; fail "selection of a copy failed"; }
"$tool" inspect copy.h5 | grep -q "by random" || fail "the copy does not show its own selection"
"$tool" inspect sharegpt.h5 | grep -q "by temp" || fail "the original lost its selection"
cp sharegpt.selection.h5 stale.selection.h5 && cp sharegpt.h5 stale.h5
"$tool" inspect stale.h5 | grep -q "was made from sharegpt.h5" || fail "a selection file of another result file was shown"
echo "x" >> sharegpt.selected_ids.txt
"$tool" inspect sharegpt.h5 | grep -q "sharegpt.selected_ids.txt: changed" || fail "inspect does not see a changed output"
echo "ok: moved or copied result files show their own selection or say it is missing; changed outputs are named"

# Concurrent selections in one folder keep every dataset_info.json entry.
for k in 1 2 3 4; do cp sharegpt.h5 par$k.h5; done
pids=
for k in 1 2 3 4; do
  "$mpiexec" -n 1 "$dist" --config run.ini --data.path sharegpt.jsonl --output.path par$k.h5 --stage select > par$k.log 2>&1 & pids="$pids $!"
done
for p in $pids; do wait $p || fail "a concurrent selection failed"; done
python3 -c '
import json; info = json.load(open("dataset_info.json"))
missing = [k for k in range(1, 5) if "par%d.selected" % k not in info]
assert not missing and "sharegpt.selected" in info and "flat.sharegpt" in info, (missing, list(info))' \
  || fail "a dataset_info.json entry was lost"
echo "ok: four concurrent selections in one folder keep every dataset_info.json entry"

# Every selection owns its files: another method (USAGE's recipe) leaves the first selection's files
# byte-identical, inspect lists both, and the result file's /selection follows the latest selection,
# relative to the result file, after it is renamed and moved.
first="sharegpt.selected.jsonl sharegpt.selected_ids.txt sharegpt.scores.tsv sharegpt.summary.json sharegpt.report.html sharegpt.examples.html sharegpt.selection.h5"
sha256sum $first > first.sha
"$mpiexec" -n 1 "$dist" --config run.ini --data.path sharegpt.jsonl --output.path sharegpt.h5 --stage select \
  --select.method random --select.output random.jsonl > random.log 2>&1 || { cat random.log; fail "a second method failed"; }
sha256sum -c --quiet first.sha || fail "a second method's selection changed the first selection's files"
for f in random.jsonl random.selected_ids.txt random.scores.tsv random.summary.json random.report.html random.examples.html random.selection.h5; do
  [ -s $f ] || fail "the second selection did not write $f"
done
grep -q '"random"' dataset_info.json && grep -q '"sharegpt.selected"' dataset_info.json || fail "dataset_info.json lacks an entry"
"$tool" inspect sharegpt.h5 > both.txt
grep -q "selections: 2 made from this file" both.txt && grep -q "by temp" both.txt && grep -q "by random" both.txt \
  && grep -q "random.selection.h5 (latest" both.txt || { cat both.txt; fail "inspect does not list both selections"; }
mkdir -p moved_run picks
cp sharegpt.h5 moved_run/renamed.h5
"$mpiexec" -n 1 "$dist" --config run.ini --data.path sharegpt.jsonl --output.path moved_run/renamed.h5 --stage select \
  --select.method longest --select.output picks/longest.jsonl > moved.log 2>&1 || { cat moved.log; fail "selection of a moved file failed"; }
h5dump -A -p -H moved_run/renamed.h5 > link.txt 2>&1 || true
grep -q '../picks/longest.selection.h5' link.txt || { cat link.txt; fail "/selection does not point at the new selection"; }
(cd / && h5ls -r --follow-symlinks "$OLDPWD/moved_run/renamed.h5" > "$OLDPWD/follow.txt" 2>&1) || true
grep -q "/selection/selected" follow.txt || { cat follow.txt; fail "an HDF5 reader does not reach the selection through /selection"; }
"$tool" inspect moved_run/renamed.h5 > moved_inspect.txt
grep -q "../picks/longest.selection.h5 (latest" moved_inspect.txt || { cat moved_inspect.txt; fail "inspect of the moved file"; }
ls *.lock picks/*.lock moved_run/*.lock 2>/dev/null && fail "lock files left behind"
echo "ok: a second method leaves the first selection byte-identical; inspect lists both; /selection follows a moved result file"

# An option whose value is another option, and a stray argument, are errors (curate_dist and curate_tool).
for args in "--select.output --select.budget 5" "--select.budget 5 7"; do
  set +e; "$mpiexec" -n 1 "$dist" --config run.ini --data.path sharegpt.jsonl --output.path sharegpt.h5 --stage select $args > opt.log 2>&1
  code=$?; set -e
  [ $code -eq 2 ] || { cat opt.log; fail "curate_dist $args exited $code, expected 2"; }
done
grep -q "positional" opt.log || { cat opt.log; fail "no message for a stray argument"; }
set +e; "$tool" prepare --tokenizer --input sharegpt.jsonl --output p.jsonl > opt.log 2>&1; code=$?; set -e
[ $code -eq 2 ] && grep -q "has no value" opt.log || { cat opt.log; fail "curate_tool --tokenizer --input exited $code"; }
set +e; "$tool" prepare --tokenizer "$tokenizer" --input sharegpt.jsonl --output p.jsonl extra > opt.log 2>&1; code=$?; set -e
[ $code -eq 2 ] || { cat opt.log; fail "curate_tool with a stray argument exited $code"; }
echo "ok: an option as another option's value and stray arguments exit 2"
