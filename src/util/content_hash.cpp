#include "curate/util/content_hash.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_INLINE_ALL  // header-only: the hash functions are compiled in, no libxxhash at run time
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/unique_fd.h"

namespace curate {
namespace {

constexpr std::size_t kReadBlock = 8u << 20;  // sequential reads of 8 MiB
constexpr const char* kCacheHeader = "curate-hash-cache 1";

struct StateDeleter {
  void operator()(XXH3_state_t* state) const noexcept { XXH3_freeState(state); }
};

[[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
  throw DataError(std::string("cannot ") + what + " '" + path.string() + "' to hash it: " + std::strerror(errno));
}

ContentHash from_xxh(XXH128_hash_t h) { return {h.high64, h.low64}; }

// The identity of a file for the cache. Throws DataError when it cannot be stat'ed.
std::string identity(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) fail(path, "stat");
  char key[160];
  std::snprintf(key, sizeof key, "%" PRIu64 ":%" PRIu64 ":%" PRId64 ":%" PRId64 ".%09ld:%" PRId64 ".%09ld",
                static_cast<uint64_t>(info.st_dev), static_cast<uint64_t>(info.st_ino),
                static_cast<int64_t>(info.st_size), static_cast<int64_t>(info.st_mtim.tv_sec), info.st_mtim.tv_nsec,
                static_cast<int64_t>(info.st_ctim.tv_sec), info.st_ctim.tv_nsec);
  return key;
}

bool parse_hex(const std::string& text, ContentHash& out) {
  if (text.size() != 32 || text.find_first_not_of("0123456789abcdef") != std::string::npos) return false;
  out.high = std::stoull(text.substr(0, 16), nullptr, 16);
  out.low = std::stoull(text.substr(16), nullptr, 16);
  return true;
}

}  // namespace

std::string ContentHash::hex() const {
  char text[33];
  std::snprintf(text, sizeof text, "%016" PRIx64 "%016" PRIx64, high, low);
  return text;
}

ContentHash hash_file(const std::filesystem::path& path, uint64_t* bytes) {
  const UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.valid()) fail(path, "open");
  ::posix_fadvise(file.get(), 0, 0, POSIX_FADV_SEQUENTIAL);  // advice only
  std::unique_ptr<XXH3_state_t, StateDeleter> state(XXH3_createState());
  if (!state || XXH3_128bits_reset(state.get()) != XXH_OK) throw std::bad_alloc();
  std::unique_ptr<char[]> buffer(new char[kReadBlock]);
  uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(file.get(), buffer.get(), kReadBlock);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "read");
    if (n == 0) break;
    XXH3_128bits_update(state.get(), buffer.get(), static_cast<std::size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  if (bytes != nullptr) *bytes = total;
  return from_xxh(XXH3_128bits_digest(state.get()));
}

ContentHash hash_bytes(std::string_view bytes) { return from_xxh(XXH3_128bits(bytes.data(), bytes.size())); }
bool HashCache::is_cache_file(const std::filesystem::path& file) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) return false;
  std::ifstream in(file, std::ios::binary);
  std::string line;
  return !std::getline(in, line) || line == kCacheHeader;
}

HashCache::HashCache(std::filesystem::path file) : file_(std::move(file)) {
  std::ifstream in(file_);
  std::string line;
  if (!std::getline(in, line) || line != kCacheHeader) return;  // none yet, or not ours: start empty
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key, hex;
    ContentHash hash;
    if (!(fields >> key >> hex) || !parse_hex(hex, hash)) {
      entries_.clear();  // a damaged cache is no cache
      return;
    }
    entries_[key] = {hash, false};
  }
}

ContentHash HashCache::hash(const std::filesystem::path& path) {
  const std::string key = identity(path);
  if (auto it = entries_.find(key); it != entries_.end()) {
    it->second.used = true;
    ++reused_;
    return it->second.hash;
  }
  const ContentHash hash = hash_file(path);
  // A file that changed while it was read is not remembered under its old identity.
  if (identity(path) == key) {
    entries_[key] = {hash, true};
    dirty_ = true;
  }
  ++hashed_;
  return hash;
}

void HashCache::save() {
  const bool dropped = std::any_of(entries_.begin(), entries_.end(), [](const auto& e) { return !e.second.used; });
  if (!dirty_ && !dropped) return;
  std::string text = std::string(kCacheHeader) + "\n";
  for (const auto& [key, entry] : entries_) {
    if (entry.used) text += key + " " + entry.hash.hex() + "\n";
  }
  try {
    write_file_atomically(file_, text);
    dirty_ = false;
  } catch (const Error& e) {
    log::warn(std::string("cannot write the hash cache (files are hashed again next time): ") + e.what());
  }
}

std::vector<FileHash> folder_print(const std::filesystem::path& dir, HashCache* cache) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(dir, error)) throw DataError("'" + dir.string() + "' is not a folder: cannot fingerprint it");
  static const char* const kNamed[] = {
      "config.json",           "generation_config.json",  "tokenizer.json",
      "tokenizer_config.json", "special_tokens_map.json", "model.safetensors.index.json",
      "chat_template.jinja"};
  std::vector<std::string> names;
  for (const char* name : kNamed) {
    if (fs::is_regular_file(dir / name, error)) names.emplace_back(name);
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".safetensors" && entry.is_regular_file())
      names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::vector<FileHash> print;
  for (const auto& name : names) {
    FileHash file;
    file.name = name;
    file.size = fs::file_size(dir / name);
    file.hash = cache != nullptr ? cache->hash(dir / name) : hash_file(dir / name);
    print.push_back(std::move(file));
  }
  return print;
}

std::string print_digest(const std::vector<FileHash>& print) {
  std::string text;
  for (const auto& file : print) text += file.name + '\0' + std::to_string(file.size) + '\0' + file.hash.hex() + '\n';
  return from_xxh(XXH3_128bits(text.data(), text.size())).hex();
}

}  // namespace curate
