// Settings of a curate_dist run, one plain struct per section, declared once with defaults; the
// option table (options.cpp) maps them to INI keys and command-line flags `--section.key`.
#pragma once

#include <cstdint>
#include <string>

#include "curate/data/prompt.h"
#include "curate/data/record.h"
#include "curate/model/checkpoint_scorer.h"
#include "curate/select/options.h"

namespace curate::service {

struct RunOptions {
  std::string stage = "all";      // difficulty, profile, select or all (the three in order)
  bool fresh = false;             // an existing output of another configuration is moved aside, not refused
  std::string model;              // [model] path: base model folder (Hugging Face format)
  std::string tokenizer;          // [model] tokenizer: tokenizer folder; empty = the model folder
  std::string finetuned;          // [perturb] target: fine-tuned model folder (θ_f); empty = Gaussian profile
  std::string dataset;            // [data] path: JSONL dataset (plain, .gz or .zst)
  std::string output = "curate_run.h5";  // [output] path: HDF5 result file; rerunning the same config resumes it
  uint64_t seed = 0;              // seed of every random choice (noise, calibration sample)
  std::string log_level = "info";
  double progress_seconds = 10;   // rank 0 reports progress this often
  double flush_seconds = 30;      // results are flushed to the HDF5 file at least this often
  double worker_timeout = 1800;   // seconds without any message from a busy worker before the job stops
  std::string selected;           // [select] output: selected examples (ShareGPT JSONL); empty = OUTPUT stem + .selected.jsonl
};

struct PassOptions {
  int64_t unit_examples = 64;     // examples per work unit (fixed: results never depend on the rank count)
  int64_t difficulty_tokens = 100;  // reasoning tokens scored in the difficulty pass
  int64_t profile_tokens = 1000;  // reasoning tokens scored in the profile pass
  int gaussian_checkpoint = 0;    // checkpoint of the difficulty pass; 0 = calibrate
  int64_t calibration_samples = 256;  // examples scored at every Gaussian checkpoint to calibrate
  double calibration_low = 2.0;   // wanted ratio of mean difficulty loss to the base model's: low end
  double calibration_high = 3.0;  // ... high end
};

struct Options {
  RunOptions run;
  PassOptions pass;
  model::EngineOptions engine;  // [score] device, dtype, threads, batch_tokens; [perturb] ...
  data::DataOptions data;
  data::PromptOptions prompt;
  select::FilterOptions filter;  // [filter] which examples the profile pass scores
  select::SelectOptions select;  // [select] budget, method, clustering
};

// Parses argv (and the INI file named by --config; the command line wins). Returns false after
// printing help for --help. Throws ConfigError naming the option or file line for bad input.
bool parse_options(int argc, char** argv, Options& options);

// Checks combinations and fills defaults that depend on other settings (tokenizer = model).
void validate(Options& options);

// Text that identifies every setting that changes results; stored in the output file so that a
// resumed run is known to continue the same computation.
std::string fingerprint(const Options& options);

}  // namespace curate::service
