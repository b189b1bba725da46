// Sources of parameter tensors for building a decoder: a safetensors checkpoint (mmap, zero-copy
// when dtype and device already match) or seeded random weights (benchmarks, demo models).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "curate/model/config.h"
#include "curate/model/safetensors.h"

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
// mapping, never written back); other targets convert once.
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
class RandomWeights : public WeightSource {
 public:
  RandomWeights(uint64_t seed, double std, TensorTarget target);
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape) override;

 private:
  uint64_t seed_;
  double std_;
  TensorTarget target_;
};

// Parses "cpu", "cuda", "cuda:N" and "float32", "bfloat16", "float16"; throws ConfigError.
torch::Device parse_device(const std::string& name);
torch::ScalarType parse_dtype(const std::string& name);

// Writes a random-weight model folder (config.json + model.safetensors, or shards of at most
// `shard_bytes` with an index when shard_bytes > 0) stored in `dtype`.
void write_random_model(const ModelConfig& config, const std::filesystem::path& dir, uint64_t seed,
                        double std, torch::ScalarType dtype, uint64_t shard_bytes);

}  // namespace curate::model
