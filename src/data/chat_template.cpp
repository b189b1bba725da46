// ChatTemplate::resolve: which template renders prompts, from data.chat_template and the tokenizer folder.
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "curate/data/prompt.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"
#include "curate/util/terminal.h"
#include "detail/jinja.h"

namespace curate::data {
namespace {

constexpr const char* kQwenDefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
constexpr const char* kSpecialTokens[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                          "pad_token", "cls_token", "mask_token"};

// What the tokenizer folder says about chat formatting.
struct TokenizerSide {
  std::string own;                                    // its own chat template ("" when it has none)
  std::string source;                                 // the file holding it
  std::map<std::string, std::string> special_tokens;  // bos_token, eos_token, ... as transformers passes them
};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A special token as transformers' special_tokens_map has it: a string, or an AddedToken's content.
std::string token_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  return {};
}

TokenizerSide read_tokenizer_side(const std::filesystem::path& dir) {
  TokenizerSide side;
  const auto config_path = dir / "tokenizer_config.json";
  const auto config = nlohmann::json::parse(read_text(config_path), nullptr, /*allow_exceptions=*/false);
  if (config.is_object()) {
    for (const char* name : kSpecialTokens) {
      if (!config.contains(name)) continue;
      if (std::string text = token_text(config[name]); !text.empty()) side.special_tokens[name] = text;
    }
    if (config.contains("chat_template")) {
      const auto& chat = config["chat_template"];
      if (chat.is_string()) {
        side.own = chat.get<std::string>();
      } else if (chat.is_array()) {  // [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
        std::string names;
        for (const auto& entry : chat) {
          if (!entry.is_object() || !entry.contains("name") || !entry.contains("template")) continue;
          names += cat(names.empty() ? "" : ", ", entry["name"].dump());
          if (entry["name"] == "default" && entry["template"].is_string())
            side.own = entry["template"].get<std::string>();
        }
        if (side.own.empty())
          throw ConfigError(cat("the chat_template list of ", config_path.string(),
                                " has no template named \"default\" (", names.empty() ? "none named" : names,
                                "): set data.chat_template = file:PATH.jinja with the one the model was trained with"));
      }
      side.source = config_path.string();
    }
  }
  // transformers saves a single template as chat_template.jinja and prefers it when loading.
  if (const auto file = dir / "chat_template.jinja"; std::filesystem::is_regular_file(file)) {
    side.own = read_text(file);
    side.source = file.string();
  }
  return side;
}

std::shared_ptr<const detail::JinjaTemplate> parse_jinja(const std::string& text, const std::string& source,
                                                         const std::map<std::string, std::string>& special_tokens) {
  try {
    return std::make_shared<const detail::JinjaTemplate>(text, special_tokens);
  } catch (const std::exception& e) {
    throw ConfigError(
        cat("the chat template of ", source, " cannot be parsed: ", e.what(),
            "\nset data.chat_template to a template that parses (file:PATH.jinja, chatml, llama3 or plain)"));
  }
}

// `text` on one line (control characters escaped), its first ~`limit` bytes then "..." when longer.
std::string shown(const std::string& text, std::size_t limit = 160) {
  std::string out = escape_control(text, false);
  if (out.size() <= limit) return out;
  while (limit > 0 && (static_cast<unsigned char>(out[limit]) & 0xC0) == 0x80) --limit;  // a whole UTF-8 character
  return out.substr(0, limit) + "...";
}

// Empty when `chat` renders two probe conversations as the tokenizer's own template does; else a
// warning naming both and the first prompt where they differ.
std::string compare_with_own(const ChatTemplate& chat, const TokenizerSide& side) {
  ChatTemplate own;
  own.kind = TemplateKind::kJinja;
  own.name = "tokenizer";
  own.source = side.source;
  try {
    own.jinja = parse_jinja(side.own, side.source, side.special_tokens);
  } catch (const Error&) {
    return {};  // the tokenizer's own template does not parse: nothing to compare with
  }
  const std::vector<std::vector<Message>> probes = {{{"user", "Q"}}, {{"system", "S"}, {"user", "Q"}}};
  for (const auto& messages : probes) {
    Example probe;
    probe.context = messages;
    std::string expected, configured;
    try {
      expected = render(own, {}, probe).prompt;
    } catch (const Error&) {
      continue;  // the tokenizer's own template refuses this conversation
    }
    try {
      configured = render(chat, {}, probe).prompt;
    } catch (const Error&) {
      continue;  // the configured template refuses this conversation (a system turn): compare the others
    }
    if (configured != expected) {
      return cat("data.chat_template = ", chat.name, " renders prompts unlike the tokenizer's own chat template (",
                 side.source, "): ", shown(configured), " where the tokenizer's gives ", shown(expected),
                 "; set data.chat_template = auto unless the model was trained with ", chat.name);
    }
  }
  return {};
}

}  // namespace

ChatTemplate ChatTemplate::resolve(const std::filesystem::path& tokenizer_dir, const std::string& name) {
  const TokenizerSide side = read_tokenizer_side(tokenizer_dir);
  ChatTemplate chat;
  chat.name = name;
  if (auto eos = side.special_tokens.find("eos_token"); eos != side.special_tokens.end()) chat.eos = eos->second;
  if (name == "auto") {
    if (side.own.empty()) {
      chat.name = "plain";
      chat.reason = "auto: " + (tokenizer_dir / "tokenizer_config.json").string() +
                    " has no chat_template (a base model?), so messages are joined by blank lines";
      return chat;
    }
    chat.kind = TemplateKind::kJinja;
    chat.name = "tokenizer";
    chat.source = side.source;
    chat.reason = "the tokenizer's own: the chat template of " + side.source + ", rendered as Jinja";
    chat.jinja = parse_jinja(side.own, side.source, side.special_tokens);
    return chat;
  }
  if (name.starts_with("file:")) {
    const std::filesystem::path file = name.substr(5);
    std::ifstream in(file, std::ios::binary);
    if (!in || std::filesystem::is_directory(file))
      throw ConfigError(cat("data.chat_template = ", name, ": cannot read ", file.string(),
                            " (give file:PATH of a Jinja chat template, e.g. file:my_template.jinja)"));
    chat.kind = TemplateKind::kJinja;
    chat.source = file.string();
    chat.reason = "a file: data.chat_template = " + name + ", rendered as Jinja";
    chat.jinja = parse_jinja(read_text(file), chat.source, side.special_tokens);
  } else if (name == "chatml") {
    chat.kind = TemplateKind::kChatML;
    if (chat.eos.empty()) chat.eos = "<|im_end|>";
    if (side.own.find(kQwenDefaultSystem) != std::string::npos) chat.default_system = kQwenDefaultSystem;
  } else if (name == "llama3") {
    chat.kind = TemplateKind::kLlama3;
    if (chat.eos.empty()) chat.eos = "<|eot_id|>";
    const auto bos = side.special_tokens.find("bos_token");
    chat.bos = bos == side.special_tokens.end() ? "<|begin_of_text|>" : bos->second;
    chat.llama31_dates = side.own.find("Cutting Knowledge Date") != std::string::npos;
  } else if (name == "plain") {
    chat.kind = TemplateKind::kPlain;
  } else {
    throw ConfigError("data.chat_template '" + name +
                      "' is unknown: the choices are auto (the tokenizer's own), chatml, llama3, plain and "
                      "file:PATH.jinja");
  }
  if (chat.reason.empty()) chat.reason = "configured: data.chat_template = " + name;
  if (!side.own.empty()) chat.warning = compare_with_own(chat, side);
  return chat;
}

}  // namespace curate::data
