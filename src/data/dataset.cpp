#include "curate/data/dataset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "curate/util/unique_fd.h"

namespace curate::data {
namespace {

constexpr char kIndexMagic[8] = {'C', 'U', 'R', 'I', 'D', 'X', '2', '\n'};  // 2: identity and content hash

bool is_blank(const Line& line) { return !line.too_long && line.text.find_first_not_of(" \t\r") == std::string::npos; }

struct FileStamp {
  uint64_t size;
  int64_t mtime_ns, ctime_ns;
  uint64_t device, inode;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw DataError("cannot stat '" + path.string() + "': " + std::strerror(errno));
  return {static_cast<uint64_t>(info.st_size),
          static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec,
          static_cast<int64_t>(info.st_ctim.tv_sec) * 1000000000 + info.st_ctim.tv_nsec,
          static_cast<uint64_t>(info.st_dev), static_cast<uint64_t>(info.st_ino)};
}

FileStamp stamp_of(const RecordIndex& index) {
  return {index.file_size, index.file_mtime_ns, index.file_ctime_ns, index.file_device, index.file_inode};
}

bool is_compressed(const std::filesystem::path& path) {
  unsigned char magic[4] = {0, 0, 0, 0};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(magic), 4);
  return (magic[0] == 0x1f && magic[1] == 0x8b) || (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f);
}

template <typename T>
void write_array(std::ostream& out, const std::vector<T>& values) {
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(T)));
}

template <typename T>
bool read_array(std::istream& in, std::vector<T>& values, uint64_t count) {
  values.resize(count);
  in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(count * sizeof(T)));
  return static_cast<bool>(in);
}

std::optional<RecordIndex> read_index(const std::filesystem::path& cache) {
  std::ifstream in(cache, std::ios::binary);
  char magic[8];
  RecordIndex index;
  uint64_t count = 0;
  uint8_t compressed = 0;
  if (!in.read(magic, 8) || std::memcmp(magic, kIndexMagic, 8) != 0) return std::nullopt;
  for (void* field : {static_cast<void*>(&index.file_size), static_cast<void*>(&index.file_mtime_ns),
                      static_cast<void*>(&index.file_ctime_ns), static_cast<void*>(&index.file_device),
                      static_cast<void*>(&index.file_inode), static_cast<void*>(&index.content.high),
                      static_cast<void*>(&index.content.low)}) {
    in.read(static_cast<char*>(field), 8);
  }
  in.read(reinterpret_cast<char*>(&compressed), 1);
  in.read(reinterpret_cast<char*>(&count), 8);
  if (!in || count > (uint64_t{1} << 40)) return std::nullopt;
  index.compressed = compressed != 0;
  if (!read_array(in, index.offsets, count) || !read_array(in, index.lengths, count) ||
      !read_array(in, index.lines, count)) {
    return std::nullopt;
  }
  if (in.peek() != std::char_traits<char>::eof()) return std::nullopt;  // trailing garbage
  return index;
}

// Throws DataError when a position is not a record of `index` (read from `path`).
void check_positions(const std::filesystem::path& path, const RecordIndex& index,
                     std::span<const std::size_t> positions) {
  for (std::size_t p : positions) {
    if (p >= index.size())
      throw DataError("record " + std::to_string(p) + " is outside the index of '" + path.string() + "'");
  }
}

// An uncompressed dataset, opened for pread. Throws DataError naming it.
UniqueFd open_to_read(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw DataError("cannot open '" + path.string() + "': " + std::strerror(errno));
  return fd;
}

}  // namespace

DatasetReader::DatasetReader(const std::filesystem::path& path, DataOptions options, std::ostream* report)
    : path_(path),
      options_(std::move(options)),
      reader_(path, static_cast<std::size_t>(options_.max_line_bytes)),
      report_(report) {
  validate(options_);
}

int64_t DatasetReader::skipped_total() const {
  int64_t total = 0;
  for (const auto& [reason, count] : skipped_) total += count;
  return total;
}

void DatasetReader::skip(const Line& line, SkipReason reason, const std::string& detail) {
  if (options_.strict) {
    throw DataError(path_.string() + ":" + std::to_string(line.number) + ": " + std::string(skip_reason_name(reason)) +
                    ": " + detail + " (data.strict is set; unset it to skip such records)");
  }
  ++skipped_[std::string(skip_reason_name(reason))];
  if (report_ != nullptr) *report_ << line.number << '\t' << skip_reason_name(reason) << '\t' << detail << '\n';
}

bool DatasetReader::next(Example& example) {
  Line line;
  while (reader_.next(line)) {
    if (is_blank(line)) continue;
    if (line.too_long) {
      skip(line, SkipReason::kLineTooLong,
           "line of " + std::to_string(line.length) + " bytes exceeds data.max_line_bytes");
      continue;
    }
    ParseResult result = parse_record(line.text, line.number, options_);
    if (!result.example) {
      skip(line, result.reason, result.detail);
      continue;
    }
    example = std::move(*result.example);
    example.offset = line.offset;
    return true;
  }
  return false;
}

RecordIndex build_index(const std::filesystem::path& path) {
  RecordIndex index;
  const FileStamp s = stamp(path);
  index.file_size = s.size;
  index.file_mtime_ns = s.mtime_ns;
  index.file_ctime_ns = s.ctime_ns;
  index.file_device = s.device;
  index.file_inode = s.inode;
  index.content = hash_file(path);
  index.compressed = is_compressed(path);
  LineReader reader(path, /*max_line_bytes=*/64);  // long lines are never held; short ones are checked for blanks
  Line line;
  while (reader.next(line)) {
    if (is_blank(line)) continue;
    index.offsets.push_back(line.offset);
    index.lengths.push_back(line.length);
    index.lines.push_back(line.number);
  }
  if (!(stamp(path) == s)) {
    throw DataError("'" + path.string() + "' changed while it was being indexed; rerun once nothing writes to it");
  }
  return index;
}

