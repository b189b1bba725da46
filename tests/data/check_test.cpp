// The input check (`curate_tool check`, the start of every job): formats, skip reasons, templates,
// markers, zero usable records and the preview of the scored window.
#include "curate/data/check.h"

#include <gtest/gtest.h>

#include <zlib.h>
#include <zstd.h>
#include <algorithm>

#include <nlohmann/json.hpp>
#include <sstream>

#include "curate/data/tokenizer.h"
#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::data {
namespace {

using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::tokenizer_dir;
using curate::testing::write_file;

const std::filesystem::path kFixtures = CURATE_TEST_SOURCE_DIR "/data/fixtures";

CheckOptions on(const std::filesystem::path& input, const std::filesystem::path& tokenizer = {}) {
  CheckOptions options;
  options.input = input;
  options.tokenizer = tokenizer;
  options.threads = 1;
  return options;
}

// A tokenizer folder: the byte-level fixture plus a tokenizer_config.json holding `chat_template`.
std::filesystem::path tokenizer_with_template(const ScratchDir& dir, const std::string& chat_template) {
  const auto folder = dir / "tok";
  std::filesystem::create_directories(folder);
  write_file(folder / "tokenizer.json", read_file(kFixtures / "byte_level/tokenizer.json"));
  write_file(folder / "tokenizer_config.json", nlohmann::json{{"chat_template", chat_template}}.dump());
  return folder;
}

bool has_line(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& line : lines) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

const std::string kShareGpt =
    R"({"conversations": [{"from": "human", "value": "Q1"}, {"from": "gpt", "value": "R1"}]})";
const std::string kMessages =
    R"({"messages": [{"role": "user", "content": "Q2"}, {"role": "assistant", "content": "R2"}]})";
const std::string kFlat = R"({"prompt": "Q3", "reasoning": "R3", "distilled_answer_string": "A3"})";
const std::string kPretokenized = R"({"input_ids": [1, 2, 3, 4], "reasoning_start": 2})";

TEST(Check, CountsEachRecordFormat) {
  ScratchDir dir;
  write_file(dir / "d.jsonl",
             kShareGpt + "\n" + kMessages + "\n" + kMessages + "\n" + kFlat + "\n\n" + kPretokenized + "\n");
  const CheckReport r = check_dataset(on(dir / "d.jsonl"));
  EXPECT_EQ(r.file_kind, "JSON Lines");
  EXPECT_EQ(r.records, 5);  // the blank line is no record
  EXPECT_EQ(r.usable, 5);
  EXPECT_EQ(r.formats,
            (std::map<std::string, int64_t>{{"flat", 1}, {"messages", 2}, {"pretokenized", 1}, {"sharegpt", 1}}));
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_TRUE(r.all_read);
}

TEST(Check, ReadsGzipAndZstdLines) {
  ScratchDir dir;
  const std::string text = kShareGpt + "\n" + kFlat + "\n";
  gzFile gz = gzopen((dir / "d.jsonl.gz").c_str(), "wb");
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  std::string zst(ZSTD_compressBound(text.size()), '\0');
  zst.resize(ZSTD_compress(zst.data(), zst.size(), text.data(), text.size(), 3));
  write_file(dir / "d.jsonl.zst", zst);
  const CheckReport g = check_dataset(on(dir / "d.jsonl.gz"));
  EXPECT_EQ(g.file_kind, "JSON Lines (gzip)");
  EXPECT_EQ(g.usable, 2);
  const CheckReport z = check_dataset(on(dir / "d.jsonl.zst"));
  EXPECT_EQ(z.file_kind, "JSON Lines (zstd)");
  EXPECT_EQ(z.usable, 2);
}

TEST(Check, JsonArrayAndParquetFilesAreReadAndDetectionsShown) {
  ScratchDir dir;
  write_file(dir / "a.json", "\xEF\xBB\xBF  \n[\n  " + kFlat + ",\n  " + kFlat + "\n]\n");
  const CheckReport a = check_dataset(on(dir / "a.json"));
  EXPECT_EQ(a.file_kind, "JSON array");
  EXPECT_EQ(a.usable, 2);
#ifndef CURATE_TEST_HAVE_ARROW
  EXPECT_THROW_WITH(check_dataset(on(kFixtures / "formats/think.parquet")), DataError, "rebuild with pyarrow");
  return;  // the rest reads Parquet
#endif
  const CheckReport p = check_dataset(on(kFixtures / "formats/think.parquet"));
  EXPECT_EQ(p.file_kind, "Parquet");
  EXPECT_EQ(p.usable, 12);
  EXPECT_EQ(p.marker_records, 12);  // auto found <think>
  const std::vector<std::string> lines = describe(p, on(kFixtures / "formats/think.parquet"));
  const auto has = [&](const std::string& text) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != l.npos; });
  };
  EXPECT_TRUE(has("detected: data.think_begin/think_end = auto: <think> ... </think> (in 12 of the first 12 records)"));
  EXPECT_TRUE(has("detected: data.id_field = auto: \"id\" (all 12 records have one, all distinct)"));
  EXPECT_TRUE(has("reasoning markers '<think>' ... '</think>': found in 12 of 12"));
  write_file(dir / "p.parquet", std::string("PAR1\x15\x04", 6) + std::string(100, '\0'));
  EXPECT_THROW_WITH(check_dataset(on(dir / "p.parquet")), DataError, "p.parquet");
  EXPECT_THROW_WITH(check_dataset(on(dir / "missing.jsonl")), DataError, "missing.jsonl", "data.path");
}

