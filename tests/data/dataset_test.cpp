// Dataset formats, bad records, the record index, chat templates and prompt assembly.
#include "curate/data/dataset.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <zstd.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "curate/data/prompt.h"
#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::data {
namespace {

using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::tokenizer_dir;
using curate::testing::write_file;

const std::filesystem::path kDatasets = CURATE_TEST_SOURCE_DIR "/data/fixtures/datasets";

std::vector<Example> read_all(const std::filesystem::path& path, DataOptions options, std::ostream* report = nullptr,
                              std::map<std::string, int64_t>* skipped = nullptr) {
  DatasetReader reader(path, options, report);
  std::vector<Example> out;
  Example example;
  while (reader.next(example)) out.push_back(example);
  if (skipped) *skipped = reader.skipped();
  return out;
}

TEST(Dataset, ShareGptWithMarkersRolesAndSkips) {
  std::ostringstream report;
  std::map<std::string, int64_t> skipped;
  auto examples = read_all(kDatasets / "sharegpt.jsonl", {}, &report, &skipped);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].id, "1");
  EXPECT_EQ(examples[0].source, "math_a");
  EXPECT_EQ(examples[0].domain, "math");
  ASSERT_EQ(examples[0].context.size(), 1u);
  EXPECT_EQ(examples[0].context[0].role, "user");
  EXPECT_EQ(examples[0].reasoning, "\nAdd two and two.\n");
  EXPECT_EQ(examples[0].answer, "\n\n<|begin_of_solution|>4<|end_of_solution|>");
  EXPECT_EQ(examples[1].context[0].role, "system");
  EXPECT_EQ(examples[1].reasoning, "Primes have two divisors. 7 works.");  // no markers: all reasoning
  EXPECT_EQ(examples[1].domain, "default");
  EXPECT_EQ(examples[1].line, 2);
  EXPECT_EQ(skipped["empty_reasoning"], 1);
  EXPECT_EQ(skipped["unknown_role"], 1);
  EXPECT_EQ(skipped["missing_field"], 1);
  EXPECT_NE(report.str().find("4\tempty_reasoning\t"), std::string::npos)
      << report.str();  // blank line 3 is skipped silently
  EXPECT_NE(report.str().find("5\tunknown_role\tunknown role \"wizard\""), std::string::npos) << report.str();
  EXPECT_NE(report.str().find("6\tmissing_field\tthe conversation does not end with an assistant turn"),
            std::string::npos);
}

TEST(Dataset, M23kFlatFieldsWithIdField) {
  DataOptions options;
  options.id_field = "qid";
  std::map<std::string, int64_t> skipped;
  auto examples = read_all(kDatasets / "m23k.jsonl", options, nullptr, &skipped);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].id, "m-1");
  EXPECT_EQ(examples[0].context[0].content, "A 45-year-old man has chest pain. Next step?");
  EXPECT_EQ(examples[0].answer, "ECG");
  EXPECT_EQ(examples[1].source, "medmcqa");
  EXPECT_EQ(skipped["missing_field"], 1);
  EXPECT_EQ(skipped["malformed_json"], 1);
  EXPECT_EQ(skipped["not_an_object"], 1);
}

TEST(Dataset, OpenThoughtsResponseWithMarkers) {
  DataOptions options;
  options.prompt_field = "problem";
  auto examples = read_all(kDatasets / "openthoughts.jsonl", options);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].reasoning, "\n\nDivide both sides by 2, x = 3.\n\n");
  EXPECT_EQ(examples[0].source, "numina");
  EXPECT_EQ(examples[1].reasoning, "3! = 6 since 3*2*1 = 6.");
  options.think_begin = "<think>";  // other markers: the whole response is reasoning
  EXPECT_EQ(read_all(kDatasets / "openthoughts.jsonl", options)[0].reasoning.substr(0, 20), "<|begin_of_thought|>");
}

