// Single-process data commands of `curate_tool` (no torch needed).
#pragma once

#include <cstdint>
#include <string>

namespace curate::data {

struct TokenizeOptions {
  std::string tokenizer;                  // tokenizer.json or a folder holding one
  std::string input;                      // JSONL, each line {"text": "..."} (plain, .gz or .zst)
  std::string output;                     // JSONL, each line {"ids": [...]} in input order
  int threads = 0;                        // encoding threads; 0 = all cores
  int64_t window_bytes = 64 << 20;        // text read ahead and encoded together
};

// Encodes every line (no special tokens added). Throws DataError naming input:line for malformed
// lines; writes `output` atomically (OUT.partial renamed when complete). Logs MB/s and tokens/s.
void run_tokenize(const TokenizeOptions& options);

}  // namespace curate::data
