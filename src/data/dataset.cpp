#include "curate/data/dataset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_set>

#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "curate/util/unique_fd.h"

namespace curate::data {
namespace {

constexpr char kIndexMagic[8] = {'C', 'U', 'R', 'I', 'D', 'X', '3', '\n'};  // 3: files of a folder, ids

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

// One file: its stamp. Several: sizes summed, the latest times, and a digest of every file's name and
// identity with the count (a file added, removed, renamed or rewritten changes it).
FileStamp stamp(const DatasetFiles& files) {
  if (!files.several) return stamp(files.shards.at(0).path);
  FileStamp total{0, 0, 0, 0, files.shards.size()};
  std::string identities;
  for (const Shard& shard : files.shards) {
    const FileStamp s = stamp(shard.path);
    total.size += s.size;
    total.mtime_ns = std::max(total.mtime_ns, s.mtime_ns);
    total.ctime_ns = std::max(total.ctime_ns, s.ctime_ns);
    identities +=
        cat(shard.name, '\t', s.size, '\t', s.mtime_ns, '\t', s.ctime_ns, '\t', s.device, '\t', s.inode, '\n');
  }
  total.device = hash_bytes(identities).low;
  return total;
}

ContentHash content_of(const DatasetFiles& files) {
  if (!files.several) return hash_file(files.shards.at(0).path);
  std::string prints;
  for (const Shard& shard : files.shards) {
    uint64_t size = 0;
    const ContentHash hash = hash_file(shard.path, &size);
    prints += cat(shard.name, '\t', size, '\t', hash.hex(), '\n');
  }
  return hash_bytes(prints);
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

// The id of a record whose text is `line` when it is a JSON object with an "id" string or integer.
std::optional<std::string> record_id(const std::string& line) {
  const nlohmann::json object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return std::nullopt;
  const auto id = object.find("id");
  if (id == object.end()) return std::nullopt;
  if (id->is_string()) return "s" + id->get<std::string>();
  if (id->is_number_integer()) return "i" + id->dump();
  return std::nullopt;
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
  uint8_t several = 0, ids_unique = 0;
  uint64_t shards = 0;
  in.read(reinterpret_cast<char*>(&compressed), 1);
  in.read(reinterpret_cast<char*>(&several), 1);
  in.read(reinterpret_cast<char*>(&ids_unique), 1);
  in.read(reinterpret_cast<char*>(&shards), 8);
  if (!in || shards > (uint64_t{1} << 24)) return std::nullopt;
  for (uint64_t i = 0; i < shards; ++i) {
    IndexedShard shard;
    uint64_t name_length = 0;
    uint8_t streamed = 0;
    in.read(reinterpret_cast<char*>(&name_length), 8);
    if (!in || name_length > 4096) return std::nullopt;
    shard.name.resize(name_length);
    in.read(shard.name.data(), static_cast<std::streamsize>(name_length));
    in.read(reinterpret_cast<char*>(&shard.first), 8);
    in.read(reinterpret_cast<char*>(&shard.line_base), 8);
    in.read(reinterpret_cast<char*>(&shard.offset_base), 8);
    in.read(reinterpret_cast<char*>(&streamed), 1);
    shard.streamed = streamed != 0;
    index.shards.push_back(std::move(shard));
  }
  in.read(reinterpret_cast<char*>(&count), 8);
  if (!in || count > (uint64_t{1} << 40) || index.shards.empty()) return std::nullopt;
  index.compressed = compressed != 0;
  index.several = several != 0;
  index.ids_unique = ids_unique != 0;
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

// The files of `path` as the index knows them. Throws DataError when they are other files now.
std::vector<Shard> indexed_files(const std::filesystem::path& path, const RecordIndex& index) {
  DatasetFiles files = resolve_dataset(path.string());
  bool same = files.several == index.several && files.shards.size() == index.shards.size();
  for (std::size_t i = 0; same && files.several && i < files.shards.size(); ++i)  // one file may be renamed
    same = files.shards[i].name == index.shards[i].name;
  if (!same) {
    throw DataError("the files of '" + path.string() +
                    "' are not those it was indexed from (a file was added, removed or renamed); rerun to index it "
                    "again");
  }
  return std::move(files.shards);
}

// Calls visit(position, text) for `positions` (ascending): the record's line without its terminator,
// at most `cap` bytes of it read (a longer record comes cut; callers check index.lengths). Plain files
// by pread, the others streamed per file. Throws DataError (from `changed`) when a file no longer
// matches the index.
void visit_records(const std::filesystem::path& path, const RecordIndex& index, std::span<const std::size_t> positions,
                   uint64_t cap, const std::function<DataError(std::size_t)>& changed,
                   const std::function<void(std::size_t, std::string_view, bool shard_start)>& visit) {
  check_positions(path, index, positions);
  const std::vector<Shard> files = indexed_files(path, index);
  std::size_t next = 0;
  for (std::size_t s = 0; s < files.size() && next < positions.size(); ++s) {
    const IndexedShard& shard = index.shards[s];
    const uint64_t end = s + 1 < files.size() ? index.shards[s + 1].first : index.size();
    if (positions[next] >= end) continue;
    if (!shard.streamed) {
      const UniqueFd fd(::open(files[s].path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd.valid()) throw DataError("cannot open '" + files[s].path.string() + "': " + std::strerror(errno));
      std::string buffer;
      for (; next < positions.size() && positions[next] < end; ++next) {
        const std::size_t p = positions[next];
        const uint64_t local = index.offsets[p] - shard.offset_base;
        buffer.resize(std::min(index.lengths[p], cap));
        std::size_t done = 0;
        while (done < buffer.size()) {
          const ssize_t n =
              ::pread(fd.get(), buffer.data() + done, buffer.size() - done, static_cast<off_t>(local + done));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) throw changed(p);
          done += static_cast<std::size_t>(n);
        }
        std::string_view bytes(buffer);
        if (bytes.ends_with('\n')) bytes.remove_suffix(1);
        if (bytes.ends_with('\r')) bytes.remove_suffix(1);  // as LineReader: "\r\n" (or a final "\r") ends a line
        visit(p, bytes, local == 0);
      }
      continue;
    }
    // A Parquet file starts at the row group of the first wanted record (earlier groups are not
    // decoded, their offsets not known); the others are streamed from their start.
    const auto max_line = static_cast<std::size_t>(std::min<uint64_t>(cap, SIZE_MAX));
    int64_t rows_skipped = 0;
    LineReader reader =
        files[s].format == FileFormat::kParquet
            ? LineReader(open_parquet(files[s].path, index.lines[positions[next]] - shard.line_base - 1, &rows_skipped),
                         files[s].path, max_line, 0)
            : LineReader(files[s].path, max_line);
    Line line;
    while (next < positions.size() && positions[next] < end && reader.next(line)) {
      line.number += rows_skipped;
      while (next < positions.size() && positions[next] < end &&
             index.lines[positions[next]] == line.number + shard.line_base) {
        const std::size_t p = positions[next++];
        if (rows_skipped == 0 && line.offset + shard.offset_base != index.offsets[p]) throw changed(p);
        visit(p, line.text, rows_skipped == 0 && line.offset == 0);
      }
    }
    if (next < positions.size() && positions[next] < end) throw changed(positions[next]);
  }
}

}  // namespace

const IndexedShard& RecordIndex::shard_of(std::size_t position) const {
  auto after = std::upper_bound(shards.begin(), shards.end(), position,
                                [](std::size_t p, const IndexedShard& s) { return p < s.first; });
  return *std::prev(after);
}

std::string line_id(const RecordIndex& index, std::size_t position) {
  if (!index.several) return std::to_string(index.lines[position]);
  const IndexedShard& shard = index.shard_of(position);
  return shard.name + ":" + std::to_string(index.lines[position] - shard.line_base);
}

ParseResult parse_record_of(const std::filesystem::path& file, std::string_view line, int64_t line_number,
                            const DataOptions& options) {
  try {
    return parse_record(line, line_number, options);
  } catch (const DataError& e) {
    throw DataError(file.string() + ": " + e.what());
  }
}

DatasetReader::DatasetReader(const std::filesystem::path& path, DataOptions options, std::ostream* report)
    : path_(path),
      options_(std::move(options)),
      reader_(path.string(), static_cast<std::size_t>(options_.max_line_bytes)),
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
    ParseResult result = parse_record_of(path_, line.text, line.number, options_);
    if (!result.example) {
      skip(line, result.reason, result.detail);
      continue;
    }
    example = std::move(*result.example);
    example.offset = line.offset;
    if (reader_.files().several && !has_id_field(options_))
      example.id = reader_.files().shards[line.shard].name + ":" + std::to_string(line.shard_line);
    return true;
  }
  return false;
}

RecordIndex build_index(const std::filesystem::path& path) {
  RecordIndex index;
  DatasetFiles files = resolve_dataset(path.string());
  const FileStamp s = stamp(files);
  index.file_size = s.size;
  index.file_mtime_ns = s.mtime_ns;
  index.file_ctime_ns = s.ctime_ns;
  index.file_device = s.device;
  index.file_inode = s.inode;
  index.content = content_of(files);
  index.several = files.several;
  for (const Shard& shard : files.shards) {
    const bool streamed = shard.format != FileFormat::kJsonLines || is_compressed(shard.path);
    index.compressed = index.compressed || streamed;
    index.shards.push_back({shard.name, 0, 0, 0, streamed});
  }
  std::unordered_set<std::string> ids;
  bool ids_unique = true;
  DatasetLines reader(std::move(files), std::size_t{64} << 20);  // longer lines are never held (and have no id)
  Line line;
  std::size_t shard = 0;
  while (reader.next(line)) {
    for (; shard < line.shard; ++shard) index.shards[shard + 1].first = index.size();
    if (line.shard_line == 1) {
      index.shards[line.shard].line_base = line.number - 1;
      index.shards[line.shard].offset_base = line.offset;
    }
    if (is_blank(line)) continue;
    index.offsets.push_back(line.offset);
    index.lengths.push_back(line.length);
    index.lines.push_back(line.number);
    if (ids_unique) {
      std::optional<std::string> id = line.too_long ? std::nullopt : record_id(line.text);
      ids_unique = id && ids.insert(std::move(*id)).second;
      if (!ids_unique) ids.clear();
    }
  }
  for (; shard + 1 < index.shards.size(); ++shard) index.shards[shard + 1].first = index.size();
  index.ids_unique = ids_unique && index.size() > 0;
  if (!(stamp(resolve_dataset(path.string())) == s)) {
    throw DataError("'" + path.string() + "' changed while it was being indexed; rerun once nothing writes to it");
  }
  return index;
}

bool is_index_cache(const std::filesystem::path& cache) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(cache, error)) return false;
  std::ifstream in(cache, std::ios::binary);
  char magic[6] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == 0 || (in.gcount() == sizeof magic && std::memcmp(magic, kIndexMagic, sizeof magic) == 0);
}

