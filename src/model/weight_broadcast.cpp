#include "curate/model/weight_broadcast.h"

#include <algorithm>

#include "curate/util/error.h"

namespace curate::model {

WeightBroadcastMode parse_weight_broadcast(const std::string& text) {
  if (text == "auto") return WeightBroadcastMode::kAuto;
  if (text == "nccl") return WeightBroadcastMode::kNccl;
  if (text == "disk") return WeightBroadcastMode::kDisk;
  throw ConfigError("score.weight_broadcast = '" + text + "' is unknown: use auto, nccl or disk");
}

bool use_weight_broadcast(WeightBroadcastMode mode, bool cuda, bool nccl_built, int ranks_on_node) {
  switch (mode) {
    case WeightBroadcastMode::kDisk:
      return false;
    case WeightBroadcastMode::kAuto:
      return cuda && nccl_built && ranks_on_node > 1;
    case WeightBroadcastMode::kNccl:
      if (!cuda)
        throw ConfigError("score.weight_broadcast = nccl needs score.device = cuda; use auto or disk on the CPU");
      if (!nccl_built) {
        throw ConfigError(
            "score.weight_broadcast = nccl, but this build has no NCCL (CMake did not find nccl.h and "
            "libnccl); rebuild with NCCL or use auto or disk");
      }
      return true;
  }
  return false;
}

bool resident_weights_fit(int64_t parameters, const std::string& dtype, bool with_target, uint64_t device_bytes) {
  const double value_bytes = dtype == "float32" ? 4 : 2;
  const double weights = static_cast<double>(parameters) * value_bytes * (with_target ? 3 : 2);
  const double memory = static_cast<double>(device_bytes);
  return weights + std::max(8.0 * (1 << 30), 0.15 * memory) <= memory;
}

}  // namespace curate::model
