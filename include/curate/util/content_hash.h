// Content fingerprints of input files: a 128-bit XXH3 hash of every byte of a file, the print of a
// model or tokenizer folder (the files that decide its behaviour, by name relative to the folder),
// and a cache so that unchanged files are not read again on every run. Not cryptographic: it detects
// changed, damaged or swapped files, not an adversary. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace curate {

struct ContentHash {
  uint64_t high = 0, low = 0;  // XXH3_128 of the bytes (seed 0)
  bool operator==(const ContentHash&) const = default;
  std::string hex() const;  // 32 lowercase hex digits, high word first (as xxh128sum prints it)
};

// XXH3_128 of the whole file, read sequentially in large blocks. `bytes` (optional) receives the
// number of bytes hashed. Throws DataError naming the file when it cannot be opened or read
// (callers of a model folder catch and rethrow as ModelError).
ContentHash hash_file(const std::filesystem::path& path, uint64_t* bytes = nullptr);

// XXH3_128 of `bytes` (a digest of digests: the print of a dataset of several files).
ContentHash hash_bytes(std::string_view bytes);

// Hashes remembered by file identity: (st_dev, st_ino, size, mtime_ns, ctime_ns). A file written,
// truncated, renamed over or copied (cp -r, touch) gets another identity and is hashed again; the
// ctime cannot be set back by a user, so a change whose mtime was restored is hashed again too.
// Stored as a small text file at the path the caller gives (beside the run's outputs, never inside
// a model folder). A missing, unreadable or malformed cache file is an empty cache. Not thread-safe.
class HashCache {
 public:
  explicit HashCache(std::filesystem::path file);
  // The hash of `path`: from the cache when its identity is unchanged, else hash_file (and remembered).
  // Throws DataError when the file cannot be stat'ed or read.
  ContentHash hash(const std::filesystem::path& path);
  // Writes the cache atomically when something was added; entries not used since load are dropped
  // (files that left the folders). Failures to write are logged and ignored (the next run rehashes).
  void save();
  // Whether `file` can be a cache this code wrote: a regular file that is empty or starts with the
  // cache's header line. Only such a file is ever replaced.
  static bool is_cache_file(const std::filesystem::path& file);
  int64_t hashed() const { return hashed_; }  // files read by hash() since construction
  int64_t reused() const { return reused_; }  // files answered from the cache

 private:
  struct Entry {
    ContentHash hash;
    bool used = false;
  };
  std::filesystem::path file_;
  std::map<std::string, Entry> entries_;  // identity key -> hash
  bool dirty_ = false;
  int64_t hashed_ = 0, reused_ = 0;
};

// One file of a folder print.
struct FileHash {
  std::string name;   // relative to the folder ("model-00001-of-00004.safetensors")
  uint64_t size = 0;  // bytes
  ContentHash hash;
  bool operator==(const FileHash&) const = default;
};

// The print of a model or tokenizer folder: config.json, generation_config.json, tokenizer.json,
// tokenizer_config.json (the chat template), special_tokens_map.json, model.safetensors.index.json
// and every *.safetensors directly in `dir`, those that exist, sorted by name. Depends on the names
// and bytes of those files, never on the folder's own path. `cache` (optional) answers unchanged files.
// Throws DataError naming a file that cannot be read, or a `dir` that is not a folder.
std::vector<FileHash> folder_print(const std::filesystem::path& dir, HashCache* cache = nullptr);

// One hash of a whole print (names, sizes and hashes in order): two folders with the same files
// have the same digest. 32 hex digits.
std::string print_digest(const std::vector<FileHash>& print);

}  // namespace curate
