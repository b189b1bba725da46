#include "curate/data/record.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "curate/util/error.h"

namespace curate::data {
namespace {

using nlohmann::json;

struct Skip {
  SkipReason reason;
  std::string detail;
};

const json* field(const json& object, const std::string& name) {
  if (name.empty()) return nullptr;
  auto it = object.find(name);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string text_field(const json& object, const std::string& name, bool required) {
  const json* value = field(object, name);
  if (value == nullptr) {
    if (required) throw Skip{SkipReason::kMissingField, "missing field \"" + name + "\""};
    return {};
  }
  if (!value->is_string()) throw Skip{SkipReason::kMissingField, "field \"" + name + "\" is not a string"};
  return value->get<std::string>();
}

// Splits an assistant text into reasoning and answer at the configured markers; without a begin
// marker the whole text is reasoning.
// Markers still "auto" (not resolved for the dataset: detect.h) are the first known pair this text holds.
void split_response(const std::string& text, const DataOptions& options, Example& example) {
  example.reasoning_from_text = true;
  example.response = text;
  std::string think_begin = options.think_begin, think_end = options.think_end;
  if (think_begin == "auto") {
    think_begin = think_end = "";
    using Pair = std::pair<const char*, const char*>;
    for (const auto& [b, e] : {Pair{"<think>", "</think>"}, Pair{"<|begin_of_thought|>", "<|end_of_thought|>"}}) {
      if (text.find(b) != std::string::npos) {
        think_begin = b, think_end = e;
        break;
      }
    }
  }
  std::size_t begin = think_begin.empty() ? std::string::npos : text.find(think_begin);
  if (begin == std::string::npos) {
    example.reasoning = text;
    return;
  }
  example.reasoning_marked = true;
  begin += think_begin.size();
  std::size_t end = think_end.empty() ? std::string::npos : text.find(think_end, begin);
  if (end == std::string::npos) {
    example.reasoning = text.substr(begin);
  } else {
    example.reasoning = text.substr(begin, end - begin);
    example.answer = text.substr(end + think_end.size());
  }
}

std::string normalize_role(const std::string& role) {
  if (role == "human" || role == "user") return "user";
  if (role == "gpt" || role == "assistant" || role == "model") return "assistant";
  if (role == "system") return "system";
  throw Skip{SkipReason::kUnknownRole, "unknown role \"" + role + "\" (expected system, user/human, assistant/gpt)"};
}

void parse_sharegpt(const json& object, const DataOptions& options, Example& example) {
  const bool has_conversations = field(object, options.conversations_field) != nullptr;
  const std::string& key = has_conversations || field(object, options.messages_field) == nullptr
                               ? options.conversations_field
                               : options.messages_field;
  const json* turns = field(object, key);
  if (turns == nullptr || !turns->is_array() || turns->empty()) {
    throw Skip{SkipReason::kMissingField, "missing or empty \"" + key + "\" array"};
  }
  for (const json& turn : *turns) {
    if (!turn.is_object()) throw Skip{SkipReason::kMissingField, "a conversation turn is not an object"};
    const json* role = turn.contains("role") ? &turn["role"] : turn.contains("from") ? &turn["from"] : nullptr;
    const json* content = turn.contains("content") ? &turn["content"]
                          : turn.contains("value") ? &turn["value"]
                                                   : nullptr;
    if (role == nullptr || !role->is_string() || content == nullptr || !content->is_string()) {
      throw Skip{SkipReason::kMissingField, "a conversation turn lacks role/from or content/value strings"};
    }
    example.context.push_back({normalize_role(role->get<std::string>()), content->get<std::string>()});
  }
  if (object.contains("system") && object["system"].is_string() && example.context.front().role != "system") {
    example.context.insert(example.context.begin(), Message{"system", object["system"].get<std::string>()});
  }
  if (example.context.back().role != "assistant") {
    throw Skip{SkipReason::kMissingField, "the conversation does not end with an assistant turn"};
  }
  split_response(example.context.back().content, options, example);
  example.context.pop_back();
}

void parse_flat(const json& object, const DataOptions& options, Example& example) {
  example.context.push_back({"user", text_field(object, options.prompt_field, true)});
  if (field(object, options.reasoning_field) != nullptr) {
    example.reasoning = text_field(object, options.reasoning_field, true);
    example.answer = text_field(object, options.answer_field, false);
  } else if (field(object, options.response_field) != nullptr) {
    split_response(text_field(object, options.response_field, true), options, example);
  } else {
    throw Skip{SkipReason::kMissingField,
               "missing field \"" + options.reasoning_field + "\" (or \"" + options.response_field + "\")"};
  }
}

void parse_pretokenized(const json& object, const DataOptions& options, Example& example) {
  const json* ids = field(object, options.ids_field);
  const json* start = field(object, options.reasoning_start_field);
  if (ids == nullptr || !ids->is_array())
    throw Skip{SkipReason::kMissingField, "missing \"" + options.ids_field + "\" array"};
  if (start == nullptr || !start->is_number_integer()) {
    throw Skip{SkipReason::kMissingField, "missing integer \"" + options.reasoning_start_field + "\""};
  }
  example.pretokenized = true;
  for (const json& id : *ids) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      throw Skip{SkipReason::kBadTokenIds, options.ids_field + " holds " + id.dump() + ", not a token id"};
    }
    example.input_ids.push_back(id.get<TokenId>());
  }
  example.reasoning_start = start->get<int64_t>();
  if (example.reasoning_start < 1 || example.reasoning_start >= static_cast<int64_t>(example.input_ids.size())) {
    throw Skip{SkipReason::kEmptyReasoning, options.reasoning_start_field + " = " +
                                                std::to_string(example.reasoning_start) +
                                                " leaves no reasoning tokens after a non-empty prompt"};
  }
}

}  // namespace

