// Streaming line reader for JSONL files, plain or compressed with gzip or zstd (detected from the
// first bytes, whatever the file name). Memory is bounded by the buffer plus the longest line kept.
// A JSON array file and a Parquet file read as JSON Lines too: one record a line, as compact JSON
// (open_source says how).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace curate::data {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `capacity` bytes; returns 0 at the end. Throws DataError naming the file on failure.
  virtual std::size_t read(char* buffer, std::size_t capacity) = 0;
};

// How a data file holds its records, from its content (never its name).
enum class FileFormat {
  kJsonLines,  // one JSON object a line; plain, gzip or zstd
  kJsonArray,  // one JSON array of records (plain, gzip or zstd)
  kParquet,    // a Parquet file (read through Arrow C++ when built with pyarrow)
};
FileFormat detect_format(const std::filesystem::path& path);
const char* format_name(FileFormat format);  // "JSON Lines", "JSON array", "Parquet"

// Opens `path` and picks plain, gzip or zstd decoding. A JSON array or Parquet file is read as JSON
// Lines: each record (array element, Parquet row) becomes its compact JSON text and "\n" (keys in
// the file's order, UTF-8 as is; the whole array is held in memory, a Parquet file one row group at
// a time). Throws DataError naming the path when the file is missing, unreadable or malformed, and
// for Parquet in a build without Arrow (rebuild with pyarrow: launch/setup.sh).
std::unique_ptr<ByteSource> open_source(const std::filesystem::path& path);

// Parquet rows as JSON Lines (parquet_source.cpp, built with Arrow); throws DataError without Arrow.
// Starts at the row group holding row `first_row` (0-based); `rows_skipped` (optional) receives the
// rows of the groups before it, which are never decoded.
std::unique_ptr<ByteSource> open_parquet(const std::filesystem::path& path, int64_t first_row = 0,
                                         int64_t* rows_skipped = nullptr);

struct Line {
  std::string text;        // without the trailing "\n" or "\r\n"; empty when too_long
  int64_t number = 0;      // 1-based line number
  uint64_t offset = 0;     // byte offset of the line start in the decompressed stream
  uint64_t length = 0;     // bytes of the line, terminator included
  bool too_long = false;   // longer than max_line_bytes: text dropped, the reader moved past it
  std::size_t shard = 0;   // DatasetLines: the file of the dataset the line is in (its index) ...
  int64_t shard_line = 0;  // ... and its 1-based line (record) number in that file
};

class LineReader {
 public:
  // Lines longer than `max_line_bytes` are reported with too_long and never held in memory whole.
  explicit LineReader(const std::filesystem::path& path, std::size_t max_line_bytes = 64u << 20);
  // Lines of `source` (read from `path`), numbered from lines_before + 1; offsets count from 0.
  LineReader(std::unique_ptr<ByteSource> source, const std::filesystem::path& path, std::size_t max_line_bytes,
             int64_t lines_before);

  // Next line, or false at the end of the file. A final line without "\n" is still a line.
  bool next(Line& line);
  const std::filesystem::path& path() const { return path_; }

 private:
  bool fill();

  std::filesystem::path path_;
  std::unique_ptr<ByteSource> source_;
  std::size_t max_line_bytes_;
  std::string buffer_;
  std::size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  int64_t line_number_ = 0;
  uint64_t offset_ = 0;
};

}  // namespace curate::data
