"""Writes a deterministic JSONL corpus of reasoning-like texts ({"text": ...} per line) for benchmarks.

    python make_text_corpus.py OUT.jsonl [MEGABYTES]
English prose with numbers, LaTeX, code, medical abbreviations and a little CJK/emoji, in documents
of 1-20 KB, like long chain-of-thought answers.
"""
import json
import random
import sys

WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which but have an "
         "they you were her she there been one all we their has would when if so what no out up said could it's "
         "let me check wait therefore hence suppose consider patient presents with chest pain dyspnea troponin ECG "
         "diagnosis treatment dose mg kg answer because since thus equation integral derivative triangle prime").split()
SNIPPETS = ["$\\frac{a^2+b^2}{c}$", "\\boxed{42}", "x_{n+1} = x_n - f(x_n)/f'(x_n)", "for (int i = 0; i < n; ++i)",
            "BP 160/95 mmHg", "HbA1c 8.2%", "3.14159", "1,000,000", "患者出现发热", "😀", "café", "≈ 4.92", "\n\n",
            "Step 1:", "Wait, that's not right.", "(B)", "O(n log n)"]


def document(rng):
    parts = []
    for _ in range(rng.randint(150, 3000)):
        parts.append(rng.choice(SNIPPETS) if rng.random() < 0.08 else rng.choice(WORDS))
        if rng.random() < 0.06:
            parts[-1] += "."
    return " ".join(parts)


def main():
    out, megabytes = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 20
    rng = random.Random(0)
    written = 0
    with open(out, "w", encoding="utf-8") as f:
        while written < megabytes * 1e6:
            line = json.dumps({"text": document(rng)}, ensure_ascii=False)
            f.write(line + "\n")
            written += len(line)


if __name__ == "__main__":
    main()