std::string_view skip_reason_name(SkipReason reason) {
  switch (reason) {
    case SkipReason::kMalformedJson:
      return "malformed_json";
    case SkipReason::kNotObject:
      return "not_an_object";
    case SkipReason::kMissingField:
      return "missing_field";
    case SkipReason::kEmptyReasoning:
      return "empty_reasoning";
    case SkipReason::kInvalidUtf8:
      return "invalid_utf8";
    case SkipReason::kLineTooLong:
      return "line_too_long";
    case SkipReason::kUnknownRole:
      return "unknown_role";
    case SkipReason::kBadTokenIds:
      return "bad_token_ids";
    case SkipReason::kUnknownFormat:
      return "unknown_format";
    case SkipReason::kPromptTooLong:
      return "prompt_too_long";
    case SkipReason::kScoreFailed:
      return "score_failed";
  }
  return "unknown";
}

void validate(const DataOptions& options) {
  static const char* kFormats[] = {"auto", "sharegpt", "flat", "pretokenized"};
  if (std::find(std::begin(kFormats), std::end(kFormats), options.format) == std::end(kFormats)) {
    throw ConfigError("data.format '" + options.format + "' is unknown: use auto, sharegpt, flat or pretokenized");
  }
  if (options.max_line_bytes <= 0) throw ConfigError("data.max_line_bytes must be positive");
  if (options.max_prompt_tokens < 0) {
    throw ConfigError("data.max_prompt_tokens must be >= 0 (0 = the model's context length minus the scored window)");
  }
}

ParseResult parse_record(std::string_view line, int64_t line_number, const DataOptions& options) {
  ParseResult result;
  if (auto bad = find_invalid_utf8(line)) {
    result.reason = SkipReason::kInvalidUtf8;
    result.detail = "invalid UTF-8 at byte " + std::to_string(*bad);
    return result;
  }
  json object = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) {
    result.reason = SkipReason::kMalformedJson;
    result.detail = "not valid JSON";
    return result;
  }
  if (!object.is_object()) {
    result.reason = SkipReason::kNotObject;
    result.detail = "a line must be a JSON object";
    return result;
  }
  try {
    Example example;
    example.line = line_number;
    example.id = !has_id_field(options) ? std::to_string(line_number) : [&] {
      const json* id = field(object, options.id_field);
      if (id == nullptr) throw Skip{SkipReason::kMissingField, "missing id field \"" + options.id_field + "\""};
      example.id_is_text = id->is_string();
      return id->is_string() ? id->get<std::string>() : id->dump();
    }();
    if (!options.source_field.empty() && field(object, options.source_field)) {
      example.source = text_field(object, options.source_field, false);
    }
    if (!options.domain_field.empty() && field(object, options.domain_field)) {
      example.domain = text_field(object, options.domain_field, false);
    }
    for (const auto& [name, value] : {std::pair<const std::string&, const std::string&>{options.id_field, example.id},
                                      {options.source_field, example.source},
                                      {options.domain_field, example.domain}}) {
      if (value.find('\0') != std::string::npos) {
        throw DataError("line " + std::to_string(line_number) + ": field \"" + name +
                        "\" holds a NUL character (\\u0000), which the result and selection files cannot store (names "
                        "that differ after it would be merged): remove it from the dataset");
      }
    }
    std::string format = options.format;
    if (format == "auto") {
      if (field(object, options.conversations_field) || field(object, options.messages_field))
        format = "sharegpt";
      else if (field(object, options.ids_field))
        format = "pretokenized";
      else if (field(object, options.prompt_field))
        format = "flat";
      else
        throw Skip{SkipReason::kUnknownFormat, "no \"" + options.conversations_field + "\", \"" +
                                                   options.messages_field + "\", \"" + options.prompt_field +
                                                   "\" or \"" + options.ids_field +
                                                   "\" field: set data.format and field names"};
    }
    result.format = format == "sharegpt" && field(object, options.conversations_field) == nullptr &&
                            field(object, options.messages_field) != nullptr
                        ? "messages"
                        : format;
    if (format == "sharegpt")
      parse_sharegpt(object, options, example);
    else if (format == "flat")
      parse_flat(object, options, example);
    else
      parse_pretokenized(object, options, example);
    if (!example.pretokenized && example.reasoning.find_first_not_of(" \t\r\n") == std::string::npos) {
      throw Skip{SkipReason::kEmptyReasoning, "the reasoning is empty"};
    }
    result.example = std::move(example);
  } catch (const Skip& skip) {
    result.reason = skip.reason;
    result.detail = skip.detail;
  }
  return result;
}

}  // namespace curate::data
