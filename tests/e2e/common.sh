#!/usr/bin/env bash
# Shared set-up of the curate_dist end-to-end tests: a tiny base and fine-tuned model, a 600-record
# dataset (one malformed line), run.ini, and the list of result datasets compared bit for bit.
# Sourced with tool, tokenizer set; leaves the caller in a temporary directory removed on exit.
source "$(dirname "${BASH_SOURCE[0]}")/workdir.sh"
python3 - <<'PY'
import json, random
r = random.Random(0)
words = "the patient has fever cough so we consider pneumonia order chest x ray antibiotics sum of two primes even wait check".split()
with open("data.jsonl", "w") as f:
    for i in range(600):
        f.write(json.dumps({"prompt": "Q%d: %s" % (i, " ".join(r.choice(words) for _ in range(r.randint(3, 30)))),
                            "reasoning": " ".join(r.choice(words) for _ in range(r.randint(5, 200))),
                            "source": r.choice(["a", "b"]), "domain": "d"}) + "\n")
    f.write("not json\n")
PY
cat > run.ini <<INI
[model]
path = base
tokenizer = $tokenizer
[data]
path = data.jsonl
[perturb]
target = tuned
gaussian_checkpoints = 4
directional_checkpoints = 3
max_radius = 5
[run]
progress_seconds = 1
flush_seconds = 0
[pass]
unit_examples = 8
difficulty_tokens = 20
profile_tokens = 80
calibration_samples = 32
[select]
budget = 40
per_cluster = 4
INI
datasets="$h5_examples_status $h5_examples_line $h5_examples_id $h5_examples_source $h5_examples_prompt_tokens
  $h5_examples_reasoning_tokens $h5_examples_full_length $h5_calibration_loss $h5_calibration_ratio
  $h5_difficulty_losses $h5_difficulty_mean_loss $h5_difficulty_done $h5_difficulty_noise_std
  $h5_profile_example $h5_profile_losses $h5_profile_mean_loss $h5_profile_mean_loss_first
  $h5_profile_distance $h5_profile_done $h5_filter_kept $h5_selection_selected $h5_selection_cluster
  $h5_selection_score $h5_selection_candidate"

# run NAME ARGS...: curate_dist (as $dist, under $mpiexec) on 2 ranks with run.ini, log in NAME.log, exit
# status in $code; expect CODE NAME WHAT and has NAME TEXT WHAT check them (scripts may define their own run).
run() {
  local name=$1
  shift
  code=0
  "$mpiexec" -n 2 "$dist" --config run.ini "$@" > "$name.log" 2>&1 || code=$?
}
expect() {  # expect CODE NAME WHAT: the last run exited CODE
  [ "$code" -eq "$1" ] || { cat "$2.log"; fail "$3: exit $code, expected $1"; }
}
has() {  # has NAME TEXT WHAT: NAME.log holds TEXT (fixed string)
  grep -qF -- "$2" "$1.log" || { cat "$1.log"; fail "$3: the log lacks '$2'"; }
}

# rank_pid MPIEXEC_PID RANK: the pid of that rank's process (empty once the job has ended).
rank_pid() {
  [ -n "$1" ] || return 0
  for child in $(pgrep -P "$1"); do
    if tr '\0' '\n' < /proc/$child/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then echo "$child"; return; fi
  done
}
