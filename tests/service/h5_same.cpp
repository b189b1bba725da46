// h5_same A.h5 B.h5 DATASET...: exit 0 when every named dataset is bitwise identical in both files
// (NaN fill included), 1 otherwise, printing the first difference.
// h5_same --row FILE.h5 DATASET INDEX: prints row INDEX (leading dimensions collapsed) of a float dataset as JSON
// (non-finite values as null). Used by the service tests.
#include <cmath>
#include <cstdio>
#include <string>
#include <cstring>
#include <exception>

#include "curate/store/hdf5.h"

int main(int argc, char** argv) {
  using curate::store::H5File;
  if (argc < 4) {
    std::fprintf(stderr, "usage: h5_same A.h5 B.h5 DATASET...\n");
    return 2;
  }
  try {
    if (std::string(argv[1]) == "--row") {
      const H5File file = H5File::open(argv[2], false);
      const auto dims = file.dims(argv[3]);
      const auto values = file.read_f32(argv[3]);
      const std::size_t width = dims.back(), row = std::stoul(argv[4]);  // leading dimensions collapse into rows
      std::printf("[");
      for (std::size_t i = 0; i < width; ++i) {
        const float v = values.at(row * width + i);
        std::printf(i ? ",%s" : "%s", std::isfinite(v) ? std::to_string(v).c_str() : "null");
      }
      std::printf("]\n");
      return 0;
    }
    const H5File a = H5File::open(argv[1], false), b = H5File::open(argv[2], false);
    for (int i = 3; i < argc; ++i) {
      const std::string name = argv[i];
      if (a.dims(name) != b.dims(name)) {
        std::printf("%s: shapes differ\n", name.c_str());
        return 1;
      }
      bool same;
      if (name.ends_with("/key") || name.ends_with("/source") || name.ends_with("/domain")) {
        same = a.read_strings(name) == b.read_strings(name);
      } else if (name.ends_with("/done") || name.ends_with("/status")) {
        same = a.read_u8(name) == b.read_u8(name);
      } else if (name.ends_with("tokens") || name.ends_with("/id") || name.ends_with("/full_length") || name.ends_with("/sample")) {
        same = a.read_i64(name) == b.read_i64(name);
      } else {
        const auto x = a.read_f32(name), y = b.read_f32(name);
        same = x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
      }
      if (!same) {
        std::printf("%s: values differ\n", name.c_str());
        return 1;
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::printf("%s\n", e.what());
    return 2;
  }
}
