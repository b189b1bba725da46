// Portable random draws on std::mt19937_64 (whose output the standard fixes; the std distributions are
// not portable across standard libraries).
#pragma once

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

namespace curate::select::detail {

// Uniform in [0, 1) with 53 random bits.
inline double uniform_real(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Uniform in [0, n), n >= 1, without modulo bias (rejection of the low remainder).
inline uint64_t uniform_index(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

// Fisher–Yates shuffle (from the front: position i receives a uniform draw from [i, size)).
template <typename T>
void shuffle(std::vector<T>& items, std::mt19937_64& rng) {
  for (std::size_t i = 0; i + 1 < items.size(); ++i) {
    const auto j = i + static_cast<std::size_t>(uniform_index(rng, items.size() - i));
    std::swap(items[i], items[j]);
  }
}

// The first `count` positions of a Fisher–Yates shuffle of 0..n-1 (count distinct values), in O(count)
// memory: the swaps are kept in a map instead of an n-element array.
inline std::vector<int64_t> sample_without_replacement(int64_t n, int64_t count, std::mt19937_64& rng) {
  std::unordered_map<int64_t, int64_t> moved;
  auto at = [&](int64_t i) {
    auto it = moved.find(i);
    return it == moved.end() ? i : it->second;
  };
  std::vector<int64_t> chosen;
  chosen.reserve(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t j = i + static_cast<int64_t>(uniform_index(rng, static_cast<uint64_t>(n - i)));
    const int64_t value_j = at(j);
    moved[j] = at(i);
    chosen.push_back(value_j);
  }
  return chosen;
}

}  // namespace curate::select::detail
