"""ab/results.json from the finished items of the A/B fine-tune: per evaluation set and method, the
mean and spread (sample standard deviation) over the method's runs (seeds) of each metric, and a
bootstrap interval of the difference to random (runs and examples resampled together, paired by
example; compare.bootstrap resamples, fixed seed). Lower loss is better; higher accuracy is better."""
import json
import math
import warnings
from pathlib import Path

import numpy as np

METRICS = ["loss_first", "loss_window", "loss_all", "correct"]


def load_runs(folder, plan, items, finished):
    missing, runs = [], []
    for item in items:
        run_dir = folder / "ab" / "runs" / item["name"]
        if item["name"] not in finished:
            missing.append(item["name"])
            continue
        evals = {}
        for e in plan["eval_sets"]:
            with open(run_dir / "eval" / (e["name"] + ".json")) as f:
                evals[e["name"]] = json.load(f)["examples"]
        trained = run_dir / "model" / "trained.json"
        train_loss = json.loads(trained.read_text())["train_loss"] if trained.exists() else []
        runs.append(dict(item, evals=evals, train_loss=train_loss))
    if missing:
        raise SystemExit("ab: %d item(s) not finished: %s; run them (launch/ab.sh resumes) before the table"
                         % (len(missing), ", ".join(missing)))
    return runs


def matrix(runs, eval_name, metric):
    """[runs, examples] of a metric (NaN where an example has none)."""
    def value(x):
        v = x.get(metric)
        return float(v) if v is not None else math.nan
    return np.array([[value(x) for x in r["evals"][eval_name]] for r in runs], dtype=float)


def run_means(m):
    with np.errstate(all="ignore"):
        return [float(np.nanmean(row)) if np.isfinite(row).any() else math.nan for row in m]


def bootstrap_diff(a, b, resamples, rng):
    """Point estimate and 95% interval of mean(a) - mean(b): a, b are [runs, examples]."""
    def diff(ra, rb, idx):
        with np.errstate(all="ignore"):
            return np.nanmean(np.nanmean(a[ra][:, idx], axis=0)) - np.nanmean(np.nanmean(b[rb][:, idx], axis=0))
    n = a.shape[1]
    point = diff(np.arange(a.shape[0]), np.arange(b.shape[0]), np.arange(n))
    draws = [diff(rng.integers(0, a.shape[0], a.shape[0]), rng.integers(0, b.shape[0], b.shape[0]),
                  rng.integers(0, n, n)) for _ in range(resamples)]
    draws = [d for d in draws if np.isfinite(d)]
    if not np.isfinite(point) or not draws:
        return None
    return {"mean": float(point), "lo": float(np.percentile(draws, 2.5)), "hi": float(np.percentile(draws, 97.5))}


def fmt(x, digits=4):
    return "–" if x is None or not math.isfinite(x) else "%.*f" % (digits, x)


def spread(values):
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    sd = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    return {"mean": float(np.mean(finite)), "sd": sd, "values": values}


def cell(s, digits=4, percent=False):
    if s is None:
        return "–"
    k = 100 if percent else 1
    text = fmt(s["mean"] * k, 1 if percent else digits)
    return text + ("" if len(s["values"]) < 2 else " ± " + fmt(s["sd"] * k, 1 if percent else digits))


def interval(d, digits=4, percent=False):
    if d is None:
        return "–"
    k, n = (100, 1) if percent else (1, digits)
    return "%+.*f [%+.*f, %+.*f]" % (n, d["mean"] * k, n, d["lo"] * k, n, d["hi"] * k)


def results(folder, plan, items, finished):
    """The tables from the items named in `finished` (ab.py checked their keys); exits naming the others."""
    with warnings.catch_warnings():  # nanmean over examples without an answer (or a loss) in every run: NaN
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return _results(folder, plan, items, finished)


