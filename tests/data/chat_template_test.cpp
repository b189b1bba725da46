// Chat templates rendered exactly: every template of fixtures/chat_templates (made by
// make_chat_template_fixtures.py) against what transformers' apply_chat_template gave, byte for byte.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "curate/data/prompt.h"
#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::data {
namespace {

using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::write_file;

const std::filesystem::path kTemplates = CURATE_TEST_SOURCE_DIR "/data/fixtures/chat_templates";

TEST(ChatTemplate, EveryTemplateRendersAsTransformersApplyChatTemplate) {
  std::istringstream lines(read_file(kTemplates / "expected.jsonl"));
  std::string line;
  int64_t number = 0, rendered = 0, refused = 0;
  std::map<std::string, ChatTemplate> templates;
  while (std::getline(lines, line)) {
    const auto json = nlohmann::json::parse(line);
    const std::string name = json["template"].get<std::string>();
    if (!templates.count(name)) templates[name] = ChatTemplate::resolve(kTemplates / name, "auto");  // parsed once
    const ChatTemplate& chat = templates[name];
    ASSERT_EQ(chat.kind, TemplateKind::kJinja) << name;
    Example example;
    example.line = ++number;
    for (const auto& m : json["messages"]) example.context.push_back({m["role"], m["content"]});
    PromptOptions options;
    options.generation_prompt = json["add_generation_prompt"].get<bool>();
    if (json.contains("error")) {  // the template's own refusal (Gemma 2 has no system role)
      std::string message = json["error"].get<std::string>();
      message = message.substr(message.find(": ") + 2);
      EXPECT_THROW_WITH(render(chat, options, example), DataError, "line " + std::to_string(number) + ": ", chat.source,
                        message);
      ++refused;
    } else {
      EXPECT_EQ(render(chat, options, example).prompt, json["prompt"].get<std::string>()) << name << ": " << line;
      ++rendered;
    }
  }
  EXPECT_EQ(templates.size(), 18u);
  EXPECT_EQ(rendered, 210);
  EXPECT_EQ(refused, 6);
}

TEST(ChatTemplate, OneTemplateRendersFromManyThreadsAtOnce) {
  // prepare and check render with data threads sharing one ChatTemplate: the same bytes from each.
  const ChatTemplate chat = ChatTemplate::resolve(kTemplates / "qwen3_0_6b", "auto");
  Example example;
  example.context = {{"system", "S"}, {"user", "Q"}, {"assistant", "<think>\nR\n</think>\n\nA"}, {"user", "Q2"}};
  const std::string expected = render(chat, {}, example).prompt;
  std::vector<int> same(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < same.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) same[t] += render(chat, {}, example).prompt == expected;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(same, std::vector<int>(4, 50));
}

TEST(ChatTemplate, TokenizerFolderForms) {
  // A list of named templates: "default"; chat_template.jinja beside tokenizer_config.json; an
  // AddedToken object as eos_token.
  const ChatTemplate list = ChatTemplate::resolve(kTemplates / "qwen2_5", "auto");
  EXPECT_EQ(list.source, (kTemplates / "qwen2_5" / "tokenizer_config.json").string());
  const ChatTemplate file = ChatTemplate::resolve(kTemplates / "phi3_5", "auto");
  EXPECT_EQ(file.source, (kTemplates / "phi3_5" / "chat_template.jinja").string());
  EXPECT_EQ(file.eos, "<|endoftext|>");
  EXPECT_EQ(ChatTemplate::resolve(kTemplates / "qwen3_0_6b", "auto").eos, "<|im_end|>");

  ScratchDir dir;
  write_file(dir / "tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "x"}]})");
  EXPECT_THROW_WITH(ChatTemplate::resolve(dir.path(), "auto"), ConfigError, "no template named \"default\"",
                    "\"tool_use\"");
}

TEST(ChatTemplate, SystemPromptTextIsAMessageAutoLeavesTheTemplatesDefault) {
  const ChatTemplate qwen25 = ChatTemplate::resolve(kTemplates / "qwen2_5", "auto");
  Example example;
  example.context = {{"user", "Q"}};
  PromptOptions options;  // system_prompt = auto: the template's own default system message
  EXPECT_EQ(render(qwen25, options, example).prompt,
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n");
  options.system_prompt = "You are a doctor.";
  options.response_prefix = "<think>\\n";
  EXPECT_EQ(render(qwen25, options, example).prompt,
            "<|im_start|>system\nYou are a doctor.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
            "<think>\n");
}

}  // namespace
}  // namespace curate::data
