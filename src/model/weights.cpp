#include "curate/model/weights.h"

#include <torch/torch.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "curate/model/noise.h"
#include "curate/model/numerics.h"
#include "curate/util/error.h"
#include "curate/util/hash.h"
#include "curate/util/strings.h"

namespace curate::model {
namespace {

torch::ScalarType to_scalar_type(DType dtype, const std::string& context) {
  switch (dtype) {
    case DType::kF32:
      return torch::kFloat32;
    case DType::kBF16:
      return torch::kBFloat16;
    case DType::kF16:
      return torch::kFloat16;
    case DType::kF64:
      return torch::kFloat64;
    default:
      throw ModelError(context + ": dtype " + std::string(dtype_name(dtype)) +
                       " is not a floating-point weight type (F32, BF16, F16, F64)");
  }
}

DType to_dtype(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32:
      return DType::kF32;
    case torch::kBFloat16:
      return DType::kBF16;
    case torch::kFloat16:
      return DType::kF16;
    default:
      throw ConfigError("models can be written as float32, bfloat16 or float16");
  }
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

CheckpointWeights::CheckpointWeights(const std::filesystem::path& model_dir, TensorTarget target)
    : checkpoint_(model_dir), target_(target) {}

torch::Tensor CheckpointWeights::get(const std::string& name, const std::vector<int64_t>& shape) {
  const Checkpoint::Entry* entry = checkpoint_.find(name);
  if (entry == nullptr) {
    throw ModelError("tensor '" + name + "' is missing from the checkpoint in '" + checkpoint_.dir().string() +
                     "'; the checkpoint does not match its config.json");
  }
  const TensorInfo& info = *entry->info;
  const std::string where = entry->file->path().string() + ": tensor '" + name + "'";
  if (info.shape != shape) {
    throw ModelError(where + " has shape " + shape_text(info.shape) + " but config.json implies " + shape_text(shape));
  }
  used_.insert(name);
  const torch::ScalarType stored = to_scalar_type(info.dtype, where);
  std::byte* data = entry->file->data(info);
  // NaN or Inf in stored weights (a damaged shard) would turn every loss into NaN without a word.
  // Scanned once per process and unchanged file (disk mode rebuilds the model for every checkpoint).
  require_finite_once(info, {data, info.nbytes}, entry->file->path());
  torch::Tensor view;
  if (reinterpret_cast<uintptr_t>(data) % dtype_size(info.dtype) == 0) {
    auto keep_alive = entry->file->mapping();
    view = torch::from_blob(
        data, shape, [keep_alive](void*) {}, torch::TensorOptions().dtype(stored));
  } else {  // unaligned data: one copy is unavoidable
    view = torch::empty(shape, torch::TensorOptions().dtype(stored));
    std::memcpy(view.data_ptr(), data, info.nbytes);
  }
  // To a device: the stored bytes travel as they are and are converted there (no host temporary).
  torch::Tensor out = target_.device.is_cpu() ? view.to(target_.dtype) : view.to(target_.device).to(target_.dtype);
  if (out.data_ptr() != static_cast<void*>(data)) {
    // Copied (to the device or into another dtype): this process's pages of the tensor go back, so that
    // loading streams through host memory instead of keeping the whole file resident.
    entry->file->drop_pages(data, info.nbytes);
  }
  return out;
}

std::vector<std::string> CheckpointWeights::unused() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : checkpoint_.entries()) {
    if (!used_.count(name)) names.push_back(name);
  }
  return names;
}

RandomWeights::RandomWeights(uint64_t seed, double std, TensorTarget target)
    : seed_(seed), std_(std), target_(target) {}

torch::Tensor RandomWeights::get(const std::string& name, const std::vector<int64_t>& shape) {
  auto options = torch::TensorOptions().dtype(target_.dtype).device(target_.device);
  if (name.ends_with("norm.weight")) return torch::ones(shape, options);
  if (name.ends_with(".bias")) return torch::zeros(shape, options);
  // Values are a function of (seed, name) only (noise.h), generated on the target device: the same
  // weights whatever the device or build order, and a 7B model takes seconds on a GPU.
  torch::Tensor out = torch::empty(shape, options);
  torch::Tensor flat = out.view(-1);
  const uint64_t stream = hash_seed(seed_, name);
  for_noise_chunks(flat.numel(), target_.device, [&](int64_t first, int64_t count) {
    flat.slice(0, first, first + count).copy_(standard_normal(stream, first, count, target_.device).mul_(std_));
  });
  return out;
}

ResidentWeights::ResidentWeights(bool copies) : copies_(copies) {}

void ResidentWeights::add(const std::string& name, torch::Tensor tensor) {
  bytes_ += static_cast<int64_t>(tensor.nbytes());
  tensors_[name] = std::move(tensor);
}

torch::Tensor ResidentWeights::get(const std::string& name, const std::vector<int64_t>& shape) {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw ModelError("tensor '" + name + "' is not among the weights held in memory");
  if (it->second.sizes().vec() != shape) {
    throw ModelError("tensor '" + name + "' held in memory has shape " + shape_text(it->second.sizes().vec()) +
                     " but the model needs " + shape_text(shape));
  }
  return copies_ ? it->second.clone() : it->second;
}

