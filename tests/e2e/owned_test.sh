#!/usr/bin/env bash
# Nothing the user owns is moved, truncated, replaced or merged (issue 27; docs/FAULTS.md): --fresh and
# every "move aside" act only on files curate_dist made; an output.path that is an input, a folder or
# empty is refused (exit 2) before anything is written; suggested commands are safe to paste; names
# and ids stay distinct or are refused; symlinked outputs are written through; previews and logs show
# control characters as escapes; a re-selection copies nothing.
#   owned_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
tool=$1 dist=$2 mpiexec=$4 tokenizer=$5
source "$(dirname "$0")/common.sh"
head -n 96 data.jsonl > small.jsonl
sed -i "s|^path = data.jsonl|path = small.jsonl|" run.ini

# only_files WHAT NAME...: the folder holds exactly these entries (besides the set-up's)
setup=$(ls -A | sort)
only_files() {
  local what=$1
  shift
  local now expected
  now=$(ls -A | sort)
  expected=$( (echo "$setup"; for f in "$@"; do echo "$f"; done) | sort -u)
  [ "$now" = "$expected" ] || { diff <(echo "$expected") <(echo "$now") || true; fail "$what: files were added or moved"; }
}
cp small.jsonl small.orig

# --- output.path is an input, a folder or empty: exit 2, nothing written, nothing moved. ------------
for fresh in "" --fresh; do
  run same_as_data --stage difficulty --output.path small.jsonl $fresh
  expect 2 same_as_data "output.path = the dataset $fresh"
  has same_as_data "is the dataset (data.path)" "output.path = the dataset $fresh"
  cmp small.jsonl small.orig || fail "output.path = the dataset $fresh changed the dataset"
  ln -sf small.jsonl link.h5 && ln -f small.jsonl hard.h5
  for alias in link.h5 hard.h5 ./x/../small.jsonl; do
    run alias --stage difficulty --output.path "$alias" $fresh
    expect 2 alias "output.path = the dataset through $alias $fresh"
    has alias "is the dataset (data.path)" "output.path = the dataset through $alias"
  done
  rm link.h5 hard.h5
  run model_file --stage difficulty --output.path base/config.json $fresh
  expect 2 model_file "output.path = a file of the model folder $fresh"
  mkdir -p outdir && echo keep > outdir/mine.txt
  run folder --stage difficulty --output.path outdir $fresh
  expect 2 folder "output.path = a folder $fresh"
  has folder "is a folder" "output.path = a folder"
  [ "$(cat outdir/mine.txt)" = keep ] || fail "the folder's file changed"
  run empty --stage difficulty --output.path '' $fresh
  expect 2 empty "output.path '' $fresh"
  has empty "output.path is empty" "output.path ''"
  only_files "refused output paths $fresh" small.orig outdir same_as_data.log alias.log model_file.log folder.log empty.log
done
echo "ok: an output.path that is the dataset (also through a link, a hard link, x/..), a model file, a folder or empty: exit 2, nothing written or moved"

# --- Files curate_dist did not write are never moved aside, replaced or removed, --fresh included. ---
echo "my notes" > notes.h5
printf '\x89HDF\r\n\x1a\nnot a curate_dist file' > other.h5
for target in notes.h5 other.h5; do
  cp "$target" "$target.orig"
  for fresh in "" --fresh; do
    run foreign --stage difficulty --output.path "$target" $fresh
    expect 2 foreign "a foreign $target at output.path $fresh"
    has foreign "is not a result file that curate_dist wrote" "a foreign $target $fresh"
    cmp "$target" "$target.orig" || fail "$target was changed"
    ! ls "$target".discarded-* > /dev/null 2>&1 || fail "--fresh moved the foreign $target aside"
  done
done
for companion in journal lock index hashes base; do
  echo "the user's $companion" > "c.h5.$companion"
  run companion --stage difficulty --output.path c.h5 --fresh
  expect 2 companion "a foreign c.h5.$companion"
  has companion "c.h5.$companion exists and is not" "a foreign c.h5.$companion"
  [ "$(cat "c.h5.$companion")" = "the user's $companion" ] || fail "c.h5.$companion was changed"
  [ ! -e c.h5 ] || fail "a run started beside a foreign c.h5.$companion"
  rm "c.h5.$companion"
