#include "curate/store/hdf5.h"

#include <unistd.h>

#include <cerrno>

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>
#include <utility>

#include "curate/store/half.h"
#include "curate/util/error.h"
#include "detail/h5.h"

namespace curate::store {

using namespace detail;

H5File H5File::create(const std::filesystem::path& path) {
  const Handle fapl = unlocked_access(path);
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  if (id < 0) fail(path, "cannot create the file: check that its folder exists and is writable");
  return H5File(path, id);
}

H5File H5File::open(const std::filesystem::path& path, bool writable) {
  if (!std::filesystem::exists(path)) throw StoreError(path.string() + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw StoreError(path.string() +
                     ": not an HDF5 file, or its superblock is damaged (a write was cut off?); move it "
                     "away to start over");
  }
  const Handle fapl = unlocked_access(path);
  hid_t id = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get());
  if (id < 0) fail(path, "cannot open the file (damaged, or locked by another process)");
  return H5File(path, id);
}

H5File::~H5File() {
  if (id_ >= 0) H5Fclose(id_);
}

H5File::H5File(H5File&& other) noexcept : path_(std::move(other.path_)), id_(std::exchange(other.id_, -1)) {}

bool H5File::exists(const std::string& object) const {
  if (object == "/") return true;
  for (std::size_t slash = object.find('/', 1);; slash = object.find('/', slash + 1)) {
    const std::string prefix = object.substr(0, slash);
    if (H5Lexists(id_, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (slash == std::string::npos) return true;
  }
}

void H5File::link_external(const std::string& name, const std::string& file, const std::string& object) {
  if (H5Lexists(id_, name.c_str(), H5P_DEFAULT) > 0) return;
  H5Eclear2(H5E_DEFAULT);
  check(
      static_cast<hid_t>(H5Lcreate_external(file.c_str(), object.c_str(), id_, name.c_str(), H5P_DEFAULT, H5P_DEFAULT)),
      path_, "external link " + name + " -> " + file + ":" + object);
}

std::string H5File::external_link_file(const std::string& name) const {
  if (H5Lexists(id_, name.c_str(), H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return "";
  }
  H5L_info_t info;
  if (H5Lget_info(id_, name.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_EXTERNAL) {
    H5Eclear2(H5E_DEFAULT);
    return "";
  }
  std::vector<char> value(info.u.val_size);
  const char* file = nullptr;
  const char* object = nullptr;
  unsigned flags = 0;
  check(static_cast<hid_t>(H5Lget_val(id_, name.c_str(), value.data(), value.size(), H5P_DEFAULT)), path_,
        "read external link " + name);
  check(static_cast<hid_t>(H5Lunpack_elink_val(value.data(), value.size(), &flags, &file, &object)), path_,
        "read external link " + name);
  return file ? std::string(file) : std::string();
}

void H5File::remove(const std::string& object) {
  if (!exists(object)) return;
  check(static_cast<hid_t>(H5Ldelete(id_, object.c_str(), H5P_DEFAULT)), path_, "delete " + object);
}

void H5File::flush() {
  if (H5Fflush(id_, H5F_SCOPE_GLOBAL) < 0) fail(path_, "flush (disk full or read-only?)");
  void* handle = nullptr;
  if (H5Fget_vfd_handle(id_, H5P_DEFAULT, &handle) >= 0 && handle != nullptr) {
    if (::fsync(*static_cast<int*>(handle)) != 0 && errno != EINVAL) fail(path_, "fsync (disk full or I/O error?)");
  }
}

void H5File::verify() const {
  std::vector<std::string> datasets;
#if H5_VERSION_GE(1, 12, 0)
  using Info = H5O_info2_t;
#else
  using Info = H5O_info_t;
#endif
  auto collect = [](hid_t, const char* name, const Info* info, void* out) -> herr_t {
    if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(out)->push_back(std::string("/") + name);
    return 0;
  };
#if H5_VERSION_GE(1, 12, 0)
  const herr_t visited = H5Ovisit3(id_, H5_INDEX_NAME, H5_ITER_NATIVE, collect, &datasets, H5O_INFO_BASIC);
#else
  const herr_t visited = H5Ovisit2(id_, H5_INDEX_NAME, H5_ITER_NATIVE, collect, &datasets, H5O_INFO_BASIC);
#endif
  if (visited < 0) fail(path_, "the file's structure cannot be read (damaged: a write was cut off?)");
  for (const std::string& name : datasets) {
    Handle set(check(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), path_, "open dataset " + name), H5Dclose);
    Handle plist(check(H5Dget_create_plist(set.get()), path_, "properties of " + name), H5Pclose);
    if (H5Pget_layout(plist.get()) == H5D_CHUNKED) {
      Handle space(check(H5Dget_space(set.get()), path_, "dataspace of " + name), H5Sclose);
      hsize_t chunks = 0;
      if (H5Dget_num_chunks(set.get(), space.get(), &chunks) < 0)
        fail(path_, "the chunk index of " + name + " is damaged");
    }
    Handle type(check(H5Dget_type(set.get()), path_, "type of " + name), H5Tclose);
    if (H5Tget_class(type.get()) == H5T_STRING && H5Tis_variable_str(type.get()) > 0) read_strings(name);
  }
}

void H5File::create_f32(const std::string& name, const std::vector<uint64_t>& dims,
                        const std::vector<uint64_t>& chunk) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  create_dataset(id_, path_, name, H5T_NATIVE_FLOAT, dims, chunk, &nan);
}

void H5File::create_f16(const std::string& name, const std::vector<uint64_t>& dims,
                        const std::vector<uint64_t>& chunk) {
  const uint16_t nan = to_half(std::numeric_limits<float>::quiet_NaN());
  Handle type(half_type(), H5Tclose);
  create_dataset(id_, path_, name, type.get(), dims, chunk, &nan);
}

void H5File::create_i64(const std::string& name, const std::vector<uint64_t>& dims) {
  const int64_t zero = 0;
  create_dataset(id_, path_, name, H5T_NATIVE_INT64, dims, {}, &zero);
}

void H5File::create_u8(const std::string& name, const std::vector<uint64_t>& dims) {
  const uint8_t zero = 0;
  create_dataset(id_, path_, name, H5T_NATIVE_UINT8, dims, {}, &zero);
}

void H5File::create_strings(const std::string& name, const std::vector<std::string>& values) {
  Handle type(string_type(), H5Tclose);
  create_dataset(id_, path_, name, type.get(), {values.size()}, {}, nullptr);
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  if (!values.empty()) write_slab(id_, path_, name, type.get(), {0}, {values.size()}, pointers.data(), values.size());
}

void H5File::create_strings(const std::string& name, uint64_t count) {
  Handle type(string_type(), H5Tclose);
  create_dataset(id_, path_, name, type.get(), {count}, {std::min<uint64_t>(count, 4096)}, nullptr);
}

void H5File::write(const std::string& name, uint64_t offset, std::span<const std::string> values) {
  Handle type(string_type(), H5Tclose);
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  if (!values.empty())
    write_slab(id_, path_, name, type.get(), {offset}, {values.size()}, pointers.data(), values.size());
}

std::vector<uint64_t> H5File::dims(const std::string& name) const {
  Handle set(check(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), path_, "open dataset " + name), H5Dclose);
  Handle space(H5Dget_space(set.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> d(static_cast<std::size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
  return {d.begin(), d.end()};
}

std::string H5File::dtype(const std::string& name) const {
  Handle set(check(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), path_, "open dataset " + name), H5Dclose);
  Handle type(check(H5Dget_type(set.get()), path_, "type of " + name), H5Tclose);
  const std::size_t size = H5Tget_size(type.get());
  switch (H5Tget_class(type.get())) {
    case H5T_FLOAT:
      return size == 4 ? "f32" : size == 2 ? "f16" : "other";
    case H5T_INTEGER:
      return size == 8 && H5Tget_sign(type.get()) == H5T_SGN_2 ? "i64" : size == 1 ? "u8" : "other";
    case H5T_STRING:
      return "str";
    default:
      return "other";
  }
}

std::vector<uint64_t> H5File::chunk(const std::string& name) const {
  Handle set(check(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), path_, "open dataset " + name), H5Dclose);
  Handle plist(check(H5Dget_create_plist(set.get()), path_, "properties of " + name), H5Pclose);
  if (H5Pget_layout(plist.get()) != H5D_CHUNKED) return {};
  hsize_t c[H5S_MAX_RANK];
  const int rank = H5Pget_chunk(plist.get(), H5S_MAX_RANK, c);
  if (rank < 0) fail(path_, "chunk shape of " + name);
  return std::vector<uint64_t>(c, c + rank);
}

void H5File::write(const std::string& name, const std::vector<uint64_t>& offset, const std::vector<uint64_t>& count,
                   std::span<const float> data) {
  if (!is_half(id_, path_, name))
    return write_slab(id_, path_, name, H5T_NATIVE_FLOAT, offset, count, data.data(), data.size());
  std::vector<uint16_t> halves(data.size());
  std::transform(data.begin(), data.end(), halves.begin(), [](float v) { return to_half(v); });
  Handle type(half_type(), H5Tclose);
  write_slab(id_, path_, name, type.get(), offset, count, halves.data(), halves.size());
}
void H5File::write_f16(const std::string& name, const std::vector<uint64_t>& offset, const std::vector<uint64_t>& count,
                       std::span<const uint16_t> bits) {
  if (!is_half(id_, path_, name)) throw StoreError(path_.string() + ": " + name + " is not a float16 dataset");
  Handle type(half_type(), H5Tclose);
  write_slab(id_, path_, name, type.get(), offset, count, bits.data(), bits.size());
}
void H5File::write(const std::string& name, const std::vector<uint64_t>& offset, const std::vector<uint64_t>& count,
                   std::span<const int64_t> data) {
  write_slab(id_, path_, name, H5T_NATIVE_INT64, offset, count, data.data(), data.size());
}
void H5File::write(const std::string& name, const std::vector<uint64_t>& offset, const std::vector<uint64_t>& count,
                   std::span<const uint8_t> data) {
  write_slab(id_, path_, name, H5T_NATIVE_UINT8, offset, count, data.data(), data.size());
}

std::vector<float> H5File::read_f32(const std::string& name) const {
  if (!is_half(id_, path_, name)) return read_all<float>(id_, path_, name, H5T_NATIVE_FLOAT);
  Handle type(half_type(), H5Tclose);
  return widen(read_all<uint16_t>(id_, path_, name, type.get()));
}

std::vector<float> H5File::read_f32(const std::string& name, const std::vector<uint64_t>& offset,
                                    const std::vector<uint64_t>& count) const {
  const bool half = is_half(id_, path_, name);
  Handle set(check(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), path_, "open dataset " + name), H5Dclose);
  Handle space(H5Dget_space(set.get()), H5Sclose);
  std::vector<hsize_t> o(offset.begin(), offset.end()), c(count.begin(), count.end());
  if (static_cast<int>(o.size()) != H5Sget_simple_extent_ndims(space.get()) || o.size() != c.size() ||
      H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, o.data(), nullptr, c.data(), nullptr) < 0 ||
      H5Sselect_valid(space.get()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw StoreError(path_.string() + ": read " + name + ": the slab lies outside the dataset");
  }
  const uint64_t n = std::accumulate(count.begin(), count.end(), uint64_t{1}, std::multiplies<>());
  Handle memory(H5Screate_simple(static_cast<int>(c.size()), c.data(), nullptr), H5Sclose);
  Handle type(half ? half_type() : H5Tcopy(H5T_NATIVE_FLOAT), H5Tclose);
  std::vector<uint16_t> halves(half ? n : 0);
  std::vector<float> values(half ? 0 : n);
  void* buffer = half ? static_cast<void*>(halves.data()) : static_cast<void*>(values.data());
  if (n > 0 && H5Dread(set.get(), type.get(), memory.get(), space.get(), H5P_DEFAULT, buffer) < 0)
    fail(path_, "read " + name);
  return half ? widen(halves) : values;
}
std::vector<int64_t> H5File::read_i64(const std::string& name) const {
  return read_all<int64_t>(id_, path_, name, H5T_NATIVE_INT64);
}
std::vector<uint8_t> H5File::read_u8(const std::string& name) const {
  return read_all<uint8_t>(id_, path_, name, H5T_NATIVE_UINT8);
}

std::vector<std::string> H5File::read_strings(const std::string& name) const {
  Handle type(string_type(), H5Tclose);
  std::vector<char*> pointers = read_all<char*>(id_, path_, name, type.get());
  std::vector<std::string> out;
  for (char* p : pointers) out.emplace_back(p ? p : "");
  if (!pointers.empty()) {
    Handle set(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), H5Dclose);
    Handle space(H5Dget_space(set.get()), H5Sclose);
    H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, pointers.data());
  }
  return out;
}

