#!/usr/bin/env python3
"""The peer that `curate_tool bench` races: Hugging Face transformers computing per-token losses.

    launch/peer_bench.py --shape qwen2.5-7b --batch 16 --seq-len 1100 [--scored 1000] [--smart] [--mix]

Contract (what makes the two sides comparable; `curate_tool bench` follows the same one):
- The model has the named architecture and sizes with random weights (seeded by --seed): bf16 and SDPA
  on CUDA, float32 on CPU.
- Sequences: with --mix, row i holds a prompt of 50-600 tokens (torch.randint(50, 601, (batch,)) from a
  CPU generator seeded with --seed) followed by --scored tokens; without it every row has --seq-len
  tokens. Token ids are then drawn from the same generator, torch.randint(0, vocab, (batch, longest)),
  and rows are right-padded to the longest with an attention mask (what a data collator does).
- Scored positions: the last --scored real tokens of each row, each predicted from the position before
  (--scored 0 = every position but the first).
- Plain mode computes `model(ids).logits` and cross-entropy on the scored positions, as most scripts do;
  --smart takes the decoder's hidden states at the positions before the scored tokens and applies
  lm_head and cross-entropy only there, in --chunk rows at a time (no [tokens x vocab] tensor).
Prints one JSON line: tokens_per_s counts the real (unpadded) tokens fed to the model per second over
--iters timed steps after one warm-up step; peak_gb is the peak allocated GPU memory (CUDA only).
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config


def qwen2(vocab, hidden, inter, layers, heads, kv, tied):
    return Qwen2Config(vocab_size=vocab, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                       num_attention_heads=heads, num_key_value_heads=kv, rope_theta=1e6, rms_norm_eps=1e-6,
                       tie_word_embeddings=tied)


# The shapes of curate_tool bench --shape (src/model/commands.cpp), by name.
SHAPES = {
    "qwen2.5-7b": lambda: qwen2(152064, 3584, 18944, 28, 28, 4, False),
    "qwen2.5-0.5b": lambda: qwen2(151936, 896, 4864, 24, 14, 2, True),
    "llama3.1-8b": lambda: LlamaConfig(vocab_size=128256, hidden_size=4096, intermediate_size=14336,
                                       num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                                       rope_theta=5e5, rms_norm_eps=1e-5),
    "tiny": lambda: Qwen2Config(vocab_size=1000, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                                num_attention_heads=4, num_key_value_heads=2),
}


def sequences(args, vocab):
    """Token ids [B, L], attention mask [B, L], scored positions [B, S] and their labels [B, S]."""
    gen = torch.Generator().manual_seed(args.seed)
    scored = args.scored or args.seq_len - 1
    if args.mix:
        lengths = torch.randint(50, 601, (args.batch,), generator=gen) + scored
    else:
        lengths = torch.full((args.batch,), args.seq_len)
    longest = int(lengths.max())
    ids = torch.randint(0, vocab, (args.batch, longest), generator=gen)
    mask = torch.arange(longest)[None, :] < lengths[:, None]
    positions = torch.stack([torch.arange(int(n) - scored, int(n)) for n in lengths])
    rows = torch.arange(args.batch)[:, None].expand_as(positions)
    return ids, mask, positions, ids[rows, positions], lengths, scored


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="qwen2.5-7b", choices=sorted(SHAPES))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=1100)
    parser.add_argument("--scored", type=int, default=0)
    parser.add_argument("--smart", action="store_true")
    parser.add_argument("--mix", action="store_true")
    parser.add_argument("--chunk", type=int, default=4096, help="rows of lm_head per chunk with --smart")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    config = SHAPES[args.shape]()
    cuda = args.device.startswith("cuda")
    torch.manual_seed(args.seed)
    with torch.device(args.device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16 if cuda else torch.float32,
                                                 attn_implementation="sdpa").eval()
    ids, mask, positions, labels, lengths, scored = sequences(args, config.vocab_size)
    ids, mask, positions, labels = (t.to(args.device) for t in (ids, mask, positions, labels))
    rows = torch.arange(args.batch, device=args.device)[:, None].expand_as(positions)

    @torch.no_grad()
    def step():
        if not args.smart:
            logits = model(input_ids=ids, attention_mask=mask).logits[rows, positions - 1]
            return F.cross_entropy(logits.float().reshape(-1, config.vocab_size), labels.reshape(-1),
                                   reduction="none")
        hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state[rows, positions - 1]
        hidden, flat = hidden.reshape(-1, config.hidden_size), labels.reshape(-1)
        losses = [F.cross_entropy(model.lm_head(hidden[i:i + args.chunk]).float(), flat[i:i + args.chunk],
                                  reduction="none") for i in range(0, hidden.shape[0], args.chunk)]
        return torch.cat(losses)

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    step()
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(args.iters):
        step()
    sync()
    seconds = (time.perf_counter() - start) / args.iters
    print(json.dumps({
        "peer": "transformers-smart" if args.smart else "transformers", "shape": args.shape, "device": args.device,
        "batch": args.batch, "mix": args.mix, "max_len": int(lengths.max()), "real_tokens": int(lengths.sum()),
        "scored": scored, "tokens_per_s": int(lengths.sum()) / seconds, "scored_per_s": args.batch * scored / seconds,
        "params": sum(p.numel() for p in model.parameters()),
        "peak_gb": torch.cuda.max_memory_allocated() / 2**30 if cuda else None}), flush=True)


if __name__ == "__main__":
    main()