def _results(folder, plan, items, finished):
    runs = load_runs(folder, plan, items, finished)
    rng = np.random.default_rng(0)
    methods = []
    for r in runs:
        if r["method"] not in methods:
            methods.append(r["method"])
    out = {"eval_sets": [], "runs": [], "metrics": {}, "tables": [],
           "note": ("Each row: the base model, or a method fine-tuned on its selection once per seed (the seed "
                    "varies the selection where the method uses one, and the training). Losses: mean per-token loss "
                    "of the reference responses under curate_tool nll (lower is better), over the first %d and %d "
                    "response tokens and the whole response; accuracy: greedy answers through LLaMA-Factory's "
                    "ChatModel checked against the answer. ± is the standard deviation over seeds; the interval is "
                    "a 95%% bootstrap over seeds and examples of the difference to random (%d resamples)."
                    % (plan["difficulty_tokens"], plan["profile_tokens"], plan["bootstrap"]))}
    for r in runs:
        out["runs"].append({"name": r["name"], "method": r["method"], "seed": r["seed"], "dataset": r["dataset"],
                            "train_loss_last": r["train_loss"][-1] if r["train_loss"] else None,
                            "evals": {e: {m: run_means(matrix([r], e, m))[0] for m in METRICS} for e in r["evals"]}})
    for e in plan["eval_sets"]:
        name = e["name"]
        examples = runs[0]["evals"][name]
        checkable = sum(1 for x in examples if x.get("correct") is not None)
        out["eval_sets"].append({"name": name, "primary": e["primary"], "path": str(e["path"]),
                                 "examples": len(examples), "checkable": checkable})
        per_method = {}
        for method in methods:
            group = [r for r in runs if r["method"] == method]
            entry = {"runs": len(group)}
            for metric in METRICS:
                entry[metric] = spread(run_means(matrix(group, name, metric)))
            if method not in ("random", "base") and "random" in methods:
                random_runs = [r for r in runs if r["method"] == "random"]
                entry["diff_to_random"] = {metric: bootstrap_diff(matrix(group, name, metric),
                                                                  matrix(random_runs, name, metric),
                                                                  plan["bootstrap"], rng) for metric in METRICS}
            sources = sorted({x["source"] for x in examples})
            entry["loss_all_by_source"] = {}
            for source in sources:
                idx = [i for i, x in enumerate(examples) if x["source"] == source]
                entry["loss_all_by_source"][source] = spread(run_means(matrix(group, name, "loss_all")[:, idx]))
            per_method[method] = entry
        out["metrics"][name] = per_method
        kind = "primary: your benchmark" if e["primary"] and name == "benchmark" else (
            "held-out split of the candidates" if name == "heldout" else "")
        rows = []
        for method in methods:
            m = per_method[method]
            d = m.get("diff_to_random", {})
            rows.append([method, m["runs"], cell(m["loss_first"]), cell(m["loss_window"]), cell(m["loss_all"]),
                         interval(d.get("loss_all")) if method != "random" and "random" in methods else "",
                         cell(m["correct"], percent=True) if checkable else "–",
                         interval(d.get("correct"), percent=True) if checkable and d else ""])
        out["tables"].append({
            "title": "%s (%s): %d examples, %d with a checkable answer" % (name, kind, len(examples), checkable),
            "columns": ["model", "runs", "loss, first %d tokens" % plan["difficulty_tokens"],
                        "loss, first %d tokens" % plan["profile_tokens"], "loss, whole response",
                        "Δ whole-response loss vs random [95%]", "accuracy %", "Δ accuracy vs random [95%], points"],
            "rows": rows})
        sources = sorted({x["source"] for x in examples})
        out["tables"].append({
            "title": "%s: whole-response loss per source" % name,
            "columns": ["model"] + sources,
            "rows": [[method] + [cell(per_method[method]["loss_all_by_source"][s]) for s in sources]
                     for method in methods]})
    return out


def text(results):
    lines = [results["note"], ""]
    for t in results["tables"]:
        lines.append(t["title"])
        widths = [max(len(str(c)), *(len(str(r[i])) for r in t["rows"])) for i, c in enumerate(t["columns"])]
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(t["columns"], widths)))
        for r in t["rows"]:
            lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
        lines.append("")
    return "\n".join(lines)
