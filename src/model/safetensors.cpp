#include "curate/model/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "curate/util/error.h"

namespace curate::model {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference implementation's limit

struct DTypeEntry {
  DType dtype;
  std::string_view name;
  std::size_t size;
};
constexpr DTypeEntry kDTypes[] = {{DType::kF32, "F32", 4},  {DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2},
                                  {DType::kF64, "F64", 8},  {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
                                  {DType::kI16, "I16", 2},  {DType::kI8, "I8", 1},   {DType::kU8, "U8", 1},
                                  {DType::kBool, "BOOL", 1}};

const DTypeEntry& entry(DType dtype) {
  for (const auto& e : kDTypes) {
    if (e.dtype == dtype) return e;
  }
  return kDTypes[0];
}

TensorInfo parse_tensor(const std::string& name, const json& node, uint64_t data_start, uint64_t file_size,
                        const std::string& source) {
  auto fail = [&](const std::string& message) -> void {
    throw ModelError(source + ": tensor '" + name + "': " + message +
                     " (the file is damaged or was not written by a safetensors writer)");
  };
  TensorInfo info;
  info.name = name;
  if (!node.is_object() || !node.contains("dtype") || !node.contains("shape") || !node.contains("data_offsets")) {
    fail("header entry needs dtype, shape and data_offsets");
  }
  const json& dtype = node.at("dtype");
  bool known = false;
  if (dtype.is_string()) {
    for (const auto& e : kDTypes) {
      if (dtype.get<std::string>() == e.name) info.dtype = e.dtype, known = true;
    }
  }
  if (!known) fail("unsupported dtype " + dtype.dump() + " (supported: F32, BF16, F16, F64, integer types)");

  const json& shape = node.at("shape");
  if (!shape.is_array()) fail("shape must be an array");
  uint64_t numel = 1;
  for (const json& dim : shape) {
    if (!dim.is_number_unsigned()) fail("shape " + shape.dump() + " has a non-integer or negative dimension");
    uint64_t d = dim.get<uint64_t>();
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        (d != 0 && numel > std::numeric_limits<uint64_t>::max() / 16 / d)) {
      fail("shape " + shape.dump() + " is too large");
    }
    numel *= d;
    info.shape.push_back(static_cast<int64_t>(d));
  }
  const json& offsets = node.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    fail("data_offsets must be [begin, end]");
  }
  uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  if (begin > end) fail("data_offsets begin > end");
  uint64_t data_size = file_size - data_start;
  if (end > data_size) {
    std::ostringstream msg;
    msg << "data ends at byte " << data_start + end << " but the file has " << file_size
        << " bytes: the file is truncated; download it again";
    throw ModelError(source + ": tensor '" + name + "': " + msg.str());
  }
  uint64_t expected = numel * entry(info.dtype).size;
  if (end - begin != expected) {
    fail("holds " + std::to_string(end - begin) + " bytes but shape " + shape.dump() + " of " +
         std::string(entry(info.dtype).name) + " needs " + std::to_string(expected));
  }
  info.offset = data_start + begin;
  info.nbytes = expected;
  return info;
}

}  // namespace

std::string_view dtype_name(DType dtype) { return entry(dtype).name; }
std::size_t dtype_size(DType dtype) { return entry(dtype).size; }

std::vector<TensorInfo> parse_safetensors_header(std::span<const std::byte> prefix, uint64_t file_size,
                                                 const std::string& source) {
  if (file_size < 8 || prefix.size() < 8) {
    throw ModelError(source + ": file of " + std::to_string(file_size) +
                     " bytes is too short for a safetensors header; the file is truncated");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | std::to_integer<uint64_t>(prefix[i]);
  if (header_len > kMaxHeaderBytes || header_len > file_size - 8 || header_len > prefix.size() - 8) {
    throw ModelError(source + ": header length " + std::to_string(header_len) + " does not fit the file of " +
                     std::to_string(file_size) + " bytes; the file is truncated or not safetensors");
  }
  std::string_view text(reinterpret_cast<const char*>(prefix.data()) + 8, header_len);
  json header = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    throw ModelError(source + ": header is not a JSON object; the file is damaged or not safetensors");
  }
  const uint64_t data_start = 8 + header_len;
  std::vector<TensorInfo> tensors;
  for (const auto& [name, node] : header.items()) {
    if (name == "__metadata__") continue;
    tensors.push_back(parse_tensor(name, node, data_start, file_size, source));
  }
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    if (by_offset[i]->nbytes > 0 && prev.offset + prev.nbytes > by_offset[i]->offset) {
      throw ModelError(source + ": tensors '" + prev.name + "' and '" + by_offset[i]->name +
                       "' overlap; the file is damaged");
    }
  }
  return tensors;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(std::make_shared<MappedFile>(path)) {
  tensors_ = parse_safetensors_header(file_->bytes(), file_->size(), path.string());
}

Checkpoint::Checkpoint(const std::filesystem::path& model_dir) : dir_(model_dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> shards;
  const fs::path index_path = model_dir / "model.safetensors.index.json";
  const fs::path single = model_dir / "model.safetensors";
  json weight_map;
  if (fs::exists(index_path)) {
    std::ifstream in(index_path);
    json index = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (index.is_discarded() || !index.is_object() || !index.contains("weight_map") ||
        !index.at("weight_map").is_object()) {
      throw ModelError(index_path.string() + ": expected a JSON object with a 'weight_map' object");
    }
    weight_map = index.at("weight_map");
    std::set<std::string> names;
    for (const auto& [tensor, shard] : weight_map.items()) {
      if (!shard.is_string() || shard.get<std::string>().find('/') != std::string::npos) {
        throw ModelError(index_path.string() + ": weight_map entry for '" + tensor +
                         "' must be a file name in the model folder");
      }
      names.insert(shard.get<std::string>());
    }
    for (const auto& name : names) shards.push_back(model_dir / name);
  } else if (fs::exists(single)) {
    shards.push_back(single);
  } else {
    throw ModelError("no model.safetensors or model.safetensors.index.json in '" + model_dir.string() +
                     "'; convert .bin checkpoints to safetensors first");
  }
  for (const auto& shard : shards) {
    if (!fs::exists(shard)) {
      throw ModelError("shard '" + shard.string() + "' listed in " + index_path.string() + " is missing");
    }
    files_.push_back(std::make_unique<SafetensorsFile>(shard));
    const SafetensorsFile* file = files_.back().get();
    for (const auto& info : file->tensors()) {
      auto [it, inserted] = entries_.emplace(info.name, Entry{file, &info});
      if (!inserted) {
        throw ModelError("tensor '" + info.name + "' appears in both '" + it->second.file->path().string() + "' and '" +
                         shard.string() + "'");
      }
    }
  }
  for (const auto& [tensor, shard] : weight_map.items()) {
    auto it = entries_.find(tensor);
    if (it == entries_.end() || it->second.file->path().filename() != shard.get<std::string>()) {
      throw ModelError(index_path.string() + ": tensor '" + tensor + "' is listed in shard '" +
                       shard.get<std::string>() + "' but is not there; the download is incomplete");
    }
  }
}

const Checkpoint::Entry* Checkpoint::find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

void write_safetensors(const std::filesystem::path& path, std::span<const TensorBlob> tensors) {
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {
        {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw StoreError("cannot create '" + path.string() + "': check that the folder exists and is writable");
  unsigned char length[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(n >> (8 * i));
  out.write(reinterpret_cast<const char*>(length), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& t : tensors) {
    out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  }
  out.close();
  if (!out) throw StoreError("cannot write '" + path.string() + "': disk full or read-only?");
}

}  // namespace curate::model
