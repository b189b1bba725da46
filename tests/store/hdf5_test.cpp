#include "curate/store/hdf5.h"
#include "curate/store/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::store {
namespace {

using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::write_file;

TEST(H5File, DatasetsSlabsAttributesRoundTrip) {
  ScratchDir dir;
  {
    H5File file = H5File::create(dir / "run.h5");
    file.create_f32("/passes/difficulty/loss", {5, 2, 3}, {2, 1, 3});
    file.create_i64("/table/ints", {5});
    file.create_u8("/passes/difficulty/done", {2, 3});
    file.create_strings("/table/strings", {"a", "", "ünï", "4", "x y"});
    std::vector<float> block = {1, 2, 3, 4, 5, 6};
    file.write("/passes/difficulty/loss", {1, 0, 0}, {1, 2, 3}, block);
    std::vector<int64_t> lines = {10, 20, 30, 40, 50};
    file.write("/table/ints", {0}, {5}, lines);
    std::vector<uint8_t> done = {1};
    file.write("/passes/difficulty/done", {1, 2}, {1, 1}, done);
    file.set_attribute("/", "fingerprint", "abc");
    file.set_attribute("/", "fingerprint", "replaced");
    file.set_attribute("/passes/difficulty", "checkpoint", int64_t{3});
    EXPECT_THROW_WITH(file.write("/table/ints", {0}, {5}, std::span(lines).first(3)), StoreError, "3 values");
    file.flush();
  }
  H5File file = H5File::open(dir / "run.h5", false);
  EXPECT_TRUE(file.exists("/passes/difficulty/loss"));
  EXPECT_FALSE(file.exists("/passes/profile/loss"));
  EXPECT_EQ(file.dims("/passes/difficulty/loss"), (std::vector<uint64_t>{5, 2, 3}));
  auto loss = file.read_f32("/passes/difficulty/loss");
  EXPECT_TRUE(std::isnan(loss[0]));  // unwritten values are NaN
  EXPECT_EQ(loss[6], 1.0f);
  EXPECT_EQ(loss[11], 6.0f);
  EXPECT_EQ(file.read_i64("/table/ints")[4], 50);
  EXPECT_EQ(file.read_u8("/passes/difficulty/done"), (std::vector<uint8_t>{0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(file.read_strings("/table/strings"), (std::vector<std::string>{"a", "", "ünï", "4", "x y"}));
  EXPECT_EQ(file.string_attribute("/", "fingerprint"), "replaced");
  EXPECT_EQ(file.int_attribute("/passes/difficulty", "checkpoint"), 3);
  EXPECT_THROW_WITH(file.int_attribute("/", "nope"), StoreError, "run.h5", "nope");
}

TEST(H5File, RemoveUnlinksGroupsAndIgnoresMissingOnes) {
  ScratchDir dir;
  H5File file = H5File::create(dir / "run.h5");
  file.create_i64("/group/ints", {2});
  file.create_u8("/other/flags", {3});
  file.remove("/group");
  file.remove("/group");
  file.remove("/nothing/here");
  EXPECT_FALSE(file.exists("/group/ints"));
  EXPECT_TRUE(file.exists("/other/flags"));
  file.create_i64("/group/ints", {4});  // recreated with another shape
  EXPECT_EQ(file.dims("/group/ints"), (std::vector<uint64_t>{4}));
}

TEST(H5File, MissingDamagedAndUnwritableFilesAreNamed) {
  ScratchDir dir;
  EXPECT_THROW_WITH(H5File::open(dir / "none.h5", true), StoreError, "none.h5", "no such file");
  write_file(dir / "text.h5", "not hdf5 at all");
  EXPECT_THROW_WITH(H5File::open(dir / "text.h5", true), StoreError, "text.h5", "not an HDF5 file");
  {
    H5File file = H5File::create(dir / "good.h5");
    file.create_f32("/x", {1000, 100}, {100, 100});
  }
  std::string bytes = read_file(dir / "good.h5");
  write_file(dir / "cut.h5", bytes.substr(0, bytes.size() / 3));
  EXPECT_THROW(
      {
        H5File cut = H5File::open(dir / "cut.h5", false);
        cut.read_f32("/x");
      },
      StoreError);
  EXPECT_THROW_WITH(H5File::create(dir / "missing_folder" / "x.h5"), StoreError, "missing_folder");
}

TEST(H5File, VerifyReadsTheWholeStructure) {
  ScratchDir dir;
  {
    H5File file = H5File::create(dir / "good.h5");
    file.create_f32("/a/x", {64, 16}, {8, 16});
    file.create_strings("/a/names", {"one", "two", "three"});
    file.set_attribute("/", "fingerprint", "f");
  }
  H5File::open(dir / "good.h5", false).verify();
  const std::string bytes = read_file(dir / "good.h5");
  int refused = 0;
  for (std::size_t keep : {bytes.size() / 2, bytes.size() * 3 / 4, bytes.size() - 64}) {  // cut-off writes
    write_file(dir / "cut.h5", bytes.substr(0, keep));
    try {
      H5File::open(dir / "cut.h5", false).verify();
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find("cut.h5"), std::string::npos) << e.what();
      ++refused;
    }
  }
  EXPECT_EQ(refused, 3);
}

// Chunked datasets carry Fletcher-32 checksums: bytes changed on disk inside the raw data (not the
// structure, which verify() reads) make the read fail with the dataset's name instead of wrong values.
TEST(H5File, FlippedBytesInsideAChunkAreDetected) {
  ScratchDir dir;
  const std::vector<float> values(64 * 16, 1234.5f);
  {
    H5File file = H5File::create(dir / "run.h5");
    file.create_f32("/matrix/values", {64, 16}, {64, 16});
    file.write("/matrix/values", {0, 0}, {64, 16}, std::span<const float>(values));
  }
  std::string bytes = read_file(dir / "run.h5");
  std::string pattern(64, '\0');
  for (std::size_t i = 0; i < 16; ++i) std::memcpy(pattern.data() + 4 * i, &values[0], 4);
  const std::size_t at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(H5File::open(dir / "run.h5", false).read_f32("/matrix/values"), values);
  bytes[at + 100] = static_cast<char>(bytes[at + 100] ^ 0x10);
  write_file(dir / "run.h5", bytes);
  H5File damaged = H5File::open(dir / "run.h5", false);
  damaged.verify();  // the structure is intact
  EXPECT_THROW_WITH(damaged.read_f32("/matrix/values"), StoreError, "run.h5", "/matrix/values", "Fletcher-32",
                    "--fresh");
}

// Hand-computed binary16 bit patterns: exact values, round to nearest even at a tie, subnormals,
// overflow, NaN.
TEST(Half, RoundsToNearestEvenAndWidensExactly) {
  EXPECT_EQ(to_half(1.0f), 0x3c00);
  EXPECT_EQ(to_half(-2.0f), 0xc000);
  EXPECT_EQ(to_half(0.0f), 0x0000);
  EXPECT_EQ(to_half(-0.0f), 0x8000);
  EXPECT_EQ(to_half(65504.0f), 0x7bff);  // largest half
  EXPECT_EQ(to_half(65520.0f), 0x7c00);  // halfway to 2^16 rounds (to even) to inf
  EXPECT_EQ(to_half(1e6f), 0x7c00);
  EXPECT_EQ(to_half(1.0f / 3), 0x3555);               // 0x3555 = 0.33325195...
  EXPECT_EQ(to_half(1.0f + 0x1.0p-11f), 0x3c00);      // tie, even neighbour below
  EXPECT_EQ(to_half(1.0f + 3 * 0x1.0p-11f), 0x3c02);  // tie, even neighbour above
  EXPECT_EQ(to_half(0x1.0p-24f), 0x0001);             // smallest subnormal
  EXPECT_EQ(to_half(0x1.0p-25f), 0x0000);             // tie between 0 and it: even is 0
  EXPECT_EQ(to_half(0x1.8p-25f), 0x0001);
  EXPECT_EQ(to_half(0x1.ff8p-15f), 0x03ff);  // largest subnormal
  EXPECT_EQ(to_half(0x1.ffcp-15f), 0x0400);  // tie above it rounds (to even) into the smallest normal
  EXPECT_EQ(to_half(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(to_half(std::numeric_limits<float>::quiet_NaN()) & 0x7e00, 0x7e00);
  for (uint32_t h = 0; h < 0x10000; ++h) {  // every half widens exactly and rounds back to itself
    const auto half = static_cast<uint16_t>(h);
    const float wide = from_half(half);
    if (std::isnan(wide)) {
      EXPECT_EQ(half & 0x7c00, 0x7c00);
      continue;
    }
    ASSERT_EQ(to_half(wide), half) << h;
  }
  EXPECT_EQ(from_half(0x3555), 0.333251953125f);
  EXPECT_EQ(from_half(0x0001), 0x1.0p-24f);
  EXPECT_EQ(from_half(0x83ff), -0x1.ff8p-15f);
}

TEST(H5File, Float16DatasetsRoundOnWriteAndReadAsFloat32) {
  ScratchDir dir;
  const std::vector<float> values = {1.0f, 1.0f / 3, 70000.0f, -0x1.0p-24f, 2.5f, 0.1f};
  {
    H5File file = H5File::create(dir / "run.h5");
    file.create_f16("/matrix/values", {2, 3, 2}, {1, 2, 2});
    file.write("/matrix/values", {1, 0, 0}, {1, 3, 2}, std::span<const float>(values));
    file.flush();
  }
  const H5File file = H5File::open(dir / "run.h5", false);
  EXPECT_EQ(file.dtype("/matrix/values"), "f16");
  EXPECT_EQ(file.chunk("/matrix/values"), (std::vector<uint64_t>{1, 2, 2}));
  const std::vector<float> read = file.read_f32("/matrix/values");
  ASSERT_EQ(read.size(), 12u);
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(std::isnan(read[static_cast<std::size_t>(i)])) << i;  // NaN fill
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(read[6 + i], from_half(to_half(values[i]))) << i;
  EXPECT_EQ(read[7], 0.333251953125f);
  EXPECT_TRUE(std::isinf(read[8]));
  // A hyperslab: one example (row 2) across both checkpoints.
  const std::vector<float> row = file.read_f32("/matrix/values", {0, 2, 0}, {2, 1, 2});
  ASSERT_EQ(row.size(), 4u);
  EXPECT_TRUE(std::isnan(row[0]));
  EXPECT_EQ(row[2], 2.5f);
  EXPECT_EQ(row[3], from_half(to_half(0.1f)));
  EXPECT_THROW_WITH(file.read_f32("/matrix/values", {0, 3, 0}, {1, 1, 2}), StoreError, "outside");
}

TEST(H5File, Float16BitsAreWrittenUnchanged) {
  ScratchDir dir;
  const std::vector<uint16_t> bits = {0x3555, 0x7e00, 0x0001, 0x83ff};  // 1/3, NaN, smallest subnormal, negative
  {
    H5File file = H5File::create(dir / "run.h5");
    file.create_f16("/values", {2, 2}, {1, 2});
    file.write_f16("/values", {0, 0}, {2, 2}, std::span<const uint16_t>(bits));
    file.create_f32("/wide", {2}, {2});
    EXPECT_THROW_WITH(file.write_f16("/wide", {0}, {2}, std::span<const uint16_t>(bits).first(2)), StoreError,
                      "/wide is not a float16 dataset");
    file.flush();
  }
  const std::vector<float> read = H5File::open(dir / "run.h5", false).read_f32("/values");
  ASSERT_EQ(read.size(), 4u);
  for (std::size_t i = 0; i < bits.size(); ++i) {
    if (std::isnan(read[i])) {
      EXPECT_EQ(bits[i], 0x7e00) << i;
    } else {
      EXPECT_EQ(to_half(read[i]), bits[i]) << i;  // from_half is exact, so the bits come back
    }
  }
}

}  // namespace
}  // namespace curate::store
