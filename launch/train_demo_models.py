"""Builds the demo's tokenizer, data and two small trained Qwen2 models (run once; outputs committed).

    .venv/bin/python launch/train_demo_models.py [--out configs/demo] [--check build/src/tools/curate_tool]

Writes under --out:
  data.jsonl                 the SFT records (launch/demo_data.py)
  tokenizer.json, tokenizer_config.json
                             a byte-level BPE trained here on the corpus and the records (digits are
                             never merged), ChatML special tokens, <think> and </think>
  base/                      Qwen2ForCausalLM, hidden 64, 4 layers, tied embeddings, float32, pre-trained
                             on the plain-text corpus of demo_data.corpus()
  tuned/                     `base` fine-tuned on data.jsonl (ChatML, loss on the assistant turn)
each model folder holding config.json, model.safetensors and a copy of the tokenizer files.

Deterministic: fixed seeds, one thread, torch.use_deterministic_algorithms. Needs only torch (the
wheel in .venv). With --check, the tokenizer is compared with `curate_tool tokenize` on every record
and the models' losses with `curate_tool nll`.
"""
import argparse
import json
import math
import os
import pathlib
import re
import struct
import subprocess
import sys
import tempfile
from collections import Counter

import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import demo_data  # noqa: E402

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
ADDED = ["<think>", "</think>"]
MERGES = 700
SHAPE = dict(hidden_size=64, intermediate_size=192, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=2, rope_theta=10000.0, rms_norm_eps=1e-6)
PRETRAIN = dict(steps=300, batch=16, seq=256, lr=3e-3, seed=1)
FINETUNE = dict(steps=60, batch=8, lr=5e-4, seed=2)
CHAT_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
                 " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
                 "{% endif %}")