TEST(Dataset, PretokenizedIdsAndReasoningStart) {
  std::map<std::string, int64_t> skipped;
  auto examples = read_all(kDatasets / "pretokenized.jsonl", {}, nullptr, &skipped);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_TRUE(examples[0].pretokenized);
  EXPECT_EQ(examples[0].input_ids, (std::vector<TokenId>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(examples[0].reasoning_start, 2);
  EXPECT_EQ(examples[1].domain, "d");
  EXPECT_EQ(skipped["empty_reasoning"], 1);  // reasoning_start == size
  EXPECT_EQ(skipped["bad_token_ids"], 1);
}

TEST(Dataset, InvalidUtf8LongLinesStrictAndCompressed) {
  std::map<std::string, int64_t> skipped;
  auto examples = read_all(kDatasets / "invalid_utf8.jsonl", {}, nullptr, &skipped);
  ASSERT_EQ(examples.size(), 1u);
  EXPECT_EQ(skipped["invalid_utf8"], 1);

  DataOptions strict;
  strict.strict = true;
  EXPECT_THROW_WITH(read_all(kDatasets / "invalid_utf8.jsonl", strict), DataError,
                    "invalid_utf8.jsonl:1:", "invalid_utf8");

  ScratchDir dir;
  std::string text =
      read_file(kDatasets / "m23k.jsonl") + "{\"prompt\": \"" + std::string(5000, 'x') + "\", \"reasoning\": \"r\"}\n";
  DataOptions small;
  small.max_line_bytes = 1000;
  std::string compressed(ZSTD_compressBound(text.size()), '\0');
  compressed.resize(ZSTD_compress(compressed.data(), compressed.size(), text.data(), text.size(), 1));
  write_file(dir / "data.jsonl.zst", compressed);
  auto from_zstd = read_all(dir / "data.jsonl.zst", small, nullptr, &skipped);
  EXPECT_EQ(from_zstd.size(), 2u);
  EXPECT_EQ(skipped["line_too_long"], 1);
  EXPECT_THROW_WITH(read_all(dir / "missing.jsonl", {}), DataError, "missing.jsonl");
}

TEST(Dataset, UnknownFormatAndBadOptions) {
  ScratchDir dir;
  write_file(dir / "d.jsonl", "{\"question\": \"q\", \"thoughts\": \"t\"}\n");
  std::map<std::string, int64_t> skipped;
  EXPECT_TRUE(read_all(dir / "d.jsonl", {}, nullptr, &skipped).empty());
  EXPECT_EQ(skipped["unknown_format"], 1);
  DataOptions renamed;
  renamed.prompt_field = "question";
  renamed.reasoning_field = "thoughts";
  EXPECT_EQ(read_all(dir / "d.jsonl", renamed).size(), 1u);
  DataOptions bad;
  bad.format = "parquet";
  EXPECT_THROW_WITH(DatasetReader(dir / "d.jsonl", bad), ConfigError, "parquet");
}

TEST(RecordIndex, RandomAccessEqualsStreamingPlainAndCompressed) {
  ScratchDir dir;
  std::string text = read_file(kDatasets / "sharegpt.jsonl") + read_file(kDatasets / "m23k.jsonl");
  write_file(dir / "d.jsonl", text);
  std::string compressed(ZSTD_compressBound(text.size()), '\0');
  compressed.resize(ZSTD_compress(compressed.data(), compressed.size(), text.data(), text.size(), 1));
  write_file(dir / "d.jsonl.zst", compressed);
  for (const char* name : {"d.jsonl", "d.jsonl.zst"}) {
    RecordIndex index = load_or_build_index(dir / name, dir / (std::string(name) + ".index"));
    ASSERT_EQ(index.size(), 10u) << name;  // 11 lines, one blank
    EXPECT_EQ(index.lines[2], 4);          // line 3 is blank
    EXPECT_EQ(index.lines[3], 5);
    std::vector<std::size_t> wanted = {0, 1, 6, 7};
    auto records = read_records(dir / name, index, wanted, {});
    ASSERT_EQ(records.size(), 4u);
    EXPECT_EQ(records[0].example->reasoning, "\nAdd two and two.\n");
    EXPECT_EQ(records[1].example->line, 2);
    EXPECT_EQ(records[2].example->context[0].content, "Which vitamin deficiency causes scurvy?");
    EXPECT_FALSE(records[3].example.has_value());
    EXPECT_EQ(skip_reason_name(records[3].reason), "missing_field");
    // The cache is reused while the file is unchanged, and rebuilt when it changes.
    EXPECT_EQ(load_or_build_index(dir / name, dir / (std::string(name) + ".index")).offsets, index.offsets);
  }
  write_file(dir / "d.jsonl.index", "garbage");
  EXPECT_EQ(load_or_build_index(dir / "d.jsonl", dir / "d.jsonl.index").size(), 10u);
  write_file(dir / "d.jsonl", "{\"prompt\": \"p\", \"reasoning\": \"r\"}\n");
  EXPECT_EQ(load_or_build_index(dir / "d.jsonl", dir / "d.jsonl.index").size(), 1u);
}

TEST(RecordIndex, CarriesTheContentHashAndSeesAnEditWithItsMtimeSetBack) {
  ScratchDir dir;
  const std::string one = "{\"prompt\": \"p\", \"reasoning\": \"aaaa\"}\n";
  write_file(dir / "d.jsonl", one);
  struct stat first {};
  ASSERT_EQ(::stat((dir / "d.jsonl").c_str(), &first), 0);
  const RecordIndex index = load_or_build_index(dir / "d.jsonl", dir / "d.index");
  EXPECT_EQ(index.content, hash_file(dir / "d.jsonl"));
  EXPECT_EQ(load_or_build_index(dir / "d.jsonl", dir / "d.index").content, index.content);  // from the cache
  std::filesystem::copy_file(dir / "d.jsonl", dir / "copy.jsonl");
  EXPECT_EQ(load_or_build_index(dir / "copy.jsonl", dir / "copy.index").content, index.content);  // copies hash alike
  // Same size, another byte, mtime set back (until the timestamp clock has ticked, so the ctime moves).
  std::string two = one;
  two[33] = 'b';
  struct stat now {};
  do {
    write_file(dir / "d.jsonl", two);
    const struct timespec times[2] = {first.st_atim, first.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir / "d.jsonl").c_str(), times, 0), 0);
    ASSERT_EQ(::stat((dir / "d.jsonl").c_str(), &now), 0);
  } while (now.st_ctim.tv_sec == first.st_ctim.tv_sec && now.st_ctim.tv_nsec == first.st_ctim.tv_nsec);
  const RecordIndex again = load_or_build_index(dir / "d.jsonl", dir / "d.index");
  EXPECT_NE(again.content, index.content);
  EXPECT_EQ(again.content, hash_file(dir / "d.jsonl"));
}

