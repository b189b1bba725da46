#!/usr/bin/env bash
# End-to-end test of the bundled demo (configs/demo.ini: the trained models and the 430 records of
# configs/demo, made by launch/train_demo_models.py) with 3 ranks, checking that it behaves like a
# real run: the Gaussian calibration lands in the 2-3x band; the allocation scores are not all zero
# and the shares not uniform; the noisy source (scraped) gets another share and selection rate than
# the clean math sources; the difficulty filter keeps the multiplications of `arith` and drops only
# sums; and the loss-profile clusters of a source differ.
#   demo_test.sh CURATE_TOOL CURATE_DIST H5_SAME MPIEXEC TOKENIZER_DIR
set -euo pipefail
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
tool=$(abs "$1") dist=$(abs "$2") mpiexec=$4
source "$(dirname "$3")/layout.sh"  # h5_* paths
export h5_filter_kept h5_selection_cluster h5_profile_example h5_profile_mean_loss
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap '[ -n "${CURATE_KEEP_TEST_DIR:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "FAIL: $*"; exit 1; }

cd "$root"  # the demo's paths are relative to the repository root
"$mpiexec" -np 3 "$dist" --config configs/demo.ini --output.path "$work/run.h5" --run.progress_seconds 60 \
  > "$work/run.log" 2>&1 || { cat "$work/run.log"; fail "the demo run failed"; }
"$tool" inspect "$work/run.h5" | tee "$work/inspect.txt"

python3 - "$work" configs/demo/data.jsonl <<'PY'
import json, os, re, subprocess, sys
from collections import defaultdict

work, data = sys.argv[1], sys.argv[2]
h5 = work + "/run.h5"
def fail(message):
    sys.exit("FAIL: " + message)

