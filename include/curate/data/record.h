// Dataset records: JSONL lines in the formats users have (ShareGPT/LLaMA-Factory conversations, flat
// M23K/OpenThoughts fields, pre-tokenized ids) parsed into one Example shape. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "curate/data/tokenizer.h"

namespace curate::data {

struct DataOptions {
  std::string format = "auto";    // auto, sharegpt, flat, pretokenized (auto: by the keys of each line)
  std::string id_field = "auto";  // field holding a stable id; empty = the line number; auto: "id" when every
                                  // record has a distinct one (RecordIndex::ids_unique), else the line number
  std::string source_field = "source";
  std::string domain_field = "domain";
  std::string conversations_field = "conversations";     // sharegpt: list of {role|from, content|value}
  std::string messages_field = "messages";               // sharegpt too (OpenAI style {role, content}); used when
                                                         // the record has no conversations_field
  std::string prompt_field = "prompt";                   // flat: user prompt (OpenThoughts: "problem")
  std::string reasoning_field = "reasoning";             // flat: reasoning text; empty = take it from response_field
  std::string answer_field = "distilled_answer_string";  // flat: final answer (optional)
  std::string response_field = "response";               // flat: assistant text holding the reasoning between markers
  std::string think_begin = "auto";     // reasoning markers inside an assistant text; auto: the known pair the
  std::string think_end = "auto";       // records use (detect.h: <think>...</think> or OpenThoughts' markers)
  std::string ids_field = "input_ids";  // pretokenized: token ids
  std::string reasoning_start_field = "reasoning_start";  // pretokenized: index of the first reasoning token
  int64_t max_line_bytes = 16 << 20;                      // longer lines are skipped with a reason
  int64_t max_prompt_tokens = 0;     // records whose prompt (the tokens before the first scored one) is longer
                                     // are skipped (prompt_too_long); 0 = the model's context length
                                     // (config.json max_position_embeddings) minus the longest scored window
  bool strict = false;               // the first bad record is fatal
  bool allow_duplicate_ids = false;  // records may share an id_field value (else the check refuses, exit 3)
};

// True when records take their id from a field (data.id_field set and resolved, not "auto").
inline bool has_id_field(const DataOptions& options) { return !options.id_field.empty() && options.id_field != "auto"; }

struct Message {
  std::string role;  // system, user, assistant (ShareGPT's human/gpt are mapped)
  std::string content;
};

struct Example {
  std::string id;          // id field (a JSON string as it is, other JSON as its text), or the 1-based line number
  bool id_is_text = true;  // the id field's value is a JSON string (7 and "7" both have the id 7)
  int64_t line = 0;        // 1-based line in the file
  uint64_t offset = 0;     // byte offset of the line (decompressed stream)
  std::string source = "default";
  std::string domain = "default";
  std::vector<Message> context;      // messages before the scored assistant turn (system included)
  std::string reasoning;             // reasoning text (scored)
  std::string answer;                // text after the reasoning (not scored)
  std::string response;              // the whole assistant text as written (score.window = response scores it);
                                     // empty for flat records with separate reasoning/answer fields
  bool reasoning_from_text = false;  // the reasoning was taken from an assistant text (markers apply)
  bool reasoning_marked = false;     // ... and that text held data.think_begin (else all of it is reasoning)
  bool pretokenized = false;
  std::vector<TokenId> input_ids;  // pretokenized only
  int64_t reasoning_start = 0;     // pretokenized only
};

// Why a record is skipped; each has a stable name for reports.
enum class SkipReason {
  kMalformedJson,
  kNotObject,
  kMissingField,
  kEmptyReasoning,
  kInvalidUtf8,
  kLineTooLong,
  kUnknownRole,
  kBadTokenIds,
  kUnknownFormat,
  kPromptTooLong,
  kScoreFailed
};  // new reasons go last: results store 1 + the value
std::string_view skip_reason_name(SkipReason reason);

struct ParseResult {
  std::optional<Example> example;
  SkipReason reason = SkipReason::kMalformedJson;  // when !example
  std::string detail;                              // human-readable, e.g. the missing field's name
  std::string format;  // how the record was read: sharegpt, messages, flat or pretokenized (empty if undecided)
};

// Parses one line. Returns the reason for bad input instead of throwing, except for an id, source or
// domain that holds a NUL character: DataError "line N: field "F" holds a NUL character ..." (stored,
// such names would be cut at the NUL and merge; the caller adds the file's name).
ParseResult parse_record(std::string_view line, int64_t line_number, const DataOptions& options);
// parse_record, with `file` named in the DataError it throws ("FILE: line N: ...").
ParseResult parse_record_of(const std::filesystem::path& file, std::string_view line, int64_t line_number,
                            const DataOptions& options);

// Throws ConfigError naming the option when settings contradict each other.
void validate(const DataOptions& options);

}  // namespace curate::data
