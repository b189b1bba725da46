// Weight broadcast within a node (torch-free): one rank of the node reads the base and fine-tuned
// weights from disk and sends each tensor to the other scoring ranks of the node, which never open the
// safetensors files. The model component only sees this interface; the service implements it over
// NCCL (comm/nccl.h), tests with an in-process fake. See docs/DESIGN.md, "GPU path".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace curate::model {

// A collective channel among the scoring ranks of one node, rooted at the rank that reads from disk.
class WeightBroadcaster {
 public:
  virtual ~WeightBroadcaster() = default;
  // True on the rank that reads the weights from disk and is the root of every broadcast.
  virtual bool is_root() const = 0;
  // Collective: every rank of the group calls it with the same `bytes`, in the same order. `data` is
  // memory of this rank's compute device (device memory on CUDA, host memory on the CPU) whose
  // contents are complete (the caller has synchronized its device); on return it holds the root's
  // bytes on every rank. Blocks until done. Throws DistError naming the rank on failure or timeout;
  // the group is unusable afterwards.
  virtual void broadcast(void* data, std::size_t bytes) = 0;
};

// score.weight_broadcast.
enum class WeightBroadcastMode {
  kAuto,  // NCCL when built with it, the device is CUDA and the node has more than one scoring rank
  kNccl,  // always broadcast (CUDA and an NCCL build required)
  kDisk,  // every rank reads the files itself
};

// Parses "auto", "nccl" or "disk"; throws ConfigError naming score.weight_broadcast otherwise.
WeightBroadcastMode parse_weight_broadcast(const std::string& text);

// Whether the scoring ranks of a node get their weights through a broadcast (true) or each from disk
// (false). `cuda`: the scoring device is CUDA; `nccl_built`: the program has NCCL support;
// `ranks_on_node`: scoring ranks sharing this node. Throws ConfigError when kNccl cannot work (no CUDA
// device configured, or a build without NCCL), saying what to change.
bool use_weight_broadcast(WeightBroadcastMode mode, bool cuda, bool nccl_built, int ranks_on_node);

// Whether broadcast mode leaves room to score on a device of `device_bytes`: the model, its resident
// θ₀ and (with a target) θ_f, each `parameters` values of `dtype` ("float32", "bfloat16", "float16"),
// plus max(8 GiB, 15% of the device) for activations. `auto` falls back to disk when this is false.
bool resident_weights_fit(int64_t parameters, const std::string& dtype, bool with_target, uint64_t device_bytes);

}  // namespace curate::model
