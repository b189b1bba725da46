#include "curate/data/line_writer.h"

#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "curate/util/error.h"

namespace curate::data {

class CompressedWriter::Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(std::string_view bytes) = 0;
  virtual void close() = 0;
};

namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw StoreError(path.string() + ": " + what + " (check the free space and permissions of its folder)");
}

class FileSink {
 public:
  explicit FileSink(const std::filesystem::path& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) fail(path, std::string("cannot create the file: ") + std::strerror(errno));
  }
  ~FileSink() {
    if (file_ != nullptr) std::fclose(file_);
  }
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  void write(const void* data, std::size_t size) {
    if (size > 0 && std::fwrite(data, 1, size, file_) != size)
      fail(path_, std::string("cannot write: ") + std::strerror(errno));
  }
  void close() {
    std::FILE* file = file_;
    file_ = nullptr;
    if (std::fclose(file) != 0) fail(path_, std::string("cannot write: ") + std::strerror(errno));
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_;
};

class PlainSink final : public CompressedWriter::Sink {
 public:
  explicit PlainSink(const std::filesystem::path& path) : file_(path) {}
  void write(std::string_view bytes) override { file_.write(bytes.data(), bytes.size()); }
  void close() override { file_.close(); }

 private:
  FileSink file_;
};

// A gzip member written with deflate (windowBits 31): the header carries no name and mtime 0.
class GzipSink final : public CompressedWriter::Sink {
 public:
  explicit GzipSink(const std::filesystem::path& path) : file_(path), out_(1 << 16) {
    if (deflateInit2(&stream_, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) fail(path, "cannot start gzip");
  }
  ~GzipSink() override { deflateEnd(&stream_); }
  void write(std::string_view bytes) override { pump(bytes, Z_NO_FLUSH); }
  void close() override {
    pump({}, Z_FINISH);
    file_.close();
  }

 private:
  void pump(std::string_view bytes, int flush) {
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    stream_.avail_in = static_cast<uInt>(bytes.size());
    int rc = Z_OK;
    do {
      stream_.next_out = out_.data();
      stream_.avail_out = static_cast<uInt>(out_.size());
      rc = deflate(&stream_, flush);
      if (rc == Z_STREAM_ERROR) fail(file_.path(), "gzip compression failed");
      file_.write(out_.data(), out_.size() - stream_.avail_out);
    } while (stream_.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  }

  FileSink file_;
  z_stream stream_{};
  std::vector<Bytef> out_;
};

class ZstdSink final : public CompressedWriter::Sink {
 public:
  explicit ZstdSink(const std::filesystem::path& path)
      : file_(path), stream_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize()) {
    if (stream_ == nullptr) fail(path, "cannot start zstd");
  }
  ~ZstdSink() override { ZSTD_freeCCtx(stream_); }
  void write(std::string_view bytes) override { pump(bytes, ZSTD_e_continue); }
  void close() override {
    pump({}, ZSTD_e_end);
    file_.close();
  }

 private:
  void pump(std::string_view bytes, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      const std::size_t remaining = ZSTD_compressStream2(stream_, &out, &in, mode);
      if (ZSTD_isError(remaining))
        fail(file_.path(), std::string("zstd compression failed: ") + ZSTD_getErrorName(remaining));
      file_.write(out_.data(), out.pos);
      if (mode == ZSTD_e_end ? remaining == 0 : in.pos == in.size) return;
    }
  }

  FileSink file_;
  ZSTD_CCtx* stream_;
  std::vector<char> out_;
};

}  // namespace

Compression detect_compression(const std::filesystem::path& path) {
  unsigned char magic[4] = {0, 0, 0, 0};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(magic), 4);
  if (magic[0] == 0x1f && magic[1] == 0x8b) return Compression::kGzip;
  if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) return Compression::kZstd;
  return Compression::kNone;
}

std::string_view compression_suffix(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "";
    case Compression::kGzip:
      return ".gz";
    case Compression::kZstd:
      return ".zst";
  }
  return "";
}

CompressedWriter::CompressedWriter(const std::filesystem::path& path, Compression compression) {
  switch (compression) {
    case Compression::kNone:
      sink_ = std::make_unique<PlainSink>(path);
      break;
    case Compression::kGzip:
      sink_ = std::make_unique<GzipSink>(path);
      break;
    case Compression::kZstd:
      sink_ = std::make_unique<ZstdSink>(path);
      break;
  }
}

CompressedWriter::~CompressedWriter() = default;

void CompressedWriter::write(std::string_view bytes) { sink_->write(bytes); }

void CompressedWriter::close() {
  if (!sink_) return;
  std::unique_ptr<Sink> sink = std::move(sink_);
  sink->close();
}

}  // namespace curate::data