TEST(Check, ACountBudgetAboveTheUsableRecordsIsRefused) {
  CheckOptions options = on(kFixtures / "formats/think.jsonl");
  const CheckReport report = check_dataset(options);
  options.budget = 12;
  EXPECT_NO_THROW(require_budget(report, options));
  options.budget = 13;
  EXPECT_THROW_WITH(require_budget(report, options), ConfigError, "select.budget = 13 is above the 12 usable",
                    "select.budget = 10%");
  CheckReport partial = report;
  partial.all_read = false;  // the first records only: nothing is known of the rest
  EXPECT_NO_THROW(require_budget(partial, options));
}

TEST(Check, EverySkipReasonIsCountedWithItsFirstLine) {
  ScratchDir dir;
  const std::vector<std::string> lines = {
      kFlat,                                                                  // 1: usable
      "{not json",                                                            // 2: malformed_json
      "[1, 2]",                                                               // 3: not_an_object
      R"({"prompt": "Q"})",                                                   // 4: missing_field
      R"({"prompt": "Q", "reasoning": "  \n"})",                              // 5: empty_reasoning
      "{\"prompt\": \"\xFF\", \"reasoning\": \"R\"}",                         // 6: invalid_utf8
      R"({"prompt": "Q", "reasoning": ")" + std::string(300, 'x') + R"("})",  // 7: line_too_long
      R"({"conversations": [{"from": "robot", "value": "x"}]})",              // 8: unknown_role
      R"({"input_ids": [1, -2, 3], "reasoning_start": 1})",                   // 9: bad_token_ids
      R"({"text": "plain text"})",                                            // 10: unknown_format
      R"({"prompt": "Q"})",                                                   // 11: missing_field again
  };
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  write_file(dir / "d.jsonl", text);
  CheckOptions options = on(dir / "d.jsonl");
  options.data.max_line_bytes = 200;
  const CheckReport r = check_dataset(options);
  EXPECT_EQ(r.records, 11);
  EXPECT_EQ(r.usable, 1);
  const std::map<std::string, int64_t> first_lines = {
      {"malformed_json", 2}, {"not_an_object", 3}, {"missing_field", 4}, {"empty_reasoning", 5}, {"invalid_utf8", 6},
      {"line_too_long", 7},  {"unknown_role", 8},  {"bad_token_ids", 9}, {"unknown_format", 10}};
  ASSERT_EQ(r.skipped.size(), first_lines.size());
  for (const auto& [reason, line] : first_lines) {
    ASSERT_TRUE(r.skipped.count(reason)) << reason;
    EXPECT_EQ(r.skipped.at(reason).first_line, line) << reason;
    EXPECT_EQ(r.skipped.at(reason).count, reason == "missing_field" ? 2 : 1) << reason;
  }
  EXPECT_EQ(r.skipped.at("missing_field").first_detail, "missing field \"reasoning\" (or \"response\")");
  EXPECT_EQ(r.top_skips(1),
            std::vector<std::string>{"missing_field 2 (first: line 4, missing field \"reasoning\" (or \"response\"))"});
  const auto described = describe(r, options);
  EXPECT_TRUE(has_line(described, "11 records, 1 usable, 10 skipped")) << described[0];
  EXPECT_TRUE(has_line(described, "skipped: unknown_role 1 (first: line 8, unknown role \"robot\""));
  EXPECT_NO_THROW(require_usable(r, options));

  options.max_records = 3;  // the job checks only the first data.check_records
  const CheckReport first = check_dataset(options);
  EXPECT_EQ(first.records, 3);
  EXPECT_FALSE(first.all_read);
  EXPECT_EQ(first.skipped.size(), 2u);
}

