"""The A/B fine-tune of `curate_dist --stage compare` (launch/ab.sh, slurm/ab.sbatch run it).

Reads FOLDER/compare.json (written by the compare stage: selections, evaluation sets, hyperparameters,
tasks) and works in FOLDER/ab:
  ab.py count FOLDER              number of work items: 1 (the base model) + one per method x seed
  ab.py run FOLDER INDEX          item INDEX: 0 evaluates the base model; i >= 1 fine-tunes task i-1 with
                                  LLaMA-Factory (SFT, the same hyperparameters for every task), then
                                  evaluates it. A finished item (runs/NAME/done.json) is skipped; a
                                  killed one starts over (its partial model folder is removed first).
  ab.py table FOLDER              every finished item -> ab/results.json (tables per evaluation set:
                                  mean and spread over seeds, bootstrap interval of the difference to
                                  random); fails naming the items that did not finish
  ab.py page FOLDER CURATE_DIST   reruns --stage compare with the options in compare.json, so that the
                                  comparison page shows ab/results.json
Evaluation of a model on a set: per-token loss of the responses with `curate_tool nll` (the project's
scorer) over the ids of `curate_tool prepare` (the run's data.* and prompt options), as mean loss of
the first difficulty_tokens / profile_tokens response tokens and of the whole response; and, where a
record carries a checkable answer (compare.answer_field, or one read from its reference response by
compare.extractor), the accuracy of the greedy answer generated through LLaMA-Factory's ChatModel
(its huggingface engine, the same template as the training).
Environment: CURATE_TOOL (curate_tool), LLAMAFACTORY_CLI (llamafactory-cli beside this Python).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import answers  # noqa: E402
import tables  # noqa: E402


def load_plan(folder):
    with open(folder / "compare.json") as f:
        summary = json.load(f)
    return summary, summary["ab"]


def items(plan):
    return [{"name": "base", "method": "base", "seed": None, "dataset": None}] + plan["tasks"]


def tool():
    return os.environ.get("CURATE_TOOL", "curate_tool")


def run_logged(cmd, log, env=None):
    with open(log, "w") as out:
        rc = subprocess.call([str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT, env=env)
    if rc != 0:
        tail = Path(log).read_text(errors="replace").splitlines()[-15:]
        raise SystemExit("ab: %s failed (exit %d); the end of %s:\n%s" % (Path(cmd[0]).name, rc, log, "\n".join(tail)))


def lf_env(plan):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", WANDB_DISABLED="true")
    if plan["device"] == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def write_atomically(path, text):
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---- evaluation sets ---------------------------------------------------------------------------

def eval_sets(folder, plan):
    out = []
    for e in plan["eval_sets"]:
        path = Path(e["path"])
        out.append(dict(e, path=path if path.is_absolute() else folder / path))
    return out


def prepared(folder, plan, eval_set):
    """curate_tool prepare of the set (once, shared by every item): the ids the losses are taken over."""
    out = folder / "ab" / "eval" / (eval_set["name"] + ".prepared.jsonl")
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(out) + ".part.jsonl")
    args = [tool(), "prepare", "--tokenizer", plan["tokenizer"], "--input", eval_set["path"], "--output", tmp]
    args += ["--%s=%s" % (key, value) for key, value in plan["prepare"] if value != ""]
    run_logged(args, str(out) + ".log")
    os.replace(tmp, out)
    return out


def records(plan, eval_set):
    """The set's records as (id, source, messages, system, gold answer or None), in file order."""
    fields = dict(plan["prepare"])
    out = []
    with open(eval_set["path"], encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            messages, system, reference = answers.conversation(record, fields)
            gold = record.get(plan["answer_field"]) if plan["answer_field"] else None
            if gold is None and reference is not None:
                gold = answers.extract(reference, plan["extractor"])
            id_field = fields.get("data.id_field")
            rid = record.get(id_field, number) if id_field else number
            out.append({"id": str(rid), "line": number, "source": str(record.get(fields.get("data.source_field", "source"), "default")),
                        "messages": messages, "system": system, "gold": None if gold is None else str(gold)})
    return out


def losses(plan, prepared_file, nll_file):
    """Per prepared example: mean loss of the first difficulty_tokens, profile_tokens and all response tokens."""
    first, window = plan["difficulty_tokens"], plan["profile_tokens"]
    out = {}
    with open(prepared_file) as pf, open(nll_file) as nf:
        for p_line, n_line in zip(pf, nf):
            p, n = json.loads(p_line), json.loads(n_line)
            response = n["nll"][p["reasoning_start"] - 1:]
            if not response:
                continue
            out[int(p["line"])] = {"loss_first": sum(response[:first]) / len(response[:first]),
                                   "loss_window": sum(response[:window]) / len(response[:window]),
                                   "loss_all": sum(response) / len(response)}
    return out


def generate(plan, model, rows, env, out_file, log):
    """Greedy answers through LLaMA-Factory's ChatModel, one JSON line per row."""
    script = Path(__file__).resolve().parent / "generate.py"
    request = Path(str(out_file) + ".request.json")
    request.write_text(json.dumps({"model": str(model), "template": plan["template"],
                                   "max_new_tokens": plan["max_new_tokens"], "cutoff_len": plan["cutoff_len"],
                                   "rows": [{"messages": r["messages"], "system": r["system"]} for r in rows]}))
    run_logged([sys.executable, script, request, out_file], log, env)
    request.unlink()
    with open(out_file) as f:
        return [json.loads(line)["text"] for line in f]


def evaluate(folder, plan, model, run_dir, env):
    """Losses of every evaluation set, then the greedy answers of all their checkable records in one
    ChatModel (one model load); eval/SET.json per set."""
    todo = [e for e in eval_sets(folder, plan) if not (run_dir / "eval" / (e["name"] + ".json")).exists()]
    if not todo:
        return
    (run_dir / "eval").mkdir(parents=True, exist_ok=True)
    sets = []
    for eval_set in todo:
        prep = prepared(folder, plan, eval_set)
        nll = run_dir / "eval" / (eval_set["name"] + ".nll.jsonl")
        run_logged([tool(), "nll", "--model", model, "--input", prep, "--output", nll, "--threads",
                    os.environ.get("CURATE_AB_THREADS", "1")], str(nll) + ".log")
        sets.append((eval_set, losses(plan, prep, nll), records(plan, eval_set)))
        nll.unlink()  # large; the per-example means are kept
    asked = [(k, i) for k, (_, _, rows) in enumerate(sets) for i, r in enumerate(rows) if r["gold"] is not None]
    texts = generate(plan, model, [sets[k][2][i] for k, i in asked], env, run_dir / "eval" / "answers.jsonl",
                     run_dir / "eval" / "generate.log") if asked else []
    correct = {(k, i): answers.same(answers.extract(t, plan["extractor"], sets[k][2][i]["gold"]), sets[k][2][i]["gold"])
               for (k, i), t in zip(asked, texts)}
    for k, (eval_set, by_line, rows) in enumerate(sets):
        examples = []
        for i, r in enumerate(rows):
            numbers = by_line.get(r["line"], {})  # prepare's "line": the record's 1-based line in the file
            examples.append(dict(id=r["id"], source=r["source"], correct=correct.get((k, i)), **numbers))
        write_atomically(run_dir / "eval" / (eval_set["name"] + ".json"), json.dumps({"examples": examples}) + "\n")


# ---- training ----------------------------------------------------------------------------------

def train_config(folder, plan, task, output_dir):
    lines = {
        "model_name_or_path": plan["model"], "stage": "sft", "do_train": True,
        "finetuning_type": plan["finetuning_type"], "dataset": task["dataset"], "dataset_dir": str(folder),
        "template": plan["template"], "cutoff_len": plan["cutoff_len"], "output_dir": str(output_dir),
        "overwrite_output_dir": True, "save_strategy": "no", "logging_steps": 1,
        "per_device_train_batch_size": plan["batch_size"], "gradient_accumulation_steps": plan["gradient_accumulation"],
        "learning_rate": plan["learning_rate"], "num_train_epochs": plan["epochs"], "lr_scheduler_type": "constant",
        "seed": task["seed"], "data_seed": task["seed"], "report_to": "none", "overwrite_cache": True,
        "preprocessing_num_workers": 1, "dataloader_num_workers": 0,
    }
    if plan["finetuning_type"] == "lora":
        lines.update({"lora_rank": plan["lora_rank"], "lora_target": "all"})
    return "".join("%s: %s\n" % (k, json.dumps(v)) for k, v in lines.items())


def trained_model(folder, plan, task, run_dir, env):
    """The fine-tuned model of `task` (trained now unless a finished one of the same key is there)."""
    model, key = run_dir / "model", item_key(folder, plan, task)
    if (model / "trained.json").exists() and json.loads((model / "trained.json").read_text()).get("key") == key:
        return model
    partial = run_dir / "model.partial"
    shutil.rmtree(partial, ignore_errors=True)  # a killed training starts over
    config = run_dir / "train.yaml"
    config.write_text(train_config(folder, plan, task, partial))
    cli = os.environ.get("LLAMAFACTORY_CLI", str(Path(sys.executable).parent / "llamafactory-cli"))
    run_logged([cli, "train", config], run_dir / "train.log", env)
    if plan["finetuning_type"] == "lora":  # merge the adapter so that curate_tool nll reads a whole model
        merged = run_dir / "model.merged"
        (run_dir / "export.yaml").write_text("".join("%s: %s\n" % (k, json.dumps(v)) for k, v in {
            "model_name_or_path": plan["model"], "adapter_name_or_path": str(partial), "template": plan["template"],
            "finetuning_type": "lora", "export_dir": str(merged)}.items()))
        run_logged([cli, "export", run_dir / "export.yaml"], run_dir / "export.log", env)
        shutil.rmtree(partial)
        partial = merged
    with open(partial / "trainer_log.jsonl") if (partial / "trainer_log.jsonl").exists() else open(os.devnull) as f:
        log = [json.loads(line) for line in f if line.strip()]
    (partial / "trained.json").write_text(json.dumps({"task": task, "key": key, "train_loss": [e.get("loss") for e in log if "loss" in e]}) + "\n")
    shutil.rmtree(model, ignore_errors=True)
    os.replace(partial, model)
    return model


def file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def item_key(folder, plan, item):
    """What an item's numbers depend on: the plan's settings (not the task list), the item, the bytes of
    its training file and of every evaluation set. A finished item under another key is never mixed in."""
    settings = {k: v for k, v in plan.items() if k != "tasks"}
    parts = [json.dumps(settings, sort_keys=True), json.dumps(item, sort_keys=True)]
    if item.get("dataset"):
        parts.append(file_hash(folder / (item["dataset"] + ".jsonl")))
    parts += [file_hash(e["path"]) for e in eval_sets(folder, plan)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def check_done(folder, plan, item):
    """True when the item finished under the current key; exits naming the folder when it finished under
    another (changed settings, selection or evaluation set)."""
    done = folder / "ab" / "runs" / item["name"] / "done.json"
    if not done.exists():
        return False
    if json.loads(done.read_text()).get("key") != item_key(folder, plan, item):
        raise SystemExit("ab: %s was made under other settings, another selection or other evaluation sets than %s "
                         "holds now; its numbers would be mixed with new ones: move %s aside (or delete it) and run "
                         "again" % (done.parent, folder / "compare.json", folder / "ab"))
    return True


def run_item(folder, index):
    summary, plan = load_plan(folder)
    all_items = items(plan)
    if not 0 <= index < len(all_items):
        raise SystemExit("ab: item %d does not exist: %s has items 0..%d" % (index, folder / "compare.json", len(all_items) - 1))
    item = all_items[index]
    run_dir = folder / "ab" / "runs" / item["name"]
    if check_done(folder, plan, item):
        print("ab: %s is finished (%s): skipped" % (item["name"], run_dir / "done.json"))
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    env = lf_env(plan)
    model = Path(plan["model"]) if item["name"] == "base" else trained_model(folder, plan, item, run_dir, env)
    evaluate(folder, plan, model, run_dir, env)
    write_atomically(run_dir / "done.json", json.dumps(dict(item, key=item_key(folder, plan, item))) + "\n")
    print("ab: %s done (%s)" % (item["name"], run_dir))


def rerender(folder, dist):
    summary, _ = load_plan(folder)
    args = [dist, "--stage", "compare"]
    for key, value in summary["options"]:  # empty values too: "" is a setting (Boost wants it as its own word)
        args += ["--%s=%s" % (key, value)] if value != "" else ["--" + key, ""]
    subprocess.check_call([str(a) for a in args])


def main(argv):
    if len(argv) < 3 or argv[1] not in ("count", "run", "table", "page"):
        raise SystemExit(__doc__)
    folder = Path(argv[2])
    if not (folder / "compare.json").exists():
        raise SystemExit("ab: %s has no compare.json: run curate_dist --stage compare first" % folder)
    if argv[1] == "count":
        print(len(items(load_plan(folder)[1])))
    elif argv[1] == "run":
        run_item(folder, int(argv[3]))
    elif argv[1] == "table":
        summary, plan = load_plan(folder)
        finished = [item for item in items(plan) if check_done(folder, plan, item)]
        results = tables.results(folder, plan, items(plan), {item["name"] for item in finished})
        write_atomically(folder / "ab" / "results.json", json.dumps(results, indent=2) + "\n")
        print(tables.text(results))
    else:
        rerender(folder, argv[3])


if __name__ == "__main__":
    main(sys.argv)
