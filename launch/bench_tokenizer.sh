#!/usr/bin/env bash
# Tokenizer throughput: `curate_tool tokenize` against Hugging Face `tokenizers` on the same texts,
# single-threaded and on all cores, for the Qwen and Llama-3.1 tokenizer.json files.
#   launch/bench_tokenizer.sh [TOKENIZERS_DIR] [MEGABYTES]
# Needs `launch/setup.sh --with-peer` (tokenizers comes with transformers in .venv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# Default: the real tokenizers the test suite unpacks from tests/data/reference into the build folder.
tokenizers_dir=${1:-${CURATE_BUILD_DIR:-build}/tests/reference/tokenizers}
megabytes=${2:-20}
tool=${CURATE_BUILD_DIR:-build}/src/tools/curate_tool
py=.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" launch/bench/make_text_corpus.py "$work/corpus.jsonl" "$megabytes"
echo "# $(date -u +%FT%TZ) $(nproc) cores, corpus $(du -h "$work/corpus.jsonl" | cut -f1)"
for name in qwen3 llama3_1; do
  for threads in 1 0; do
    "$tool" tokenize --tokenizer "$tokenizers_dir/$name" --input "$work/corpus.jsonl" --output "$work/ids.jsonl" \
      --threads "$threads" 2>&1 | sed "s/^/curate_tool $name threads=$threads: /"
    "$py" launch/bench/tokenizer_peer.py "$tokenizers_dir/$name/tokenizer.json" "$work/corpus.jsonl" "$threads" "$work/ids.jsonl" \
      | sed "s/^/peer $name: /"
  done
done
