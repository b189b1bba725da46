// Export of the selected records: LLaMA-Factory shapes, conversion against hand-written expected
// files (tests/data/export), the response template, dataset_info.json merging and TSV escaping.
#include "curate/select/export.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::select {
namespace {

using nlohmann::json;

const std::string kExport = CURATE_TEST_SOURCE_DIR "/data/export/";

std::vector<std::string> lines_of(const std::string& name) {
  std::ifstream in(kExport + name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  EXPECT_FALSE(lines.empty()) << name;
  return lines;
}

std::optional<TrainerShape> shape_of(const std::string& name, const data::DataOptions& data = {},
                                     std::string* why = nullptr) {
  ShapeCollector shapes(data);
  for (const std::string& line : lines_of(name)) shapes.add(line);
  if (why) *why = shapes.why();
  return shapes.shape();
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(Export, ShareGptShapeHasItsTagsAndOnlyThePresentColumns) {
  const auto shape = shape_of("sharegpt.jsonl");
  ASSERT_TRUE(shape);
  EXPECT_EQ(shape->formatting, "sharegpt");
  EXPECT_EQ(shape->columns, (Pairs{{"messages", "conversations"}, {"system", "system"}}));
  EXPECT_EQ(shape->tags,
            (Pairs{{"role_tag", "from"}, {"content_tag", "value"}, {"user_tag", "human"}, {"assistant_tag", "gpt"}}));
}

TEST(Export, MessagesShapeUsesRoleContentTagsAndTheSystemTurn) {
  const auto shape = shape_of("messages.jsonl");
  ASSERT_TRUE(shape);
  EXPECT_EQ(shape->formatting, "sharegpt");
  EXPECT_EQ(shape->columns, (Pairs{{"messages", "messages"}}));  // no system column: the records have none
  EXPECT_EQ(shape->tags, (Pairs{{"role_tag", "role"},
                                {"content_tag", "content"},
                                {"user_tag", "user"},
                                {"assistant_tag", "assistant"},
                                {"system_tag", "system"}}));
}

TEST(Export, OpenThoughtsIsAlpacaAndFlatReasoningHasNoShape) {
  data::DataOptions ot;
  ot.prompt_field = "problem";
  const auto shape = shape_of("openthoughts.jsonl", ot);
  ASSERT_TRUE(shape);
  EXPECT_EQ(shape->formatting, "alpaca");
  EXPECT_EQ(shape->columns, (Pairs{{"prompt", "problem"}, {"response", "response"}}));
  EXPECT_TRUE(shape->tags.empty());
  std::string why;
  EXPECT_FALSE(shape_of("flat.jsonl", {}, &why));
  EXPECT_NE(why.find("--select.format=sharegpt"), std::string::npos) << why;
}

TEST(Export, MixedFormatsAndRoleNamesHaveNoShape) {
  ShapeCollector mixed({});
  mixed.add(lines_of("sharegpt.jsonl")[0]);
  mixed.add(lines_of("messages.jsonl")[0]);
  EXPECT_FALSE(mixed.shape());
  EXPECT_NE(mixed.why().find("mix"), std::string::npos) << mixed.why();
  ShapeCollector roles({});
  roles.add(R"({"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]})");
  roles.add(R"({"conversations": [{"from": "user", "value": "a"}, {"from": "gpt", "value": "b"}]})");
  EXPECT_FALSE(roles.shape());
  EXPECT_NE(roles.why().find("user_tag"), std::string::npos) << roles.why();
  ShapeCollector ids({});
  ids.add(R"({"input_ids": [1, 2, 3], "reasoning_start": 1})");
  EXPECT_FALSE(ids.shape());
}

// Every record of NAME.jsonl converted to FORMAT equals the hand-written NAME.FORMAT.expected.jsonl.
void expect_conversion(const std::string& name, const std::string& format, const data::DataOptions& data = {}) {
  ExportOptions options;
  options.format = format;
  const auto in = lines_of(name + ".jsonl");
  const auto expected = lines_of(name + "." + format + ".expected.jsonl");
  ASSERT_EQ(in.size(), expected.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(convert_record(in[i], static_cast<int64_t>(i + 1), data, options), expected[i])
        << name << " line " << i + 1;
  }
}

TEST(Export, ConversionsEqualTheHandWrittenFiles) {
  expect_conversion("flat", "sharegpt");
  expect_conversion("flat", "messages");
  expect_conversion("sharegpt", "messages");
  expect_conversion("messages", "sharegpt");
  data::DataOptions ot;
  ot.prompt_field = "problem";
  expect_conversion("openthoughts", "sharegpt", ot);
}

TEST(Export, ConvertedFilesHaveTheirShape) {
  ExportOptions options;
  options.format = "sharegpt";
  ShapeCollector shapes({});
  for (const std::string& line : lines_of("flat.jsonl")) shapes.add(convert_record(line, 1, {}, options));
  ASSERT_TRUE(shapes.shape()) << shapes.why();
  EXPECT_EQ(shapes.shape()->columns, (Pairs{{"messages", "conversations"}}));
}

TEST(Export, ResponseTemplateWrapsOnceAndReadsEscapes) {
  ExportOptions options;
  EXPECT_EQ(apply_response_template("r", "a", options), "<think>\nr\n</think>\n\na");
  EXPECT_EQ(apply_response_template("<think>\nr\n</think>\n\n", "a", options), "<think>\nr\n</think>\n\na");
  options.response_template = R"(<|begin_of_thought|>\n\n{reasoning}\n\n<|end_of_thought|>\n\n{answer})";
  EXPECT_EQ(apply_response_template("r", "a", options), "<|begin_of_thought|>\n\nr\n\n<|end_of_thought|>\n\na");
  EXPECT_EQ(apply_response_template("<|begin_of_thought|>x", "a", options), "<|begin_of_thought|>xa");
  options.response_template = "{reasoning}{answer}";  // no marker: nothing to detect, plain join
  EXPECT_EQ(apply_response_template("<think>r", "a", options), "<think>ra");
}

TEST(Export, BadConversionsAndOptionsAreNamed) {
  ExportOptions options;
  options.format = "sharegpt";
  EXPECT_THROW(convert_record(R"({"input_ids": [1, 2], "reasoning_start": 1})", 4, {}, options), DataError);
  EXPECT_THROW(convert_record(R"({"conversations": [{"from": "robot", "value": "x"}]})", 4, {}, options), DataError);
  ExportOptions bad;
  bad.response_template = "{answer}{reasoning}";
  EXPECT_THROW(validate(bad), ConfigError);
  bad = {};
  bad.format = "alpaca";
  EXPECT_THROW(validate(bad), ConfigError);
  bad = {};
  bad.compress = "bz2";
  EXPECT_THROW(validate(bad), ConfigError);
  EXPECT_NO_THROW(validate(ExportOptions{}));
}

TEST(Export, DatasetInfoMergeKeepsOtherEntriesAndRemovesAStaleOne) {
  const TrainerShape shape{"sharegpt", {{"messages", "messages"}}, {{"role_tag", "role"}, {"content_tag", "content"}}};
  const std::string other = R"({"mine": {"file_name": "mine.json", "note": "é"}})";
  const json merged = json::parse(merge_dataset_info(other, "run.selected", "run.selected.jsonl", shape));
  EXPECT_EQ(merged["mine"]["note"], "é");
  EXPECT_EQ(
      merged["run.selected"],
      json::parse(R"({"file_name": "run.selected.jsonl", "formatting": "sharegpt", "columns": {"messages": "messages"},
                            "tags": {"role_tag": "role", "content_tag": "content"}})"));
  const json removed =
      json::parse(merge_dataset_info(merged.dump(), "run.selected", "run.selected.jsonl", std::nullopt));
  EXPECT_FALSE(removed.contains("run.selected"));
  EXPECT_TRUE(removed.contains("mine"));
  EXPECT_EQ(json::parse(merge_dataset_info("", "x", "x.jsonl", std::nullopt)), json::object());
  EXPECT_THROW(merge_dataset_info("[1, 2]", "x", "x.jsonl", shape), DataError);
}

TEST(Export, TsvEscapeKeepsColumnsAndReadsBack) {
  const std::string name = "a\tb\nc\\d\re";
  EXPECT_EQ(tsv_escape(name), "a\\tb\\nc\\\\d\\re");
  EXPECT_EQ(tsv_escape(name).find_first_of("\t\n\r"), std::string::npos);
  EXPECT_EQ(unescape(tsv_escape(name)), name);
}

}  // namespace
}  // namespace curate::select