# ---- tokenizer --------------------------------------------------------------------------------------
PIECE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def byte_alphabet():
    """GPT-2's byte -> printable character map (what ByteLevel tokenizers store in their vocab)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTES = byte_alphabet()
SPLIT = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL + ADDED) + ")")


def pieces(text):
    """(piece, is_added_token) in order: added tokens split out first, then the GPT-2 pattern (ASCII)."""
    for part in SPLIT.split(text):
        if part in SPECIAL or part in ADDED:
            yield part, True
        elif part:
            for p in PIECE.findall(part):
                yield "".join(BYTES[b] for b in p.encode()), False


def train_bpe(texts):
    words = Counter(p for t in texts for p, added in pieces(t) if not added)
    words = {tuple(w): c for w, c in words.items()}
    digit = set(BYTES[ord(c)] for c in "0123456789")
    merges = []
    for _ in range(MERGES):
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                if not (set(a) & digit or set(b) & digit):
                    pairs[a, b] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]  # ties: the larger pair, fixed
        merges.append(best)
        merged = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + c
        words = merged
    vocab = {}
    for ch in sorted(BYTES.values(), key=lambda ch: [k for k, v in BYTES.items() if v == ch][0]):
        vocab[ch] = len(vocab)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return vocab, merges


class Encoder:
    def __init__(self, vocab, merges):
        self.vocab, self.ranks = dict(vocab), {m: i for i, m in enumerate(merges)}
        for t in SPECIAL + ADDED:
            self.vocab[t] = len(self.vocab)
        self.cache = {}

    def piece(self, p):
        if p not in self.cache:
            w = list(p)
            while len(w) > 1:
                ranked = [(self.ranks.get((a, b), math.inf), i) for i, (a, b) in enumerate(zip(w, w[1:]))]
                rank, i = min(ranked)
                if rank == math.inf:
                    break
                w[i:i + 2] = [w[i] + w[i + 1]]
            self.cache[p] = [self.vocab[s] for s in w]
        return self.cache[p]

    def encode(self, text):
        ids = []
        for p, added in pieces(text):
            ids += [self.vocab[p]] if added else self.piece(p)
        return ids


def tokenizer_json(vocab, merges):
    added = [{"id": len(vocab) + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": t in SPECIAL} for i, t in enumerate(SPECIAL + ADDED)]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
            "pre_tokenizer": byte_level, "post_processor": None, "decoder": byte_level,
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": vocab, "merges": [[a, b] for a, b in merges]}}


def chatml(record):
    """(prompt text, assistant text) as curate_dist renders a ShareGPT record with the chatml template."""
    turns = record["conversations"]
    prompt = "".join("<|im_start|>user\n%s<|im_end|>\n" % t["value"] for t in turns[:-1]) + "<|im_start|>assistant\n"
    return prompt, turns[-1]["value"] + "<|im_end|>\n"


# ---- model ------------------------------------------------------------------------------------------
class Qwen2(torch.nn.Module):
    """Qwen2ForCausalLM as transformers computes it (RMSNorm in float32, rotate-half RoPE, GQA, tied head);
    parameter names are the checkpoint names."""

    def __init__(self, vocab_size, c):
        super().__init__()
        self.c = c
        h, heads, kv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        d = h // heads
        self.embed_tokens = torch.nn.Embedding(vocab_size, h)
        self.layers = torch.nn.ModuleList()
        for _ in range(c["num_hidden_layers"]):
            layer = torch.nn.Module()
            layer.input_layernorm = torch.nn.Parameter(torch.ones(h))
            layer.post_attention_layernorm = torch.nn.Parameter(torch.ones(h))
            layer.q_proj = torch.nn.Linear(h, heads * d)
            layer.k_proj = torch.nn.Linear(h, kv * d)
            layer.v_proj = torch.nn.Linear(h, kv * d)
            layer.o_proj = torch.nn.Linear(heads * d, h, bias=False)
            layer.gate_proj = torch.nn.Linear(h, c["intermediate_size"], bias=False)
            layer.up_proj = torch.nn.Linear(h, c["intermediate_size"], bias=False)
            layer.down_proj = torch.nn.Linear(c["intermediate_size"], h, bias=False)
            self.layers.append(layer)
        self.norm = torch.nn.Parameter(torch.ones(h))
        for name, p in self.named_parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)
            elif name.endswith("bias"):
                torch.nn.init.zeros_(p)
        inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def rms(self, x, w):
        x32 = x.float()
        return w * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.c["rms_norm_eps"]))

    def forward(self, ids):
        b, t = ids.shape
        heads, kv = self.c["num_attention_heads"], self.c["num_key_value_heads"]
        d = self.c["hidden_size"] // heads
        freqs = torch.outer(torch.arange(t, dtype=torch.float32), self.inv_freq)
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos(), emb.sin()

        def rope(x):
            x1, x2 = x[..., : d // 2], x[..., d // 2:]
            return x * cos + torch.cat([-x2, x1], -1) * sin

        x = self.embed_tokens(ids)
        for L in self.layers:
            y = self.rms(x, L.input_layernorm)
            q = rope(L.q_proj(y).view(b, t, heads, d).transpose(1, 2))
            k = rope(L.k_proj(y).view(b, t, kv, d).transpose(1, 2))
            v = L.v_proj(y).view(b, t, kv, d).transpose(1, 2)
            k, v = k.repeat_interleave(heads // kv, 1), v.repeat_interleave(heads // kv, 1)
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + L.o_proj(a.transpose(1, 2).reshape(b, t, heads * d))
            y = self.rms(x, L.post_attention_layernorm)
            x = x + L.down_proj(torch.nn.functional.silu(L.gate_proj(y)) * L.up_proj(y))
        return self.rms(x, self.norm) @ self.embed_tokens.weight.T

    def checkpoint(self):
        """{checkpoint name: tensor} in Hugging Face naming."""
        out = {"model.embed_tokens.weight": self.embed_tokens.weight, "model.norm.weight": self.norm}
        for i, L in enumerate(self.layers):
            p = "model.layers.%d." % i
            out[p + "input_layernorm.weight"] = L.input_layernorm
            out[p + "post_attention_layernorm.weight"] = L.post_attention_layernorm
            for n in ["q_proj", "k_proj", "v_proj"]:
                out[p + "self_attn.%s.weight" % n] = getattr(L, n).weight
                out[p + "self_attn.%s.bias" % n] = getattr(L, n).bias
            out[p + "self_attn.o_proj.weight"] = L.o_proj.weight
            for n in ["gate_proj", "up_proj", "down_proj"]:
                out[p + "mlp.%s.weight" % n] = getattr(L, n).weight
        return out


def save(model, vocab_size, folder, tokenizer_files):
    folder.mkdir(parents=True, exist_ok=True)
    config = dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", vocab_size=vocab_size,
                  head_dim=SHAPE["hidden_size"] // SHAPE["num_attention_heads"], max_position_embeddings=4096,
                  hidden_act="silu", tie_word_embeddings=True, use_sliding_window=False, torch_dtype="float32",
                  bos_token_id=None, eos_token_id=vocab_size - len(ADDED) - 1, **SHAPE)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    header, blobs, offset = {}, [], 0
    for name, t in sorted(model.checkpoint().items()):
        data = t.detach().contiguous().float().view(-1).view(torch.uint8)
        blob = bytes(data.tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(folder / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    for name, content in tokenizer_files.items():
        (folder / name).write_text(content)


def load(model, folder):
    """Reads back what save() wrote (for --finetune-only)."""
    blob = (folder / "model.safetensors").read_bytes()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    tensors = model.checkpoint()
    with torch.no_grad():
        for name, t in tensors.items():
            begin, end = header[name]["data_offsets"]
            data = torch.frombuffer(bytearray(blob[8 + n + begin:8 + n + end]), dtype=torch.float32)
            t.copy_(data.view(t.shape))


def train(model, batches, steps, lr, seed):
    """AdamW with a linear warm-up and cosine decay; `batches(step, generator)` gives (ids, loss mask)."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, betas=(0.9, 0.95))
    warm = max(1, steps // 20)
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * step / steps))
        ids, mask = batches(step, gen)
        logits = model(ids[:, :-1])
        nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1),
                                                reduction="none")
        loss = (nll * mask[:, 1:].reshape(-1)).sum() / mask[:, 1:].sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            print("  step %4d loss %.3f" % (step, loss.item()), flush=True)


