// Safetensors checkpoints (single file or sharded with model.safetensors.index.json), mapped with
// mmap: tensor bytes are views into the mapping, never copied here. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "curate/util/mapped_file.h"

namespace curate::model {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

// Safetensors dtype name ("F32", "BF16", ...) and element size in bytes.
std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  uint64_t offset = 0;  // absolute byte offset in the file
  uint64_t nbytes = 0;
};

// Parses the header of a safetensors file of `file_size` bytes whose first bytes are `prefix`
// (at least the 8-byte length and the JSON header). Validates dtypes, shapes, and that every
// tensor's bytes lie inside the file, match its shape and overlap no other tensor.
// Throws ModelError naming `source` (and the tensor) otherwise.
std::vector<TensorInfo> parse_safetensors_header(std::span<const std::byte> prefix, uint64_t file_size,
                                                 const std::string& source);

// One mapped safetensors file.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_->path(); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // Tensor bytes inside the mapping (writable copy-on-write pages; the file never changes).
  std::byte* data(const TensorInfo& info) const { return file_->data() + info.offset; }
  // Gives back this process's pages of [data, data + bytes) (whole pages only; see MappedFile::drop_pages).
  void drop_pages(const std::byte* data, std::size_t bytes) const { file_->drop_pages(data, bytes); }
  // Keeps the mapping alive for as long as views into it are used.
  std::shared_ptr<const MappedFile> mapping() const { return file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<TensorInfo> tensors_;
};

// All tensors of a Hugging Face model folder: `model.safetensors`, or the shards listed by
// `model.safetensors.index.json`.
class Checkpoint {
 public:
  // Throws ModelError naming the folder or file when nothing loadable is found, a shard is
  // missing or unreadable, or the index and the shards disagree.
  explicit Checkpoint(const std::filesystem::path& model_dir);

  struct Entry {
    const SafetensorsFile* file;
    const TensorInfo* info;
  };
  // nullptr when absent.
  const Entry* find(const std::string& name) const;
  const std::map<std::string, Entry>& entries() const { return entries_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry> entries_;
};

// Writes tensors to a safetensors file (header padded to 8 bytes, tensors in the given order).
struct TensorBlob {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const std::byte> bytes;
};
void write_safetensors(const std::filesystem::path& path, std::span<const TensorBlob> tensors);

}  // namespace curate::model
