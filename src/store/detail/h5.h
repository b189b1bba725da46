// The raw HDF5 C calls behind store::H5File (hdf5.cpp), wrapped once: RAII handles, failures as
// StoreError with HDF5's error stack, chunking, types, bounded whole-dataset reads. Internal to
// curate_store; nothing outside src/store includes it.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace curate::store::detail {

// HDF5's error stack as text (the innermost messages first); clears it.
std::string error_stack();

// Throws StoreError "PATH: WHAT (HDF5's error stack)".
[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what);

// A hid_t closed by `close` on destruction (where a failure cannot be reported).
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  hid_t get() const { return id_; }
  // Closes now and throws StoreError when that fails: closing a dataset writes the chunks HDF5 holds
  // in its chunk cache, so a full disk shows here, not in H5Dwrite.
  void close(const std::filesystem::path& path, const std::string& what) {
    if (close_(std::exchange(id_, -1)) < 0) fail(path, what);
  }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// `id`, or fail(path, what) when it is negative.
hid_t check(hid_t id, const std::filesystem::path& path, const std::string& what);

// Creates the groups above object `name` ("/a/b/c" -> /a, /a/b) that do not exist.
void create_groups(hid_t file, const std::string& name, const std::filesystem::path& path);

// Chunks that fit HDF5's chunk cache: the whole dataset when it is small enough, else whole trailing
// dimensions and as many leading rows as fit in 256 KiB.
std::vector<uint64_t> default_chunk(const std::vector<uint64_t>& dims, std::size_t type_size);

// A dataset of `type` and `dims` (chunks `chunk`, or default_chunk when empty; Fletcher-32 on fixed-size
// types; `fill` or HDF5's zero fill), closed before returning so that a full disk throws here.
void create_dataset(hid_t file, const std::filesystem::path& path, const std::string& name, hid_t type,
                    const std::vector<uint64_t>& dims, std::vector<uint64_t> chunk, const void* fill);

// Writes `values` values of `type` at `data` into the slab (offset, count) of dataset `name`.
void write_slab(hid_t file, const std::filesystem::path& path, const std::string& name, hid_t type,
                const std::vector<uint64_t>& offset, const std::vector<uint64_t>& count, const void* data,
                std::size_t values);

// Bytes of memory this machine has: no dataset or attribute of a sound file is read into more.
uint64_t memory_bytes();

// Every value of dataset `name` as `type` (T's memory type); a damaged dataspace (more values than
// memory) or a checksum mismatch throws StoreError saying the file is damaged.
template <typename T>
std::vector<T> read_all(hid_t file, const std::filesystem::path& path, const std::string& name, hid_t type);

hid_t string_type();  // variable-length UTF-8 strings (the caller closes it)
// IEEE binary16, little-endian, built as h5py builds its float16 (HDF5 1.10 has no predefined one).
hid_t half_type();
// Whether dataset `name` stores 2-byte floats (then its values go through to_half / from_half).
bool is_half(hid_t file, const std::filesystem::path& path, const std::string& name);
std::vector<float> widen(const std::vector<uint16_t>& halves);

// File access without HDF5's own flock, so that h5py and h5dump can open a result file while the
// run writes it (they see its last flush). Concurrent writers are excluded by the service instead.
Handle unlocked_access(const std::filesystem::path& path);

}  // namespace curate::store::detail
