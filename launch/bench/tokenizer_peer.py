"""Peer for the tokenizer benchmark: Hugging Face `tokenizers` encoding the same JSONL texts.

    python tokenizer_peer.py TOKENIZER_JSON INPUT_JSONL THREADS [OUR_IDS_JSONL]
Prints one JSON line; only encoding is timed (like `curate_tool tokenize`'s figures).
THREADS=1 sets RAYON_NUM_THREADS=1 before tokenizers is imported.
"""
import json
import os
import sys
import time

tokenizer_path, input_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
if threads > 0:
    os.environ["RAYON_NUM_THREADS"] = str(threads)
import tokenizers  # noqa: E402

tok = tokenizers.Tokenizer.from_file(tokenizer_path)
texts = [json.loads(line)["text"] for line in open(input_path, encoding="utf-8") if line.strip()]
size = sum(len(t.encode("utf-8")) for t in texts)
start = time.perf_counter()
encodings = tok.encode_batch_fast(texts, add_special_tokens=False) if hasattr(tok, "encode_batch_fast") \
    else tok.encode_batch(texts, add_special_tokens=False)
seconds = time.perf_counter() - start
tokens = sum(len(e.ids) for e in encodings)
identical = None
if len(sys.argv) > 4:  # compare with curate_tool's output, line by line
    ours = [json.loads(line)["ids"] for line in open(sys.argv[4])]
    identical = len(ours) == len(encodings) and all(a == e.ids for a, e in zip(ours, encodings))
print(json.dumps({"peer": "tokenizers " + tokenizers.__version__, "threads": threads or os.cpu_count(),
                  "bytes": size, "tokens": tokens, "seconds": seconds, "mb_per_s": size / seconds / 1e6,
                  "tokens_per_s": tokens / seconds, "ids_identical_to_curate_tool": identical}))