RecordIndex load_or_build_index(const std::filesystem::path& path, const std::filesystem::path& cache) {
  const FileStamp s = stamp(path);
  if (auto cached = read_index(cache); cached && stamp_of(*cached) == s) {
    return std::move(*cached);
  }
  RecordIndex index = build_index(path);
  try {  // whole or not at all (util/atomic_file.h); a cache that cannot be written is rebuilt next time
    StagedFiles staged;
    const std::filesystem::path temporary = staged.stage(cache);
    std::ofstream out = open_output(temporary);
    const uint64_t count = index.size();
    const uint8_t compressed = index.compressed;
    out.write(kIndexMagic, 8);
    for (const void* field :
         {static_cast<const void*>(&index.file_size), static_cast<const void*>(&index.file_mtime_ns),
          static_cast<const void*>(&index.file_ctime_ns), static_cast<const void*>(&index.file_device),
          static_cast<const void*>(&index.file_inode), static_cast<const void*>(&index.content.high),
          static_cast<const void*>(&index.content.low)}) {
      out.write(static_cast<const char*>(field), 8);
    }
    out.write(reinterpret_cast<const char*>(&compressed), 1);
    out.write(reinterpret_cast<const char*>(&count), 8);
    write_array(out, index.offsets);
    write_array(out, index.lengths);
    write_array(out, index.lines);
    close_output(out, temporary);
    staged.commit();
  } catch (const StoreError& e) {
    log::warn(cat("cannot write the record index cache '", cache.string(), "' (", e.what(),
                  "); it will be rebuilt next time"));
  }
  return index;
}

std::vector<ParseResult> read_records(const std::filesystem::path& path, const RecordIndex& index,
                                      std::span<const std::size_t> positions, const DataOptions& options) {
  std::vector<ParseResult> results;
  results.reserve(positions.size());
  auto parse = [&](std::string text, std::size_t position) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (static_cast<int64_t>(index.lengths[position]) > options.max_line_bytes) {
      ParseResult skipped;
      skipped.reason = SkipReason::kLineTooLong;
      skipped.detail = "line exceeds data.max_line_bytes";
      results.push_back(std::move(skipped));
      return;
    }
    ParseResult result = parse_record(text, index.lines[position], options);
    if (result.example) result.example->offset = index.offsets[position];
    results.push_back(std::move(result));
  };
  check_positions(path, index, positions);
  if (!index.compressed) {
    const UniqueFd fd = open_to_read(path);
    std::string buffer;
    for (std::size_t p : positions) {
      buffer.resize(std::min<uint64_t>(index.lengths[p], static_cast<uint64_t>(options.max_line_bytes) + 1));
      ssize_t n = ::pread(fd.get(), buffer.data(), buffer.size(), static_cast<off_t>(index.offsets[p]));
      if (n < 0 || static_cast<std::size_t>(n) != buffer.size()) {
        throw DataError("'" + path.string() + "' changed or shrank since it was indexed (record at line " +
                        std::to_string(index.lines[p]) + "); delete the index cache and rerun");
      }
      parse(buffer, p);
    }
    return results;
  }
  LineReader reader(path, static_cast<std::size_t>(options.max_line_bytes));
  Line line;
  std::size_t next = 0;
  while (next < positions.size() && reader.next(line)) {
    while (next < positions.size() && index.lines[positions[next]] == line.number) parse(line.text, positions[next++]);
  }
  if (next < positions.size())
    throw DataError("'" + path.string() + "' has fewer lines than its index; delete the index cache");
  return results;
}

void read_raw_records(const std::filesystem::path& path, const RecordIndex& index,
                      std::span<const std::size_t> positions,
                      const std::function<void(std::size_t position, std::string_view bytes)>& visit) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  const auto changed = [&](std::size_t p) {
    return DataError("'" + path.string() + "' changed since it was indexed (record at line " +
                     std::to_string(index.lines[p]) + "); delete the index cache and rerun");
  };
  check_positions(path, index, positions);
  if (!index.compressed) {
    const UniqueFd fd = open_to_read(path);
    std::string buffer;
    for (std::size_t p : positions) {
      buffer.resize(index.lengths[p]);
      std::size_t done = 0;
      while (done < buffer.size()) {
        const ssize_t n =
            ::pread(fd.get(), buffer.data() + done, buffer.size() - done, static_cast<off_t>(index.offsets[p] + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw changed(p);
        done += static_cast<std::size_t>(n);
      }
      std::string_view bytes(buffer);
      if (bytes.ends_with('\n')) bytes.remove_suffix(1);
      if (bytes.ends_with('\r')) bytes.remove_suffix(1);  // as LineReader: "\r\n" (or a final "\r") ends a line
      if (index.offsets[p] == 0 && bytes.starts_with(kBom)) bytes.remove_prefix(kBom.size());
      visit(p, bytes);
    }
    return;
  }
  LineReader reader(path, std::numeric_limits<std::size_t>::max());
  Line line;
  std::size_t next = 0;
  while (next < positions.size() && reader.next(line)) {
    while (next < positions.size() && index.lines[positions[next]] == line.number) {
      if (line.offset != index.offsets[positions[next]]) throw changed(positions[next]);
      std::string_view bytes(line.text);
      if (line.offset == 0 && bytes.starts_with(kBom)) bytes.remove_prefix(kBom.size());
      visit(positions[next++], bytes);
    }
  }
  if (next < positions.size()) throw changed(positions[next]);
}

}  // namespace curate::data
