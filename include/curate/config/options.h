// Settings of a curate_dist run, one plain struct per section, declared once with defaults; each
// component's option table (util/option_table.h; option_groups below) maps them to INI keys and
// command-line flags `--section.key`, the help and the fingerprint. Every setting has one owner:
// model.path and perturb.target live in `engine` (model / target), run.seed in engine.perturb.seed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "curate/compare/options.h"
#include "curate/data/prompt.h"
#include "curate/data/record.h"
#include "curate/model/checkpoint_scorer.h"
#include "curate/model/gradient_options.h"
#include "curate/select/options.h"
#include "curate/util/option_table.h"

namespace curate::service {

// --stage: which passes this run does. kAll: difficulty, filter, profile, select;
// kCompare: one selection per compare.methods x seed from a finished file, and the comparison page;
// kCalibrate: the noise search and the calibration only (prints perturb.gaussian_max_std);
// kGradients: projected SFT-loss gradients of a sample of a scored file's examples (issue 28, /gradients)
enum class Stage { kDifficulty, kProfile, kSelect, kAll, kCompare, kCalibrate, kGradients };
const char* stage_name(Stage stage);
inline bool scores_difficulty(Stage s) { return s == Stage::kAll || s == Stage::kDifficulty; }
inline bool scores_profile(Stage s) { return s == Stage::kAll || s == Stage::kProfile; }

struct RunOptions {
  Stage stage = Stage::kAll;
  bool fresh = false;                    // an existing output of another configuration is moved aside, not refused
  std::string tokenizer;                 // [model] tokenizer: tokenizer folder; empty = the model folder
  std::string dataset;                   // [data] path: JSONL dataset (plain, .gz or .zst)
  std::string output = "curate_run.h5";  // [output] path: HDF5 result file; rerunning the same config resumes it
  std::string log_level = "info";
  double progress_seconds = 10;  // rank 0 reports progress this often
  double flush_seconds = 30;     // results are flushed to the HDF5 file at least this often
  double worker_timeout = 1800;  // seconds without any message from a busy worker before the job stops
  double max_nan_fraction =
      0.01;  // a checkpoint whose examples with NaN losses exceed this fraction of its pass stops the run (exit 4)
  bool plan = false;  // --plan: print what the job will do (examples, tokens, units, file size, GPU-hours) and exit
  int64_t check_records =
      100000;  // [data] check_records: records rank 0 checks before the workers load models (0 = all)
  std::string
      selected;  // [select] output: the selected records (JSONL); empty = OUTPUT stem + .selected.jsonl[.gz|.zst]
};

struct PassOptions {
  int64_t unit_examples = 64;         // examples per work unit (fixed: results never depend on the rank count)
  int64_t difficulty_tokens = 100;    // reasoning tokens scored in the difficulty pass
  int64_t profile_tokens = 1000;      // reasoning tokens scored in the profile pass
  int gaussian_checkpoint = 0;        // checkpoint of the difficulty pass; 0 = calibrate
  int64_t calibration_samples = 256;  // examples scored at every Gaussian checkpoint to calibrate
  double calibration_low = 2.0;       // wanted ratio of mean difficulty loss to the base model's: low end
  double calibration_high = 3.0;      // ... high end
};

// How the per-token losses of the difficulty and profile passes are stored (the per-example means
// are always float32, computed from the float32 losses before any rounding).
enum class TokenLosses { kFloat32, kFloat16, kNone };
inline constexpr std::pair<const char*, TokenLosses> kTokenLosses[] = {
    {"float32", TokenLosses::kFloat32}, {"float16", TokenLosses::kFloat16}, {"none", TokenLosses::kNone}};
struct StoreOptions {
  // float32, float16 (half the bytes, ~3 significant digits) or none (means only)
  TokenLosses token_losses = TokenLosses::kFloat32;
};
// Parses store.token_losses; throws ConfigError naming the option for anything else.
TokenLosses parse_token_losses(const std::string& text);

// [plan] The throughput table of `curate_dist --plan`: scored tokens per second of one scoring rank
// for a reference model size; a model of P parameters is estimated at rate * reference / P (the cost
// of a forward pass is about 2P FLOPs a token). Defaults: docs/PERFORMANCE.md.
struct PlanOptions {
  double gpu_tokens_per_second = 35000;  // one H100, bf16, Qwen2.5-7B shape (transformers' figure; ours is >=)
  double gpu_reference_parameters = 7.6e9;
  double cpu_tokens_per_second = 242;  // one rank on 2 cores, float32, Qwen2.5-0.5B shape (measured)
  double cpu_reference_parameters = 0.49e9;
};

// Test-only settings: hidden from --help and the INI documentation, never on by default.
struct TestOptions {
  // Workers load no model and return synthetic losses that depend only on the record and the
  // checkpoint (so any rank count gives the same file): lets hundreds of ranks exercise rank 0.
  bool fake_worker = false;
  double fake_unit_seconds = 0;  // fake workers also sleep this long per unit (a GPU's unit time)
  int64_t fake_fail_line = 0;    // > 0: fake workers throw DataError for a unit holding this line (a record that fails)
  int64_t fake_nan_every = 0;    // > 0: fake workers return NaN losses for records whose line is divisible by this
  double writer_delay_seconds = 0;  // rank 0's writer thread sleeps this long per unit (a slow disk; ResultSink)
};

// [gradients] --stage gradients: which examples, and the numerics (model/gradient_options.h). Never part
// of the result file's fingerprint: the stage's own (fingerprint.h gradient_fingerprint) is kept on /gradients.
struct GradientStageOptions {
  int64_t examples = 2000;  // sampled examples (stratified over sources and the selection's clusters); all if fewer
  model::GradientOptions numerics;  // tokens, params, dim, projection, seed (also the sample's seed)
};

struct Options {
  RunOptions run;
  PassOptions pass;
  StoreOptions store;           // [store] token_losses
  TestOptions test;             // [test] (hidden) fake_worker, fake_unit_seconds, fake_nan_every
  model::EngineOptions engine;  // model.path, perturb.target, run.seed (perturb.seed); [score]; [perturb]
  data::DataOptions data;
  data::PromptOptions prompt;
  select::FilterOptions filter;     // [filter] which examples the profile pass scores
  select::SelectOptions select;     // [select] budget, method, clustering
  PlanOptions plan;                 // [plan] throughput table of --plan
  select::ExportOptions exported;   // [select] format, response_template, compress: how the records are written
  compare::CompareOptions compare;  // [compare] --stage compare and the A/B fine-tune it plans
  GradientStageOptions gradients;   // [gradients] --stage gradients
};

// The option table of a run, bound to `options`: one group per component, in --help order.
std::vector<options::Group> option_groups(Options& options);

// Parses argv (and the INI file named by --config; the command line wins), then `settings`, INI text
// under both (a result file's recorded settings, settings_ini; named `settings_name` in messages).
// Returns false after printing help for --help. Throws ConfigError naming the option or file line for
// bad input.
bool parse_options(int argc, char** argv, Options& options, std::string_view settings = {},
                   const std::string& settings_name = "");

// Every setting of `options` as INI text (options::format_ini: switches left out, paths absolute), with a
// comment saying what it is: the settings a result file records (layout.h, attribute `settings`).
std::string settings_ini(const Options& options);

// Checks combinations and fills defaults that depend on other settings (tokenizer = model).
void validate(Options& options);

}  // namespace curate::service