TEST(ChatTemplate, NamedTemplatesMatchTransformersApplyChatTemplate) {
  std::istringstream lines(read_file(CURATE_TEST_SOURCE_DIR "/data/fixtures/chat_templates.jsonl"));
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    auto json = nlohmann::json::parse(line);
    // The built-in names keep their bytes (the same as transformers' for these two tokenizers), and
    // auto renders the tokenizer's own template as Jinja to the same bytes.
    const std::string tokenizer = json["tokenizer"].get<std::string>();
    const ChatTemplate named =
        ChatTemplate::resolve(tokenizer_dir(tokenizer), tokenizer == "qwen3" ? "chatml" : "llama3");
    const ChatTemplate own = ChatTemplate::resolve(tokenizer_dir(tokenizer), "auto");
    Example example;
    for (const auto& m : json["messages"]) example.context.push_back({m["role"], m["content"]});
    EXPECT_EQ(render(named, {}, example).prompt, json["prompt"].get<std::string>()) << line;
    EXPECT_EQ(render(own, {}, example).prompt, json["prompt"].get<std::string>()) << line;
    ++checked;
  }
  EXPECT_EQ(checked, 6);
  EXPECT_THROW_WITH(ChatTemplate::resolve(curate::testing::reference_dir(), "vicuna"), ConfigError, "vicuna");
}

