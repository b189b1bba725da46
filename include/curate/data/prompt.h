// Prompt assembly: an Example rendered with the model's chat template and tokenized, giving the
// token sequence up to the end of the reasoning and the index of the first reasoning token.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "curate/data/record.h"
#include "curate/data/tokenizer.h"

namespace curate::data {

// Text options understand the escapes \n, \t, \r and \\.
struct PromptOptions {
  std::string chat_template = "auto";   // auto (from tokenizer_config.json), chatml, llama3 or plain
  std::string system_prompt = "auto";   // auto: the template's default system message if any; none; or the text
  bool generation_prompt = true;        // emit the assistant header before the response
  std::string response_prefix;          // text between the header and the reasoning ("<think>\n"; M23K:
                                        // "<|im_start|>think\n" with generation_prompt = false)
};

enum class TemplateKind { kChatML, kLlama3, kPlain };

struct ChatTemplate {
  TemplateKind kind = TemplateKind::kPlain;
  std::string bos;             // emitted once at the start (Llama 3: <|begin_of_text|>)
  std::string default_system;  // Qwen2.5's "You are Qwen, ..." when its template injects one
  bool llama31_dates = false;  // Llama 3.1 templates open the system turn with knowledge/today dates

  // From `<dir>/tokenizer_config.json` (chat_template, bos_token) and `options.chat_template`.
  // Throws ConfigError for an unknown template name.
  static ChatTemplate resolve(const std::filesystem::path& tokenizer_dir, const std::string& name);
};

struct Rendered {
  std::string prompt;  // everything before the first reasoning character
  std::string suffix;  // what follows the reasoning (answer, end of turn); counted, never scored
};

Rendered render(const ChatTemplate& chat, const PromptOptions& options, const Example& example);

struct TokenizedExample {
  std::vector<TokenId> ids;     // prompt + reasoning tokens
  int64_t reasoning_start = 0;  // ids[reasoning_start] is the first reasoning token
  int64_t full_length = 0;      // tokens of the whole example, answer included
};

// Tokenizes the rendered example as one text, so merges across the prompt/reasoning boundary are
// those training sees; a token straddling the boundary counts as reasoning.
TokenizedExample assemble(const Example& example, const ChatTemplate& chat, const PromptOptions& options,
                          Tokenizer::Session& session);

}  // namespace curate::data
