// Append-only journal of records (length + CRC-32 framed byte strings). A process killed in the
// middle of an append leaves a torn last record, which readers detect and drop; every complete
// record before it is intact. Used to rebuild an HDF5 result file that a kill left unreadable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

namespace curate::store {

class Journal {
 public:
  // Opens `path` for appending (creating it), after cutting off a torn tail left by a kill.
  // Throws StoreError naming the path when it cannot be opened or written, ConfigError when `path`
  // holds something other than a journal (is_journal): that file is left as it is.
  explicit Journal(const std::filesystem::path& path);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  void append(std::span<const std::byte> record);
  // Forces appended records to stable storage (fsync).
  void sync();
  const std::filesystem::path& path() const { return path_; }

  // Calls `visit` for every complete record of `path` in order (nothing when the file is missing).
  // Returns the byte length of the valid prefix.
  static uint64_t read(const std::filesystem::path& path, const std::function<void(std::span<const std::byte>)>& visit);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// Whether `path` can be a journal this code wrote: a regular file (or a link to one) that is empty or
// begins with the journal's magic bytes (or a prefix of them: a kill while it was created).
bool is_journal(const std::filesystem::path& path);

// Copies `from` to `to` through a temporary file that is fsync'ed and then renamed: after a kill, `to`
// is either absent (or its old content) or a whole copy. Throws StoreError naming both paths.
void copy_durably(const std::filesystem::path& from, const std::filesystem::path& to);

// An exclusive advisory lock (flock) on `path`, created if missing (holding a magic line) and removed
// again on release: one writer per result file. Throws StoreError naming the path when another process
// holds it, ConfigError when `path` is something other than a lock file this code made (is_lock_file),
// which is then left as it is.
bool is_lock_file(const std::filesystem::path& path);

class RunLock {
 public:
  explicit RunLock(const std::filesystem::path& path);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace curate::store
