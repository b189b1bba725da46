// Read-only view of a whole file through mmap. Pages are mapped private and writable
// (copy-on-write): callers may modify bytes in memory (e.g. perturb weights in place) and the file on
// disk never changes. Move-only; the mapping lives until the object is destroyed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace curate {

class MappedFile {
 public:
  // Maps `path`. Throws ModelError naming the path when it cannot be opened or mapped
  // (the error class can be changed by the caller catching and rethrowing).
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  const std::filesystem::path& path() const noexcept { return path_; }
  // Drops this process's pages that lie wholly inside [begin, begin + bytes) (madvise MADV_DONTNEED):
  // they leave the resident set and are read again from the file if touched, so changes made through
  // the mapping on them are lost. For ranges that were copied elsewhere and never written. Never fails.
  void drop_pages(const std::byte* begin, std::size_t bytes) const noexcept;

 private:
  void release() noexcept;

  std::filesystem::path path_;
  std::byte* data_ = nullptr;  // nullptr for an empty file
  std::size_t size_ = 0;
};

}  // namespace curate
