// Sources of parameter tensors for building a decoder: a safetensors checkpoint (mmap, zero-copy
// when dtype and device already match), seeded random weights (benchmarks, demo models), tensors held
// in memory, or tensors received from the rank of the node that reads them (weight broadcast).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "curate/model/config.h"
#include "curate/model/safetensors.h"
#include "curate/model/weight_broadcast.h"

namespace curate::model {

struct TensorTarget {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;  // compute dtype; norms and losses still use float32
};

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // The tensor `name` of exactly `shape`, on the target device in the target dtype.
  // Throws ModelError naming the tensor (and file) when it is missing or mis-shaped.
  virtual torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape) = 0;
};

// Reads tensors from a model folder. A float32 CPU target shares the file's pages (copy-on-write
// mapping, never written back). Other targets convert once: to a device, the stored bytes are copied
// as they are and converted there; the tensor's pages of the mapping are then dropped, so loading
// streams through host memory (at most one tensor resident) instead of holding the whole file.
class CheckpointWeights : public WeightSource {
 public:
  CheckpointWeights(const std::filesystem::path& model_dir, TensorTarget target);
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape) override;
  // Tensors in the checkpoint that no get() asked for (e.g. a redundant lm_head of a tied model).
  std::vector<std::string> unused() const;

 private:
  Checkpoint checkpoint_;
  TensorTarget target_;
  std::set<std::string> used_;
};

// Deterministic random weights: normal(0, std) matrices, ones for norm weights, zeros for biases.
// Values depend only on (seed, tensor name) (noise.h) and are generated on the target device.
class RandomWeights : public WeightSource {
 public:
  RandomWeights(uint64_t seed, double std, TensorTarget target);
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape) override;

 private:
  uint64_t seed_;
  double std_;
  TensorTarget target_;
};

// Tensors held in memory by name: the base and fine-tuned weights a rank received over a weight
// broadcast, kept so that every checkpoint is rebuilt without reading or broadcasting again.
// get() checks the shape; with `copies` it returns a fresh copy (for a model perturbed in place),
// otherwise the stored tensor itself (read-only use, e.g. the fine-tuned weights).
class ResidentWeights : public WeightSource {
 public:
  explicit ResidentWeights(bool copies);
  void add(const std::string& name, torch::Tensor tensor);
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape) override;
  int64_t bytes() const { return bytes_; }

 private:
  bool copies_;
  int64_t bytes_ = 0;
  std::map<std::string, torch::Tensor> tensors_;
};

// Tensors through a WeightBroadcaster: the root reads each one from `disk` (its own source; nullptr
// on the other ranks, which never open the files) and every rank returns the root's bits, in the
// target dtype on the target device. Collective: every rank of the group calls get() for the same
// names, shapes and dtype in the same order (building the same model does). Each tensor is preceded
// by a 24-byte header, so a receiver that is out of step, or whose root failed to read a tensor,
// throws ModelError instead of waiting; the root rethrows its own error after sending that header.
class BroadcastWeights : public WeightSource {
 public:
  BroadcastWeights(WeightBroadcaster& broadcaster, WeightSource* disk, TensorTarget target);
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape) override;

 private:
  WeightBroadcaster& broadcaster_;
  WeightSource* disk_;
  TensorTarget target_;
};

// Blocks until every operation queued on `device` is done (no-op on the CPU).
void wait_for_device(torch::Device device);

// Parses "cpu", "cuda", "cuda:N" and "float32", "bfloat16", "float16"; throws ConfigError.
torch::Device parse_device(const std::string& name);
torch::ScalarType parse_dtype(const std::string& name);

// Writes a random-weight model folder (config.json + model.safetensors, or shards of at most
// `shard_bytes` with an index when shard_bytes > 0) stored in `dtype`.
void write_random_model(const ModelConfig& config, const std::filesystem::path& dir, uint64_t seed, double std,
                        torch::ScalarType dtype, uint64_t shard_bytes);

}  // namespace curate::model
