#include "curate/select/export.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::select {
namespace {

using nlohmann::ordered_json;

constexpr const char* kWhitespace = " \t\r\n";

std::string dump_line(const ordered_json& object) {
  return object.dump(-1, ' ', /*ensure_ascii=*/false, ordered_json::error_handler_t::replace);
}

const ordered_json* find(const ordered_json& object, const std::string& key) {
  if (key.empty()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// The key of the turns list of a conversation record, or "" for another kind of record.
std::string turns_key(const ordered_json& object, const data::DataOptions& data) {
  for (const std::string* key : {&data.conversations_field, &data.messages_field}) {
    const ordered_json* turns = find(object, *key);
    if (turns != nullptr && turns->is_array()) return *key;
  }
  return "";
}

// system, user, assistant, or "" for a role name parse_record does not know.
std::string normalized_role(const std::string& role) {
  if (role == "human" || role == "user") return "user";
  if (role == "gpt" || role == "assistant" || role == "model") return "assistant";
  if (role == "system") return "system";
  return "";
}

std::string trimmed(const std::string& text) {
  const std::size_t begin = text.find_first_not_of(kWhitespace);
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(kWhitespace) - begin + 1);
}

std::string string_field(const ordered_json& object, const std::string& key, int64_t line) {
  const ordered_json* value = find(object, key);
  if (value == nullptr) return "";
  if (!value->is_string()) throw DataError(cat("line ", line, ": field \"", key, "\" is not a string"));
  return value->get<std::string>();
}

}  // namespace

void ShapeCollector::refuse(const std::string& why) {
  if (why_.empty()) why_ = why;
}

void ShapeCollector::agree(std::vector<std::pair<std::string, std::string>>& into, const std::string& key,
                           const std::string& value) {
  for (auto& [k, v] : into) {
    if (k != key) continue;
    if (v != value) refuse("the records disagree on the " + key + " (\"" + v + "\" and \"" + value + "\")");
    return;
  }
  into.emplace_back(key, value);
}

void ShapeCollector::add(std::string_view record) {
  const ordered_json object = ordered_json::parse(record, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return refuse("a record is not a JSON object");
  TrainerShape shape;
  std::vector<std::pair<std::string, std::string>> tags;
  const std::string turns = turns_key(object, data_);
  if (!turns.empty()) {
    shape.formatting = "sharegpt";
    shape.columns.emplace_back("messages", turns);
    for (const ordered_json& turn : object[turns]) {
      if (!turn.is_object()) return refuse("a conversation turn is not an object");
      const char* role_tag = turn.contains("role") ? "role" : "from";
      const char* content_tag = turn.contains("content") ? "content" : "value";
      if (!turn.contains(role_tag) || !turn[role_tag].is_string()) return refuse("a conversation turn has no role");
      const std::string role = turn[role_tag].get<std::string>();
      const std::string normalized = normalized_role(role);
      if (normalized.empty())
        return refuse("a turn has the role \"" + role + "\", which LLaMA-Factory's tags here cannot name");
      agree(tags, "role_tag", role_tag);
      agree(tags, "content_tag", content_tag);
      agree(tags, normalized == "user" ? "user_tag" : normalized == "assistant" ? "assistant_tag" : "system_tag", role);
    }
  } else if (find(object, data_.prompt_field) != nullptr && find(object, data_.reasoning_field) == nullptr &&
             find(object, data_.response_field) != nullptr) {
    shape.formatting = "alpaca";
    shape.columns = {{"prompt", data_.prompt_field}, {"response", data_.response_field}};
  } else if (find(object, data_.prompt_field) != nullptr) {
    return refuse("flat records keep reasoning (\"" + data_.reasoning_field +
                  "\") and answer in separate fields, "
                  "which a LLaMA-Factory entry cannot join: --select.format=sharegpt (or messages) writes them as "
                  "conversations with select.response_template");
  } else {
    return refuse("records without conversations or a prompt (pre-tokenized ids) have no text for LLaMA-Factory");
  }
  has_system_ = has_system_ || find(object, "system") != nullptr;
  has_tools_ = has_tools_ || find(object, "tools") != nullptr;
  if (!shape_) {
    shape_ = shape;
  } else if (shape_->formatting != shape.formatting || shape_->columns != shape.columns) {
    return refuse("the records mix formats (" + shape_->formatting + " with " + shape_->columns.front().second +
                  ", and " + shape.formatting + " with " + shape.columns.front().second + ")");
  }
  for (const auto& [key, value] : tags) agree(shape_->tags, key, value);
}

std::optional<TrainerShape> ShapeCollector::shape() const {
  if (!why_.empty() || !shape_) return std::nullopt;
  TrainerShape shape = *shape_;
  if (has_system_) shape.columns.emplace_back("system", "system");
  if (has_tools_) shape.columns.emplace_back("tools", "tools");
  // role_tag, content_tag first, then user, assistant, system: the order LLaMA-Factory documents.
  const char* order[] = {"role_tag", "content_tag", "user_tag", "assistant_tag", "system_tag"};
  std::stable_sort(shape.tags.begin(), shape.tags.end(), [&](const auto& a, const auto& b) {
    return std::find(std::begin(order), std::end(order), a.first) <
           std::find(std::begin(order), std::end(order), b.first);
  });
  return shape;
}

std::string apply_response_template(const std::string& reasoning, const std::string& answer,
                                    const ExportOptions& options) {
  const std::string text = unescape(options.response_template);
  const std::size_t r = text.find("{reasoning}");
  const std::size_t a = text.find("{answer}");
  if (r == std::string::npos || a == std::string::npos || a < r) {
    throw ConfigError("select.response_template must hold {reasoning} followed by {answer}");
  }
  const std::string marker = trimmed(text.substr(0, r));
  if (!marker.empty() && reasoning.find(marker) != std::string::npos) return reasoning + answer;
  const std::size_t after_reasoning = r + std::string_view("{reasoning}").size();
  return text.substr(0, r) + reasoning + text.substr(after_reasoning, a - after_reasoning) + answer +
         text.substr(a + std::string_view("{answer}").size());
}

std::string convert_record(std::string_view record, int64_t line, const data::DataOptions& data,
                           const ExportOptions& options) {
  const bool sharegpt = options.format == "sharegpt";
  const ordered_json object = ordered_json::parse(record, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) throw DataError(cat("line ", line, ": not a JSON object, cannot convert it"));
  const std::string key = sharegpt ? "conversations" : "messages";
  const char* role_tag = sharegpt ? "from" : "role";
  const char* content_tag = sharegpt ? "value" : "content";
  const auto turn = [&](const std::string& role, const std::string& content) {
    const std::string tag = !sharegpt ? role : role == "user" ? "human" : role == "assistant" ? "gpt" : role;
    ordered_json t = ordered_json::object();
    t[role_tag] = tag;
    t[content_tag] = content;
    return t;
  };
  ordered_json out = ordered_json::object();
  const std::string turns = turns_key(object, data);
  if (!turns.empty()) {
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (it.key() != turns) {
        if (!out.contains(it.key())) out[it.key()] = it.value();
        continue;
      }
      ordered_json converted = ordered_json::array();
      for (const ordered_json& t : it.value()) {
        const ordered_json* role = t.is_object() ? (t.contains("role")   ? &t["role"]
                                                    : t.contains("from") ? &t["from"]
                                                                         : nullptr)
                                                 : nullptr;
        const ordered_json* content = t.is_object() ? (t.contains("content") ? &t["content"]
                                                       : t.contains("value") ? &t["value"]
                                                                             : nullptr)
                                                    : nullptr;
        if (role == nullptr || !role->is_string() || content == nullptr || !content->is_string()) {
          throw DataError(cat("line ", line, ": a turn lacks role/from or content/value strings"));
        }
        const std::string normalized = normalized_role(role->get<std::string>());
        if (normalized.empty())
          throw DataError(cat("line ", line, ": unknown role \"", role->get<std::string>(), "\""));
        converted.push_back(turn(normalized, content->get<std::string>()));
      }
      if (out.contains(key)) out.erase(key);  // a stale key of the target name gives way to the turns
      out[key] = std::move(converted);
    }
    return dump_line(out);
  }
  if (find(object, data.prompt_field) == nullptr) {
    throw DataError(cat("line ", line, ": pre-tokenized or unknown records cannot be converted to ", options.format,
                        "; use select.format = input"));
  }
  std::string response;
  if (find(object, data.reasoning_field) != nullptr) {
    response = apply_response_template(string_field(object, data.reasoning_field, line),
                                       string_field(object, data.answer_field, line), options);
  } else {
    response = string_field(object, data.response_field, line);
  }
  out[key] =
      ordered_json::array({turn("user", string_field(object, data.prompt_field, line)), turn("assistant", response)});
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& k = it.key();
    if (k == data.prompt_field || k == data.reasoning_field || k == data.answer_field || k == data.response_field ||
        k == key) {
      continue;
    }
    out[k] = it.value();
  }
  return dump_line(out);
}

std::string merge_dataset_info(std::string_view existing, const std::string& name, const std::string& file_name,
                               const std::optional<TrainerShape>& shape) {
  ordered_json all = ordered_json::object();
  if (existing.find_first_not_of(kWhitespace) != std::string_view::npos) {
    all = ordered_json::parse(existing, nullptr, /*allow_exceptions=*/false);
    if (!all.is_object())
      throw DataError("dataset_info.json is not a JSON object; move it away to let curate_dist write its entry");
  }
  if (!shape) {
    all.erase(name);
  } else {
    ordered_json entry = ordered_json::object();
    entry["file_name"] = file_name;
    entry["formatting"] = shape->formatting;
    ordered_json columns = ordered_json::object();
    for (const auto& [k, v] : shape->columns) columns[k] = v;
    entry["columns"] = std::move(columns);
    if (!shape->tags.empty()) {
      ordered_json tags = ordered_json::object();
      for (const auto& [k, v] : shape->tags) tags[k] = v;
      entry["tags"] = std::move(tags);
    }
    all[name] = std::move(entry);
  }
  return all.dump(2, ' ', /*ensure_ascii=*/false, ordered_json::error_handler_t::replace) + "\n";
}

std::string tsv_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace curate::select
