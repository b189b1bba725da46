#include "detail/h5.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <numeric>

#include "curate/store/half.h"
#include "curate/util/error.h"

namespace curate::store::detail {
namespace {

struct Silence {  // HDF5 prints its error stack to stderr by default; we put it in exceptions instead
  Silence() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const Silence silence;

}  // namespace

// HDF5's error stack as text (the innermost messages first).
std::string error_stack() {
  std::string text;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* error, void* out) -> herr_t {
        auto* s = static_cast<std::string*>(out);
        if (!s->empty()) *s += "; ";
        *s += error->desc ? error->desc : "?";
        return 0;
      },
      &text);
  H5Eclear2(H5E_DEFAULT);
  return text;
}

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw StoreError(path.string() + ": " + what + " (" + error_stack() + ")");
}

hid_t check(hid_t id, const std::filesystem::path& path, const std::string& what) {
  if (id < 0) fail(path, what);
  return id;
}

void create_groups(hid_t file, const std::string& name, const std::filesystem::path& path) {
  for (std::size_t slash = name.find('/', 1); slash != std::string::npos; slash = name.find('/', slash + 1)) {
    const std::string group = name.substr(0, slash);
    if (H5Lexists(file, group.c_str(), H5P_DEFAULT) > 0) continue;
    Handle g(
        check(H5Gcreate2(file, group.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path, "create group " + group),
        H5Gclose);
  }
}

// Chunks that fit HDF5's chunk cache (1 MiB per dataset by default): a write of a few rows into a
// chunk the cache cannot hold reads, checksums and writes the whole chunk. The whole dataset when it
// is small enough, else whole trailing dimensions and as many leading rows as fit in kChunkBytes.
constexpr uint64_t kChunkBytes = uint64_t{256} << 10;
std::vector<uint64_t> default_chunk(const std::vector<uint64_t>& dims, std::size_t type_size) {
  std::vector<uint64_t> chunk = dims;
  const uint64_t limit = std::max<uint64_t>(1, kChunkBytes / std::max<std::size_t>(1, type_size));
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    uint64_t rest = 1;  // elements of one step of dimension i (capped: only compared with limit)
    for (std::size_t j = i + 1; j < chunk.size(); ++j)
      rest = std::min(limit + 1, rest * std::max<uint64_t>(1, chunk[j]));
    if (chunk[i] <= limit / rest) break;  // the chunk from dimension i on fits
    chunk[i] = std::max<uint64_t>(1, limit / rest);
  }
  return chunk;
}

void create_dataset(hid_t file, const std::filesystem::path& path, const std::string& name, hid_t type,
                    const std::vector<uint64_t>& dims, std::vector<uint64_t> chunk, const void* fill) {
  create_groups(file, name, path);
  std::vector<hsize_t> d(dims.begin(), dims.end());
  Handle space(check(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr), path, "dataspace for " + name),
               H5Sclose);
  Handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (chunk.empty()) chunk = default_chunk(dims, H5Tget_size(type));
  bool empty = false;
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    chunk[i] = std::max<uint64_t>(1, std::min(chunk[i], dims[i]));
    empty = empty || dims[i] == 0;
  }
  if (!empty) {
    std::vector<hsize_t> c(chunk.begin(), chunk.end());
    H5Pset_chunk(plist.get(), static_cast<int>(c.size()), c.data());
    // A chunk whose bytes changed on disk fails to read instead of reading wrong (variable-length
    // strings take no filters; verify() reads those through their heap).
    if (H5Tis_variable_str(type) <= 0) H5Pset_fletcher32(plist.get());
  }
  if (fill != nullptr) H5Pset_fill_value(plist.get(), type, fill);
  H5Pset_fill_time(plist.get(), H5D_FILL_TIME_ALLOC);
  Handle set(check(H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT), path,
                   "create dataset " + name),
             H5Dclose);
  set.close(path, "create dataset " + name + " (disk full or read-only?)");
}

