#include "curate/util/mapped_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include "curate/util/error.h"
#include "curate/util/unique_fd.h"

namespace curate {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
  throw ModelError("cannot " + std::string(what) + " '" + path.string() + "': " + std::strerror(errno));
}

// The fault handler's table of live mappings. Written by MappedFile under no lock (each slot is claimed
// with a compare-and-swap), read by the SIGBUS handler with atomic loads only: async-signal-safe.
// Messages are precomputed into the slot, so the handler neither allocates nor formats.
constexpr int kFaultSlots = 256;  // mappings that can be named at once; more are unnamed
constexpr std::size_t kMessageBytes = 1024;
enum SlotState : int { kFree = 0, kBusy = 1, kLive = 2 };

struct FaultSlot {
  std::atomic<int> state{kFree};
  std::atomic<uintptr_t> begin{0}, end{0};
  std::atomic<std::size_t> length{0};
  char message[kMessageBytes];
};
FaultSlot g_fault_slots[kFaultSlots];
struct sigaction g_previous_sigbus {};

void write_all(int fd, const char* text, std::size_t length) noexcept {
  while (length > 0) {
    const ssize_t n = ::write(fd, text, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text += n;
    length -= static_cast<std::size_t>(n);
  }
}

void on_sigbus(int signal, siginfo_t* info, void*) {
  const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
  for (FaultSlot& slot : g_fault_slots) {
    if (slot.state.load(std::memory_order_acquire) != kLive) continue;
    if (address >= slot.begin.load(std::memory_order_relaxed) && address < slot.end.load(std::memory_order_relaxed)) {
      write_all(STDERR_FILENO, slot.message, slot.length.load(std::memory_order_relaxed));
      ::_exit(kExitModel);
    }
  }
  // Not a mapped model file: the previous action (default: core dump) handles it. A fault returns and
  // the access faults again under that action; a signal sent by kill or raise is sent again.
  ::sigaction(signal, &g_previous_sigbus, nullptr);
  if (info->si_code <= 0) ::raise(signal);
}

}  // namespace

void install_mapped_file_fault_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, &g_previous_sigbus);
  });
}

void MappedFile::register_range() noexcept {
  for (int i = 0; i < kFaultSlots; ++i) {
    FaultSlot& slot = g_fault_slots[i];
    int expected = kFree;
    if (!slot.state.compare_exchange_strong(expected, kBusy, std::memory_order_acq_rel)) continue;
    try {
      const std::string text = "model file '" + path_.string() +
                               "' changed while it was mapped (truncated or overwritten during the run): do not "
                               "replace model files during a run; rerun to resume\n";
      const std::size_t length = std::min(text.size(), kMessageBytes);
      std::memcpy(slot.message, text.data(), length);
      if (length == kMessageBytes) slot.message[length - 1] = '\n';
      slot.length.store(length, std::memory_order_relaxed);
    } catch (...) {  // no memory for the message: leave the mapping unnamed
      slot.state.store(kFree, std::memory_order_release);
      return;
    }
    slot.begin.store(reinterpret_cast<uintptr_t>(data_), std::memory_order_relaxed);
    slot.end.store(reinterpret_cast<uintptr_t>(data_) + size_, std::memory_order_relaxed);
    slot.state.store(kLive, std::memory_order_release);
    slot_ = i;
    return;
  }
}

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  const UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.valid()) fail(path, "open");
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) fail(path, "stat");
  if (!S_ISREG(info.st_mode)) {
    throw ModelError("'" + path.string() + "' is not a regular file");
  }
  size_ = static_cast<std::size_t>(info.st_size);
  if (size_ == 0) return;
  void* mapped = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, file.get(), 0);
  if (mapped == MAP_FAILED) fail(path, "mmap");
  data_ = static_cast<std::byte*>(mapped);
  install_mapped_file_fault_handler();
  register_range();
}

MappedFile::~MappedFile() { release(); }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      slot_(std::exchange(other.slot_, -1)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    slot_ = std::exchange(other.slot_, -1);
  }
  return *this;
}

void MappedFile::drop_pages(const std::byte* begin, std::size_t bytes) const noexcept {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto first = (reinterpret_cast<uintptr_t>(begin) + page - 1) / page * page;
  const auto last = (reinterpret_cast<uintptr_t>(begin) + bytes) / page * page;
  const auto mapped_first = reinterpret_cast<uintptr_t>(data_), mapped_last = mapped_first + size_;
  if (data_ == nullptr || first >= last || first < mapped_first || last > mapped_last) return;
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);  // advice only: failure changes nothing
}

void MappedFile::release() noexcept {
  if (slot_ >= 0) g_fault_slots[slot_].state.store(kFree, std::memory_order_release);  // before the range goes
  slot_ = -1;
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace curate
