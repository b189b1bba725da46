// Counter-based standard normal noise, generated on the device that uses it. Value i of stream s is a
// pure function of (s, i): SplitMix64 of the counter (integer tensor ops, exact on every device), then
// Box–Muller in float64, rounded to float32. So a checkpoint's noise does not depend on the device
// kind or model, the chunking, the order in which tensors are visited, or the number of ranks.
// CPU and CUDA evaluate log and cos with their own float64 libraries (both within 1–2 ulp); after
// rounding to float32 a value can differ by one float32 ulp, with a probability of about 1e-8 per
// value (measured on the GPU machine by gpu_check's CUDA tests).
#pragma once

#include <torch/types.h>

#include <algorithm>
#include <cstdint>

namespace curate::model {

// Values [first, first + count) of stream `stream`: float32 [count] on `device`. Temporaries of about
// 24 bytes per value; callers with large tensors go through noise_chunk() pieces.
torch::Tensor standard_normal(uint64_t stream, int64_t first, int64_t count, torch::Device device);

// The definition, one value at a time on the host (reference for tests; slow).
float standard_normal_at(uint64_t stream, uint64_t index);
// The SplitMix64 output for counter `index` of `stream`: element `index - first` of counter_hashes.
uint64_t counter_hash(uint64_t stream, uint64_t index);

// The integer step of the device path, as tensor operations: SplitMix64 outputs of counters
// [first, first + count) as int64 bit patterns [count] on `device`. (The CPU path computes the same
// integers in a plain loop; exposed so that CPU tests check the arithmetic a GPU runs.)
torch::Tensor counter_hashes(uint64_t stream, int64_t first, int64_t count, torch::Device device);

// Values per piece when filling a large tensor on `device` (bounds temporaries; results do not depend on it).
int64_t noise_chunk(torch::Device device);

// Calls body(first, count) over [0, n) in pieces of noise_chunk(device) values.
template <typename Body>
void for_noise_chunks(int64_t n, torch::Device device, Body&& body) {
  const int64_t chunk = noise_chunk(device);
  for (int64_t first = 0; first < n; first += chunk) body(first, std::min(chunk, n - first));
}

}  // namespace curate::model
