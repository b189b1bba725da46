// Files that appear whole or not at all: written under a temporary name beside the target, forced to
// disk (fsync), then renamed over it. A kill, a full disk or a read-only folder leaves the previous
// file (or none) under the final name, never a half-written one. An output that is a symbolic link is
// written through: its target (in the target's folder) gets the new bytes, the link stays.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace curate {

// The file an output named `path` writes: `path` itself, or the file its chain of symbolic links ends
// at (a dangling link's target included), so that the rename replaces the target and keeps the link.
// Throws StoreError for a chain of links that loops.
std::filesystem::path write_target(const std::filesystem::path& path);

// The temporary name used for `target`: TARGET.tmp (in the same folder, so the rename is atomic); for
// a symbolic link, the file it links to + ".tmp".
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

// Whether `a` and `b` name one file (links and hard links included: the same device and inode), or,
// where either is missing, the same path once normalised.
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);
// Throws ConfigError "OUTPUT_OPTION 'A' is INPUT_OPTION 'B': ..." when `output` names the file `input`
// (same_file): an output written there would replace the input it is read from.
void require_not_input(const std::filesystem::path& output, const std::string& output_option,
                       const std::filesystem::path& input, const std::string& input_option);

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

  // Reserves `output` and returns the temporary path the caller writes it to (any writer: HDF5,
  // a compressor): beside `output`, or beside the file it links to (the link is kept). Throws
  // StoreError when that file is already staged or is a folder.
  std::filesystem::path stage(const std::filesystem::path& output);
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
