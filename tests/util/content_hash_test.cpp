// Content fingerprints: whole-file XXH3_128, folder prints that ignore the folder's path, and the
// identity-keyed cache.
#include "curate/util/content_hash.h"

#include <fcntl.h>
#include <sys/stat.h>
#define XXH_INLINE_ALL  // header-only: the hash functions are compiled in, no libxxhash at run time
#include <xxhash.h>

#include <gtest/gtest.h>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::ScratchDir;
using testing::write_file;

std::string pattern(std::size_t bytes) {
  std::string text(bytes, '\0');
  uint64_t x = 1;
  for (auto& c : text) c = static_cast<char>((x = x * 6364136223846793005ull + 1442695040888963407ull) >> 56);
  return text;
}

ContentHash in_memory(const std::string& bytes) {
  const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return {h.high64, h.low64};
}

struct timespec mtime_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0);
  return info.st_mtim;
}

TEST(ContentHash, WholeFileAcrossReadBlocksEqualsTheHashOfItsBytes) {
  ScratchDir dir;
  const std::string bytes = pattern((9u << 20) + 12345);  // more than one 8 MiB read
  write_file(dir / "big.bin", bytes);
  uint64_t hashed = 0;
  EXPECT_EQ(hash_file(dir / "big.bin", &hashed), in_memory(bytes));
  EXPECT_EQ(hashed, bytes.size());
  write_file(dir / "empty", "");
  EXPECT_EQ(hash_file(dir / "empty").hex(), "99aa06d3014798d86001c324468d497f");  // xxh128sum of nothing
  EXPECT_THROW(hash_file(dir / "missing"), DataError);
}

TEST(ContentHash, OneChangedByteChangesTheHash) {
  ScratchDir dir;
  std::string bytes = pattern(100000);
  write_file(dir / "a", bytes);
  bytes[77777] ^= 1;
  write_file(dir / "b", bytes);
  EXPECT_NE(hash_file(dir / "a"), hash_file(dir / "b"));
}

void write_model(const fs::path& dir) {
  fs::create_directories(dir);
  write_file(dir / "config.json", "{\"hidden_size\": 8}");
  write_file(dir / "tokenizer_config.json", "{\"chat_template\": \"x\"}");
  write_file(dir / "model-00002-of-00002.safetensors", pattern(5000));
  write_file(dir / "model-00001-of-00002.safetensors", pattern(7000));
  write_file(dir / "model.safetensors.index.json", "{}");
  write_file(dir / "README.md", "not part of the print");
}

TEST(FolderPrint, NamesTheBehaviourFilesSortedAndIgnoresTheFolderPath) {
  ScratchDir dir;
  write_model(dir / "a");
  write_model(dir / "elsewhere" / "b");
  const auto print = folder_print(dir / "a");
  std::vector<std::string> names;
  for (const auto& file : print) names.push_back(file.name);
  EXPECT_EQ(names, (std::vector<std::string>{"config.json", "model-00001-of-00002.safetensors",
                                             "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                                             "tokenizer_config.json"}));
  EXPECT_EQ(print[1].size, 7000u);
  EXPECT_EQ(print[1].hash, in_memory(pattern(7000)));
  EXPECT_EQ(print, folder_print(dir / "elsewhere" / "b"));
  EXPECT_EQ(print_digest(print), print_digest(folder_print(dir / "elsewhere" / "b")));

  write_file(dir / "a" / "README.md", "edited");  // not a behaviour file
  EXPECT_EQ(print_digest(folder_print(dir / "a")), print_digest(print));
  write_file(dir / "a" / "tokenizer_config.json", "{\"chat_template\": \"y\"}");  // another chat template
  EXPECT_NE(print_digest(folder_print(dir / "a")), print_digest(print));
  fs::rename(dir / "elsewhere" / "b" / "model-00002-of-00002.safetensors",
             dir / "elsewhere" / "b" / "model-2.safetensors");
  EXPECT_NE(print_digest(folder_print(dir / "elsewhere" / "b")), print_digest(print));  // names count
  EXPECT_THROW(folder_print(dir / "a" / "config.json"), DataError);
}

TEST(HashCache, UnchangedFilesAreNotReadAgain) {
  ScratchDir dir;
  write_model(dir / "m");
  const auto fresh = folder_print(dir / "m");
  {
    HashCache cache(dir / "hashes");
    EXPECT_EQ(folder_print(dir / "m", &cache), fresh);
    EXPECT_EQ(cache.hashed(), 5);
    cache.save();
  }
  HashCache cache(dir / "hashes");
  EXPECT_EQ(folder_print(dir / "m", &cache), fresh);
  EXPECT_EQ(cache.hashed(), 0);
  EXPECT_EQ(cache.reused(), 5);
}

TEST(HashCache, TouchAndCopyAreHashedAgainToTheSameHash) {
  ScratchDir dir;
  write_model(dir / "m");
  HashCache cache(dir / "hashes");
  const auto fresh = folder_print(dir / "m", &cache);
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir / "m" / "config.json").c_str(), nullptr, 0), 0);  // touch
  const int64_t before = cache.hashed();
  EXPECT_EQ(folder_print(dir / "m", &cache), fresh);
  EXPECT_EQ(cache.hashed(), before + 1);
  fs::copy(dir / "m", dir / "copy", fs::copy_options::recursive);  // cp -r: new inodes
  EXPECT_EQ(folder_print(dir / "copy", &cache), fresh);
  EXPECT_EQ(cache.hashed(), before + 1 + 5);
}

TEST(HashCache, AChangeWithItsModificationTimeRestoredIsHashedAgain) {
  ScratchDir dir;
  const fs::path file = dir / "model.safetensors";
  const std::string original = pattern(4096);
  write_file(file, original);
  struct stat first {};
  ASSERT_EQ(::stat(file.c_str(), &first), 0);
  HashCache cache(dir / "hashes");
  EXPECT_EQ(cache.hash(file), in_memory(original));
  std::string changed = original;
  changed[100] ^= 0x40;  // same size
  // Overwrite and set the mtime back until the kernel's timestamp clock has ticked, so that the
  // ctime (which nobody can set back) differs from the one the cache saw.
  struct stat now {};
  do {
    write_file(file, changed);
    const struct timespec times[2] = {first.st_atim, first.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
    ASSERT_EQ(::stat(file.c_str(), &now), 0);
  } while (now.st_ctim.tv_sec == first.st_ctim.tv_sec && now.st_ctim.tv_nsec == first.st_ctim.tv_nsec);
  EXPECT_EQ(mtime_of(file).tv_nsec, first.st_mtim.tv_nsec);
  EXPECT_EQ(cache.hash(file), in_memory(changed));
}

TEST(HashCache, ADamagedCacheFileIsAnEmptyCache) {
  ScratchDir dir;
  write_file(dir / "f", "bytes");
  write_file(dir / "hashes", "curate-hash-cache 1\n1:2:3 not-hex\n");
  HashCache cache(dir / "hashes");
  EXPECT_EQ(cache.hash(dir / "f"), in_memory("bytes"));
  EXPECT_EQ(cache.hashed(), 1);
  cache.save();
  EXPECT_NE(read_file(dir / "hashes").find(in_memory("bytes").hex()), std::string::npos);
}

}  // namespace
}  // namespace curate
