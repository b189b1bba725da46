// Jinja chat templates (tokenizer_config.json's chat_template, or a user's .jinja file) parsed and
// rendered by minja (third_party/minja), the one place that includes it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace minja {
class TemplateNode;
}

namespace curate::data::detail {

struct JinjaMessage {
  std::string role;
  std::string content;
};

// A parsed template with the special tokens it reads; immutable once built, so one instance may
// render from many threads at once (each render has its own minja context).
class JinjaTemplate {
 public:
  // Parses `source` as transformers compiles it (trim_blocks, lstrip_blocks). `special_tokens` are
  // the variables transformers passes beside the messages (bos_token, eos_token, pad_token, ...).
  // Throws std::runtime_error with minja's message (row and column) for a syntax error.
  JinjaTemplate(const std::string& source, std::map<std::string, std::string> special_tokens);

  // What transformers' apply_chat_template(messages, tokenize=False, add_generation_prompt=...) returns:
  // the variables messages, add_generation_prompt, tools = documents = None, the special tokens, and
  // the globals raise_exception and strftime_now, which formats a fixed day, 26 Jul 2024 (Llama 3.1's
  // own default date_string), so a prompt never depends on the day of the run. Throws
  // std::runtime_error with minja's message (raise_exception's text, an undefined method, ...).
  std::string render(const std::vector<JinjaMessage>& messages, bool add_generation_prompt) const;

 private:
  std::shared_ptr<minja::TemplateNode> root_;
  std::map<std::string, std::string> special_tokens_;
};

}  // namespace curate::data::detail
