// Helpers shared by the libFuzzer harnesses: a per-process scratch file for APIs that read paths,
// and a small cursor over the input bytes. Harnesses treat curate::Error as the expected answer to
// bad input; any other exception escapes LLVMFuzzerTestOneInput and is reported as a crash (it would
// be exit code 1, "internal error", in the tools), as are sanitizer reports, timeouts and OOMs.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace curate::fuzz {

// A folder under $TMPDIR (or /tmp) private to this process, removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::filesystem::path path =
        std::filesystem::path(tmp && *tmp ? tmp : "/tmp") / ("curate_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    static struct Cleanup {
      std::filesystem::path path;
      ~Cleanup() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
      }
    } cleanup{path};
    return path;
  }();
  return dir;
}

// Writes `bytes` to scratch_dir()/name (replacing it) and returns the path.
inline std::filesystem::path write_scratch(const std::string& name, std::string_view bytes) {
  const std::filesystem::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// Consumes the input front to back: flag bytes first, then the rest as text.
class Input {
 public:
  Input(const uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::string_view rest() {
    std::string_view text(reinterpret_cast<const char*>(data_) + at_, size_ - at_);
    at_ = size_;
    return text;
  }
  // The bytes up to the first occurrence of `separator` (consumed too), or everything left.
  std::string_view until(std::string_view separator) {
    std::string_view left(reinterpret_cast<const char*>(data_) + at_, size_ - at_);
    const std::size_t end = left.find(separator);
    if (end == std::string_view::npos) return rest();
    at_ += end + separator.size();
    return left.substr(0, end);
  }

 private:
  const uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

// Stops the fuzzer with a message when an invariant of the code under test is broken.
#define CURATE_FUZZ_CHECK(condition)                                                         \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

}  // namespace curate::fuzz
