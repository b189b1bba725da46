#include "curate/data/line_reader.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "curate/util/error.h"

namespace curate::data {
namespace {

constexpr std::size_t kBufferBytes = 1 << 20;

class FileHandle {
 public:
  explicit FileHandle(const std::filesystem::path& path) : path_(path), file_(std::fopen(path.c_str(), "rb")) {
    if (file_ == nullptr) {
      throw DataError("cannot open '" + path.string() + "': " + std::strerror(errno));
    }
  }
  ~FileHandle() { std::fclose(file_); }
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;

  std::size_t read(char* buffer, std::size_t capacity) {
    std::size_t n = std::fread(buffer, 1, capacity, file_);
    if (n == 0 && std::ferror(file_)) throw DataError("cannot read '" + path_.string() + "': " + std::strerror(errno));
    return n;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_;
};

class PlainSource : public ByteSource {
 public:
  explicit PlainSource(const std::filesystem::path& path) : file_(path) {}
  std::size_t read(char* buffer, std::size_t capacity) override { return file_.read(buffer, capacity); }

 private:
  FileHandle file_;
};

class GzipSource : public ByteSource {
 public:
  explicit GzipSource(const std::filesystem::path& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    if (file_ == nullptr) throw DataError("cannot open '" + path.string() + "' as gzip");
    gzbuffer(file_, kBufferBytes);
  }
  ~GzipSource() override { gzclose(file_); }
  std::size_t read(char* buffer, std::size_t capacity) override {
    int n = gzread(file_, buffer, static_cast<unsigned>(std::min<std::size_t>(capacity, 1u << 30)));
    if (n < 0) {
      int code = 0;
      throw DataError("'" + path_.string() + "': gzip data is corrupt (" + gzerror(file_, &code) + ")");
    }
    return static_cast<std::size_t>(n);
  }

 private:
  std::filesystem::path path_;
  gzFile file_;
};

class ZstdSource : public ByteSource {
 public:
  explicit ZstdSource(const std::filesystem::path& path)
      : file_(path), stream_(ZSTD_createDStream()), input_(ZSTD_DStreamInSize()) {
    if (stream_ == nullptr) throw DataError("cannot allocate a zstd stream for '" + path.string() + "'");
  }
  ~ZstdSource() override { ZSTD_freeDStream(stream_); }
  std::size_t read(char* buffer, std::size_t capacity) override {
    ZSTD_outBuffer out{buffer, capacity, 0};
    while (out.pos == 0) {
      if (in_.pos == in_.size) {
        in_ = {input_.data(), file_.read(input_.data(), input_.size()), 0};
        if (in_.size == 0) {
          if (frame_open_) {
            throw DataError("'" + file_.path().string() + "': zstd stream ends inside a frame; the file is truncated");
          }
          return 0;
        }
      }
      std::size_t rc = ZSTD_decompressStream(stream_, &out, &in_);
      if (ZSTD_isError(rc)) {
        throw DataError("'" + file_.path().string() + "': zstd data is corrupt (" + ZSTD_getErrorName(rc) + ")");
      }
      frame_open_ = rc != 0;
    }
    return out.pos;
  }

