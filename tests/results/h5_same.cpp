// h5_same A.h5 B.h5 DATASET...: exit 0 when every named dataset is bitwise identical in both files
// (NaN fill included), 1 otherwise, printing the first difference.
// h5_same --row FILE.h5 DATASET INDEX: prints row INDEX (leading dimensions collapsed) of a float dataset as JSON
// (non-finite values as null). Used by the service tests.
// h5_same --profile-layout FILE.h5: checks the compact profile layout (rows = kept records; see below).
// h5_same --within REL A.h5 B.h5 DATASET...: exit 0 when the float datasets have the same shapes, NaN in the
// same places and every other value |a - b| <= REL * |a| + 2^-24 (B may be float16: half rounding is 2^-11).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "curate/store/hdf5.h"
#include "results/layout.h"

int main(int argc, char** argv) {
  using curate::store::H5File;
  if (argc < 3 || (argc < 4 && std::string(argv[1]) != "--profile-layout")) {
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
    if (std::string(argv[1]) == "--profile-layout") {  // --profile-layout FILE.h5
      // The compact profile: one row per kept example, rows = kept records in order, and each row
      // holds as many finite losses as that record's reasoning has tokens (up to T).
      namespace layout = curate::service::layout;
      using curate::service::Pass;
      const std::string example_path = layout::path(Pass::kProfile, layout::dataset::kExample),
                        means_path = layout::path(Pass::kProfile, layout::dataset::kMeanLoss),
                        losses_path = layout::path(Pass::kProfile, layout::dataset::kLosses);
      const H5File f = H5File::open(argv[2], false);
      const auto kept = f.read_u8(layout::kFilterKept), status = f.read_u8(layout::kStatus);
      const auto example = f.read_i64(example_path), reasoning = f.read_i64(layout::kReasoningTokens);
      std::vector<int64_t> expected;
      for (std::size_t i = 0; i < kept.size(); ++i) {
        if (kept[i]) expected.push_back(static_cast<int64_t>(i));
      }
      if (example != expected) return std::printf("%s is not the kept records\n", example_path.c_str()), 1;
      const auto means = f.dims(means_path);
      if (means.size() != 2 || means[1] != example.size())
        return std::printf("%s is not [C, K]\n", means_path.c_str()), 1;
      if (!f.exists(losses_path)) return std::printf("ok: %zu rows, no token losses\n", example.size()), 0;
      const auto dims = f.dims(losses_path);
      if (dims.size() != 3 || dims[0] != means[0] || dims[1] != example.size())
        return std::printf("%s is not [C, K, T]\n", losses_path.c_str()), 1;
      const auto losses = f.read_f32(losses_path);
      const std::size_t c = dims[0], k = dims[1], t = dims[2];
      for (std::size_t row = 0; row < k; ++row) {
        const auto record = static_cast<std::size_t>(example[row]);
        const auto want = static_cast<std::size_t>(std::min<int64_t>(reasoning.at(record), static_cast<int64_t>(t)));
        for (std::size_t j = 0; j < c; ++j) {
          std::size_t finite = 0;
          for (std::size_t i = 0; i < t; ++i) finite += std::isfinite(losses[(j * k + row) * t + i]) ? 1 : 0;
          if (status.at(record) == 0 && finite != want) {
            return std::printf("profile row %zu (record %zu) holds %zu losses at checkpoint %zu, its reasoning %zu\n",
                               row, record, finite, j, want),
                   1;
          }
        }
      }
      return std::printf("ok: %zu rows of %zu records, losses %s [%zu, %zu, %zu]\n", k, kept.size(),
                         f.dtype(losses_path).c_str(), c, k, t),
             0;
    }
    if (std::string(argv[1]) == "--within") {
      const double rel = std::stod(argv[2]);
      const H5File a = H5File::open(argv[3], false), b = H5File::open(argv[4], false);
      for (int i = 5; i < argc; ++i) {
        const auto x = a.read_f32(argv[i]), y = b.read_f32(argv[i]);
        bool same = a.dims(argv[i]) == b.dims(argv[i]) && x.size() == y.size();
        double worst = 0;
        for (std::size_t k = 0; same && k < x.size(); ++k) {
          if (std::isnan(x[k]) || std::isnan(y[k])) {
            same = std::isnan(x[k]) && std::isnan(y[k]);
            continue;
          }
          const double d = std::abs(static_cast<double>(x[k]) - y[k]);
          worst = std::max(worst, d / std::max(std::abs(static_cast<double>(x[k])), 1e-30));
          same = d <= rel * std::abs(static_cast<double>(x[k])) + 0x1.0p-24;
        }
        std::printf("%s: %s (largest relative difference %.3g)\n", argv[i], same ? "within" : "NOT within", worst);
        if (!same) return 1;
      }
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
      if (name.ends_with("/id") || name.ends_with("/source") || name.ends_with("/domain")) {
        same = a.read_strings(name) == b.read_strings(name);
      } else if (name.ends_with("/done") || name.ends_with("/status")) {
        same = a.read_u8(name) == b.read_u8(name);
      } else if (name.ends_with("tokens") || name.ends_with("/line") || name.ends_with("/full_length") ||
                 name.ends_with("/sample") || name.ends_with("/example")) {
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
