// Binary encoding of messages between ranks: trivially copyable values copied as they lie in memory
// (the host's native byte order and type sizes, no conversion), strings and vectors prefixed by their
// u64 length. Every rank of a job must share byte order and type sizes: same-architecture clusters
// (x86-64 and aarch64 are both little-endian). The Reader checks every length against the buffer and
// throws DistError on a short or malformed message instead of reading past it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "curate/util/error.h"

namespace curate::comm {

class Writer {
 public:
  template <typename T>
  Writer& put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
    return *this;
  }
  Writer& put(const std::string& text) {
    put<uint64_t>(text.size());
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    bytes_.insert(bytes_.end(), p, p + text.size());
    return *this;
  }
  template <typename T>
  Writer& put(const std::vector<T>& values) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<uint64_t>(values.size());
    const auto* p = reinterpret_cast<const std::byte*>(values.data());
    bytes_.insert(bytes_.end(), p, p + values.size() * sizeof(T));
    return *this;
  }
  std::vector<std::byte>& bytes() { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  std::string get_string() {
    const auto n = get<uint64_t>();
    const std::byte* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  template <typename T>
  std::vector<T> get_vector() {
    const auto n = get<uint64_t>();
    if (n > bytes_.size() / sizeof(T) + 1) throw DistError("malformed message: vector length " + std::to_string(n));
    std::vector<T> values(n);
    const std::byte* p = take(n * sizeof(T));
    if (n > 0) std::memcpy(values.data(), p, n * sizeof(T));  // an empty vector's data() may be null
    return values;
  }
  bool done() const { return offset_ == bytes_.size(); }
  std::size_t remaining() const { return bytes_.size() - offset_; }

 private:
  const std::byte* take(std::size_t n) {
    if (n > bytes_.size() - offset_) {
      throw DistError("malformed message: needs " + std::to_string(n) + " more bytes, has " +
                      std::to_string(bytes_.size() - offset_));
    }
    const std::byte* p = bytes_.data() + offset_;
    offset_ += n;
    return p;
  }
  std::span<const std::byte> bytes_;
  std::size_t offset_ = 0;
};

}  // namespace curate::comm
