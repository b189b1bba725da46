"""Writes the small tokenizer fixtures under tests/data/fixtures/ and their reference encodings.

The references come from Hugging Face `tokenizers` (the implementation users compare us with):
    .venv/bin/pip install tokenizers && .venv/bin/python tests/data/make_tokenizer_fixtures.py
The outputs are committed; the C++ tests only read them.
"""
import json
import pathlib

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

HERE = pathlib.Path(__file__).parent / "fixtures"
CORPUS = [
    "The cat sat on the mat. The category of cats is catalogued.",
    "Numbers 123 4567 and 89, plus café naïve résumé ﬁnance ①②.",
    "well-known long-term state-of-the-art x-ray",
    "   spaces   and\ttabs\nand newlines\r\n",
] * 20

TEXTS = [
    "The cat sat.", "category cat's cat", "concat cat_ cat", "a <sep> b", "a<sep>b", "x   <sep>   y",
    "<|end|>tail", "tail<|end|>", "ﬁnance ﬁne", "Ｆｕｌｌ width ｃａｔ", "Norm ＮＯＲＭ norm", "①② and ⑴",
    "well-known state-of-the-art", "--double--dash-", "12345 678", "", " ", "\n\n", "  lead", "café cafe\u0301",
    "emoji 😀 and 日本語", "<sep><sep><|end|>", "cat<sep>cat", " cat ", "x-ray-", "<s", "<|end", "caterpillar cat",
]


def added_tokens():
    return [
        AddedToken("<sep>", lstrip=True, rstrip=True, normalized=False),
        AddedToken("cat", single_word=True, normalized=False),
        AddedToken("NORM", normalized=True),  # NFKC("ＮＯＲＭ") == "NORM": matches after normalization
    ]


def byte_level_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC()])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=420, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.add_tokens(added_tokens())
    tok.add_special_tokens(["<|end|>"])
    return tok


def split_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split("-", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"\d"), behavior="contiguous"),
        pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"),
        pre_tokenizers.Split(Regex(r"[.,]"), behavior="merged_with_previous"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def write(name, tok):
    folder = HERE / name
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    with open(folder / "golden.jsonl", "w") as out:
        for i, text in enumerate(TEXTS):
            out.write(json.dumps({"i": i, "text": text, "ids": tok.encode(text, add_special_tokens=False).ids}) + "\n")


def main():
    write("byte_level", byte_level_tokenizer())
    write("split_behaviors", split_tokenizer())
    # The same byte-level tokenizer with merges in the legacy "a b" form and ignore_merges set.
    data = json.loads((HERE / "byte_level" / "tokenizer.json").read_text())
    data["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in data["model"]["merges"]]
    data["model"]["ignore_merges"] = True
    legacy = HERE / "legacy_merges"
    legacy.mkdir(exist_ok=True)
    (legacy / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False))
    tok = Tokenizer.from_file(str(legacy / "tokenizer.json"))
    with open(legacy / "golden.jsonl", "w") as out:
        for i, text in enumerate(TEXTS):
            out.write(json.dumps({"i": i, "text": text, "ids": tok.encode(text, add_special_tokens=False).ids}) + "\n")
    print("tokenizers", tokenizers.__version__, "->", HERE)


if __name__ == "__main__":
    main()


def chat_template_goldens():
    """Prompt texts rendered by transformers' apply_chat_template, for the built-in templates."""
    from transformers import AutoTokenizer
    # The real tokenizers, as CMake unpacks them from reference/tokenizers/*.tar.zst (build folder "build").
    shared = pathlib.Path(__file__).resolve().parents[2] / "build" / "tests" / "reference" / "tokenizers"
    cases = [
        [{"role": "user", "content": "What is 2+2?"}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "  Name a prime.\n"}],
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Again"}],
    ]
    with open(HERE / "chat_templates.jsonl", "w") as out:
        for name in ["qwen3", "llama3_1"]:
            tok = AutoTokenizer.from_pretrained(str(shared / name))
            for messages in cases:
                text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
                out.write(json.dumps({"tokenizer": name, "messages": messages, "prompt": text}) + "\n")


if __name__ == "__main__":
    chat_template_goldens()
