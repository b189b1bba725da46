#include "curate/store/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "curate/util/atomic_file.h"
#include "curate/util/error.h"

namespace curate::store {
namespace {

constexpr char kMagic[8] = {'C', 'U', 'R', 'J', 'N', 'L', '1', '\n'};
constexpr std::string_view kLockMagic = "curate_dist lock\n";  // older runs left empty lock files

// Whether the regular file `path` is empty or begins with `magic` (or with a prefix of it, when shorter).
bool starts_with_magic(const std::filesystem::path& path, std::string_view magic) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return false;
  std::ifstream in(path, std::ios::binary);
  std::string head(magic.size(), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return std::string_view(magic).starts_with(head);
}

[[noreturn]] void refuse_foreign(const std::filesystem::path& path, const char* what) {
  throw ConfigError(path.string() + " exists and is not " + what +
                    " that curate_dist made: it is left as it is (curate_dist never moves, replaces or deletes a file "
                    "it did not write); move it away, or choose another output.path");
}
constexpr uint64_t kMaxRecord = uint64_t{1} << 34;

uint32_t checksum(std::span<const std::byte> bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t done = 0;
  while (done < bytes.size()) {  // crc32 takes uInt lengths
    const auto n = static_cast<uInt>(std::min<std::size_t>(bytes.size() - done, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), n);
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw StoreError(path.string() + ": " + what + ": " + std::strerror(errno) + " (disk full or read-only?)");
}

void write_all(int fd, const void* data, std::size_t size, const std::filesystem::path& path) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path, "cannot append to the journal");
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

uint64_t Journal::read(const std::filesystem::path& path,
                       const std::function<void(std::span<const std::byte>)>& visit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  std::error_code error;
  const uint64_t size = std::filesystem::file_size(path, error);
  char magic[8];
  if (error || !in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0) return 0;
  uint64_t valid = 8;
  std::vector<std::byte> record;
  for (;;) {
    uint64_t length = 0;
    uint32_t crc = 0;
    if (!in.read(reinterpret_cast<char*>(&length), 8) || !in.read(reinterpret_cast<char*>(&crc), 4)) break;
    if (length > kMaxRecord || length > size - std::min(size, valid + 12)) break;  // torn or damaged: never allocate it
    record.resize(length);
    if (!in.read(reinterpret_cast<char*>(record.data()), static_cast<std::streamsize>(length))) break;
    if (checksum(record) != crc) break;
    visit(record);
    valid += 12 + length;
  }
  return valid;
}

void copy_durably(const std::filesystem::path& from, const std::filesystem::path& to) {
  StagedFiles staged;
  const std::filesystem::path temporary = staged.stage(to);
  std::error_code error;
  std::filesystem::copy_file(from, temporary, std::filesystem::copy_options::overwrite_existing, error);
  if (error) {
    throw StoreError("cannot copy " + from.string() + " to " + temporary.string() + ": " + error.message() +
                     " (disk full or read-only?)");
  }
  staged.commit();
}

bool is_journal(const std::filesystem::path& path) { return starts_with_magic(path, std::string_view(kMagic, 8)); }

bool is_lock_file(const std::filesystem::path& path) { return starts_with_magic(path, kLockMagic); }

RunLock::RunLock(const std::filesystem::path& path) : path_(path) {
  if (std::filesystem::exists(std::filesystem::symlink_status(path)) && !is_lock_file(path)) {
    refuse_foreign(path, "a lock file");
  }
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path, "cannot create the lock file");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    throw StoreError(path.string() +
                     ": another curate_dist run is writing this output; wait for it to end or give "
                     "another output.path");
  }
  // Marks the file as this code's (is_lock_file). An empty or partly written one is recognised too, so
  // a write that fails (a full disk) changes nothing: the run goes on, and fails where it writes results.
  struct stat status {};
  if (::fstat(fd_, &status) == 0 && status.st_size == 0) {
    [[maybe_unused]] const ssize_t written = ::write(fd_, kLockMagic.data(), kLockMagic.size());
  }
}

RunLock::~RunLock() {
  ::unlink(path_.c_str());
  ::close(fd_);
}

Journal::Journal(const std::filesystem::path& path) : path_(path) {
  const bool exists = std::filesystem::exists(std::filesystem::symlink_status(path));
  if (exists && !is_journal(path)) refuse_foreign(path, "a journal");
  const uint64_t valid = exists ? read(path, [](std::span<const std::byte>) {}) : 0;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path, "cannot open the journal");
  if (valid < 8) {  // new, or cut before its magic was whole: start it
    if (::ftruncate(fd_, 0) != 0) fail(path, "cannot reset the journal");
    write_all(fd_, kMagic, 8, path);
  } else if (::ftruncate(fd_, static_cast<off_t>(valid)) != 0) {  // drop a torn tail
    fail(path, "cannot cut the torn end of the journal");
  }
  if (::lseek(fd_, 0, SEEK_END) < 0) fail(path, "cannot seek in the journal");
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

void Journal::append(std::span<const std::byte> record) {
  const uint64_t length = record.size();
  const uint32_t crc = checksum(record);
  std::vector<std::byte> frame(12 + record.size());
  std::memcpy(frame.data(), &length, 8);
  std::memcpy(frame.data() + 8, &crc, 4);
  std::memcpy(frame.data() + 12, record.data(), record.size());
  write_all(fd_, frame.data(), frame.size(), path_);  // one write: a kill leaves at most one torn record
}

void Journal::sync() {
  if (::fsync(fd_) != 0) fail(path_, "cannot sync the journal");
}

}  // namespace curate::store