void H5File::set_attribute(const std::string& object, const std::string& name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<std::size_t>(1, value.size()));
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT) > 0)
    H5Adelete_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT);
  Handle attribute(check(H5Acreate_by_name(id_, object.c_str(), name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                           H5P_DEFAULT, H5P_DEFAULT),
                         path_, "create attribute " + object + "@" + name),
                   H5Aclose);
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  if (H5Awrite(attribute.get(), type.get(), padded.data()) < 0) fail(path_, "write attribute " + name);
}

void H5File::set_attribute(const std::string& object, const std::string& name, int64_t value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT) > 0)
    H5Adelete_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT);
  Handle attribute(check(H5Acreate_by_name(id_, object.c_str(), name.c_str(), H5T_NATIVE_INT64, space.get(),
                                           H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                         path_, "create attribute " + object + "@" + name),
                   H5Aclose);
  if (H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value) < 0) fail(path_, "write attribute " + name);
}

std::string H5File::string_attribute(const std::string& object, const std::string& name) const {
  Handle attribute(check(H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), path_,
                         "missing attribute " + object + "@" + name),
                   H5Aclose);
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0) {
    fail(path_, "attribute " + object + "@" + name + " is not a fixed-length string");
  }
  const std::size_t size = H5Tget_size(type.get());
  if (size == 0 || size > memory_bytes())
    fail(path_, "attribute " + object + "@" + name + " has an impossible size: the file is damaged");
  std::string value(size, '\0');
  if (H5Aread(attribute.get(), type.get(), value.data()) < 0) fail(path_, "read attribute " + name);
  while (!value.empty() && value.back() == '\0') value.pop_back();
  return value;
}

int64_t H5File::int_attribute(const std::string& object, const std::string& name) const {
  Handle attribute(check(H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), path_,
                         "missing attribute " + object + "@" + name),
                   H5Aclose);
  int64_t value = 0;
  if (H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) < 0) fail(path_, "read attribute " + name);
  return value;
}

bool H5File::has_attribute(const std::string& object, const std::string& name) const {
  if (!exists(object)) return false;
  return check(H5Aexists_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT), path_,
               "look up attribute " + object + "@" + name) > 0;
}

}  // namespace curate::store
