// Reading a dataset (dataset_files.h: a JSONL file, JSON array, Parquet file, or a folder or glob of
// them): a streaming pass that yields Examples and accounts for every skipped line, and an index of
// record byte offsets for random access (cached beside the output).
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

#include "curate/data/dataset_files.h"
#include "curate/data/line_reader.h"
#include "curate/data/record.h"
#include "curate/util/content_hash.h"

namespace curate::data {

// Streams the examples of one file. Bad records are skipped, counted by reason and, when a report
// stream is set, written to it as "line<TAB>reason<TAB>detail". With options.strict the first bad
// record throws DataError naming path:line. A missing or unreadable file throws DataError.
class DatasetReader {
 public:
  // `options` must be resolved (resolve_auto in data/detect.h); "auto" reads as described there.
  DatasetReader(const std::filesystem::path& path, DataOptions options, std::ostream* report = nullptr);

  bool next(Example& example);
  const std::map<std::string, int64_t>& skipped() const { return skipped_; }
  int64_t skipped_total() const;

 private:
  void skip(const Line& line, SkipReason reason, const std::string& detail);

  std::filesystem::path path_;
  DataOptions options_;
  DatasetLines reader_;
  std::ostream* report_;
  std::map<std::string, int64_t> skipped_;
};

// One file of an indexed dataset.
struct IndexedShard {
  std::string name;          // DatasetFiles' name (relative to the folder given)
  uint64_t first = 0;        // index position of its first record
  int64_t line_base = 0;     // lines of the files before it: its line k is the dataset's line line_base + k
  uint64_t offset_base = 0;  // bytes of the files before it in the dataset's stream of lines
  bool streamed = false;     // compressed, a JSON array or Parquet: read by streaming, never pread
};

// Byte offsets of every non-blank line of a dataset, in its stream of lines (DatasetLines: decoded,
// file after file), and the hash of its content (its fingerprint for result files).
struct RecordIndex {
  uint64_t file_size = 0;  // of the indexed file (several files: the sum), to detect a changed file
  int64_t file_mtime_ns = 0;
  int64_t file_ctime_ns = 0;                 // no user can set it back: an edit whose mtime was restored is seen too
  uint64_t file_device = 0, file_inode = 0;  // a file renamed over the dataset, or a copy, is indexed again
                                             // (several files: a digest of every file's identity, and the count)
  ContentHash content;      // XXH3_128 of the file's bytes as stored (a .gz/.zst file: its compressed bytes); several
                            // files: of their "name\tsize\thash" lines
  bool compressed = false;  // some file is read by streaming (IndexedShard::streamed)
  bool several = false;     // DatasetFiles::several: ids without data.id_field are "name:line"
  bool ids_unique = false;  // every record is a JSON object with an "id" string or integer, all distinct
  std::vector<IndexedShard> shards;
  std::vector<uint64_t> offsets;
  std::vector<uint64_t> lengths;  // terminator included
  std::vector<int64_t> lines;     // 1-based line numbers (across the files)

  std::size_t size() const { return offsets.size(); }
  // The file holding the record at `position`.
  const IndexedShard& shard_of(std::size_t position) const;
};

// The id of a record read without data.id_field: its line number, or "name:line" in that file for a
// dataset of several files.
std::string line_id(const RecordIndex& index, std::size_t position);

// One streaming pass over the dataset `path` names (and one over its bytes for the content hash).
// Throws DataError when a file cannot be read, or changed while it was read.
RecordIndex build_index(const std::filesystem::path& path);

// The index cached at `cache`, rebuilt (and the cache rewritten atomically) when it is missing,
// unreadable, corrupt, of an older format, or when the dataset's size, mtime, ctime, device or inode
// differ from those it was built from (so a `touch` or a copy rehashes, to the same content hash).
RecordIndex load_or_build_index(const std::filesystem::path& path, const std::filesystem::path& cache);
// Whether `cache` can be an index cache this code wrote (any format version): a regular file that is
// empty or begins with the index's magic bytes. Only such a file is ever replaced.
bool is_index_cache(const std::filesystem::path& cache);

// Reads the records at `positions` (indices into `index`, ascending) and parses them. Plain JSONL files
// are read with pread at the indexed offsets; other files are streamed from their start up to the last
// wanted record (each file of a folder on its own).
// Results are in the order of `positions`; skipped records come back without an example.
std::vector<ParseResult> read_records(const std::filesystem::path& path, const RecordIndex& index,
                                      std::span<const std::size_t> positions, const DataOptions& options);

// Calls visit(position, bytes) for the records at `positions` (indices into `index`, ascending), in
// that order. `bytes` is the record exactly as stored: its line without the terminator ("\n" or
// "\r\n"), and without the UTF-8 byte order mark that may open the file (not part of any record).
// For a JSON array or Parquet file "the record as stored" is its line of the stream: the record as
// compact JSON (line_reader.h). Plain files are read with pread, others streamed up to the last wanted
// record; lengths are not limited. Throws DataError when the files no longer match the index.
void read_raw_records(const std::filesystem::path& path, const RecordIndex& index,
                      std::span<const std::size_t> positions,
                      const std::function<void(std::size_t position, std::string_view bytes)>& visit);

}  // namespace curate::data
