// Writing a JSONL file plain or compressed (gzip, zstd): the counterpart of line_reader.h for outputs.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

namespace curate::data {

enum class Compression { kNone, kGzip, kZstd };

// The compression of an existing file, from its first bytes (as open_source decides).
Compression detect_compression(const std::filesystem::path& path);
// ".gz", ".zst" or "".
std::string_view compression_suffix(Compression compression);

// Writes bytes to `path` (created or truncated), compressed as asked. Gzip output is deterministic
// (no name or time in the header), so the same bytes give the same file. close() finishes the
// stream; without it the destructor closes quietly and the file may be incomplete. Throws StoreError
// naming the file on any write failure. Not thread-safe.
class CompressedWriter {
 public:
  CompressedWriter(const std::filesystem::path& path, Compression compression);
  ~CompressedWriter();
  CompressedWriter(const CompressedWriter&) = delete;
  CompressedWriter& operator=(const CompressedWriter&) = delete;

  void write(std::string_view bytes);
  void close();

  class Sink;  // the compressor and file behind it

 private:
  std::unique_ptr<Sink> sink_;
};

}  // namespace curate::data