TEST(ChatTemplate, SystemPromptAndResponsePrefixOptions) {
  ChatTemplate chat = ChatTemplate::resolve(tokenizer_dir("qwen3"), "chatml");
  Example example;
  example.context = {{"user", "Q"}};
  example.reasoning = "R";
  PromptOptions m23k;
  m23k.system_prompt = "You are a doctor.";
  m23k.generation_prompt = false;
  m23k.response_prefix = "<|im_start|>think\\n";
  EXPECT_EQ(render(chat, m23k, example).prompt,
            "<|im_start|>system\nYou are a doctor.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>think\n");
  ChatTemplate qwen25 = chat;
  qwen25.default_system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
  EXPECT_EQ(render(qwen25, {}, example).prompt.substr(0, 30), "<|im_start|>system\nYou are Qwe");
  PromptOptions none;
  none.system_prompt = "none";
  EXPECT_EQ(render(qwen25, none, example).prompt.substr(0, 16), "<|im_start|>user");
}

TEST(PromptLimit, ContextLengthMinusTheScoredWindowUnlessGiven) {
  EXPECT_EQ(resolve_max_prompt_tokens(0, 32768, 1000), 31768);  // a 2.1M-token prompt is far beyond it
  EXPECT_EQ(resolve_max_prompt_tokens(5000, 32768, 1000), 5000);
  EXPECT_EQ(resolve_max_prompt_tokens(0, 0, 1000), 0);    // no context length known: no limit
  EXPECT_EQ(resolve_max_prompt_tokens(0, 512, 1000), 1);  // a window longer than the context leaves no prompt
  EXPECT_EQ(skip_reason_name(SkipReason::kPromptTooLong), "prompt_too_long");
  DataOptions options;
  options.max_prompt_tokens = -1;
  EXPECT_THROW(validate(options), ConfigError);
}

TEST(Assemble, ReasoningStartsAfterThePromptTokens) {
  const Tokenizer tokenizer = Tokenizer::load(tokenizer_dir("qwen3"));
  ChatTemplate chat = ChatTemplate::resolve(tokenizer_dir("qwen3"), "auto");
  Tokenizer::Session session(tokenizer);
  Example example;
  example.context = {{"user", "What is 2+2?"}};
  example.reasoning = "Two plus two is four.";
  example.answer = "4";
  PromptOptions options;  // score.window = reasoning: only the reasoning text counts
  options.response_prefix = "<think>\\n";
  options.window = ScoreWindow::kReasoning;
  TokenizedExample t = assemble(example, chat, options, session);
  const std::string prompt = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n";
  EXPECT_EQ(t.ids, tokenizer.encode(prompt + example.reasoning));
  EXPECT_EQ(t.reasoning_start, static_cast<int64_t>(tokenizer.encode(prompt).size()));
  EXPECT_EQ(tokenizer.decode(std::span(t.ids).subspan(t.reasoning_start)), example.reasoning);
  // The tokenizer's own template: the answer and its eos_token follow the reasoning (as in the response window).
  EXPECT_EQ(t.full_length, static_cast<int64_t>(t.ids.size() + tokenizer.encode("4<|im_end|>").size()));

  // A merge across the boundary: the straddling token counts as reasoning.
  PromptOptions plain;
  plain.window = ScoreWindow::kReasoning;
  ChatTemplate raw;  // plain: "content\n\n" then the reasoning
  example.context = {{"user", "x"}};
  example.reasoning = "\n\nabc";
  TokenizedExample merged = assemble(example, raw, plain, session);
  auto prompt_ids = tokenizer.encode("x\n\n");
  EXPECT_LT(merged.reasoning_start, static_cast<int64_t>(prompt_ids.size()));
  EXPECT_EQ(merged.ids, tokenizer.encode("x\n\n\n\nabc"));

  Example pre;
  pre.pretokenized = true;
  pre.input_ids = {5, 6, 7};
  pre.reasoning_start = 1;
  TokenizedExample same = assemble(pre, chat, options, session);
  EXPECT_EQ(same.ids, pre.input_ids);
  EXPECT_EQ(same.full_length, 3);
}

