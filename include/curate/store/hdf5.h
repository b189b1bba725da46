// HDF5 (C API) wrapped once: every H5* call lives in src/store/hdf5.cpp; handles are move-only and
// closed by their destructor; a failing call throws StoreError with the file, the object and HDF5's
// own error stack.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace curate::store {

// One open HDF5 file. Datasets are addressed by path ("/difficulty/mean_loss").
class H5File {
 public:
  // Creates (truncating) or opens read-write / read-only. Open failures name the path and say
  // whether the file is missing, not HDF5, or damaged.
  static H5File create(const std::filesystem::path& path);
  static H5File open(const std::filesystem::path& path, bool writable);
  ~H5File();
  H5File(H5File&& other) noexcept;
  H5File& operator=(H5File&&) = delete;
  H5File(const H5File&) = delete;

  const std::filesystem::path& path() const { return path_; }
  bool exists(const std::string& object) const;
  // Creates `name` (in the root group) as a link to `object` in another HDF5 file (a path relative to
  // this file's folder); nothing when `name` exists. The target may be missing until it is read.
  void link_external(const std::string& name, const std::string& file, const std::string& object);
  // The file an external link `name` (in the root group) points to, as stored; "" when `name` is
  // missing or not an external link.
  std::string external_link_file(const std::string& name) const;
  // Unlinks a dataset or group (and what it holds) when it exists; its space is not reclaimed.
  void remove(const std::string& object);
  // Writes everything HDF5 holds to the file and fsyncs it: after a return, a kill loses nothing.
  void flush();
  // Reads the structure of the whole file without its chunk data: every object header and group
  // index, the chunk index of every chunked dataset, and the strings of variable-length string
  // datasets. A file whose last writes were cut off (disk full, a kill in the middle of a metadata
  // write) fails here, rather than at a later read or write. Throws StoreError naming the object.
  void verify() const;

  // Chunked datasets of float32 (filled with NaN), int64, uint8 (filled with 0); `dims` fixed.
  void create_f32(const std::string& name, const std::vector<uint64_t>& dims, const std::vector<uint64_t>& chunk);
  void create_i64(const std::string& name, const std::vector<uint64_t>& dims);
  void create_u8(const std::string& name, const std::vector<uint64_t>& dims);
  // float16 (IEEE binary16, the type h5py reads as numpy.float16), filled with NaN. Written and read
  // through the float32 functions below: write() rounds to nearest even (store/half.h), read_f32()
  // widens exactly.
  void create_f16(const std::string& name, const std::vector<uint64_t>& dims, const std::vector<uint64_t>& chunk);
  void create_strings(const std::string& name, const std::vector<std::string>& values);  // UTF-8, written at once
  void create_strings(const std::string& name, uint64_t count);                          // UTF-8, empty until written
  std::vector<uint64_t> dims(const std::string& name) const;
  // "f32", "f16", "i64", "u8", "str" or "other": the stored element type of a dataset.
  std::string dtype(const std::string& name) const;
  // The dataset's chunk shape (empty when it is not chunked).
  std::vector<uint64_t> chunk(const std::string& name) const;

  // Hyperslab [offset, offset + count) in row-major order; `data` holds prod(count) values.
  void write(const std::string& name, const std::vector<uint64_t>& offset, const std::vector<uint64_t>& count,
             std::span<const float> data);
  void write(const std::string& name, const std::vector<uint64_t>& offset, const std::vector<uint64_t>& count,
             std::span<const int64_t> data);
  void write(const std::string& name, const std::vector<uint64_t>& offset, const std::vector<uint64_t>& count,
             std::span<const uint8_t> data);
  void write(const std::string& name, uint64_t offset, std::span<const std::string> values);  // strings
  // A hyperslab of a float16 dataset (create_f16) from IEEE binary16 bits as store/half.h to_half()
  // makes them, written unchanged; throws StoreError for a dataset of another type.
  void write_f16(const std::string& name, const std::vector<uint64_t>& offset, const std::vector<uint64_t>& count,
                 std::span<const uint16_t> bits);
  // float32 or float16 datasets, as float32.
  std::vector<float> read_f32(const std::string& name) const;
  std::vector<float> read_f32(const std::string& name, const std::vector<uint64_t>& offset,
                              const std::vector<uint64_t>& count) const;  // a hyperslab, row-major
  std::vector<int64_t> read_i64(const std::string& name) const;
  std::vector<uint8_t> read_u8(const std::string& name) const;
  std::vector<std::string> read_strings(const std::string& name) const;

  // String and integer attributes on an object ("/" for the file).
  void set_attribute(const std::string& object, const std::string& name, const std::string& value);
  void set_attribute(const std::string& object, const std::string& name, int64_t value);
  std::string string_attribute(const std::string& object, const std::string& name) const;
  int64_t int_attribute(const std::string& object, const std::string& name) const;
  // Whether `object` exists and carries the attribute `name`.
  bool has_attribute(const std::string& object, const std::string& name) const;

 private:
  H5File(std::filesystem::path path, int64_t id) : path_(std::move(path)), id_(id) {}
  std::filesystem::path path_;
  int64_t id_ = -1;  // hid_t
};

}  // namespace curate::store
