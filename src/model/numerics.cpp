#include "curate/model/numerics.h"

#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <set>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::model {
namespace {

// Elements whose exponent bits are all ones (NaN or Inf), counted in fixed blocks the compiler turns
// into vector code; the scalar tail and the NaN/Inf split run only over what is left or found.
template <typename Bits>
int64_t count_all_ones_exponent(const std::byte* data, std::size_t count, Bits exponent) {
  constexpr std::size_t kBlock = 256;
  int64_t found = 0;
  Bits block[kBlock];
  std::size_t i = 0;
  for (; i + kBlock <= count; i += kBlock) {
    std::memcpy(block, data + i * sizeof(Bits), sizeof block);  // unaligned data is allowed
    uint32_t in_block = 0;
    for (std::size_t k = 0; k < kBlock; ++k) in_block += static_cast<uint32_t>((block[k] & exponent) == exponent);
    found += in_block;
  }
  for (; i < count; ++i) {
    Bits value;
    std::memcpy(&value, data + i * sizeof(Bits), sizeof value);
    found += (value & exponent) == exponent;
  }
  return found;
}

template <typename Bits>
NonFinite scan(std::span<const std::byte> bytes, Bits exponent, Bits mantissa) {
  const std::size_t count = bytes.size() / sizeof(Bits);
  NonFinite result;
  if (count_all_ones_exponent(bytes.data(), count, exponent) == 0) return result;
  for (std::size_t i = 0; i < count; ++i) {
    Bits value;
    std::memcpy(&value, bytes.data() + i * sizeof(Bits), sizeof value);
    if ((value & exponent) != exponent) continue;
    if (result.first < 0) result.first = static_cast<int64_t>(i);
    ++((value & mantissa) != 0 ? result.nan : result.inf);
  }
  return result;
}

}  // namespace

NonFinite count_non_finite(DType dtype, std::span<const std::byte> bytes) {
  switch (dtype) {
    case DType::kF32:
      return scan<uint32_t>(bytes, 0x7f800000u, 0x007fffffu);
    case DType::kF64:
      return scan<uint64_t>(bytes, 0x7ff0000000000000ull, 0x000fffffffffffffull);
    case DType::kF16:
      return scan<uint16_t>(bytes, 0x7c00u, 0x03ffu);
    case DType::kBF16:
      return scan<uint16_t>(bytes, 0x7f80u, 0x007fu);
    default:
      return {};
  }
}

void require_finite(const TensorInfo& info, std::span<const std::byte> bytes, const std::string& file) {
  const NonFinite found = count_non_finite(info.dtype, bytes);
  if (found.count() == 0) return;
  std::string what;
  if (found.nan > 0) what = cat(found.nan, " NaN value", found.nan == 1 ? "" : "s");
  if (found.inf > 0) what += cat(what.empty() ? "" : " and ", found.inf, " infinite value", found.inf == 1 ? "" : "s");
  std::string where;
  if (info.shape.size() == 1) {
    where = cat(" (first at index ", found.first, ")");
  } else if (info.shape.size() > 1) {
    int64_t row = 1;
    for (std::size_t d = 1; d < info.shape.size(); ++d) row *= info.shape[d];
    where = cat(" (first at row ", row > 0 ? found.first / row : 0, ")");
  }
  throw ModelError(cat("tensor '", info.name, "' in ", file, " has ", what, where,
                       ": the weights are damaged; download the shard again"));
}

void require_finite_once(const TensorInfo& info, std::span<const std::byte> bytes, const std::filesystem::path& file) {
  static std::mutex mutex;
  static std::set<std::string> verified;  // "identity tensor" of tensors found finite
  struct stat s {};
  if (::stat(file.c_str(), &s) != 0) return require_finite(info, bytes, file.string());
  const std::string key = cat(s.st_dev, ':', s.st_ino, ':', s.st_size, ':', s.st_mtim.tv_sec, '.', s.st_mtim.tv_nsec,
                              ':', s.st_ctim.tv_sec, '.', s.st_ctim.tv_nsec, ' ', info.offset, ' ', info.name);
  {
    std::lock_guard lock(mutex);
    if (verified.count(key)) return;
  }
  require_finite(info, bytes, file.string());
  std::lock_guard lock(mutex);
  verified.insert(key);
}

bool looks_uniform(double mean_loss, int64_t vocab, double tolerance) {
  if (vocab < 2 || !(tolerance >= 0) || std::isnan(mean_loss)) return false;
  const double uniform = std::log(static_cast<double>(vocab));
  return std::abs(mean_loss - uniform) <= tolerance * uniform;
}

bool all_losses_uniform(std::span<const float> losses, int64_t vocab, int64_t min_tokens, double tolerance) {
  if (vocab < 2) return false;
  const double uniform = std::log(static_cast<double>(vocab));
  int64_t finite = 0;
  for (float loss : losses) {
    if (std::isnan(loss)) continue;
    if (!(std::abs(static_cast<double>(loss) - uniform) <= tolerance)) return false;
    ++finite;
  }
  return finite >= min_tokens;
}

}  // namespace curate::model
