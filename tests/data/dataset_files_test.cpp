// Inputs as users have them (dataset_files.h, line_reader.h): a JSON array, a Parquet file, a folder
// or glob of shards and a hub dataset folder read as the same records as JSON Lines; the index over
// several files; the id field and reasoning markers read from the data (detect.h).
#include "curate/data/dataset_files.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <nlohmann/json.hpp>

#include "curate/data/dataset.h"
#include "curate/data/detect.h"
#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::data {
namespace {

using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::write_file;

const std::filesystem::path kFormats = CURATE_TEST_SOURCE_DIR "/data/fixtures/formats";

std::vector<Example> read_all(const std::filesystem::path& path, DataOptions options = {}) {
  DatasetReader reader(path, options);
  std::vector<Example> out;
  Example example;
  while (reader.next(example)) out.push_back(example);
  return out;
}

// What scoring sees of a record (its id, prompt, reasoning, answer, source).
std::vector<std::string> seen(const std::vector<Example>& examples) {
  std::vector<std::string> out;
  for (const Example& e : examples) {
    std::string text = e.id + "|" + e.source + "|" + e.reasoning + "|" + e.answer;
    for (const Message& m : e.context) text += "|" + m.role + ":" + m.content;
    out.push_back(text);
  }
  return out;
}

DataOptions with_ids() {
  DataOptions options;
  options.id_field = "id";
  options.think_begin = "<think>";
  options.think_end = "</think>";
  return options;
}

std::string zstd(const std::string& text) {
  std::string compressed(ZSTD_compressBound(text.size()), '\0');
  compressed.resize(ZSTD_compress(compressed.data(), compressed.size(), text.data(), text.size(), 1));
  return compressed;
}

TEST(DatasetFiles, JsonArrayParquetAndHubFolderReadAsTheJsonLines) {
  const std::vector<std::string> expected = seen(read_all(kFormats / "think.jsonl", with_ids()));
  ASSERT_EQ(expected.size(), 12u);
  EXPECT_EQ(expected[0], "ex-01|math_a|\n1 plus 1 is 2; café x.\n|\n\n2|user:What is 1 + 1?");
  EXPECT_EQ(seen(read_all(kFormats / "think.json", with_ids())), expected);
#ifndef CURATE_TEST_HAVE_ARROW  // a build without pyarrow: Parquet is refused, saying how to get it
  EXPECT_THROW_WITH(read_all(kFormats / "think.parquet", with_ids()), DataError, "built without Arrow",
                    "rebuild with pyarrow");
  GTEST_SKIP() << "built without Arrow (pyarrow): the Parquet reading below is not compiled in";
#endif
  EXPECT_EQ(seen(read_all(kFormats / "think.parquet", with_ids())), expected);  // three row groups
  EXPECT_EQ(seen(read_all(kFormats / "hub", with_ids())), expected);            // train split only

  const DatasetFiles hub = resolve_dataset((kFormats / "hub").string());
  ASSERT_EQ(hub.shards.size(), 2u);
  EXPECT_EQ(hub.shards[0].name, "train-00000-of-00002.parquet");
  EXPECT_EQ(hub.shards[1].format, FileFormat::kParquet);
  EXPECT_TRUE(hub.several);
  EXPECT_NE(hub.description.find("data/ of the folder (train split)"), std::string::npos) << hub.description;
  EXPECT_EQ(resolve_dataset((kFormats / "think.json").string()).description, "one JSON array file");

  // Random access into the Parquet file starts at the row group of the first wanted row (groups of 5).
  ScratchDir dir;
  const RecordIndex index = load_or_build_index(kFormats / "think.parquet", dir / "index");
  ASSERT_EQ(index.size(), 12u);
  EXPECT_TRUE(index.compressed);
  for (const std::vector<std::size_t>& wanted : {std::vector<std::size_t>{6, 11}, {0, 5, 10}, {11}}) {
    const std::vector<ParseResult> records = read_records(kFormats / "think.parquet", index, wanted, with_ids());
    ASSERT_EQ(records.size(), wanted.size());
    for (std::size_t k = 0; k < wanted.size(); ++k) {
      ASSERT_TRUE(records[k].example);
      EXPECT_EQ(records[k].example->line, static_cast<int64_t>(wanted[k] + 1));
      EXPECT_EQ(seen({*records[k].example})[0], expected[wanted[k]]);
    }
  }
}

TEST(DatasetFiles, ARecordOfAnArrayOrParquetFileIsItsCompactJson) {
  const std::string first_line =
      read_file(kFormats / "think.jsonl").substr(0, read_file(kFormats / "think.jsonl").find('\n'));
#ifdef CURATE_TEST_HAVE_ARROW
  const std::vector<const char*> names = {"think.json", "think.parquet"};
#else
  const std::vector<const char*> names = {"think.json"};
#endif
  for (const char* name : names) {
    LineReader reader(kFormats / name);
    Line line;
    ASSERT_TRUE(reader.next(line));
    // Keys in the file's order, UTF-8 as is, no spaces: the fixture's JSONL was written the same way.
    EXPECT_EQ(line.text, first_line) << name;
  }
}

TEST(DatasetFiles, ShardsOfAFolderOrGlobInNameOrderWithIdsByFileAndLine) {
  ScratchDir dir;
  const std::string all = read_file(kFormats / "think.jsonl");
  std::vector<std::string> lines;
  for (std::size_t at = 0, next; (next = all.find('\n', at)) != std::string::npos; at = next + 1)
    lines.push_back(all.substr(at, next - at + 1));
  std::filesystem::create_directories(dir / "shards" / ".hidden");
  write_file(dir / "shards" / "part-1.jsonl.zst", zstd(lines[4] + "\n" + lines[5] + lines[6]));  // a blank line
  write_file(dir / "shards" / "part-0.jsonl", lines[0] + lines[1] + lines[2] + lines[3].substr(0, lines[3].size() - 1));
  nlohmann::ordered_json rest = nlohmann::ordered_json::array();
  for (std::size_t i = 7; i < lines.size(); ++i) rest.push_back(nlohmann::ordered_json::parse(lines[i]));
  write_file(dir / "shards" / "part-2.json", rest.dump(1));
  write_file(dir / "shards" / ".hidden" / "x.jsonl", lines[0]);
  write_file(dir / "shards" / "notes.txt", "not data");
  write_file(dir / "shards" / "dataset_info.json", "{\"selected\": {}}");  // an export's metadata, not records

  const std::vector<std::string> expected = seen(read_all(kFormats / "think.jsonl", with_ids()));
  EXPECT_EQ(seen(read_all(dir / "shards", with_ids())), expected);
  EXPECT_EQ(seen(read_all((dir / "shards" / "part-*").string(), with_ids())), expected);

  DataOptions by_line = with_ids();
  by_line.id_field = "";
  const std::vector<Example> examples = read_all(dir / "shards", by_line);
  ASSERT_EQ(examples.size(), 12u);
  EXPECT_EQ(examples[3].id, "part-0.jsonl:4");  // its last line has no "\n"
  EXPECT_EQ(examples[4].id, "part-1.jsonl.zst:1");
  EXPECT_EQ(examples[5].id, "part-1.jsonl.zst:3");  // after the blank line
  EXPECT_EQ(examples[7].id, "part-2.json:1");
  EXPECT_EQ(examples[5].line, 7);  // lines count across the files

  // The index: random access equals streaming, ids alike; raw records are the stored lines.
  const RecordIndex index = load_or_build_index(dir / "shards", dir / "index");
  ASSERT_EQ(index.size(), 12u);
  EXPECT_TRUE(index.several);
  EXPECT_TRUE(index.ids_unique);
  const std::vector<std::size_t> wanted = {0, 3, 5, 8, 11};
  const std::vector<ParseResult> records = read_records(dir / "shards", index, wanted, by_line);
  for (std::size_t k = 0; k < wanted.size(); ++k) {
    ASSERT_TRUE(records[k].example) << k;
    EXPECT_EQ(records[k].example->id, examples[wanted[k]].id);
    EXPECT_EQ(records[k].example->reasoning, examples[wanted[k]].reasoning);
  }
  std::vector<std::string> raw;
  read_raw_records(dir / "shards", index, wanted,
                   [&](std::size_t, std::string_view bytes) { raw.emplace_back(bytes); });
  for (std::size_t k = 0; k < wanted.size(); ++k) {
    std::string line = lines[wanted[k]];
    line.pop_back();
    EXPECT_EQ(raw[k], line) << k;  // JSONL: the bytes; the array: compact JSON, here the same text
  }
  // A shard added changes the content hash and the identity: the cache is rebuilt, never reused.
  write_file(dir / "shards" / "part-3.jsonl", lines[0]);
  const RecordIndex grown = load_or_build_index(dir / "shards", dir / "index");
  EXPECT_EQ(grown.size(), 13u);
  EXPECT_NE(grown.content, index.content);
  EXPECT_FALSE(grown.ids_unique);  // ex-01 twice
  EXPECT_THROW_WITH(read_records(dir / "shards", index, wanted, by_line), DataError, "not those it was indexed from");
}

TEST(DatasetFiles, ARenamedFileIsStillItsIndexsFile) {
  ScratchDir dir;
  write_file(dir / "a.jsonl", read_file(kFormats / "think.jsonl"));
  const RecordIndex index = load_or_build_index(dir / "a.jsonl", dir / "index");
  std::filesystem::rename(dir / "a.jsonl", dir / "b.jsonl");
  const std::vector<std::size_t> wanted = {3};
  const std::vector<ParseResult> records = read_records(dir / "b.jsonl", index, wanted, with_ids());
  ASSERT_TRUE(records[0].example);
  EXPECT_EQ(records[0].example->id, "ex-04");
}

TEST(DatasetFiles, RefusesWhatItCannotRead) {
  ScratchDir dir;
  EXPECT_THROW_WITH(resolve_dataset((dir / "missing.jsonl").string()), DataError, "does not exist");
  std::filesystem::create_directories(dir / "empty");
  write_file(dir / "empty" / "README.md", "x");
  EXPECT_THROW_WITH(resolve_dataset((dir / "empty").string()), DataError, "no data file", "*.parquet");
  std::filesystem::create_directories(dir / "splits");
  write_file(dir / "splits" / "test.jsonl", "{}\n");
  write_file(dir / "splits" / "validation.jsonl", "{}\n");
  EXPECT_THROW_WITH(resolve_dataset((dir / "splits").string()), DataError, "no train split", "test, validation");
  write_file(dir / "bad.json", "[{\"a\": 1},");
  EXPECT_THROW_WITH(LineReader(dir / "bad.json"), DataError, "not a valid JSON array");
  write_file(dir / "bad.parquet", std::string("PAR1\x15\x04", 6) + std::string(100, '\0'));
  EXPECT_THROW_WITH(LineReader(dir / "bad.parquet"), DataError, "bad.parquet");
}

TEST(Detect, ReasoningMarkersOfEachKindNoneAndMixed) {
  ScratchDir dir;
  const auto lines = [](const std::string& marker, int n) {
    std::string text;
    for (int i = 0; i < n; ++i) text += "{\"prompt\": \"p\", \"response\": \"" + marker + "r\"}\n";
    return text;
  };
  write_file(dir / "think.jsonl", lines("<think>", 3));
  MarkerDetection d = detect_markers((dir / "think.jsonl").string());
  EXPECT_EQ(d.begin, "<think>");
  EXPECT_EQ(d.end, "</think>");
  EXPECT_NE(d.note.find("(in 3 of the first 3 records)"), std::string::npos) << d.note;
  write_file(dir / "ot.jsonl", lines("<|begin_of_thought|>", 2) + lines("", 1));
  d = detect_markers((dir / "ot.jsonl").string());
  EXPECT_EQ(d.begin, "<|begin_of_thought|>");
  EXPECT_EQ(d.end, "<|end_of_thought|>");
  write_file(dir / "none.jsonl", lines("", 4));
  d = detect_markers((dir / "none.jsonl").string());
  EXPECT_EQ(d.begin, "");
  EXPECT_EQ(d.end, "");
  EXPECT_NE(d.note.find("no known reasoning marker"), std::string::npos);
  write_file(dir / "mixed.jsonl", lines("<think>", 3) + lines("<|begin_of_thought|>", 2));
  EXPECT_THROW_WITH(detect_markers((dir / "mixed.jsonl").string()), ConfigError, "mix reasoning markers",
                    "data.think_begin");
  write_file(dir / "stray.jsonl", lines("<think>", 200) + lines("<|begin_of_thought|>", 1));  // 1 of 201: <= 1%
  EXPECT_EQ(detect_markers((dir / "stray.jsonl").string()).begin, "<think>");
  // Only the sample counts: markers after it are not looked at.
  EXPECT_EQ(detect_markers((dir / "mixed.jsonl").string(), 3).begin, "<think>");
}

TEST(Detect, IdFieldWhenEveryRecordHasADistinctOne) {
  ScratchDir dir;
  write_file(dir / "unique.jsonl",
             "{\"id\": \"a\", \"prompt\": \"p\", \"reasoning\": \"r\"}\n"
             "{\"id\": 7, \"prompt\": \"p\", \"reasoning\": \"r\"}\n"
             "{\"id\": \"7\", \"prompt\": \"p\", \"reasoning\": \"r\"}\n");
  write_file(dir / "duplicate.jsonl",
             "{\"id\": \"a\", \"prompt\": \"p\", \"reasoning\": \"r\"}\n"
             "{\"id\": \"a\", \"prompt\": \"p\", \"reasoning\": \"r\"}\n");
  write_file(dir / "missing.jsonl",
             "{\"id\": \"a\", \"prompt\": \"p\", \"reasoning\": \"r\"}\n"
             "{\"prompt\": \"p\", \"reasoning\": \"r\"}\n");
  const auto resolve = [&](const char* name) {
    DataOptions options;
    const std::vector<std::string> notes = resolve_auto(options, (dir / name).string(), build_index(dir / name));
    EXPECT_EQ(notes.size(), 2u);
    EXPECT_NE(options.think_begin, "auto");  // resolved together
    return std::pair{options.id_field, notes.back()};
  };
  EXPECT_EQ(resolve("unique.jsonl").first, "id");
  EXPECT_NE(resolve("unique.jsonl").second.find("all 3 records have one, all distinct"), std::string::npos);
  EXPECT_EQ(resolve("duplicate.jsonl").first, "");
  EXPECT_NE(resolve("duplicate.jsonl").second.find("line numbers"), std::string::npos);
  EXPECT_EQ(resolve("missing.jsonl").first, "");
  DataOptions half;
  half.think_begin = "<think>";
  EXPECT_THROW_WITH(resolve_auto(half, (dir / "unique.jsonl").string(), build_index(dir / "unique.jsonl")), ConfigError,
                    "together");
}

}  // namespace
}  // namespace curate::data