RecordIndex load_or_build_index(const std::filesystem::path& path, const std::filesystem::path& cache) {
  const FileStamp s = stamp(resolve_dataset(path.string()));
  if (auto cached = read_index(cache); cached && stamp_of(*cached) == s) {
    return std::move(*cached);
  }
  RecordIndex index = build_index(path);
  try {  // whole or not at all (util/atomic_file.h); a cache that cannot be written is rebuilt next time
    StagedFiles staged;
    const std::filesystem::path temporary = staged.stage(cache);
    std::ofstream out = open_output(temporary);
    const uint64_t count = index.size(), shards = index.shards.size();
    const uint8_t flags[3] = {index.compressed, index.several, index.ids_unique};
    out.write(kIndexMagic, 8);
    for (const void* field :
         {static_cast<const void*>(&index.file_size), static_cast<const void*>(&index.file_mtime_ns),
          static_cast<const void*>(&index.file_ctime_ns), static_cast<const void*>(&index.file_device),
          static_cast<const void*>(&index.file_inode), static_cast<const void*>(&index.content.high),
          static_cast<const void*>(&index.content.low)}) {
      out.write(static_cast<const char*>(field), 8);
    }
    out.write(reinterpret_cast<const char*>(flags), 3);
    out.write(reinterpret_cast<const char*>(&shards), 8);
    for (const IndexedShard& shard : index.shards) {
      const uint64_t name_length = shard.name.size();
      const uint8_t streamed = shard.streamed;
      out.write(reinterpret_cast<const char*>(&name_length), 8);
      out.write(shard.name.data(), static_cast<std::streamsize>(name_length));
      out.write(reinterpret_cast<const char*>(&shard.first), 8);
      out.write(reinterpret_cast<const char*>(&shard.line_base), 8);
      out.write(reinterpret_cast<const char*>(&shard.offset_base), 8);
      out.write(reinterpret_cast<const char*>(&streamed), 1);
    }
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
  const auto changed = [&](std::size_t p) {
    return DataError("'" + path.string() + "' changed or shrank since it was indexed (record at line " +
                     std::to_string(index.lines[p]) + "); delete the index cache and rerun");
  };
  const auto cap = static_cast<uint64_t>(options.max_line_bytes) + 1;
  visit_records(path, index, positions, cap, changed, [&](std::size_t p, std::string_view text, bool) {
    if (static_cast<int64_t>(index.lengths[p]) > options.max_line_bytes) {
      ParseResult skipped;
      skipped.reason = SkipReason::kLineTooLong;
      skipped.detail = "line exceeds data.max_line_bytes";
      results.push_back(std::move(skipped));
      return;
    }
    ParseResult result = parse_record_of(path, text, index.lines[p], options);
    if (result.example) {
      result.example->offset = index.offsets[p];
      if (index.several && !has_id_field(options)) result.example->id = line_id(index, p);
    }
    results.push_back(std::move(result));
  });
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
  visit_records(path, index, positions, std::numeric_limits<uint64_t>::max(), changed,
                [&](std::size_t p, std::string_view bytes, bool file_start) {
                  if (file_start && bytes.starts_with(kBom)) bytes.remove_prefix(kBom.size());
                  visit(p, bytes);
                });
}

}  // namespace curate::data
