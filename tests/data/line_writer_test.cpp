// Compressed outputs (line_writer.h) and records read back as their own bytes (read_raw_records):
// plain, .gz, .zst, CRLF, a BOM and non-ASCII text come back byte for byte.
#include "curate/data/line_writer.h"

#include <gtest/gtest.h>

#include "curate/data/dataset.h"
#include "curate/data/line_reader.h"
#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::data {
namespace {

using curate::testing::read_file;
using curate::testing::ScratchDir;

const std::vector<std::string> kRecords = {
    R"({"conversations": [{"from": "human", "value": "Caf\u00e9"}, {"from": "gpt", "value": "<think>\nx\n</think>\n\n数学 🙂"}]})",
    R"({"prompt":"p","reasoning":"r\tr","extra":[1,2.50,{"k":null}]})",
    R"(  {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}  )",
};

std::string decompress(const std::filesystem::path& path) {
  LineReader reader(path);
  std::string text;
  for (Line line; reader.next(line);) text += line.text + "\n";
  return text;
}

// Writes `prefix` + the records joined by `newline` through `compression`, reads them back raw.
std::vector<std::string> round_trip(const ScratchDir& dir, Compression compression, const std::string& newline,
                                    const std::string& prefix = "") {
  const auto path = dir / ("in.jsonl" + std::string(compression_suffix(compression)));
  CompressedWriter out(path, compression);
  out.write(prefix);
  for (const auto& record : kRecords)
    out.write(record + newline + (record == kRecords[1] ? newline : ""));  // a blank line
  out.close();
  EXPECT_EQ(detect_compression(path), compression);
  const RecordIndex index = build_index(path);
  EXPECT_EQ(index.size(), kRecords.size());
  std::vector<std::size_t> positions = {0, 1, 2};
  std::vector<std::string> back;
  read_raw_records(path, index, positions, [&](std::size_t p, std::string_view bytes) {
    EXPECT_EQ(p, back.size());
    back.emplace_back(bytes);
  });
  return back;
}

TEST(RawRecords, EveryCompressionAndLineEndGivesTheRecordsBack) {
  ScratchDir dir;
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    for (const std::string newline : {"\n", "\r\n"}) {
      EXPECT_EQ(round_trip(dir, c, newline), kRecords) << compression_suffix(c) << " " << newline.size();
      EXPECT_EQ(round_trip(dir, c, newline, "\xEF\xBB\xBF"), kRecords) << "the BOM is not part of the first record";
    }
  }
}

TEST(RawRecords, SubsetsAndALastLineWithoutNewline) {
  ScratchDir dir;
  const auto path = dir / "in.jsonl";
  curate::testing::write_file(path, "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":\"é\"}");
  const RecordIndex index = build_index(path);
  std::vector<std::size_t> positions = {0, 2};
  std::vector<std::string> back;
  read_raw_records(path, index, positions, [&](std::size_t, std::string_view bytes) { back.emplace_back(bytes); });
  EXPECT_EQ(back, (std::vector<std::string>{"{\"a\":1}", "{\"c\":\"é\"}"}));
  curate::testing::write_file(path, "{\"a\":1}\n");  // shrank since it was indexed
  EXPECT_THROW(read_raw_records(path, index, positions, [](std::size_t, std::string_view) {}), DataError);
}

TEST(CompressedWriter, SameBytesGiveTheSameFileAndDecompressBack) {
  ScratchDir dir;
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    std::string files[2];
    for (int i = 0; i < 2; ++i) {
      const auto path = dir / ("out" + std::to_string(i) + std::string(compression_suffix(c)));
      CompressedWriter out(path, c);
      for (int k = 0; k < 2000; ++k) out.write(kRecords[static_cast<std::size_t>(k % 3)] + "\n");
      out.close();
      files[i] = read_file(path);
      std::string expected;
      for (int k = 0; k < 2000; ++k) expected += kRecords[static_cast<std::size_t>(k % 3)] + "\n";
      EXPECT_EQ(decompress(path), expected);
    }
    EXPECT_EQ(files[0], files[1]) << "no time or name in the header";
  }
  EXPECT_THROW(CompressedWriter(dir / "missing" / "x.gz", Compression::kGzip), StoreError);
}

}  // namespace
}  // namespace curate::data
