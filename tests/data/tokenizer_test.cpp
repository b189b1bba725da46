#include "curate/data/tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::data {
namespace {

using curate::testing::golden_encodings;
using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::tokenizer_dir;
using curate::testing::write_file;

const std::filesystem::path kFixtures = CURATE_TEST_SOURCE_DIR "/data/fixtures";

struct Golden {
  std::string text;
  std::vector<TokenId> ids;
};

std::vector<Golden> load_golden(const std::filesystem::path& path) {
  std::vector<Golden> out;
  std::istringstream lines(read_file(path));
  std::string line;
  while (std::getline(lines, line)) {
    auto json = nlohmann::json::parse(line);
    out.push_back({json["text"].get<std::string>(), json["ids"].get<std::vector<TokenId>>()});
  }
  return out;
}

struct GoldenCase {
  std::filesystem::path tokenizer;
  std::filesystem::path golden;
  std::string name;
};

class TokenizerGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(TokenizerGolden, EveryLineMatchesHuggingFaceTokenizers) {
  const Tokenizer tokenizer = Tokenizer::load(GetParam().tokenizer);
  const auto golden = load_golden(GetParam().golden);
  ASSERT_GT(golden.size(), 10u);
  Tokenizer::Session session(tokenizer);
  for (std::size_t i = 0; i < golden.size(); ++i) {
    std::vector<TokenId> ids;
    session.encode(golden[i].text, ids);
    EXPECT_EQ(ids, golden[i].ids) << "line " << i << ": " << golden[i].text;
  }
}

TEST_P(TokenizerGolden, BatchOnSeveralThreadsEqualsOneByOne) {
  const Tokenizer tokenizer = Tokenizer::load(GetParam().tokenizer);
  std::vector<std::string> texts;
  for (const auto& g : load_golden(GetParam().golden)) texts.push_back(g.text);
  for (int copy = 0; copy < 3; ++copy) texts.insert(texts.end(), texts.begin(), texts.begin() + 20);
  auto batch = tokenizer.encode_batch(texts, 4);
  ASSERT_EQ(batch.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], tokenizer.encode(texts[i])) << i;
}

INSTANTIATE_TEST_SUITE_P(
    Files, TokenizerGolden,
    ::testing::Values(
        GoldenCase{tokenizer_dir("qwen3"), golden_encodings("qwen3"), "qwen3"},
        GoldenCase{tokenizer_dir("llama3_1") / "tokenizer.json", golden_encodings("llama3_1"), "llama3_1"},
        GoldenCase{kFixtures / "byte_level", kFixtures / "byte_level/golden.jsonl", "byte_level"},
        GoldenCase{kFixtures / "legacy_merges", kFixtures / "legacy_merges/golden.jsonl", "legacy_merges"},
        GoldenCase{kFixtures / "split_behaviors", kFixtures / "split_behaviors/golden.jsonl", "split_behaviors"}),
    [](const auto& param_info) { return param_info.param.name; });

// Real tokenizers only: fixtures' added tokens match decoded text that the raw text did not contain.
TEST(Tokenizer, DecodeInvertsEncode) {
  for (const char* name : {"qwen3", "llama3_1"}) {
    const Tokenizer tokenizer = Tokenizer::load(tokenizer_dir(name));
    for (const auto& g : load_golden(golden_encodings(name))) {
      const std::string text = tokenizer.decode(g.ids);
      if (std::string(name) == "llama3_1") {
        EXPECT_EQ(text, g.text);  // no normalizer: exact round trip
      }
      EXPECT_EQ(tokenizer.encode(text), g.ids) << name << ": " << g.text;  // normalized text encodes the same
    }
  }
}

TEST(Tokenizer, SpecialTokensAndVocabulary) {
  const Tokenizer qwen = Tokenizer::load(tokenizer_dir("qwen3"));
  EXPECT_EQ(qwen.token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(qwen.token_to_id("<think>"), qwen.encode("<think>").at(0));
  EXPECT_EQ(qwen.vocab_size(), 151669);
  const Tokenizer llama = Tokenizer::load(tokenizer_dir("llama3_1"));
  EXPECT_EQ(llama.vocab_size(), 128256);
  auto ids = llama.encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
  EXPECT_EQ(ids.front(), 128006);
  EXPECT_EQ(ids.back(), 128009);
  EXPECT_EQ(llama.decode(ids, /*skip_special=*/true), "user\n\nHi");
}

TEST(Tokenizer, InvalidUtf8IsRejectedWithOffset) {
  const Tokenizer tokenizer = Tokenizer::load(kFixtures / "byte_level");
  EXPECT_THROW_WITH(tokenizer.encode("ok \xC3\x28 bad"), DataError, "UTF-8", "byte 3");
  EXPECT_THROW_WITH(tokenizer.encode("\xED\xA0\x80"), DataError, "byte 0");  // a surrogate
  std::vector<std::string> texts = {"fine", "also \xFF"};
  EXPECT_THROW_WITH(tokenizer.encode_batch(texts, 2), DataError, "document 1");
  EXPECT_EQ(find_invalid_utf8("\xF0\x9F\x98\x80 ok"), std::nullopt);
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);  // overlong
}

