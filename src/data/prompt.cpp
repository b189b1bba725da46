#include "curate/data/prompt.h"

#include <algorithm>

#include "curate/util/error.h"
#include "curate/util/strings.h"
#include "detail/jinja.h"

namespace curate::data {
namespace {

std::string trim(const std::string& text) {  // Jinja's |trim: Python str.strip()
  const char* space = " \t\n\r\f\v";
  const auto begin = text.find_first_not_of(space);
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(space) - begin + 1);
}

}  // namespace

Rendered render(const ChatTemplate& chat, const PromptOptions& options, const Example& example) {
  std::vector<Message> messages = example.context;
  const bool has_system = !messages.empty() && messages.front().role == "system";
  const bool template_default = chat.kind == TemplateKind::kJinja && options.system_prompt == "auto";
  if (!has_system && options.system_prompt != "none" && !template_default) {
    std::string system = options.system_prompt == "auto" ? chat.default_system : unescape(options.system_prompt);
    if (!system.empty() || (chat.kind == TemplateKind::kLlama3 && chat.llama31_dates)) {
      messages.insert(messages.begin(), Message{"system", system});
    }
  }
  Rendered out;
  out.prompt = chat.bos;
  switch (chat.kind) {
    case TemplateKind::kJinja: {
      std::vector<detail::JinjaMessage> list;
      for (const auto& m : messages) list.push_back({m.role, m.content});
      try {
        out.prompt = chat.jinja->render(list, options.generation_prompt);
      } catch (const std::exception& e) {
        throw DataError(cat("line ", example.line, ": the chat template of ", chat.source, " failed: ", e.what(),
                            "\nfix or drop the record, or set data.chat_template (file:PATH.jinja, chatml, llama3 "
                            "or plain)"));
      }
      out.suffix = example.answer + chat.eos;
      break;
    }
    case TemplateKind::kChatML:
      for (const auto& m : messages) out.prompt += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (options.generation_prompt) out.prompt += "<|im_start|>assistant\n";
      out.suffix = example.answer + "<|im_end|>\n";
      break;
    case TemplateKind::kLlama3:
      for (const auto& m : messages) {
        std::string content = trim(m.content);
        if (m.role == "system" && chat.llama31_dates) {
          content = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" + content;
        }
        out.prompt += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + content + "<|eot_id|>";
      }
      if (options.generation_prompt) out.prompt += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      out.suffix = example.answer + "<|eot_id|>";
      break;
    case TemplateKind::kPlain:
      for (const auto& m : messages) out.prompt += m.content + "\n\n";
      out.suffix = example.answer;
      break;
  }
  out.prompt += unescape(options.response_prefix);
  return out;
}

ScoreWindow parse_score_window(const std::string& name) {
  if (name == "response") return ScoreWindow::kResponse;
  if (name == "reasoning") return ScoreWindow::kReasoning;
  throw ConfigError("score.window = '" + name +
                    "' is unknown: the choices are response (the reference's: the whole "
                    "assistant text and EOS) and reasoning (the text between the reasoning markers)");
}

const char* score_window_name(ScoreWindow window) {
  return window == ScoreWindow::kResponse ? "response" : "reasoning";
}

namespace {

TokenizedExample pretokenized(const Example& example, ScoreWindow window) {
  TokenizedExample out;
  out.window = window;
  out.ids = example.input_ids;
  out.reasoning_start = example.reasoning_start;
  out.full_length = static_cast<int64_t>(out.ids.size());
  return out;
}

// The reference's window: prompt (no response prefix) and prompt + response + EOS tokenized apart.
TokenizedExample response_window(const Example& example, const ChatTemplate& chat, const PromptOptions& options,
                                 Tokenizer::Session& session) {
  PromptOptions without_prefix = options;
  without_prefix.response_prefix.clear();
  const Rendered rendered = render(chat, without_prefix, example);
  const std::string response = example.response.empty()
                                   ? unescape(options.response_prefix) + example.reasoning + example.answer
                                   : example.response;
  TokenizedExample out;
  out.window = ScoreWindow::kResponse;
  std::vector<TokenId> prompt_ids;
  session.encode(rendered.prompt, prompt_ids);
  session.encode(rendered.prompt + response + chat.eos, out.ids);
  out.reasoning_start = std::min(static_cast<int64_t>(prompt_ids.size()), static_cast<int64_t>(out.ids.size()));
  out.full_length = static_cast<int64_t>(out.ids.size());
  return out;
}

TokenizedExample reasoning_window(const Example& example, const ChatTemplate& chat, const PromptOptions& options,
                                  Tokenizer::Session& session) {
  TokenizedExample out;
  out.window = ScoreWindow::kReasoning;
  const Rendered rendered = render(chat, options, example);
  std::vector<TokenId> prompt_ids;
  session.encode(rendered.prompt, prompt_ids);
  session.encode(rendered.prompt + example.reasoning, out.ids);
  const auto common = std::mismatch(prompt_ids.begin(), prompt_ids.end(), out.ids.begin(), out.ids.end());
  out.reasoning_start = common.first - prompt_ids.begin();
  std::vector<TokenId> suffix_ids;
  session.encode(rendered.suffix, suffix_ids);
  out.full_length = static_cast<int64_t>(out.ids.size() + suffix_ids.size());
  return out;
}

}  // namespace

TokenizedExample assemble(const Example& example, const ChatTemplate& chat, const PromptOptions& options,
                          Tokenizer::Session& session) {
  const ScoreWindow window = options.window;
  if (example.pretokenized) return pretokenized(example, window);
  return window == ScoreWindow::kResponse ? response_window(example, chat, options, session)
                                          : reasoning_window(example, chat, options, session);
}

ExampleWindows assemble_windows(const Example& example, const ChatTemplate& chat, const PromptOptions& options,
                                Tokenizer::Session& session) {
  if (example.pretokenized)
    return {pretokenized(example, ScoreWindow::kResponse), pretokenized(example, ScoreWindow::kReasoning)};
  return {response_window(example, chat, options, session), reasoning_window(example, chat, options, session)};
}

int64_t resolve_max_prompt_tokens(int64_t option, int64_t context_length, int64_t scored_tokens) {
  if (option > 0) return option;
  if (context_length <= 0) return 0;
  return std::max<int64_t>(1, context_length - std::max<int64_t>(0, scored_tokens));
}

}  // namespace curate::data
