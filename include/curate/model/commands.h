// Single-process commands of `curate_tool` that need the model: settings structs (one field per
// option, default and meaning beside it) and their entry points. Parsing lives in the tool's main.
#pragma once

#include <cstdint>
#include <string>

#include "curate/model/perturb_options.h"

namespace curate::model {

struct RuntimeOptions {
  std::string device = "cpu";     // cpu, cuda or cuda:N
  std::string dtype = "float32";  // compute dtype: float32, bfloat16 or float16
  int threads = 0;                // CPU threads for torch; 0 = all cores
};

struct NllOptions {
  std::string model;                // Hugging Face model folder (config.json + safetensors)
  std::string input;                // JSONL, each line {"input_ids": [...], ...}
  std::string output;               // JSONL, each input line plus "nll": [len(input_ids) - 1 floats]
  int64_t batch_tokens = 16384;     // padded tokens per forward batch
  int64_t window_tokens = 1 << 20;  // tokens read ahead and scored together (bounds memory)
  RuntimeOptions runtime;
  std::string family = "base";  // checkpoint to score: base, gaussian or directional
  int checkpoint = 0;           // its index (1..n) for gaussian and directional
  std::string target;           // fine-tuned model folder (directional)
  PerturbOptions perturb;       // the same settings as curate_dist's [perturb] section
};

// Scores every line of `input`; writes `output` atomically (OUT.partial, renamed when complete).
// Throws DataError naming input:line for malformed lines, ModelError for a bad model folder.
void run_nll(const NllOptions& options);

struct MakeModelOptions {
  std::string shape = "tiny-qwen2";  // built-in shape name (see model::builtin_shape)
  std::string output;                // folder to create
  std::string dtype = "float32";     // stored dtype: float32, bfloat16 or float16
  uint64_t seed = 0;                 // weights are a function of (seed, tensor name)
  double init_std = 0.02;            // standard deviation of matrix entries
  uint64_t shard_bytes = 0;          // > 0: split into shards of at most this size with an index
};

void run_make_model(const MakeModelOptions& options);

// Mirrors launch/peer_bench.py: random weights of a shape, random ids, the last `scored`
// positions of each sequence scored. Prints one JSON line with tokens/s, peak memory (allocated device
// memory on CUDA, as the peer's max_memory_allocated; peak RSS on the CPU), model FLOP/s and MFU.
// Model FLOPs of a step count the work the losses need: 2·(linear weights) per fed token, causal
// attention (4·heads·head_dim·n(n+1)/2 per layer for a sequence of n fed tokens), and 2·hidden·vocab
// per scored position.
struct BenchOptions {
  std::string shape = "qwen2.5-0.5b";
  int64_t batch = 16;      // sequences per step
  int64_t seq_len = 1100;  // tokens per sequence without --mix
  int64_t scored = 0;      // scored positions per sequence; 0 = seq_len - 1
  bool mix = false;        // prompts of 50-600 tokens plus `scored` tokens
  int iters = 5;           // timed steps after one warm-up step
  uint64_t seed = 0;
  int64_t batch_tokens = 0;  // scorer batch budget; 0 = the whole step in one batch
  double peak_tflops = 0;    // device peak for MFU; 0 = 989 (H100/H200 SXM bf16 dense) on CUDA, none on CPU
  std::string profile;       // non-empty: profile one more step, write PATH.json and PATH.txt
  RuntimeOptions runtime;
};

void run_bench(const BenchOptions& options);

}  // namespace curate::model
