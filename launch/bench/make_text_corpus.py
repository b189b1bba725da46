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


def pseudo_words(rng, count):
    """Word types with a natural spread of lengths, so most pieces are not cache hits."""
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    weights = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5,
               1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
    return ["".join(rng.choices(letters, weights, k=rng.randint(2, 12))) for _ in range(count)]


def document(rng, lexicon):
    parts = []
    for _ in range(rng.randint(150, 3000)):
        roll = rng.random()
        if roll < 0.08:
            parts.append(rng.choice(SNIPPETS))
        elif roll < 0.12:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 7))))
        elif roll < 0.55:
            parts.append(lexicon[min(int(rng.paretovariate(0.7)) - 1, len(lexicon) - 1)])  # Zipf-like
        else:
            parts.append(rng.choice(WORDS))
        if rng.random() < 0.06:
            parts[-1] += "."
    return " ".join(parts)


def main():
    out, megabytes = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 20
    rng = random.Random(0)
    lexicon = pseudo_words(rng, 200000)
    written = 0
    with open(out, "w", encoding="utf-8") as f:
        while written < megabytes * 1e6:
            line = json.dumps({"text": document(rng, lexicon)}, ensure_ascii=False)
            f.write(line + "\n")
            written += len(line)


if __name__ == "__main__":
    main()
