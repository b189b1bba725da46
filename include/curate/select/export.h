// Selected records written back as training data. By default each record is written as its own bytes
// (data::read_raw_records); this module describes such a file for LLaMA-Factory (dataset_info.json)
// and, only when select.format asks, converts records to ShareGPT or OpenAI-messages conversations.
// Torch-free.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "curate/data/record.h"
#include "curate/select/options.h"

namespace curate::select {

// How LLaMA-Factory reads a file of records: its dataset_info.json `formatting`, `columns` (its
// name -> the record's key) and `tags` (sharegpt only), each in the order written.
struct TrainerShape {
  std::string formatting;  // "sharegpt" or "alpaca"
  std::vector<std::pair<std::string, std::string>> columns;
  std::vector<std::pair<std::string, std::string>> tags;
  bool operator==(const TrainerShape&) const = default;
};

// Collects the shape of every record of one file (JSON text as written). A file has a shape when
// all its records agree: conversations (`data.conversations_field` or `data.messages_field`) with
// the same role/content keys and the same user, assistant and system role values -> sharegpt with
// those tags (system_tag only when a turn has the system role); flat records whose assistant text is
// one field (`data.response_field`) -> alpaca (prompt, response). Columns `system` and `tools` are
// declared only when some record has that key. Flat records with separate reasoning and answer
// fields, pre-tokenized records and a mix of kinds have none: why() says so and what to do.
class ShapeCollector {
 public:
  explicit ShapeCollector(const data::DataOptions& data) : data_(data) {}
  void add(std::string_view record);
  std::optional<TrainerShape> shape() const;  // nullopt: no dataset_info entry can describe the file
  const std::string& why() const { return why_; }

 private:
  void refuse(const std::string& why);
  void agree(std::vector<std::pair<std::string, std::string>>& into, const std::string& key, const std::string& value);

  data::DataOptions data_;
  std::optional<TrainerShape> shape_;
  bool has_system_ = false, has_tools_ = false;
  std::string why_;  // set once: the first reason the file has no shape
};

// One record (a JSON object, as read) converted for a trainer; `format` is "sharegpt" or "messages".
// Conversation records: the turns keep their text exactly and their order; each role becomes
// human/gpt/system (sharegpt, key "conversations", turns {"from", "value"}) or user/assistant/system
// (messages, key "messages", turns {"role", "content"}). Flat records become [user: prompt,
// assistant: text]: the response field as it is, or options.response_template filled with the
// reasoning and answer fields -- except that reasoning which already holds the template's opening
// marker (its text before {reasoning}, trimmed) is written as reasoning + answer, never wrapped twice.
// The turns take the place of the original turns key (first for flat records); every other key is kept
// with its value, in order, except the flat prompt/reasoning/answer/response fields. One line, UTF-8,
// no trailing newline. Throws DataError naming `line` for records that cannot be converted (not JSON,
// pre-tokenized, unknown role).
std::string convert_record(std::string_view record, int64_t line, const data::DataOptions& data,
                           const ExportOptions& options);

// The assistant text of options.response_template for `reasoning` and `answer` (the rule above).
std::string apply_response_template(const std::string& reasoning, const std::string& answer,
                                    const ExportOptions& options);

// `existing` (the text of a dataset_info.json, empty for none) with the entry `name` set to
// {"file_name": file_name, "formatting": ..., "columns": {...}, "tags": {...}} of `shape`, or removed
// when `shape` is nullopt; other entries are kept as they are. Pretty-printed, newline at the end.
// Throws DataError when `existing` is not a JSON object.
std::string merge_dataset_info(std::string_view existing, const std::string& name, const std::string& file_name,
                               const std::optional<TrainerShape>& shape);

// Text for one TSV cell: backslash, tab, newline and carriage return become \\ \t \n \r, so that a
// value can never shift columns or rows (read back with curate::unescape).
std::string tsv_escape(std::string_view text);

}  // namespace curate::select