TEST(Tokenizer, DecodeReplacesBrokenSequences) {
  const Tokenizer tokenizer = Tokenizer::load(tokenizer_dir("qwen3"));
  auto ids = tokenizer.encode("\U00020000");  // a rare CJK character: three byte-level tokens
  ASSERT_GT(ids.size(), 1u);                  // the emoji is several byte tokens
  EXPECT_EQ(tokenizer.decode(std::span(ids).first(1)), "\xEF\xBF\xBD");
  EXPECT_THROW_WITH(tokenizer.decode(std::vector<TokenId>{999999}), DataError, "999999");
}

TEST(Tokenizer, HostileInputsStayLinear) {
  const Tokenizer tokenizer = Tokenizer::load(tokenizer_dir("llama3_1"));
  for (const std::string& text : {std::string(200000, ' '), std::string(200000, 'a'), std::string(200000, '7'),
                                  std::string(100000, '<'), std::string(50000, '\n') + std::string(50000, '\t')}) {
    auto ids = tokenizer.encode(text);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(tokenizer.decode(ids), text);
  }
}

// ---- unsupported or malformed files ----------------------------------------------------------

class BrokenTokenizer : public ::testing::Test {
 protected:
  std::filesystem::path with(const std::function<void(nlohmann::json&)>& edit) {
    auto json = nlohmann::json::parse(read_file(kFixtures / "byte_level/tokenizer.json"));
    edit(json);
    write_file(dir_ / "tokenizer.json", json.dump());
    return dir_ / "tokenizer.json";
  }
  ScratchDir dir_;
};

TEST_F(BrokenTokenizer, UnsupportedComponentsAreNamed) {
  EXPECT_THROW_WITH(Tokenizer::load(with([](auto& j) {
                      j["normalizer"] = {{"type", "Lowercase"}};
                    })),
                    DataError, "normalizer type 'Lowercase'", "tokenizer.json");
  EXPECT_THROW_WITH(Tokenizer::load(with([](auto& j) {
                      j["pre_tokenizer"] = {{"type", "Metaspace"}};
                    })),
                    DataError, "pre_tokenizer type 'Metaspace'");
  EXPECT_THROW_WITH(Tokenizer::load(with([](auto& j) { j["model"]["type"] = "WordPiece"; })), DataError, "WordPiece");
  EXPECT_THROW_WITH(Tokenizer::load(with([](auto& j) { j["model"]["dropout"] = 0.1; })), DataError, "dropout");
  EXPECT_THROW_WITH(Tokenizer::load(with([](auto& j) {
                      j["decoder"] = {{"type", "WordPiece"}};
                    })),
                    DataError, "decoder type 'WordPiece'");
  EXPECT_THROW_WITH(
      Tokenizer::load(with([](auto& j) {
        j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
      })),
      DataError, "cannot compile regex");
}

TEST_F(BrokenTokenizer, MalformedEntriesAreNamed) {
  EXPECT_THROW_WITH(Tokenizer::load(with([](auto& j) { j["model"]["merges"][3] = "a b c"; })), DataError, "merge 3");
  EXPECT_THROW_WITH(Tokenizer::load(with([](auto& j) {
                      j["model"]["merges"][0] = {"zz", "qq"};
                    })),
                    DataError, "merge 0", "missing from the vocab");
  EXPECT_THROW_WITH(Tokenizer::load(with([](auto& j) { j["model"]["vocab"].erase("Ā"); })), DataError, "byte 0");
  EXPECT_THROW_WITH(Tokenizer::load(with([](auto& j) { j["added_tokens"][0]["id"] = "x"; })), DataError, "added token");
  write_file(dir_ / "tokenizer.json", "{ not json");
  EXPECT_THROW_WITH(Tokenizer::load(dir_.path()), DataError, "not a JSON object");
  EXPECT_THROW_WITH(Tokenizer::load("/nonexistent/tok"), DataError, "/nonexistent/tok");
}

}  // namespace
}  // namespace curate::data
