// IEEE 754 binary16 ("half", numpy's float16) conversions, done in software so that the stored
// bits never depend on the compiler or the CPU: float -> half rounds to nearest, ties to even
// (overflow to ±inf, NaN stays a quiet NaN, tiny values to subnormals or ±0); half -> float is exact.
#pragma once

#include <bit>
#include <cstdint>

namespace curate::store {

constexpr uint16_t to_half(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t exponent = (bits >> 23) & 0xffu, mantissa = bits & 0x7fffffu;
  if (exponent == 0xff) return static_cast<uint16_t>(sign | (mantissa ? 0x7e00u : 0x7c00u));  // NaN, inf
  const int e = static_cast<int>(exponent) - 127 + 15;  // the half exponent, before rounding
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e <= 0) {  // subnormal half (or zero): shift the mantissa with its implicit 1 into place
    if (e < -10) return sign;
    const uint32_t full = mantissa | 0x800000u;
    const int shift = 14 - e;  // 24-bit significand -> 10-bit field at exponent 0
    uint32_t half = full >> shift;
    const uint32_t rest = full & ((1u << shift) - 1), middle = 1u << (shift - 1);
    if (rest > middle || (rest == middle && (half & 1u))) ++half;  // may carry into the smallest normal: correct
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mantissa >> 13);
  const uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // a carry may round up to inf: correct
  return static_cast<uint16_t>(sign | half);
}

constexpr float from_half(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu, mantissa = half & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0) return std::bit_cast<float>(sign);
    int e = -1;  // normalise the subnormal
    uint32_t m = mantissa;
    while (!(m & 0x400u)) m <<= 1, --e;
    return std::bit_cast<float>(sign | (static_cast<uint32_t>(e + 127 - 14 + 1) << 23) | ((m & 0x3ffu) << 13));
  }
  return std::bit_cast<float>(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
}

}  // namespace curate::store
