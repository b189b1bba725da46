#include "curate/util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "curate/util/error.h"
#include "curate/util/hash.h"

namespace curate {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what, int error) {
  throw StoreError(path.string() + ": " + what + ": " + std::strerror(error) +
                   " (check the free space and permissions of its folder)");
}

void write_all(const std::filesystem::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, "cannot create the file", errno);
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      ::close(fd);
      fail(path, "cannot write", error);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::close(fd) != 0) fail(path, "cannot write", errno);
}

std::filesystem::path folder_of(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

}  // namespace

std::filesystem::path write_target(const std::filesystem::path& path) {
  std::filesystem::path target = path;
  for (int hops = 0; std::filesystem::is_symlink(target); ++hops) {
    if (hops == 40) throw StoreError(path.string() + ": too many levels of symbolic links; point it at a file");
    const std::filesystem::path next = std::filesystem::read_symlink(target);
    target = next.is_absolute() ? next : folder_of(target) / next;
  }
  return target;
}

std::filesystem::path temporary_path(const std::filesystem::path& target) {
  return write_target(target).string() + ".tmp";
}

void sync_path(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open to force it to disk", errno);
  // Some file systems refuse fsync on folders (EINVAL); their renames are durable anyway.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const int error = errno;
    ::close(fd);
    fail(path, "cannot force it to disk", error);
  }
  ::close(fd);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  StagedFiles files;
  files.write(path, bytes);
  files.commit();
}

std::ofstream open_output(const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  if (!out)
    throw StoreError("cannot create '" + path.string() + "': check that the output folder exists and is writable");
  return out;
}

void close_output(std::ofstream& out, const std::filesystem::path& path) {
  out.close();
  if (!out) throw StoreError("cannot write '" + path.string() + "': disk full or read-only?");
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  struct stat sa {
  }, sb{};
  if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  std::error_code error;
  const std::filesystem::path ca = std::filesystem::weakly_canonical(a, error);
  if (error) return false;
  const std::filesystem::path cb = std::filesystem::weakly_canonical(b, error);
  return !error && ca == cb;
}

void require_not_input(const std::filesystem::path& output, const std::string& output_option,
                       const std::filesystem::path& input, const std::string& input_option) {
  if (output.empty() || input.empty() || !same_file(output, input)) return;
  throw ConfigError(output_option + " '" + output.string() + "' is " + input_option + " '" + input.string() +
                    "': writing it would replace that input; give " + output_option + " another name");
}

std::string file_digest(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  uint64_t hash = fnv1a64(""), bytes = 0;
  std::string buffer(1 << 16, '\0');
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return "";
    }
    if (n == 0) break;
    hash = fnv1a64(std::string_view(buffer.data(), static_cast<std::size_t>(n)), hash);
    bytes += static_cast<uint64_t>(n);
  }
  ::close(fd);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return std::to_string(bytes) + "\t" + hex;
}

StagedFiles::~StagedFiles() {
  if (committed_) return;
  for (const auto& target : targets_) {
    std::error_code ignored;
    std::filesystem::remove(temporary_path(target), ignored);
  }
}

std::filesystem::path StagedFiles::stage(const std::filesystem::path& output) {
  const std::filesystem::path target = write_target(output);
  if (std::filesystem::is_directory(target)) {
    throw StoreError(output.string() + (target == output ? "" : " (a link to '" + target.string() + "')") +
                     " is a folder: an output is written only as a file; choose another name");
  }
  if (std::find(targets_.begin(), targets_.end(), target) != targets_.end()) {
    throw StoreError(output.string() +
                     " is written twice by one command (links included): give each output its own name");
  }
  targets_.push_back(target);
  const std::filesystem::path temporary = temporary_path(target);
  if (std::filesystem::is_symlink(temporary)) std::filesystem::remove(temporary);  // never write through it
  return temporary;
}

void StagedFiles::write(const std::filesystem::path& target, std::string_view bytes) {
  write_all(stage(target), bytes);
}

void StagedFiles::commit() {
  for (const auto& target : targets_) sync_path(temporary_path(target));
  std::set<std::filesystem::path> folders;
  for (const auto& target : targets_) {
    if (::rename(temporary_path(target).c_str(), target.c_str()) != 0) {
      fail(target, "cannot rename " + temporary_path(target).string() + " to it", errno);
    }
    folders.insert(folder_of(target));
  }
  committed_ = true;
  for (const auto& folder : folders) sync_path(folder);
}

}  // namespace curate
