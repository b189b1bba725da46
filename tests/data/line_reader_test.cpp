#include "curate/data/line_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::data {
namespace {

using curate::testing::ScratchDir;
using curate::testing::write_file;

std::vector<Line> read_all(const std::filesystem::path& path, std::size_t max_line = 1 << 20) {
  LineReader reader(path, max_line);
  std::vector<Line> lines;
  Line line;
  while (reader.next(line)) lines.push_back(line);
  return lines;
}

const std::string kText = "{\"a\": 1}\r\n\n{\"b\": \"x\"}\nlast line without newline";

void expect_text_lines(const std::vector<Line>& lines) {
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].text, "{\"a\": 1}");
  EXPECT_EQ(lines[1].text, "");
  EXPECT_EQ(lines[2].text, "{\"b\": \"x\"}");
  EXPECT_EQ(lines[3].text, "last line without newline");
  EXPECT_EQ(lines[3].number, 4);
  EXPECT_EQ(lines[2].offset, 11u);
  EXPECT_EQ(lines[0].length, 10u);
}

TEST(LineReader, PlainFile) {
  ScratchDir dir;
  write_file(dir / "a.jsonl", kText);
  expect_text_lines(read_all(dir / "a.jsonl"));
}

TEST(LineReader, GzipFile) {
  ScratchDir dir;
  gzFile out = gzopen((dir / "a.jsonl.gz").c_str(), "wb");
  gzwrite(out, kText.data(), static_cast<unsigned>(kText.size()));
  gzclose(out);
  expect_text_lines(read_all(dir / "a.jsonl.gz"));
}

TEST(LineReader, ZstdFileAndTruncation) {
  ScratchDir dir;
  std::string compressed(ZSTD_compressBound(kText.size()), '\0');
  compressed.resize(ZSTD_compress(compressed.data(), compressed.size(), kText.data(), kText.size(), 3));
  write_file(dir / "a.zst", compressed);
  expect_text_lines(read_all(dir / "a.zst"));
  write_file(dir / "cut.zst", compressed.substr(0, compressed.size() - 3));
  EXPECT_THROW_WITH(read_all(dir / "cut.zst"), DataError, "cut.zst", "truncated");
}

TEST(LineReader, LongLinesAcrossBufferRefillsAndOverLimit) {
  ScratchDir dir;
  std::string big(3 << 20, 'x');  // longer than the 1 MiB buffer
  write_file(dir / "big.jsonl", "short\n" + big + "\nafter\n" + big);
  auto lines = read_all(dir / "big.jsonl", 8 << 20);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1].text.size(), big.size());
  EXPECT_EQ(lines[2].text, "after");
  auto limited = read_all(dir / "big.jsonl", 1000);
  ASSERT_EQ(limited.size(), 4u);
  EXPECT_FALSE(limited[0].too_long);
  EXPECT_TRUE(limited[1].too_long);
  EXPECT_TRUE(limited[1].text.empty());
  EXPECT_EQ(limited[1].length, big.size() + 1);
  EXPECT_EQ(limited[2].text, "after");
  EXPECT_EQ(limited[2].number, 3);
  EXPECT_TRUE(limited[3].too_long);
}

TEST(LineReader, MissingFileNamesPath) {
  EXPECT_THROW_WITH(LineReader("/nonexistent/data.jsonl"), DataError, "/nonexistent/data.jsonl");
}

}  // namespace
}  // namespace curate::data