def check(tool, out, enc, texts, models):
    """The tokenizer against `curate_tool tokenize`, the models' losses against `curate_tool nll`."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "texts.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
        subprocess.run([tool, "tokenize", "--tokenizer", str(out), "--input", str(tmp / "texts.jsonl"),
                        "--output", str(tmp / "ids.jsonl"), "--log-level", "warn"], check=True)
        theirs = [json.loads(line)["ids"] for line in open(tmp / "ids.jsonl")]
        bad = sum(a != enc.encode(t) for a, t in zip(theirs, texts))
        print("tokenizer: %d of %d texts differ from curate_tool tokenize" % (bad, len(texts)))
        sample = [enc.encode(t)[:300] for t in texts[::37]]
        (tmp / "in.jsonl").write_text("".join(json.dumps({"input_ids": s}) + "\n" for s in sample))
        worst = 0.0
        for name, model in models.items():
            subprocess.run([tool, "nll", "--model", str(out / name), "--input", str(tmp / "in.jsonl"),
                            "--output", str(tmp / "nll.jsonl"), "--log-level", "warn"], check=True)
            for s, line in zip(sample, open(tmp / "nll.jsonl")):
                with torch.no_grad():
                    ref = torch.nn.functional.cross_entropy(model(torch.tensor([s[:-1]]))[0], torch.tensor(s[1:]),
                                                            reduction="none")
                worst = max(worst, (ref - torch.tensor(json.loads(line)["nll"])).abs().max().item())
        print("models: largest |python - curate_tool nll| = %.2e over %d sequences" % (worst, len(sample)))
        return bad == 0 and worst < 1e-4


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="configs/demo")
    ap.add_argument("--check", default="", help="curate_tool binary: compare tokenizer and losses with it")
    ap.add_argument("--finetune-only", action="store_true", help="reuse OUT/base, write only OUT/tuned")
    ap.add_argument("--finetune", default="", help="override FINETUNE, e.g. steps=200,lr=5e-4")
    args = ap.parse_args()
    for item in filter(None, args.finetune.split(",")):
        key, value = item.split("=")
        FINETUNE[key] = type(FINETUNE[key])(float(value))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    records = demo_data.demo_records()
    with open(out / "data.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    documents = demo_data.corpus()
    sft = [chatml(r) for r in records]
    vocab, merges = train_bpe(documents + [p + a for p, a in sft])
    enc = Encoder(vocab, merges)
    vocab_size = len(enc.vocab)
    tokenizer_files = {
        "tokenizer.json": json.dumps(tokenizer_json(vocab, merges), indent=1, ensure_ascii=False) + "\n",
        "tokenizer_config.json": json.dumps({"chat_template": CHAT_TEMPLATE, "bos_token": None, "eos_token": "<|im_end|>",
                                             "pad_token": "<|endoftext|>", "model_max_length": 4096}, indent=2) + "\n"}
    for name, content in tokenizer_files.items():
        (out / name).write_text(content)
    print("tokenizer: %d tokens (%d merges)" % (vocab_size, len(merges)))

    eot = enc.vocab["<|endoftext|>"]
    stream = torch.tensor([i for d in documents for i in enc.encode(d) + [eot]])
    print("corpus: %d documents, %d tokens" % (len(documents), len(stream)))

    def pretrain_batch(step, gen):
        starts = torch.randint(0, len(stream) - PRETRAIN["seq"] - 1, (PRETRAIN["batch"],), generator=gen)
        ids = torch.stack([stream[s:s + PRETRAIN["seq"] + 1] for s in starts.tolist()])
        return ids, torch.ones_like(ids, dtype=torch.float32)

    model = Qwen2(vocab_size, SHAPE)
    if args.finetune_only:
        load(model, out / "base")
    else:
        print("pre-training base (%d parameters)" % sum(p.numel() for p in model.parameters()))
        train(model, pretrain_batch, PRETRAIN["steps"], PRETRAIN["lr"], PRETRAIN["seed"])
        save(model, vocab_size, out / "base", tokenizer_files)
    base = Qwen2(vocab_size, SHAPE)
    base.load_state_dict(model.state_dict())

    examples = []
    for prompt, answer in sft:
        ids = enc.encode(prompt + answer)
        n = len(enc.encode(prompt))
        examples.append((ids, n))

    def sft_batch(step, gen):
        pick = torch.randint(0, len(examples), (FINETUNE["batch"],), generator=gen).tolist()
        width = max(len(examples[i][0]) for i in pick)
        ids = torch.full((len(pick), width), eot)
        mask = torch.zeros(len(pick), width)
        for row, i in enumerate(pick):
            seq, n = examples[i]
            ids[row, :len(seq)] = torch.tensor(seq)
            mask[row, n:len(seq)] = 1
        return ids, mask

    print("fine-tuning on %d records" % len(examples))
    train(model, sft_batch, FINETUNE["steps"], FINETUNE["lr"], FINETUNE["seed"])
    save(model, vocab_size, out / "tuned", tokenizer_files)
    delta = math.sqrt(sum((a - b).pow(2).sum().item() for a, b in zip(model.parameters(), base.parameters())))
    print("|tuned - base| = %.3f" % delta)
    if args.check and not check(args.check, out, enc, [p + a for p, a in sft] + documents[:200],
                                {"base": base, "tuned": model}):
        sys.exit("check failed")


if __name__ == "__main__":
    main()
