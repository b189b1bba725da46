"""Writes configs/demo/bench.jsonl: the demo's small benchmark-style evaluation set for the A/B fine-tune
(launch/demo.sh --ab, compare.eval_path in configs/demo.ini). Provenance: drawn with launch/demo_data.py's
own generators, seed 31 (the demo records use seed 20, so the problems are new), keeping only the harder
kinds: two-digit multiplications, word problems of 6 steps (the longest the demo has) and MedQA-style
vignettes (about a third atypical). Each record is ShareGPT like the demo's, with the reference response
and a checkable "answer" field (the final number, or the option letter), 12 of each kind, 36 in all.
    python3 launch/ab/make_demo_bench.py [OUT]
"""
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import demo_data  # noqa: E402


def hard_arith(r):
    while True:
        question, trace, answer = demo_data.arith(r)
        if " x " in question:
            return question, trace, answer


def hard_wordprob(r):
    question, trace, answer = demo_data.word_problem(r, 6)
    return question, "Let me work through it step by step.\n" + "\n".join(trace), answer


def main(out):
    r = random.Random(31)
    kinds = [("arith", "math", hard_arith), ("wordprob", "math", hard_wordprob), ("medqa", "medical", demo_data.medqa)]
    lines = []
    for k in range(12):
        for source, domain, make in kinds:
            question, trace, answer = make(r)
            checked = answer.split(")")[0] if source == "medqa" else answer.rstrip(".").split()[-2 if source == "wordprob" else -1]
            rec = demo_data.record("bench-%s-%02d" % (source, k + 1), source, domain, question, demo_data.think(trace, answer))
            rec["answer"] = checked
            lines.append(json.dumps(rec, ensure_ascii=False))
    Path(out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "configs" / "demo" / "bench.jsonl"))
