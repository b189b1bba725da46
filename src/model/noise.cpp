#include "curate/model/noise.h"

#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <bit>
#include <cmath>
#include <numbers>

namespace curate::model {
namespace {

// SplitMix64: state of step k is stream + k·γ; output = finaliser(state).
constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kMul1 = 0xbf58476d1ce4e5b9ull;
constexpr uint64_t kMul2 = 0x94d049bb133111ebull;
constexpr double kTwoToMinus32 = 0x1p-32;
constexpr double kAngle = 2 * std::numbers::pi * 0x1p-32;  // radians per unit of the low 32 bits

// Tensors are int64; products wrap modulo 2^64 on every backend, as uint64_t arithmetic does.
int64_t as_signed(uint64_t value) { return std::bit_cast<int64_t>(value); }

// Logical right shift of int64 values (torch's >> is arithmetic; the mask clears the sign copies).
torch::Tensor shift_right(const torch::Tensor& x, int bits) {
  return x.bitwise_right_shift(bits).bitwise_and_(as_signed((uint64_t{1} << (64 - bits)) - 1));
}

}  // namespace

uint64_t counter_hash(uint64_t stream, uint64_t index) {
  uint64_t x = stream + (index + 1) * kGamma;
  x = (x ^ (x >> 30)) * kMul1;
  x = (x ^ (x >> 27)) * kMul2;
  return x ^ (x >> 31);
}

torch::Tensor counter_hashes(uint64_t stream, int64_t first, int64_t count, torch::Device device) {
  torch::NoGradGuard no_grad;
  torch::Tensor x =
      torch::arange(first + 1, first + count + 1, torch::TensorOptions().dtype(torch::kInt64).device(device));
  x.mul_(as_signed(kGamma)).add_(as_signed(stream));
  x.bitwise_xor_(shift_right(x, 30)).mul_(as_signed(kMul1));
  x.bitwise_xor_(shift_right(x, 27)).mul_(as_signed(kMul2));
  return x.bitwise_xor_(shift_right(x, 31));
}

float standard_normal_at(uint64_t stream, uint64_t index) {
  const uint64_t x = counter_hash(stream, index);
  const double u1 = (static_cast<double>(x >> 32) + 0.5) * kTwoToMinus32;  // (0, 1): log is finite
  const double angle = static_cast<double>(x & 0xffffffffull) * kAngle;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(angle));
}

torch::Tensor standard_normal(uint64_t stream, int64_t first, int64_t count, torch::Device device) {
  torch::NoGradGuard no_grad;
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  torch::Tensor u1, angle;  // float64 [count], as in standard_normal_at
  if (device.is_cpu()) {
    // A plain loop: torch's int64 multiplies and shifts are emulated on AVX2 and would cost 3x more.
    u1 = torch::empty({count}, f64);
    angle = torch::empty({count}, f64);
    double* pu = u1.data_ptr<double>();
    double* pa = angle.data_ptr<double>();
    at::parallel_for(0, count, 1 << 14, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const uint64_t x = counter_hash(stream, static_cast<uint64_t>(first + i));
        pu[i] = (static_cast<double>(x >> 32) + 0.5) * kTwoToMinus32;
        pa[i] = static_cast<double>(x & 0xffffffffull) * kAngle;
      }
    });
  } else {
    torch::Tensor x = counter_hashes(stream, first, count, device);
    u1 = shift_right(x, 32).to(torch::kFloat64).add_(0.5).mul_(kTwoToMinus32);
    angle = x.bitwise_and_(as_signed(0xffffffffull)).to(torch::kFloat64).mul_(kAngle);
  }
  torch::Tensor radius = u1.log_().mul_(-2.0).sqrt_();
  return radius.mul_(angle.cos_()).to(torch::kFloat32);
}

int64_t noise_chunk(torch::Device device) { return device.is_cpu() ? int64_t{1} << 18 : int64_t{1} << 24; }

}  // namespace curate::model