done
echo "ok: a foreign file at output.path or at its .journal/.lock/.index/.hashes/.base: exit 2, left byte for byte"

# --- A JSON array named data.jsonl (once refused with a jq command that, pasted, truncated it): read as
# it is, the dataset left byte for byte, the same losses as the JSON Lines file. ---------------------
python3 -c "
import json
print(json.dumps([json.loads(l) for l in open('small.jsonl') if l.startswith('{')]))" > arr.jsonl
cp arr.jsonl arr.orig
run array --stage difficulty --output.path arr.h5 --data.path arr.jsonl
expect 0 array "a JSON array named .jsonl"
cmp arr.jsonl arr.orig || fail "reading the JSON array changed it"
run lines --stage difficulty --output.path lines.h5
expect 0 lines "the same records as JSON Lines"
"$3" arr.h5 lines.h5 $h5_difficulty_losses $h5_difficulty_mean_loss $h5_examples_id || fail "the JSON array and its JSON Lines gave different losses"
echo "ok: a JSON array named .jsonl is read as it is, left byte for byte, with the JSON Lines file's losses"

# --- Names and ids: byte-exact or refused; duplicates and 7 vs "7" refused unless allowed. ----------
python3 - <<'PY'
import json
rows = [json.loads(l) for l in open("small.jsonl") if l.startswith("{")][:60]
def write(name, edit):
    with open(name, "w") as f:
        for i, r in enumerate(rows):
            r = dict(r)
            edit(i, r)
            f.write(json.dumps(r) + "\n")
write("nul.jsonl", lambda i, r: r.update(source="src\u0000" + ("x" if i % 2 else "y")))
write("nul_domain.jsonl", lambda i, r: r.update(domain="d\u0000" + str(i % 3)))
write("dup.jsonl", lambda i, r: r.update(id="id-%d" % (i % 5)))
write("typed.jsonl", lambda i, r: r.update(id=(7 if i == 3 else "7" if i == 9 else "r%d" % i)))
PY
run nul --stage difficulty --output.path nul.h5 --data.path nul.jsonl
expect 3 nul "sources that differ after a NUL"
has nul 'nul.jsonl: line 1: field "source" holds a NUL character' "sources that differ after a NUL"
run nul_domain --stage difficulty --output.path nul_domain.h5 --data.path nul_domain.jsonl
expect 3 nul_domain "domains that differ after a NUL"
has nul_domain 'field "domain" holds a NUL character' "domains with a NUL"
run dup --stage difficulty --output.path dup.h5 --data.path dup.jsonl --data.id_field id
expect 3 dup "5 distinct ids over 60 records"
has dup 'dup.jsonl: lines 1 and 6 have the same id "id-0"' "duplicate ids"
has dup "data.allow_duplicate_ids" "duplicate ids"
run typed --stage difficulty --output.path typed.h5 --data.path typed.jsonl --data.id_field id
expect 3 typed "ids 7 and \"7\""
has typed 'lines 4 and 10 have the same id 7 and "7"' "ids 7 and \"7\""
code=0
"$tool" check --input dup.jsonl --data.id_field id > refused.log 2>&1 || code=$?
[ "$code" -eq 3 ] || { cat refused.log; fail "curate_tool check accepted duplicate ids: exit $code"; }
"$tool" check --input dup.jsonl --data.id_field id --data.allow_duplicate_ids true > allowed.log 2>&1 \
  || { cat allowed.log; fail "data.allow_duplicate_ids did not accept duplicate ids"; }
[ ! -e nul.h5 ] && [ ! -e dup.h5 ] && [ ! -e typed.h5 ] || fail "a refused dataset left a result file"
echo "ok: NUL in source/domain and duplicate or type-colliding ids: exit 3 naming file, line and field"

