// Files that appear whole or not at all: written under a temporary name beside the target, forced to
// disk (fsync), then renamed over it. A kill, a full disk or a read-only folder leaves the previous
// file (or none) under the final name, never a half-written one.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace curate {

// The temporary name used for `target`: TARGET.tmp (in the same folder, so the rename is atomic).
std::filesystem::path temporary_path(const std::filesystem::path& target);

// Forces the bytes of `path` (a file or folder) to disk. Throws StoreError naming it.
void sync_path(const std::filesystem::path& path);

// Writes `bytes` to temporary_path(path), fsyncs it, renames it to `path` and fsyncs the folder.
// Throws StoreError naming the file and what to check; the temporary is removed on failure.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

// A stream for a staged temporary (StagedFiles::stage): opened truncated, throwing StoreError
// "cannot create 'PATH': check that the output folder exists and is writable" when it cannot be.
std::ofstream open_output(const std::filesystem::path& path);
// Closes `out`, throwing StoreError naming `path` when any write failed (disk full, read-only).
void close_output(std::ofstream& out, const std::filesystem::path& path);

// A file's size and FNV-1a 64 hash, as "BYTES<TAB>HEX" (16 hex digits); "" when it cannot be read.
// Identifies an output written earlier (not a cryptographic check).
std::string file_digest(const std::filesystem::path& path);

// Several outputs that replace their previous versions together: each is written under its
// temporary name first (stage, or write), and commit() fsyncs them all, then renames them in the
// order they were staged. A failure before commit() leaves every previous file as it was; the
// destructor removes temporaries that were not committed. Not thread-safe.
class StagedFiles {
 public:
  StagedFiles() = default;
  ~StagedFiles();
  StagedFiles(const StagedFiles&) = delete;
  StagedFiles& operator=(const StagedFiles&) = delete;

  // Reserves `target` and returns the temporary path the caller writes it to (any writer: HDF5,
  // a compressor). Throws StoreError when `target` is already staged.
  std::filesystem::path stage(const std::filesystem::path& target);
  // stage(target) and write `bytes` to it.
  void write(const std::filesystem::path& target, std::string_view bytes);
  // fsyncs every temporary, renames each over its target in staging order, fsyncs the folders.
  // Throws StoreError naming the file that failed.
  void commit();

 private:
  std::vector<std::filesystem::path> targets_;
  bool committed_ = false;
};

}  // namespace curate