TEST(Check, ZeroUsableRecordsNameTheTopReasons) {
  ScratchDir dir;
  write_file(dir / "d.jsonl", R"({"text": "a"})"
                              "\n"
                              R"({"text": "b"})"
                              "\n{broken\n");
  const CheckOptions options = on(dir / "d.jsonl");
  const CheckReport r = check_dataset(options);
  EXPECT_EQ(r.usable, 0);
  EXPECT_THROW_WITH(require_usable(r, options), DataError, "no usable record", "3 read",
                    "unknown_format 2 (first: line 1", "malformed_json 1 (first: line 3", "data.format");
  std::ostringstream out;
  try {
    run_check(options, out);
    ADD_FAILURE() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_EQ(e.exit_code(), kExitData);
  }
  EXPECT_NE(out.str().find("skipped: unknown_format 2"), std::string::npos) << out.str();  // printed before the error
}

TEST(Check, MarkersThatNeverMatchWarnAndSuggestTheOnesFound) {
  ScratchDir dir;
  const std::string think =
      R"({"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "<think>\nR\n</think>\n\nA"}]})";
  write_file(dir / "d.jsonl", think + "\n" + think + "\n" + kFlat + "\n");
  CheckOptions options = on(dir / "d.jsonl");
  // The default, auto: the markers the records use, said in a `detected:` line; no warning to miss.
  CheckReport r = check_dataset(options);
  EXPECT_EQ(r.marker_records, 2);
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_TRUE(has_line(describe(r, options), "detected: data.think_begin/think_end = auto: <think> ... </think>"));
  EXPECT_TRUE(has_line(describe(r, options), "reasoning markers '<think>' ... '</think>': found in 2 of 2"));
  // Markers set to ones the records do not use: a warning naming the ones they do.
  options.data.think_begin = "<|begin_of_thought|>";
  options.data.think_end = "<|end_of_thought|>";
  r = check_dataset(options);
  EXPECT_EQ(r.marker_candidates, 2);  // the flat record has a reasoning field: markers do not apply
  EXPECT_EQ(r.marker_records, 0);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("occurs in none of the 2 records"), std::string::npos) << r.warnings[0];
  EXPECT_NE(
      r.warnings[0].find("2 of them hold '<think>': set data.think_begin = <think> and data.think_end = </think>"),
      std::string::npos)
      << r.warnings[0];

  options.data.think_begin = "<think>";
  options.data.think_end = "</think>";
  r = check_dataset(options);
  EXPECT_EQ(r.marker_records, 2);
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_TRUE(has_line(describe(r, options), "found in 2 of 2 assistant texts"));
}

TEST(Check, ChatTemplateAndWhy) {
  ScratchDir dir;
  write_file(dir / "d.jsonl", kFlat + "\n");
  CheckOptions options = on(dir / "d.jsonl", tokenizer_dir("qwen3"));
  const CheckReport qwen = check_dataset(options);
  EXPECT_EQ(qwen.chat_template, "tokenizer");
  EXPECT_EQ(qwen.template_reason, "the tokenizer's own: the chat template of " +
                                      (tokenizer_dir("qwen3") / "tokenizer_config.json").string() +
                                      ", rendered as Jinja");
  EXPECT_TRUE(has_line(describe(qwen, options), "chat template: tokenizer (the tokenizer's own: the chat template of "))
      << describe(qwen, options)[0];
  CheckOptions forced = on(dir / "d.jsonl", tokenizer_dir("qwen3"));
  forced.prompt.chat_template = "llama3";
  const CheckReport llama = check_dataset(forced);
  EXPECT_EQ(llama.chat_template, "llama3");
  EXPECT_EQ(llama.template_reason, "configured: data.chat_template = llama3");
  forced.prompt.chat_template = "file:" + (dir / "mine.jinja").string();
  write_file(dir / "mine.jinja", "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}");
  const CheckReport file = check_dataset(forced);
  EXPECT_EQ(file.chat_template, forced.prompt.chat_template);
  EXPECT_EQ(file.template_reason,
            "a file: data.chat_template = " + forced.prompt.chat_template + ", rendered as Jinja");
  EXPECT_TRUE(has_line(describe(file, forced), "chat template: file:")) << describe(file, forced)[0];

  // No chat_template at all (a base model): plain, said so, and a warning.
  const CheckReport plain = check_dataset(on(dir / "d.jsonl", kFixtures / "byte_level"));
  EXPECT_EQ(plain.chat_template, "plain");
  EXPECT_NE(plain.template_reason.find("has no chat_template"), std::string::npos) << plain.template_reason;
  EXPECT_EQ(plain.warnings.size(), 1u);
}