TEST(Assemble, ResponseWindowIsTheReferences) {
  // score.window = response (default): the prompt with the generation prompt, then the whole assistant
  // text and EOS, tokenized apart; the scored tokens start right after the prompt's tokens (TEMP's
  // p_len) and include the think header, the answer and EOS. data.response_prefix does not apply.
  const Tokenizer tokenizer = Tokenizer::load(tokenizer_dir("qwen3"));
  ChatTemplate chat = ChatTemplate::resolve(tokenizer_dir("qwen3"), "auto");
  EXPECT_EQ(chat.eos, "<|im_end|>");
  Tokenizer::Session session(tokenizer);
  Example example;
  example.context = {{"user", "What is 2+2?"}};
  example.response = "<think>\nTwo plus two is four.\n</think>\n\n4";
  example.reasoning = "Two plus two is four.\n";
  example.answer = "\n\n4";
  PromptOptions options;
  options.response_prefix = "<think>\\n";
  const TokenizedExample t = assemble(example, chat, options, session);
  const std::string prompt = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(t.window, ScoreWindow::kResponse);
  EXPECT_EQ(t.ids, tokenizer.encode(prompt + example.response + "<|im_end|>"));
  EXPECT_EQ(t.reasoning_start, static_cast<int64_t>(tokenizer.encode(prompt).size()));
  EXPECT_EQ(tokenizer.decode(std::span(t.ids).subspan(t.reasoning_start)), example.response + "<|im_end|>");
  EXPECT_EQ(t.full_length, static_cast<int64_t>(t.ids.size()));
  // One call gives both windows; the reasoning one is assemble's with score.window = reasoning.
  const ExampleWindows both = assemble_windows(example, chat, options, session);
  EXPECT_EQ(both.response.ids, t.ids);
  EXPECT_EQ(both.response.reasoning_start, t.reasoning_start);
  options.window = ScoreWindow::kReasoning;
  const TokenizedExample r = assemble(example, chat, options, session);
  EXPECT_EQ(both.reasoning.window, ScoreWindow::kReasoning);
  EXPECT_EQ(both.reasoning.ids, r.ids);
  EXPECT_EQ(both.reasoning.reasoning_start, r.reasoning_start);
  EXPECT_EQ(tokenizer.decode(std::span(r.ids).subspan(r.reasoning_start)), example.reasoning);
  // Flat records without the assistant text: response_prefix + reasoning + answer.
  example.response.clear();
  options.window = ScoreWindow::kResponse;
  EXPECT_EQ(assemble(example, chat, options, session).ids,
            tokenizer.encode(prompt + "<think>\n" + example.reasoning + example.answer + "<|im_end|>"));
  EXPECT_THROW_WITH(parse_score_window("everything"), ConfigError, "score.window");
}

TEST(Dataset, OpenAiMessagesAreConversations) {
  DataOptions options;
  auto r = parse_record(
      R"({"messages": [{"role": "system", "content": "Be careful."}, {"role": "user", "content": "Is 7 prime?"},)"
      R"( {"role": "assistant", "content": "<think>no divisors</think>Yes"}], "source": "qa"})",
      5, [] {
        DataOptions o;
        o.think_begin = "<think>";
        o.think_end = "</think>";
        return o;
      }());
  ASSERT_TRUE(r.example) << r.detail;
  ASSERT_EQ(r.example->context.size(), 2u);
  EXPECT_EQ(r.example->context[0].role, "system");
  EXPECT_EQ(r.example->context[1].content, "Is 7 prime?");
  EXPECT_EQ(r.example->reasoning, "no divisors");
  EXPECT_EQ(r.example->answer, "Yes");
  EXPECT_EQ(r.example->source, "qa");
  options.messages_field = "turns";  // renamed: a "messages" file is then of unknown format
  r = parse_record(R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})", 1,
                   options);
  ASSERT_FALSE(r.example);
  EXPECT_EQ(r.reason, SkipReason::kUnknownFormat);
}

}  // namespace
}  // namespace curate::data
