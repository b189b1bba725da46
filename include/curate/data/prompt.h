// Prompt assembly: an Example rendered with the model's chat template and tokenized, giving the
// token sequence up to the end of the reasoning and the index of the first reasoning token.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "curate/data/record.h"
#include "curate/data/tokenizer.h"

namespace curate::data {

// Which tokens the passes score (score.window).
enum class ScoreWindow {
  kResponse,   // the reference's (TEMP): the prompt with the generation prompt, then the whole assistant
               // text and the tokenizer's EOS; the response tokens are scored from the first (think
               // header, reasoning, answer and EOS as far as the pass's token count reaches)
  kReasoning,  // only the reasoning text, after data.response_prefix (curate_dist's earlier window)
};
inline constexpr std::pair<const char*, ScoreWindow> kScoreWindows[] = {{"response", ScoreWindow::kResponse},
                                                                        {"reasoning", ScoreWindow::kReasoning}};

// Text options understand the escapes \n, \t, \r and \\.
struct PromptOptions {
  std::string chat_template = "auto";           // auto (the tokenizer's own), chatml, llama3, plain or file:PATH
  std::string system_prompt = "auto";           // auto: the template's default system message if any; none; or the text
  bool generation_prompt = true;                // emit the assistant header before the response
  std::string response_prefix;                  // text between the header and the reasoning ("<think>\n"; M23K:
                                                // "<|im_start|>think\n" with generation_prompt = false)
  ScoreWindow window = ScoreWindow::kResponse;  // score.window
};

// Throws ConfigError naming score.window for an unknown name (the option table parses it the same way).
ScoreWindow parse_score_window(const std::string& name);
const char* score_window_name(ScoreWindow window);

namespace detail {
class JinjaTemplate;
}

enum class TemplateKind { kChatML, kLlama3, kPlain, kJinja };

struct ChatTemplate {
  TemplateKind kind = TemplateKind::kPlain;
  std::string name = "plain";  // what renders: "tokenizer" (its own Jinja template), chatml, llama3, plain, file:PATH
  std::string source;          // kJinja: where the template came from (tokenizer_config.json, chat_template.jinja
                               // or the user's file); errors name it
  std::string bos;             // chatml/llama3: emitted once at the start (Llama 3: <|begin_of_text|>)
  std::string default_system;  // Qwen2.5's "You are Qwen, ..." when its template injects one (chatml)
  bool llama31_dates = false;  // Llama 3.1 templates open the system turn with knowledge/today dates (llama3)
  std::string eos;             // eos_token of tokenizer_config.json; else <|im_end|> (ChatML), <|eot_id|> (Llama 3)
  std::string reason;          // why this template: "the tokenizer's own: the chat_template of ...",
                               // "configured: data.chat_template = llama3", "a file: data.chat_template = file:..."
  std::string warning;         // a configured template or file that renders prompts unlike the tokenizer's own,
                               // naming both (check, --plan and rank 0 print it); empty otherwise
  std::shared_ptr<const detail::JinjaTemplate> jinja;  // kJinja: the parsed template, shared by copies

  // From the tokenizer folder and `name` (data.chat_template):
  //   auto: the tokenizer's own template (chat_template.jinja, else tokenizer_config.json's chat_template, a
  //     string or the list of named templates, of which "default"), rendered as Jinja; a folder without one
  //     (a base model's) is plain, with the reason saying so;
  //   chatml, llama3, plain: the built-in renderings; file:PATH: the user's Jinja template.
  // The special tokens (bos_token, eos_token, ..., strings or AddedToken objects) come from
  // tokenizer_config.json. Throws ConfigError for an unknown name, an unreadable file or a template minja
  // cannot parse (naming the template's source and minja's message).
  static ChatTemplate resolve(const std::filesystem::path& tokenizer_dir, const std::string& name);
};

struct Rendered {
  std::string prompt;  // everything before the first reasoning character
  std::string suffix;  // what follows the reasoning (answer, end of turn); counted, never scored
};

// The prompt side of `example` (its context: system, user and earlier assistant turns) in `chat`'s
// format, then data.response_prefix. A Jinja template gets add_generation_prompt =
// options.generation_prompt and a system message only when data.system_prompt is a text (auto and
// none leave the template's own default). Throws DataError naming chat.source, the record's line and
// minja's message when a Jinja template fails (raise_exception, an undefined method, ...).
// Thread-safe.
Rendered render(const ChatTemplate& chat, const PromptOptions& options, const Example& example);

struct TokenizedExample {
  ScoreWindow window = ScoreWindow::kResponse;
  std::vector<TokenId> ids;     // prompt + the window's tokens (response: up to and including EOS)
  int64_t reasoning_start = 0;  // ids[reasoning_start] is the first scored token: the first response token
                                // (response window) or the first reasoning token (reasoning window)
  int64_t full_length = 0;      // tokens of the whole example, answer included
};

// Tokenizes one example for options.window (parse_score_window).
//   response: prompt = the rendered prompt without data.response_prefix; full text = prompt +
//     Example::response (when empty: response_prefix + reasoning + answer) + chat.eos. Both are
//     tokenized, ids = the full text's tokens and reasoning_start = the prompt's token count (the
//     reference's p_len: nothing checks that the two tokenizations agree at the boundary).
//   reasoning: prompt + reasoning tokenized as one text, so merges across the boundary are those
//     training sees; a token straddling the boundary counts as reasoning.
// Pretokenized examples are returned as stored whatever the window.
TokenizedExample assemble(const Example& example, const ChatTemplate& chat, const PromptOptions& options,
                          Tokenizer::Session& session);

// The longest prompt (tokens before the first scored token) a record may have: `option`
// (data.max_prompt_tokens) when positive; else `context_length` (config.json max_position_embeddings)
// minus `scored_tokens`, at least 1; 0 (no limit) when both are 0. A longer prompt would make the
// model run over more positions than it was trained for, and cost time quadratic in its length.
int64_t resolve_max_prompt_tokens(int64_t option, int64_t context_length, int64_t scored_tokens);

// Both windows of one example in one call (previews: curate_tool prepare and check show which tokens
// count); `response` and `reasoning` are what assemble gives for each window.
struct ExampleWindows {
  TokenizedExample response;
  TokenizedExample reasoning;
};
ExampleWindows assemble_windows(const Example& example, const ChatTemplate& chat, const PromptOptions& options,
                                Tokenizer::Session& session);

}  // namespace curate::data
