// Single-process data commands of `curate_tool` (no torch needed).
#pragma once

#include <cstdint>
#include <string>

#include "curate/data/prompt.h"
#include "curate/data/record.h"

namespace curate::data {

struct TokenizeOptions {
  std::string tokenizer;            // tokenizer.json or a folder holding one
  std::string input;                // JSONL, each line {"text": "..."} (plain, .gz or .zst)
  std::string output;               // JSONL, each line {"ids": [...]} in input order
  int threads = 0;                  // encoding threads; 0 = all cores
  int64_t window_bytes = 64 << 20;  // text read ahead and encoded together
};

// Encodes every line (no special tokens added). Throws DataError naming input:line for malformed
// lines; writes `output` atomically (OUT.partial renamed when complete). Logs MB/s and tokens/s.
void run_tokenize(const TokenizeOptions& options);

}  // namespace curate::data

namespace curate::data {

struct PrepareOptions {
  std::string tokenizer;  // tokenizer folder (tokenizer.json, tokenizer_config.json for the chat template)
  std::string input;      // dataset JSONL (plain, .gz or .zst)
  std::string output;     // JSONL: id, line, source, domain, window (score.window), input_ids (prompt + the
                          // window's tokens), reasoning_start (first scored token), full_length
  std::string report;     // skipped records (line, reason, detail); default OUTPUT.skipped.tsv
  int threads = 0;        // tokenization threads; 0 = all cores
  DataOptions data;
  PromptOptions prompt;
};

// Reads, assembles and tokenizes a dataset the way the scoring service does, for inspection.
void run_prepare(const PrepareOptions& options);

}  // namespace curate::data