# --- Terminal escapes in previews and logs; negative counts. -----------------------------------------
python3 - <<'PY'
import json
hostile = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\rover"
with open("esc.jsonl", "w") as f:
    f.write(json.dumps({"prompt": "Q " + hostile, "reasoning": "R " + hostile, "source": "s" + hostile}) + "\n")
PY
"$tool" check --tokenizer "$tokenizer" --input esc.jsonl --preview 1 > esc.out 2>&1 || { cat esc.out; fail "check --preview"; }
! grep -q $'[\x1b\x07\r]' esc.out || fail "check --preview wrote control characters raw"
grep -qF 'R \x1b[2J\x1b]0;pwned\x07' esc.out || { cat esc.out; fail "the preview does not show the escapes"; }
code=0
"$tool" check --tokenizer "$tokenizer" --input esc.jsonl --preview -1 > neg.out 2>&1 || code=$?
[ "$code" -eq 2 ] || { cat neg.out; fail "--preview -1: exit $code, expected 2"; }
grep -qF -- "--preview = -1" neg.out || { cat neg.out; fail "--preview -1 not named"; }
run esc_log --stage difficulty --output.path esc.h5 --data.path $'missing\x1b]0;t\x07.jsonl'
expect 3 esc_log "a log line quoting a hostile name"
has esc_log 'missing\x1b]0;t\x07.jsonl' "a log line quoting a hostile name"
! grep -q $'[\x1b\x07]' esc_log.log || fail "a log line wrote control characters raw"
echo "ok: previews and logs show ESC/OSC/BEL/CR as escapes; --preview -1 is exit 2"

# --- An INI file saved with a UTF-8 BOM; a model whose context is shorter than the window. -----------
printf '\xef\xbb\xbf' | cat - run.ini > bom.ini
"$mpiexec" -n 1 "$dist" --config bom.ini --plan > bom.log 2>&1 || { cat bom.log; fail "an INI file with a BOM was refused"; }
cp -r base ctx8
python3 -c "
import json; c = json.load(open('ctx8/config.json')); c['max_position_embeddings'] = 8
json.dump(c, open('ctx8/config.json', 'w'))"
run ctx8 --stage difficulty --output.path ctx8.h5 --model.path ctx8
expect 2 ctx8 "an 8-token context"
has ctx8 "max_position_embeddings = 8" "an 8-token context"
has ctx8 "pass.profile_tokens = 80" "an 8-token context"
[ ! -e ctx8.h5 ] || fail "an 8-token context left a result file"
echo "ok: a BOM at the start of run.ini is accepted; an 8-token context is refused by rank 0 naming it"

# --- Symlinked outputs are written through; a re-selection copies nothing. ---------------------------
mkdir shared
echo '{"kept": {"file_name": "kept.jsonl"}}' > shared/dataset_info.json
ln -s shared/dataset_info.json dataset_info.json
run full --output.path r.h5 --test.fake_worker 1 --select.format sharegpt
expect 0 full "a whole run with a symlinked dataset_info.json"
[ -L dataset_info.json ] || fail "the symlinked dataset_info.json was replaced by a file"
python3 -c "
import json; d = json.load(open('shared/dataset_info.json'))
assert 'kept' in d and 'r.selected' in d, d" || fail "the shared dataset_info.json lacks the entry"
cp r.h5 r.before
run reselect --output.path r.h5 --test.fake_worker 1 --select.format sharegpt --select.budget 20
expect 0 reselect "a rerun that only re-selects"
has reselect "is already stored" "a rerun that only re-selects"
! grep -q "keeping a copy" reselect.log || { cat reselect.log; fail "a re-selection copied the result file"; }
[ ! -e r.h5.base ] || fail "a re-selection left r.h5.base"
# The re-selection rewrites only the /selection link and the /selections list; the scores stay as they were.
"$3" r.before r.h5 $(echo "$datasets" | tr ' ' '\n' | grep -v '^/selection/') ||
  fail "a re-selection changed the result file's scores"
[ "$(wc -l < r.selected.jsonl)" -eq 20 ] || fail "the re-selection did not select again"
echo "ok: dataset_info.json written through its link; a re-selection copies nothing and keeps the scores bit for bit"
