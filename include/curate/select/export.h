// Selected examples written back as training data: one ShareGPT / LLaMA-Factory JSON line per
// example, and the dataset_info.json entry that lets LLaMA-Factory read the file. Torch-free.
#pragma once

#include <string>

#include "curate/data/record.h"

namespace curate::select {

struct ExportOptions {
  std::string think_open = "<think>\n";        // written before the reasoning of the scored turn
  std::string think_close = "\n</think>\n\n";  // written between the reasoning and the answer
};

// One JSON line, without the trailing newline, in ShareGPT form:
//   {"conversations": [{"from": "human"|"gpt", "value": ...}, ...],
//    "system": ..., "id": ..., "source": ..., "domain": ...}
// The turns are example.context (user → human, assistant → gpt) followed by the scored turn,
// think_open + reasoning + think_close + answer. System messages go to the top-level "system" field
// (several are joined with a blank line), which is absent when there is none. Keys keep this order;
// text is written as UTF-8 (invalid bytes, which parse_record never lets through, become U+FFFD).
// A pretokenized example has no text: its line is
//   {"id": ..., "source": ..., "domain": ..., "input_ids": [...], "reasoning_start": n}.
// Throws DataError naming the example when a context message has a role other than system, user, assistant.
std::string to_sharegpt(const data::Example& example, const ExportOptions& options = {});

// The content of a LLaMA-Factory dataset_info.json declaring `file_name` (a to_sharegpt JSONL file)
// as dataset `dataset_name`, pretty-printed:
//   {"<name>": {"file_name": ..., "formatting": "sharegpt",
//               "columns": {"messages": "conversations", "system": "system"},
//               "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}}}
// followed by a newline.
std::string dataset_info_entry(const std::string& dataset_name, const std::string& file_name);

}  // namespace curate::select
