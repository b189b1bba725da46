// Read-only view of a whole file through mmap. Pages are mapped private and writable
// (copy-on-write): callers may modify bytes in memory (e.g. perturb weights in place) and the file on
// disk never changes. Move-only; the mapping lives until the object is destroyed.
//
// A mapped file that is truncated or overwritten by another process while it is mapped makes the next
// touch of a page past its new end raise SIGBUS. Every mapping is registered (with its file name) in a
// fixed table read by a SIGBUS handler that the first MappedFile installs: a fault inside a registered
// mapping writes "model file 'X' changed while it was mapped (...)" to stderr and ends the process with
// _exit(kExitModel); other faults go to the handler that was installed before (the default one: core).
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace curate {

// Installs the SIGBUS handler described above (idempotent, thread-safe). MappedFile calls it; main
// may call it earlier. A handler installed later by someone else (a sanitizer) replaces it.
void install_mapped_file_fault_handler();

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
  void register_range() noexcept;

  std::filesystem::path path_;
  std::byte* data_ = nullptr;  // nullptr for an empty file
  std::size_t size_ = 0;
  int slot_ = -1;  // in the fault handler's table; -1 when not registered (table full, empty file)
};

}  // namespace curate
