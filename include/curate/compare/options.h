// Settings of `--stage compare` and of the A/B fine-tune it prepares (keys `compare.<field>`): which
// selection methods and seeds are compared at select.budget, the evaluation sets, and the LLaMA-Factory
// hyperparameters every fine-tune shares. None changes the scores in the result file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "curate/select/options.h"
#include "curate/util/option_table.h"

namespace curate::compare {

struct CompareOptions {
  std::string methods = "temp, random, longest";  // comma-separated select.method names, each once
  int seeds = 3;                        // selections per seeded method (temp, random, s2l): select.seed + 0..seeds-1
  int64_t eval_examples = 100;          // held-out split of the scored records, drawn per source before any
                                        // selection and excluded from every pool (0 = none)
  uint64_t eval_seed = 0;               // seed of that draw
  std::string eval_path;                // the user's benchmark (JSONL in any data.* format) with checkable answers
  std::string answer_field = "answer";  // field of an evaluation record holding its answer ("" = none)
  std::string extractor = "auto";       // auto, number, boxed or choice: how an answer is read from a text
  std::string output;                   // folder of every compare output (default: OUTPUT stem + .compare)
  // The fine-tunes (LLaMA-Factory SFT, identical for every selection and seed).
  std::string finetuning_type = "full";  // full or lora
  double epochs = 3;
  double learning_rate = 1e-5;
  std::string template_name = "qwen";  // LLaMA-Factory template (the demo's tokenizer: chatml)
  int64_t batch_size = 1;              // per-device train batch
  int64_t gradient_accumulation = 8;
  int64_t cutoff_len = 4096;
  int64_t lora_rank = 8;
  int64_t max_new_tokens = 1024;  // greedy answers of the evaluation (LLaMA-Factory predict)
  int64_t bootstrap = 2000;       // resamples of the interval of the difference to random
  std::string device = "auto";    // cpu (CUDA_VISIBLE_DEVICES="") or auto (what LLaMA-Factory finds)
};

// The option table [compare] (util/option_table.h); none results-affecting.
options::Group compare_table(CompareOptions& options);

// The methods of compare.methods in order. Throws ConfigError naming compare.methods for an unknown or
// repeated name, or an empty list.
std::vector<select::SelectMethod> parse_methods(const std::string& text);

// Whether a method's selection depends on select.seed (k-means initialisation, random draws).
bool seeded(select::SelectMethod method);

// Throws ConfigError naming the key, the value and what to give instead.
void validate(const CompareOptions& options);

}  // namespace curate::compare