 private:
  FileHandle file_;
  ZSTD_DStream* stream_;
  std::vector<char> input_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool frame_open_ = false;
};

// The records of a JSON array, each as its compact JSON text and "\n". The array is parsed whole.
class JsonArraySource : public ByteSource {
 public:
  JsonArraySource(const std::filesystem::path& path, std::unique_ptr<ByteSource> bytes) {
    std::string text;
    std::vector<char> buffer(kBufferBytes);
    for (std::size_t n; (n = bytes->read(buffer.data(), buffer.size())) > 0;) text.append(buffer.data(), n);
    if (std::string_view(text).starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
    try {
      array_ = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw DataError("'" + path.string() + "' is not a valid JSON array (" + e.what() +
                      "); fix the file, or give it as JSON Lines (one record a line)");
    }
    if (!array_.is_array()) throw DataError("'" + path.string() + "' holds one JSON value that is not an array");
    path_ = path;
  }
  std::size_t read(char* buffer, std::size_t capacity) override {
    while (pending_.size() == pos_ && next_ < array_.size()) {
      try {
        pending_ = array_[next_].dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) + "\n";
      } catch (const nlohmann::json::exception&) {  // invalid UTF-8: the line is skipped as such, like JSONL's
        pending_ = array_[next_].dump(-1, ' ', false, nlohmann::json::error_handler_t::ignore) + "\xFF\n";
      }
      array_[next_++] = nullptr;  // the text is what is kept from here
      pos_ = 0;
    }
    const std::size_t n = std::min(capacity, pending_.size() - pos_);
    std::memcpy(buffer, pending_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::filesystem::path path_;
  nlohmann::ordered_json array_;
  std::size_t next_ = 0;
  std::string pending_;
  std::size_t pos_ = 0;
};

// Plain, gzip or zstd decoding of the file's bytes.
std::unique_ptr<ByteSource> open_bytes(const std::filesystem::path& path) {
  unsigned char magic[4] = {0, 0, 0, 0};
  {
    FileHandle probe(path);
    probe.read(reinterpret_cast<char*>(magic), sizeof magic);
  }
  if (magic[0] == 0x1f && magic[1] == 0x8b) return std::make_unique<GzipSource>(path);
  if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) {
    return std::make_unique<ZstdSource>(path);
  }
  return std::make_unique<PlainSource>(path);
}

}  // namespace

FileFormat detect_format(const std::filesystem::path& path) {
  char magic[4] = {0, 0, 0, 0};
  {
    FileHandle probe(path);
    probe.read(magic, sizeof magic);
  }
  if (std::string_view(magic, 4) == "PAR1") return FileFormat::kParquet;
  // The first non-blank character of the decoded text: '[' opens a JSON array.
  auto source = open_bytes(path);
  char buffer[4096];
  bool first_block = true;
  for (std::size_t n; (n = source->read(buffer, sizeof buffer)) > 0; first_block = false) {
    std::string_view text(buffer, n);
    if (first_block && text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) continue;
    return text[first] == '[' ? FileFormat::kJsonArray : FileFormat::kJsonLines;
  }
  return FileFormat::kJsonLines;
}

const char* format_name(FileFormat format) {
  switch (format) {
    case FileFormat::kJsonArray:
      return "JSON array";
    case FileFormat::kParquet:
      return "Parquet";
    case FileFormat::kJsonLines:
      break;
  }
  return "JSON Lines";
}

std::unique_ptr<ByteSource> open_source(const std::filesystem::path& path) {
  switch (detect_format(path)) {
    case FileFormat::kParquet:
      return open_parquet(path);
    case FileFormat::kJsonArray:
      return std::make_unique<JsonArraySource>(path, open_bytes(path));
    case FileFormat::kJsonLines:
      break;
  }
  return open_bytes(path);
}

LineReader::LineReader(const std::filesystem::path& path, std::size_t max_line_bytes)
    : path_(path), source_(open_source(path)), max_line_bytes_(max_line_bytes), buffer_(kBufferBytes, '\0') {}

LineReader::LineReader(std::unique_ptr<ByteSource> source, const std::filesystem::path& path,
                       std::size_t max_line_bytes, int64_t lines_before)
    : path_(path),
      source_(std::move(source)),
      max_line_bytes_(max_line_bytes),
      buffer_(kBufferBytes, '\0'),
      line_number_(lines_before) {}

bool LineReader::fill() {
  if (eof_) return false;
  if (pos_ > 0) {  // keep the unfinished line at the front
    std::memmove(buffer_.data(), buffer_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
  std::size_t n = source_->read(buffer_.data() + end_, buffer_.size() - end_);
  if (n == 0) eof_ = true;
  end_ += n;
  return n > 0;
}

bool LineReader::next(Line& line) {
  line.text.clear();
  line.too_long = false;
  line.offset = offset_;
  std::size_t scanned = 0;  // bytes of this line already searched for "\n"
  uint64_t dropped = 0;     // bytes of a too-long line already discarded
  for (;;) {
    const char* start = buffer_.data() + pos_;
    const void* newline = std::memchr(start + scanned, '\n', end_ - pos_ - scanned);
    if (newline != nullptr || (eof_ && end_ > pos_) || (eof_ && dropped > 0)) {
      std::size_t length = newline ? static_cast<const char*>(newline) - start + 1 : end_ - pos_;
      line.number = ++line_number_;
      line.length = dropped + length;
      line.too_long = line.too_long || line.length > max_line_bytes_;
      if (!line.too_long) {
        std::size_t text_length = length - (newline ? 1 : 0);
        if (text_length > 0 && start[text_length - 1] == '\r') --text_length;
        line.text.assign(start, text_length);
      }
      pos_ += length;
      offset_ += line.length;
      return true;
    }
    if (eof_) return false;
    scanned = end_ - pos_;
    if (scanned > max_line_bytes_) {  // drop what we have of an over-long line and keep scanning
      line.too_long = true;
      dropped += scanned;
      pos_ = end_;
      scanned = 0;
    }
    fill();
  }
}

}  // namespace curate::data