BroadcastWeights::BroadcastWeights(WeightBroadcaster& broadcaster, WeightSource* disk, TensorTarget target)
    : broadcaster_(broadcaster), disk_(disk), target_(target) {
  if (broadcaster_.is_root() != (disk_ != nullptr)) {
    throw ConfigError("BroadcastWeights: the root of a weight broadcast reads from disk, the other ranks do not");
  }
}

torch::Tensor BroadcastWeights::get(const std::string& name, const std::vector<int64_t>& shape) {
  const auto options = torch::TensorOptions().dtype(target_.dtype).device(target_.device);
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  // Header {status, name hash, bytes}: receivers check that both sides are at the same tensor and
  // learn of a failure on the root instead of waiting for bytes that never come.
  std::vector<int64_t> header = {0, std::bit_cast<int64_t>(fnv1a64(name)),
                                 numel * static_cast<int64_t>(c10::elementSize(target_.dtype))};
  torch::Tensor tensor;
  std::exception_ptr failure;
  if (disk_ != nullptr) {
    try {
      tensor = disk_->get(name, shape).contiguous();
    } catch (...) {
      failure = std::current_exception();
      header[0] = 1;
    }
  } else {
    tensor = torch::empty(shape, options);
  }
  torch::Tensor sent = torch::tensor(header, torch::kInt64).to(target_.device);
  wait_for_device(target_.device);
  broadcaster_.broadcast(sent.data_ptr(), sent.nbytes());
  const torch::Tensor received = sent.cpu();
  const int64_t* got = received.data_ptr<int64_t>();
  if (failure) std::rethrow_exception(failure);
  if (got[0] != 0) {
    throw ModelError("the rank that reads the weights for this node failed on tensor '" + name +
                     "' (its own error names the cause)");
  }
  if (got[1] != header[1] || got[2] != header[2]) {
    throw ModelError(cat("weight broadcast out of step at tensor '", name, "' (", header[2],
                         " bytes): the reading rank sent ", got[2],
                         " bytes of another tensor; do all ranks of the node use the same model folder, "
                         "config.json and score.dtype?"));
  }
  wait_for_device(target_.device);
  broadcaster_.broadcast(tensor.data_ptr(), tensor.nbytes());
  return tensor;
}

void wait_for_device(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.starts_with("cuda:")) {
    if (!torch::cuda::is_available()) {
      throw ConfigError("--device " + name + ": no CUDA device is visible to this process; use --device cpu");
    }
    return torch::Device(name);
  }
  throw ConfigError("unknown device '" + name + "': use cpu, cuda or cuda:N");
}

torch::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "bfloat16") return torch::kBFloat16;
  if (name == "float16") return torch::kFloat16;
  throw ConfigError("unknown dtype '" + name + "': use float32, bfloat16 or float16");
}

void write_random_model(const ModelConfig& config, const std::filesystem::path& dir, uint64_t seed, double std,
                        torch::ScalarType dtype, uint64_t shard_bytes) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  ModelConfig written = config;
  written.torch_dtype = dtype == torch::kFloat32 ? "float32" : dtype == torch::kBFloat16 ? "bfloat16" : "float16";
  {
    std::ofstream out(dir / "config.json");
    out << model_config_to_json(written);
    if (!out) throw StoreError("cannot write '" + (dir / "config.json").string() + "'");
  }
  RandomWeights source(seed, std, {torch::kCPU, dtype});
  std::vector<std::vector<TensorSpec>> shards(1);
  uint64_t shard_size = 0;
  for (auto& spec : expected_tensors(config)) {
    uint64_t bytes = dtype_size(to_dtype(dtype));
    for (int64_t d : spec.shape) bytes *= static_cast<uint64_t>(d);
    if (shard_bytes > 0 && shard_size > 0 && shard_size + bytes > shard_bytes) {
      shards.emplace_back();
      shard_size = 0;
    }
    shard_size += bytes;
    shards.back().push_back(std::move(spec));
  }
  nlohmann::json weight_map = nlohmann::json::object();
  for (std::size_t s = 0; s < shards.size(); ++s) {
    char shard_name[64];
    std::snprintf(shard_name, sizeof shard_name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    const std::string file = shards.size() == 1 ? "model.safetensors" : shard_name;
    std::vector<torch::Tensor> keep;
    std::vector<TensorBlob> blobs;
    for (const auto& spec : shards[s]) {
      keep.push_back(source.get(spec.name, spec.shape).contiguous());
      const auto* bytes = static_cast<const std::byte*>(keep.back().data_ptr());
      blobs.push_back(
          {spec.name, to_dtype(dtype), spec.shape, {bytes, static_cast<std::size_t>(keep.back().nbytes())}});
      weight_map[spec.name] = file;
    }
    write_safetensors(dir / file, blobs);
  }
  if (shards.size() > 1) {
    std::ofstream out(dir / "model.safetensors.index.json");
    out << nlohmann::json{{"metadata", nlohmann::json::object()}, {"weight_map", weight_map}}.dump(2) << "\n";
    if (!out) throw StoreError("cannot write '" + (dir / "model.safetensors.index.json").string() + "'");
  } else {
    fs::remove(dir / "model.safetensors.index.json");
  }
}

}  // namespace curate::model
