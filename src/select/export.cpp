#include "curate/select/export.h"

#include <nlohmann/json.hpp>

#include "curate/util/error.h"

namespace curate::select {
namespace {

using nlohmann::ordered_json;

// Single-line JSON, raw UTF-8, invalid bytes replaced rather than thrown on.
std::string dump_line(const ordered_json& object) {
  return object.dump(-1, ' ', /*ensure_ascii=*/false, ordered_json::error_handler_t::replace);
}

std::string sharegpt_tag(const data::Example& example, const std::string& role) {
  if (role == "user") return "human";
  if (role == "assistant") return "gpt";
  throw DataError("example " + example.id + " (line " + std::to_string(example.line) +
                  ") has a context message with role \"" + role +
                  "\"; ShareGPT export knows system, user and assistant");
}

}  // namespace

std::string to_sharegpt(const data::Example& example, const ExportOptions& options) {
  ordered_json line = ordered_json::object();
  if (example.pretokenized) {
    line["id"] = example.id;
    line["source"] = example.source;
    line["domain"] = example.domain;
    line["input_ids"] = example.input_ids;
    line["reasoning_start"] = example.reasoning_start;
    return dump_line(line);
  }
  ordered_json turns = ordered_json::array();
  std::string system;
  bool has_system = false;
  for (const data::Message& message : example.context) {
    if (message.role == "system") {
      if (has_system) system += "\n\n";
      system += message.content;
      has_system = true;
      continue;
    }
    turns.push_back({{"from", sharegpt_tag(example, message.role)}, {"value", message.content}});
  }
  turns.push_back(
      {{"from", "gpt"}, {"value", options.think_open + example.reasoning + options.think_close + example.answer}});
  line["conversations"] = std::move(turns);
  if (has_system) line["system"] = system;
  line["id"] = example.id;
  line["source"] = example.source;
  line["domain"] = example.domain;
  return dump_line(line);
}

std::string dataset_info_entry(const std::string& dataset_name, const std::string& file_name) {
  ordered_json entry = {
      {"file_name", file_name},
      {"formatting", "sharegpt"},
      {"columns", {{"messages", "conversations"}, {"system", "system"}}},
      {"tags", {{"role_tag", "from"}, {"content_tag", "value"}, {"user_tag", "human"}, {"assistant_tag", "gpt"}}},
  };
  ordered_json info = ordered_json::object();
  info[dataset_name] = std::move(entry);
  return info.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace curate::select
