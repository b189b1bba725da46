// The input check of `curate_tool check` and of the start of every curate_dist job: reads a dataset
// with the job's data and prompt options, says what it found (file kind, record formats, skip reasons
// with the first offending line of each, chat template and why, reasoning markers, token counts) and
// renders examples exactly as the scorer will see them. Torch-free; never loads a model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "curate/data/prompt.h"
#include "curate/data/record.h"

namespace curate::data {

struct CheckOptions {
  std::string tokenizer;  // tokenizer folder (tokenizer.json + tokenizer_config.json); empty = no tokens counted
  std::string input;      // dataset (JSONL, plain, .gz or .zst)
  DataOptions data;
  PromptOptions prompt;
  int64_t first_tokens = 100;    // difficulty window (pass.difficulty_tokens): marked in previews
  int64_t window_tokens = 1000;  // profile window (pass.profile_tokens): the scored window of previews
  int64_t max_records = 0;       // records parsed; 0 = all (the job checks the first data.check_records)
  int64_t token_sample = 1000;   // usable examples (the first ones) tokenized for the token statistics
  int64_t preview = 0;           // examples rendered as scored (the first usable ones)
  int threads = 0;               // tokenization threads; 0 = all cores
  int64_t budget = 0;            // > 0: the job's select.budget, a count: run_check refuses (exit 2) a dataset read
                                 // whole with fewer usable records (require_budget)
  int64_t vocab_size = 0;        // the model's vocabulary (config.json); > 0: a tokenized record holding an id at
                                 // or above it is not usable (bad_token_ids), as the workers would skip it
};

// What one check found; counts are over the records read (all, or the first max_records).
struct CheckReport {
  struct Skips {
    int64_t count = 0;
    int64_t first_line = 0;    // 1-based line of the first record skipped for this reason
    std::string first_detail;  // its detail ("missing field \"prompt\"")
  };
  std::string file_kind;  // "JSON Lines", "JSON Lines (gzip)", "JSON array", "Parquet", or the files of a folder
  DataOptions data;       // the data options the check read with (its auto settings resolved)
  std::vector<std::string> detected;  // what each auto setting resolved to (detect.h), when the check resolved it
  int64_t records = 0;                // non-blank lines read
  bool all_read = true;               // false when max_records stopped the reading
  int64_t usable = 0;
  std::map<std::string, int64_t> formats;  // usable records by format (sharegpt, messages, flat, pretokenized)
  std::map<std::string, int64_t> sources;  // usable records by source (the data.source_field value)
  std::map<std::string, Skips> skipped;    // by skip_reason_name
  std::string chat_template;               // ChatTemplate::name (empty without a tokenizer)
  std::string template_reason;             // why that template
  int64_t marker_records = 0;              // usable records whose text holds data.think_begin
  int64_t marker_candidates = 0;  // usable records whose reasoning comes from an assistant text (not a reasoning field)
  std::vector<std::string> warnings;
  // Token statistics over the first `sampled` usable examples (zero without a tokenizer).
  int64_t sampled = 0;
  int64_t tokenized = 0;             // usable examples tokenized (the first max(token_sample, preview))
  int64_t out_of_vocabulary = 0;     // of the tokenized usable examples, those holding an id >= vocab_size (counted
                                     // as skipped bad_token_ids, not usable)
  double mean_prompt_tokens = 0;     // tokens before the first reasoning token
  double mean_reasoning_tokens = 0;  // tokens after the prompt (what the windows cut; score.window decides which)
  double mean_full_tokens = 0;       // whole example, answer included
  double mean_first_window = 0;      // min(first_tokens, reasoning) per example
  double mean_profile_window = 0;    // min(window_tokens, reasoning) per example

  // "missing_field 12 (first: line 7, missing field \"prompt\")", most frequent first, at most `top`.
  std::vector<std::string> top_skips(std::size_t top) const;
};

// Reads the dataset and fills the report; writes `preview` renderings to `preview_out` when set.
// Settings still "auto" are resolved first (detect.h; data.id_field = auto indexes the dataset once).
// Throws DataError for files that cannot be read, ConfigError for an unknown chat template or markers
// that cannot be detected. Zero usable records is not an error here.
CheckReport check_dataset(const CheckOptions& options, std::ostream* preview_out = nullptr);

// The report as the lines `curate_tool check` prints and the job logs.
std::vector<std::string> describe(const CheckReport& report, const CheckOptions& options);

// Throws DataError (exit 3) naming the top skip reasons when the report has no usable record, or when
// every tokenized example holds ids outside the model's vocabulary (a tokenizer of another model).
void require_usable(const CheckReport& report, const CheckOptions& options);

// Throws ConfigError (exit 2) when options.budget > 0 exceeds the usable records of a dataset read
// whole: the selection could never meet it (a fraction, select.budget = 10%, always can).
void require_budget(const CheckReport& report, const CheckOptions& options);

// `curate_tool check`: check_dataset, print the report (and previews) to `out`, require_usable,
// require_budget.
void run_check(const CheckOptions& options, std::ostream& out);

// What the dataset is: "JSON Lines" (also " (gzip)"/" (zstd)"), "JSON array", "Parquet", or for a
// folder or glob the files read (DatasetFiles::description). Throws DataError when it cannot be read.
std::string sniff_data_file(const std::filesystem::path& path);

}  // namespace curate::data
