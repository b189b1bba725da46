// Numerical sanity checks that need no torch: non-finite values in stored tensor bytes (a damaged
// download) and losses that say a checkpoint predicts nothing (uniform over the vocabulary).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "curate/model/safetensors.h"

namespace curate::model {

struct NonFinite {
  int64_t nan = 0;     // NaN elements
  int64_t inf = 0;     // +-Inf elements
  int64_t first = -1;  // flat index of the first non-finite element; -1 when all are finite
  int64_t count() const { return nan + inf; }
};

// Counts NaN and Inf among `bytes` read as little-endian elements of `dtype` (F32, F64, F16, BF16;
// integer and bool types are always finite). A trailing partial element is ignored. Reads every byte
// once at memory speed (docs/PERFORMANCE.md, "Checks on load"); thread-compatible.
NonFinite count_non_finite(DType dtype, std::span<const std::byte> bytes);

// Throws ModelError "tensor 'NAME' in FILE has 3 NaN values (first at row 17): the weights are damaged;
// download the shard again" when the bytes of `info` (`bytes`, info.nbytes long) hold a NaN or Inf.
// Rows are the first dimension; a 1-D tensor names the index.
void require_finite(const TensorInfo& info, std::span<const std::byte> bytes, const std::string& file);

// require_finite, remembered per process: a tensor found finite in `file` is not scanned again while
// the file's identity (device, inode, size, mtime, ctime) is unchanged, so that a model rebuilt from the
// same files for every checkpoint is scanned once. `bytes` must be the file's bytes of `info` as stored.
// Thread-safe.
void require_finite_once(const TensorInfo& info, std::span<const std::byte> bytes, const std::filesystem::path& file);

// True when `mean_loss` (nats per token) is within `tolerance` (relative) of ln(vocab): the loss of a
// model that spreads its probability evenly over the vocabulary, i.e. a checkpoint that lost what it
// knew (all-zero or destroyed weights). False for NaN, for vocab < 2 and for a negative tolerance.
bool looks_uniform(double mean_loss, int64_t vocab, double tolerance = 0.05);

// True when `losses` (nats, one per scored token) hold at least `min_tokens` finite values and every
// finite one lies within `tolerance` (absolute, nats) of ln(vocab): the per-token spread is zero, as
// for a model whose logits are all equal (weights scaled until RMSNorm overflows). A merely noisy
// checkpoint whose mean comes near ln(vocab) still spreads its per-token losses, so it is not flagged.
// NaN values are ignored (counted elsewhere); false for vocab < 2.
bool all_losses_uniform(std::span<const float> losses, int64_t vocab, int64_t min_tokens = 16, double tolerance = 1e-3);

}  // namespace curate::model