TEST(Check, ATemplateOtherThanTheTokenizersOwnIsAWarningNamingBoth) {
  ScratchDir dir;
  write_file(dir / "d.jsonl", kFlat + "\n");
  CheckOptions options = on(dir / "d.jsonl", tokenizer_dir("llama3_1"));
  options.prompt.chat_template = "chatml";
  const CheckReport r = check_dataset(options);
  ASSERT_EQ(r.warnings.size(), 1u);
  const std::string& warning = r.warnings[0];
  for (const std::string& part :
       {std::string("data.chat_template = chatml renders prompts unlike the tokenizer's own chat template ("),
        (tokenizer_dir("llama3_1") / "tokenizer_config.json").string(), std::string("<|im_start|>user\\x0aQ"),
        std::string("<|begin_of_text|><|start_header_id|>user"), std::string("set data.chat_template = auto")}) {
    EXPECT_NE(warning.find(part), std::string::npos) << part << "\n" << warning;
  }
  EXPECT_TRUE(has_line(describe(r, options), "warning: data.chat_template = chatml renders prompts unlike"));
  // The built-in llama3 renders as the Llama 3.1 fixture's own template, and chatml as Qwen3's: no warning.
  options.prompt.chat_template = "llama3";
  EXPECT_TRUE(check_dataset(options).warnings.empty());
  CheckOptions qwen = on(dir / "d.jsonl", tokenizer_dir("qwen3"));
  qwen.prompt.chat_template = "chatml";
  EXPECT_TRUE(check_dataset(qwen).warnings.empty());
}

TEST(Check, UnknownOrBrokenChatTemplateIsAnErrorNamingIt) {
  ScratchDir dir;
  write_file(dir / "d.jsonl", kFlat + "\n");
  const auto tok = tokenizer_with_template(dir, "{% for m in messages %}{{ m['content'] }{% endfor %}");
  EXPECT_THROW_WITH(check_dataset(on(dir / "d.jsonl", tok)), ConfigError,
                    "the chat template of " + (tok / "tokenizer_config.json").string() + " cannot be parsed",
                    "file:PATH.jinja");
  CheckOptions named = on(dir / "d.jsonl", tok);
  named.prompt.chat_template = "deepseek";
  EXPECT_THROW_WITH(check_dataset(named), ConfigError, "'deepseek' is unknown",
                    "auto (the tokenizer's own), chatml, llama3, plain and file:PATH.jinja");
  named.prompt.chat_template = "chatml";  // an explicit choice overrides the folder's template
  EXPECT_EQ(check_dataset(named).chat_template, "chatml");
  named.prompt.chat_template = "file:" + (dir / "missing.jinja").string();
  EXPECT_THROW_WITH(check_dataset(named), ConfigError, "cannot read", "missing.jinja");
}

TEST(Check, AGenerationPromptEndingWithTheMarkerBeforeResponsesHoldingItIsAWarning) {
  // DeepSeek-R1-Distill's generation prompt ends with "<think>\n"; responses written "<think>\n..." repeat it.
  ScratchDir dir;
  write_file(
      dir / "d.jsonl",
      R"({"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "<think>\nR\n</think>\n\nA"}]})"
      "\n");
  const auto tok = tokenizer_with_template(
      dir, "{% for m in messages %}{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}<think>\n{% endif %}");
  const CheckReport r = check_dataset(on(dir / "d.jsonl", tok));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("ends with '<think>' and 1 of the first 1 responses begin with it too"),
            std::string::npos)
      << r.warnings[0];
  const auto plain = tokenizer_with_template(dir, "{% for m in messages %}{{ m['content'] }}{% endfor %}");
  EXPECT_TRUE(check_dataset(on(dir / "d.jsonl", plain)).warnings.empty());
}

