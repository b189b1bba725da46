// curate_hash_bench: the figures of docs/PERFORMANCE.md, "Checks on load".
//   curate_hash_bench [--drop-cache] FILE...   XXH3_128 of each file (as the content fingerprints
//                                               hash it), bytes, seconds and GB/s; --drop-cache first
//                                               asks the kernel to forget the file's cached pages
//   curate_hash_bench --scan GB                 NaN/Inf scan (model::count_non_finite) of GB gigabytes
//                                               of finite F32 and BF16 values in memory, in GB/s
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "curate/model/numerics.h"
#include "curate/util/clock.h"
#include "curate/util/content_hash.h"
#include "curate/util/error.h"
#include "curate/util/unique_fd.h"

namespace {

using curate::seconds_since;
using Clock = curate::SteadyClock;

void drop_cache(const char* path) {
  const curate::UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return;
  ::fdatasync(fd.get());
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);  // clean pages leave the page cache
}

void scan(double gigabytes) {
  const auto bytes = static_cast<std::size_t>(gigabytes * 1e9) / 4 * 4;
  std::vector<std::byte> buffer(bytes);
  for (auto [dtype, name, one] : {std::tuple{curate::model::DType::kF32, "F32", std::string("\x00\x00\x80\x3f", 4)},
                                  std::tuple{curate::model::DType::kBF16, "BF16", std::string("\x80\x3f", 2)}}) {
    for (std::size_t i = 0; i < bytes; i += one.size()) std::memcpy(buffer.data() + i, one.data(), one.size());
    const auto start = Clock::now();
    const auto found = curate::model::count_non_finite(dtype, buffer);
    const double seconds = seconds_since(start);
    std::printf("scan %s: %.2f GB in %.3f s = %.2f GB/s (%lld non-finite)\n", name, bytes / 1e9, seconds,
                bytes / 1e9 / seconds, static_cast<long long>(found.count()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    bool drop = false;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--drop-cache") {
        drop = true;
      } else if (arg == "--scan" && i + 1 < argc) {
        scan(std::stod(argv[++i]));
      } else {
        if (drop) drop_cache(argv[i]);
        uint64_t bytes = 0;
        const auto start = Clock::now();
        const curate::ContentHash hash = curate::hash_file(argv[i], &bytes);
        const double seconds = seconds_since(start);
        std::printf("%s  %s  %.2f GB in %.3f s = %.2f GB/s%s\n", hash.hex().c_str(), argv[i], bytes / 1e9, seconds,
                    bytes / 1e9 / seconds, drop ? " (page cache dropped first)" : "");
      }
    }
    if (argc < 2) {
      std::fprintf(stderr, "usage: curate_hash_bench [--drop-cache] FILE... | --scan GB\n");
      return 2;
    }
  } catch (const curate::Error& e) {
    std::fprintf(stderr, "curate_hash_bench: %s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