void write_slab(hid_t file, const std::filesystem::path& path, const std::string& name, hid_t type,
                const std::vector<uint64_t>& offset, const std::vector<uint64_t>& count, const void* data,
                std::size_t values) {
  const uint64_t expected = std::accumulate(count.begin(), count.end(), uint64_t{1}, std::multiplies<>());
  if (expected != values)
    fail(path,
         "write to " + name + ": " + std::to_string(values) + " values for a slab of " + std::to_string(expected));
  Handle set(check(H5Dopen2(file, name.c_str(), H5P_DEFAULT), path, "open dataset " + name), H5Dclose);
  Handle space(H5Dget_space(set.get()), H5Sclose);
  std::vector<hsize_t> o(offset.begin(), offset.end()), c(count.begin(), count.end());
  if (H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, o.data(), nullptr, c.data(), nullptr) < 0) {
    fail(path, "select a slab of " + name);
  }
  Handle memory(H5Screate_simple(static_cast<int>(c.size()), c.data(), nullptr), H5Sclose);
  if (H5Dwrite(set.get(), type, memory.get(), space.get(), H5P_DEFAULT, data) < 0) fail(path, "write " + name);
  set.close(path, "write " + name + " (disk full or read-only?)");
}

// Bytes of memory this machine has: no dataset or attribute of a sound file is read into more.
uint64_t memory_bytes() {
  static const uint64_t bytes = static_cast<uint64_t>(std::max(0L, ::sysconf(_SC_PHYS_PAGES))) *
                                static_cast<uint64_t>(std::max(0L, ::sysconf(_SC_PAGE_SIZE)));
  return bytes;
}

template <typename T>
std::vector<T> read_all(hid_t file, const std::filesystem::path& path, const std::string& name, hid_t type) {
  Handle set(check(H5Dopen2(file, name.c_str(), H5P_DEFAULT), path, "open dataset " + name), H5Dclose);
  Handle space(H5Dget_space(set.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) fail(path, "size of " + name);
  if (static_cast<uint64_t>(n) > memory_bytes() / sizeof(T)) {  // a damaged dataspace must not ask for terabytes
    fail(path,
         name + " claims " + std::to_string(n) + " values, more than this machine's memory holds: the file is damaged");
  }
  std::vector<T> values(static_cast<std::size_t>(n));
  if (n > 0 && H5Dread(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
    const std::string stack = error_stack();
    if (stack.find("Fletcher32") != std::string::npos || stack.find("checksum") != std::string::npos) {
      throw StoreError(
          path.string() + ": " + name + " is damaged: a chunk's bytes no longer match their Fletcher-32 " +
          "checksum (a disk or copy error); its values cannot be trusted: rerun with --fresh, or restore " +
          "the file (" + stack + ")");
    }
    throw StoreError(path.string() + ": read " + name + " (" + stack + ")");
  }
  return values;
}

hid_t string_type() {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return type;
}

// IEEE binary16, little-endian, built as h5py builds its float16 (HDF5 1.10 has no predefined one).
hid_t half_type() {
  hid_t type = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(type, 15, 10, 5, 0, 10);
  H5Tset_size(type, 2);
  H5Tset_ebias(type, 15);
  return type;
}

// Whether dataset `name` stores 2-byte floats (then its values go through to_half / from_half).
bool is_half(hid_t file, const std::filesystem::path& path, const std::string& name) {
  Handle set(check(H5Dopen2(file, name.c_str(), H5P_DEFAULT), path, "open dataset " + name), H5Dclose);
  Handle type(check(H5Dget_type(set.get()), path, "type of " + name), H5Tclose);
  return H5Tget_class(type.get()) == H5T_FLOAT && H5Tget_size(type.get()) == 2;
}

std::vector<float> widen(const std::vector<uint16_t>& halves) {
  std::vector<float> out(halves.size());
  std::transform(halves.begin(), halves.end(), out.begin(), [](uint16_t h) { return from_half(h); });
  return out;
}

// File access without HDF5's own flock, so that h5py and h5dump can open a result file while the
// run writes it (they see its last flush). Concurrent writers are excluded by the service instead.
Handle unlocked_access(const std::filesystem::path& path) {
  const hid_t fapl = check(H5Pcreate(H5P_FILE_ACCESS), path, "file access properties");
  if (H5Pset_file_locking(fapl, false, true) < 0) {
    H5Pclose(fapl);
    fail(path, "cannot disable HDF5 file locking");
  }
  return Handle(fapl, H5Pclose);
}

template std::vector<float> read_all<float>(hid_t, const std::filesystem::path&, const std::string&, hid_t);
template std::vector<uint16_t> read_all<uint16_t>(hid_t, const std::filesystem::path&, const std::string&, hid_t);
template std::vector<int64_t> read_all<int64_t>(hid_t, const std::filesystem::path&, const std::string&, hid_t);
template std::vector<uint8_t> read_all<uint8_t>(hid_t, const std::filesystem::path&, const std::string&, hid_t);
template std::vector<char*> read_all<char*>(hid_t, const std::filesystem::path&, const std::string&, hid_t);

}  // namespace curate::store::detail