def dataset(path):
    """Numbers of an HDF5 dataset, flattened, through h5dump."""
    text = subprocess.run(["h5dump", "-d", path, "-y", "-w", "0", h5], check=True, capture_output=True, text=True).stdout
    body = text[text.index("DATA {") + 6:text.rindex("}")]
    return [float(v) for v in re.findall(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)", body.replace("(", " ").replace(")", " "))]

records = [json.loads(line) for line in open(data)]
source = [r["source"] for r in records]
question = [r["conversations"][0]["value"] for r in records]

# Calibration: the chosen Gaussian checkpoint's mean loss is 2-3x the base model's.
summary = json.load(open(work + "/run.summary.json"))
calibration = summary["calibration"]
ratio = {c["checkpoint"]: c["ratio"] for c in calibration["checkpoints"]}
chosen = ratio["gaussian %d" % calibration["chosen"]]
print("calibration ratios", {k: round(v, 3) for k, v in ratio.items()}, "chosen", calibration["chosen"])
if not (calibration["in_band"] and 2.0 <= chosen <= 3.0):
    fail("calibration chose gaussian %d with ratio %.3f, outside [2, 3]" % (calibration["chosen"], chosen))
if not all(ratio["gaussian %d" % j] < ratio["gaussian %d" % (j + 1)] for j in range(1, 8)):
    fail("the loss ratio does not grow with the noise")

# Allocation: scores of the sources not all zero, shares not uniform.
lines = {l["source"]: l for l in summary["allocation"] if l.get("source")}
print({s: (round(l["score"], 3), round(l["share"], 3), l["allocated"], l["examples"]) for s, l in lines.items()})
if set(lines) != {"arith", "wordprob", "scraped", "medqa", "cases"}:
    fail("allocation lines name %s" % sorted(lines))
scores = [l["score"] for l in lines.values()]
if sum(s > 0 for s in scores) < 4:
    fail("fewer than 4 of 5 sources have a positive score (the loss falls along the fine-tuning direction): %s" % scores)
if max(scores) - min(scores) < 0.05:
    fail("the source scores are all alike: %s" % scores)
allocated = [l["allocated"] for l in lines.values()]
if max(allocated) - min(allocated) < 3:
    fail("the allocation is near uniform: %s" % allocated)

# The noisy source: a lower score, share and selection rate (of all its records) than each clean math source.
records_of = {s: source.count(s) for s in lines}
rate = {s: l["allocated"] / records_of[s] for s, l in lines.items()}
print("selection rate of the records", {s: round(r, 3) for s, r in rate.items()})
for clean in ["arith", "wordprob"]:
    if not lines["scraped"]["score"] < lines[clean]["score"]:
        fail("scraped's score is not below %s's" % clean)
    if not lines["scraped"]["share"] < lines[clean]["share"] - 0.05:
        fail("scraped's share %.3f is not below %s's %.3f" % (lines["scraped"]["share"], clean, lines[clean]["share"]))
    if not rate["scraped"] < rate[clean] - 0.01:
        fail("scraped's selection rate %.3f is not below %s's %.3f" % (rate["scraped"], clean, rate[clean]))

# The difficulty filter keeps the hard kind of example: arith's multiplications, not its sums.
kept = dataset(os.environ["h5_filter_kept"])
arith = [i for i, s in enumerate(source) if s == "arith"]
mult_kept = sum(1 for i in arith if kept[i] and " x " in question[i])
mult_dropped = sum(1 for i in arith if not kept[i] and " x " in question[i])
kept_n = sum(1 for i in arith if kept[i])
print("arith: kept %d (%d multiplications), dropped %d (%d multiplications)"
      % (kept_n, mult_kept, len(arith) - kept_n, mult_dropped))
mult = mult_kept + mult_dropped
if kept_n == 0 or mult_dropped > 0.1 * (len(arith) - kept_n) or mult_kept / kept_n < 1.5 * mult / len(arith):
    fail("the filter does not keep arith's multiplications and drop its easy sums")

# Loss-pattern clusters differ: within a source, the clusters' mean loss at the last checkpoint spreads.
cluster = dataset(os.environ["h5_selection_cluster"])
profile_rows = [int(v) for v in dataset(os.environ["h5_profile_example"])]
last = dataset(os.environ["h5_profile_mean_loss"])[-len(profile_rows):]
clustered = 0
for name in sorted(lines):
    by = defaultdict(list)
    for row, i in enumerate(profile_rows):
        if source[i] == name and cluster[i] >= 0:
            by[int(cluster[i])].append(last[row])
    means = sorted(sum(v) / len(v) for v in by.values())
    if len(means) < 2:
        continue  # k = allocated / select.per_cluster can be 1
    clustered += 1
    print(name, "clusters", len(means), "mean last-checkpoint loss from %.3f to %.3f" % (means[0], means[-1]))
    if means[-1] - means[0] < 0.1:
        fail("%s's loss-profile clusters are alike" % name)
if clustered < 2:
    fail("fewer than two sources were clustered")
print("ok: the demo calibrates in the band, allocates by non-zero scores and separates its sources")
PY

# The premise test (issue 28) as launch/demo.sh makes it: --stage gradients, then the selection again.
for stage in gradients select; do
  "$mpiexec" -np 3 "$dist" --config configs/demo.ini --output.path "$work/run.h5" --stage $stage \
    > "$work/$stage.log" 2>&1 || { cat "$work/$stage.log"; fail "the demo's --stage $stage failed"; }
done
python3 - "$work/run.summary.json" <<'PY'
import json, math, sys
p = json.load(open(sys.argv[1]))["premise"]
if p["state"] != "tested":
    sys.exit("FAIL: the demo's premise test is '%s': %s" % (p["state"], p["note"]))
names = [c["name"] for c in p["clusterings"]]
if len(names) != 3:
    sys.exit("FAIL: the premise test lacks its controls: %s" % names)
for c in p["clusterings"]:
    # Spearman is of a distance: the loss patterns' or the difficulty's; random clusters have none.
    for key in ("same_cluster", "random", "gap") + (() if c["name"].startswith("random") else ("spearman",)):
        if c[key] is None or not math.isfinite(c[key]) or abs(c[key]) > (2 if key == "gap" else 1):
            sys.exit("FAIL: %s's %s is %s" % (c["name"], key, c[key]))
    if c["pairs"]["same"] <= 0:
        sys.exit("FAIL: %s has no same-cluster pair among %d sampled examples" % (c["name"], p["sampled"]))
print("ok: premise test on %d sampled examples (%s): %s" % (p["sampled"], ", ".join(names), p["verdict"]))
PY
