// Stable hashes for seeding: the same inputs give the same value on every platform and build.
#pragma once

#include <cstdint>
#include <string_view>

namespace curate {

// FNV-1a, 64-bit.
constexpr uint64_t fnv1a64(std::string_view text, uint64_t state = 0xcbf29ce484222325ull) {
  for (unsigned char c : text) state = (state ^ c) * 0x100000001b3ull;
  return state;
}

// SplitMix64 finaliser: a well-mixed 64-bit value from any 64-bit input.
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Seed for the stream named `name` under `seed` (e.g. a tensor name under the run seed).
constexpr uint64_t hash_seed(uint64_t seed, std::string_view name) { return mix64(fnv1a64(name, mix64(seed))); }

}  // namespace curate
