#include "job/fake_losses.h"

#include <algorithm>

namespace curate::service {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
double unit_interval(uint64_t x) { return static_cast<double>(splitmix64(x) >> 11) * 0x1.0p-53; }

}  // namespace

std::vector<float> fake_losses(int64_t line, const model::CheckpointKey& key, int64_t count) {
  const auto record = static_cast<uint64_t>(line);
  const double difficulty = 0.5 + 1.5 * unit_interval(record), slope = unit_interval(record ^ 0x5bd1e995ull);
  const double noise = key.max_std > 0 ? key.max_std / 8e-3 : 1;  // a searched scale, relative to the default's
  const double scale = 1 + (key.family == model::Family::kBase ? 0 : 0.3 * key.index * noise * (0.5 + slope));
  const uint64_t checkpoint = (static_cast<uint64_t>(key.family) << 56) ^ (static_cast<uint64_t>(key.index) << 40);
  std::vector<float> losses(static_cast<std::size_t>(std::max<int64_t>(count, 0)));
  for (std::size_t k = 0; k < losses.size(); ++k) {
    losses[k] = static_cast<float>(difficulty * scale * (0.2 + unit_interval(splitmix64(record) ^ checkpoint ^ k)));
  }
  return losses;
}

}  // namespace curate::service
