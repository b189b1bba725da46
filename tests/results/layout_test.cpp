// The result file's layout module: pass paths, and reading a version-2 file under its old names.
#include "results/layout.h"

#include <gtest/gtest.h>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

using curate::testing::ScratchDir;

TEST(LayoutTest, PassPathsComeFromThePass) {
  EXPECT_EQ(layout::group(Pass::kCalibration), "/calibration");
  EXPECT_EQ(layout::path(Pass::kDifficulty, layout::dataset::kMeanLoss), "/difficulty/mean_loss");
  EXPECT_EQ(layout::path(Pass::kProfile, layout::dataset::kExample), "/profile/example");
  EXPECT_THROW(pass_from_code(4), DistError);
  EXPECT_EQ(pass_from_code(3), Pass::kGradients);
  EXPECT_EQ(pass_from_code(2), Pass::kProfile);
}

TEST(LayoutTest, Version3NamesLinesAndIds) {
  ScratchDir dir;
  store::H5File f = store::H5File::create(dir / "v3.h5");
  layout::create_examples(f, "fp", 2, "v3.selection.h5");
  f.write(layout::kLine, {0}, {2}, std::span<const int64_t>(std::vector<int64_t>{5, 9}));
  f.write(layout::kId, 0, std::span<const std::string>(std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(layout::version(f), 3);
  EXPECT_EQ(layout::read_lines(f), (std::vector<int64_t>{5, 9}));
  EXPECT_EQ(layout::read_ids(f), (std::vector<std::string>{"a", "b"}));
}

TEST(LayoutTest, Version2FilesAreReadUnderTheirOldNames) {
  ScratchDir dir;
  store::H5File f = store::H5File::create(dir / "v2.h5");
  f.set_attribute("/", "version", int64_t{2});
  f.create_i64("/examples/id", {2});  // version 2: line numbers under "id", the user's ids under "key"
  f.write("/examples/id", {0}, {2}, std::span<const int64_t>(std::vector<int64_t>{3, 4}));
  f.create_strings("/examples/key", std::vector<std::string>{"x", "y"});
  EXPECT_EQ(layout::read_lines(f), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(layout::read_ids(f), (std::vector<std::string>{"x", "y"}));
  EXPECT_NO_THROW(layout::check_readable(f));
}

TEST(LayoutTest, OtherVersionsAreRefusedNamingTheVersion) {
  ScratchDir dir;
  store::H5File f = store::H5File::create(dir / "v1.h5");
  f.set_attribute("/", "version", int64_t{1});
  EXPECT_THROW_WITH(layout::check_readable(f), StoreError,
                    "has file format version 1; this curate_dist reads versions 2 to 3");
}

TEST(LayoutTest, PassCostsAddUpOverRuns) {
  ScratchDir dir;
  store::H5File f = store::H5File::create(dir / "c.h5");
  f.create_u8(layout::path(Pass::kProfile, layout::dataset::kDone), {1, 1});
  EXPECT_EQ(layout::read_pass_cost(f, Pass::kProfile), std::nullopt);
  layout::add_pass_cost(f, Pass::kProfile, {100, 200, 3, 40, 3});
  layout::add_pass_cost(f, Pass::kProfile, {10, 20, 1, 4, 2});
  const auto cost = layout::read_pass_cost(f, Pass::kProfile);
  ASSERT_TRUE(cost);
  EXPECT_EQ(cost->wall_ms, 110);
  EXPECT_EQ(cost->worker_ms, 220);
  EXPECT_EQ(cost->scored_examples, 4);
  EXPECT_EQ(cost->scored_tokens, 44);
  EXPECT_EQ(cost->ranks, 2);  // this run's, not a sum
}

}  // namespace
}  // namespace curate::service
