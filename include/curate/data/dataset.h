// Reading a JSONL dataset: a streaming pass that yields Examples and accounts for every skipped
// line, and an index of record byte offsets for random access (cached beside the output).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "curate/data/line_reader.h"
#include "curate/data/record.h"
#include "curate/util/content_hash.h"

namespace curate::data {

// Streams the examples of one file. Bad records are skipped, counted by reason and, when a report
// stream is set, written to it as "line<TAB>reason<TAB>detail". With options.strict the first bad
// record throws DataError naming path:line. A missing or unreadable file throws DataError.
class DatasetReader {
 public:
  DatasetReader(const std::filesystem::path& path, DataOptions options, std::ostream* report = nullptr);

  bool next(Example& example);
  const std::map<std::string, int64_t>& skipped() const { return skipped_; }
  int64_t skipped_total() const;

 private:
  void skip(const Line& line, SkipReason reason, const std::string& detail);

  std::filesystem::path path_;
  DataOptions options_;
  LineReader reader_;
  std::ostream* report_;
  std::map<std::string, int64_t> skipped_;
};

// Byte offsets of every non-blank line of a dataset file, in the decompressed stream, and the hash of
// the file's content (its fingerprint for result files).
struct RecordIndex {
  uint64_t file_size = 0;  // of the indexed file, to detect a changed file
  int64_t file_mtime_ns = 0;
  int64_t file_ctime_ns = 0;                 // no user can set it back: an edit whose mtime was restored is seen too
  uint64_t file_device = 0, file_inode = 0;  // a file renamed over the dataset, or a copy, is indexed again
  ContentHash content;  // XXH3_128 of the file's bytes as stored (a .gz/.zst file: its compressed bytes)
  bool compressed = false;
  std::vector<uint64_t> offsets;
  std::vector<uint64_t> lengths;  // terminator included
  std::vector<int64_t> lines;     // 1-based line numbers

  std::size_t size() const { return offsets.size(); }
};

// One streaming pass over `path` (and one over its bytes for the content hash). Throws DataError when
// the file cannot be read, or changed while it was read.
RecordIndex build_index(const std::filesystem::path& path);

// The index cached at `cache`, rebuilt (and the cache rewritten atomically) when it is missing,
// unreadable, corrupt, of an older format, or when the dataset's size, mtime, ctime, device or inode
// differ from those it was built from (so a `touch` or a copy rehashes, to the same content hash).
RecordIndex load_or_build_index(const std::filesystem::path& path, const std::filesystem::path& cache);

// Reads the records at `positions` (indices into `index`, ascending) and parses them. Plain files are
// read with pread at the indexed offsets; compressed files are streamed up to the last wanted record.
// Results are in the order of `positions`; skipped records come back without an example.
std::vector<ParseResult> read_records(const std::filesystem::path& path, const RecordIndex& index,
                                      std::span<const std::size_t> positions, const DataOptions& options);

// Calls visit(position, bytes) for the records at `positions` (indices into `index`, ascending), in
// that order. `bytes` is the record exactly as stored: its line without the terminator ("\n" or
// "\r\n"), and without the UTF-8 byte order mark that may open the file (not part of any record).
// Plain files are read with pread, compressed ones streamed up to the last wanted record; lengths are
// not limited. Throws DataError when the file no longer matches the index.
void read_raw_records(const std::filesystem::path& path, const RecordIndex& index,
                      std::span<const std::size_t> positions,
                      const std::function<void(std::size_t position, std::string_view bytes)>& visit);

}  // namespace curate::data
