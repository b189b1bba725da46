// A mapped model file truncated during a run: the SIGBUS handler names the file and exits 4 instead
// of the bare "Bus error" (exit 135) it used to be.
#include "curate/util/mapped_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate {
namespace {

using testing::ScratchDir;
using testing::write_file;

// Reads one byte of every page, so a page past the end of a truncated file faults.
int touch_pages(const std::byte* data, std::size_t size) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  int sum = 0;
  for (std::size_t at = 0; at < size; at += page)
    sum += std::to_integer<int>(*static_cast<const volatile std::byte*>(data + at));
  return sum;
}

TEST(MappedFile, MapsTheWholeFile) {
  ScratchDir dir;
  write_file(dir / "w.safetensors", std::string(10000, 'x'));
  MappedFile file(dir / "w.safetensors");
  ASSERT_EQ(file.size(), 10000u);
  EXPECT_EQ(std::to_integer<char>(file.data()[9999]), 'x');
  MappedFile moved(std::move(file));
  EXPECT_EQ(moved.size(), 10000u);
  EXPECT_THROW(MappedFile(dir / "missing"), ModelError);
}

TEST(MappedFileDeathTest, TruncatedWhileMappedExitsFourNamingTheFile) {
  ScratchDir dir;
  const auto path = dir / "model-00001-of-00002.safetensors";
  write_file(path, std::string(1 << 20, 'w'));
  EXPECT_EXIT(
      {
        MappedFile file(path);
        if (::truncate(path.c_str(), 0) != 0) std::abort();
        touch_pages(file.data(), file.size());
      },
      ::testing::ExitedWithCode(kExitModel),
      "model file '.*model-00001-of-00002.safetensors' changed while it was mapped \\(truncated or overwritten during "
      "the run\\): do not replace model files during a run; rerun to resume");
}

TEST(MappedFileDeathTest, AMovedMappingIsStillNamed) {
  ScratchDir dir;
  write_file(dir / "a", std::string(1 << 16, 'a'));
  write_file(dir / "b", std::string(1 << 16, 'b'));
  EXPECT_EXIT(
      {
        MappedFile first(dir / "a");
        MappedFile second(dir / "b");
        first = std::move(second);  // a's mapping is released, b's lives on in `first`
        if (::truncate((dir / "b").c_str(), 0) != 0) std::abort();
        touch_pages(first.data(), first.size());
      },
      ::testing::ExitedWithCode(kExitModel), "model file '.*/b' changed while it was mapped");
}

#if defined(__SANITIZE_ADDRESS__)
#define CURATE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CURATE_ASAN 1
#endif
#endif

TEST(MappedFileDeathTest, AFaultOutsideEveryMappingKeepsTheDefaultAction) {
#ifdef CURATE_ASAN
  GTEST_SKIP() << "AddressSanitizer's own SIGBUS handler reports the fault instead of the default action";
#else
  ScratchDir dir;
  const auto path = dir / "raw";
  write_file(path, std::string(1 << 16, 'r'));
  EXPECT_EXIT(
      {
        install_mapped_file_fault_handler();
        const int fd = ::open(path.c_str(), O_RDONLY);
        void* raw = ::mmap(nullptr, 1 << 16, PROT_READ, MAP_PRIVATE, fd, 0);  // not a MappedFile
        if (fd < 0 || raw == MAP_FAILED || ::truncate(path.c_str(), 0) != 0) std::abort();
        touch_pages(static_cast<const std::byte*>(raw), 1 << 16);
      },
      ::testing::KilledBySignal(SIGBUS), "");
#endif
}

}  // namespace
}  // namespace curate