TEST(Check, ATemplateErrorOnARecordNamesTheLineAndTheEngineMessage) {
  ScratchDir dir;
  write_file(dir / "d.jsonl",
             kMessages + "\n" +
                 R"({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"},)"
                 R"( {"role": "assistant", "content": "R"}]})"
                 "\n");
  const auto tok = tokenizer_with_template(dir,
                                           "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role "
                                           "not supported') }}{% endif %}{% for m in messages %}{{ m['content'] }}"
                                           "{% endfor %}");
  EXPECT_THROW_WITH(check_dataset(on(dir / "d.jsonl", tok)), DataError, "line 2: the chat template of ",
                    (tok / "tokenizer_config.json").string(), "System role not supported");
}

TEST(Check, PreviewShowsThePromptAndMarksTheWindows) {
  ScratchDir dir;
  std::string reasoning;
  for (int i = 0; i < 60; ++i) reasoning += "step " + std::to_string(i) + " adds one more. ";
  write_file(dir / "d.jsonl", nlohmann::json{{"prompt", "What is 2+2?"}, {"reasoning", reasoning}}.dump() + "\n" +
                                  nlohmann::json{{"prompt", "Short?"}, {"reasoning", "Yes."}}.dump() + "\n");
  CheckOptions options = on(dir / "d.jsonl", tokenizer_dir("qwen3"));
  options.first_tokens = 10;
  options.window_tokens = 40;
  options.preview = 2;
  std::ostringstream preview;
  const CheckReport r = check_dataset(options, &preview);
  const std::string text = preview.str();

  // The same assembly the scorer uses, computed here independently of the check.
  const Tokenizer tokenizer = Tokenizer::load(tokenizer_dir("qwen3"));
  Tokenizer::Session session(tokenizer);
  const ChatTemplate chat = ChatTemplate::resolve(tokenizer_dir("qwen3"), "auto");
  Example example;
  example.context = {{"user", "What is 2+2?"}};
  example.reasoning = reasoning;
  const TokenizedExample t = assemble(example, chat, options.prompt, session);
  const auto ids = std::span<const TokenId>(t.ids).subspan(static_cast<std::size_t>(t.reasoning_start));
  ASSERT_GT(ids.size(), 40u);
  const std::string expected = tokenizer.decode(ids.first(10)) + "\u27e610 tokens\u27e7" +
                               tokenizer.decode(ids.subspan(10, 30)) + "\u27e640 tokens\u27e7\n";
  EXPECT_NE(text.find(render(chat, options.prompt, example).prompt), std::string::npos) << text;
  EXPECT_NE(text.find("scored window (40 of the " + std::to_string(ids.size()) + " tokens after the prompt"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(expected), std::string::npos) << text;
  EXPECT_NE(text.find("more tokens, not scored"), std::string::npos) << text;
  // The short example ends before both windows.
  EXPECT_NE(text.find("---- preview 2: line 2"), std::string::npos) << text;
  EXPECT_NE(text.find("\u27e6end: "), std::string::npos) << text;

  EXPECT_EQ(r.sampled, 2);
  Example second;
  second.context = {{"user", "Short?"}};
  second.reasoning = "Yes.";
  const TokenizedExample s = assemble(second, chat, options.prompt, session);
  const double second_reasoning = static_cast<double>(s.ids.size()) - static_cast<double>(s.reasoning_start);
  EXPECT_DOUBLE_EQ(r.mean_prompt_tokens,
                   (static_cast<double>(t.reasoning_start) + static_cast<double>(s.reasoning_start)) / 2);
  EXPECT_DOUBLE_EQ(r.mean_profile_window, (40.0 + std::min(40.0, second_reasoning)) / 2);
  EXPECT_DOUBLE_EQ(r.mean_first_window, (10.0 + std::min(10.0, second_reasoning)) / 2);
}

}  // namespace
}  // namespace curate::data
