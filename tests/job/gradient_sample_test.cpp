// The sample of --stage gradients (job/gradient_sample.h): eligible examples only, stratified over
// (source, cluster) in proportion, seeded, and a function of the result file alone.
#include "job/gradient_sample.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "results/layout.h"

namespace curate::service {
namespace {

// 1000 records: sources a (600) and b (400); clusters 0..3 by line; every 50th record skipped, every
// 70th without a response.
SampleFrame frame(bool clusters) {
  SampleFrame f;
  for (int i = 0; i < 1000; ++i) {
    f.status.push_back(i % 50 == 0 ? 2 : 0);
    f.prompt_tokens.push_back(10);
    f.reasoning_tokens.push_back(i % 70 == 0 ? 0 : 30);
    f.source.push_back(i < 600 ? "a" : "b");
    if (clusters) f.cluster.push_back(i % 4);
  }
  return f;
}

TEST(GradientSample, TakesEligibleExamplesAscendingAndDistinct) {
  const SampleFrame f = frame(false);
  const std::vector<uint64_t> s = gradient_sample(f, 100, 7);
  ASSERT_EQ(s.size(), 100u);
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  EXPECT_EQ(std::set<uint64_t>(s.begin(), s.end()).size(), s.size());
  for (uint64_t i : s) {
    EXPECT_NE(i % 50, 0u) << i;
    EXPECT_NE(i % 70, 0u) << i;
  }
}

TEST(GradientSample, StratifiesOverSourcesAndClustersInProportion) {
  const SampleFrame f = frame(true);
  const std::vector<uint64_t> s = gradient_sample(f, 200, 3);
  ASSERT_EQ(s.size(), 200u);
  std::map<std::pair<std::string, int64_t>, int> eligible, drawn;
  int total = 0;
  for (std::size_t i = 0; i < f.status.size(); ++i) {
    if (f.status[i] == 0 && f.reasoning_tokens[i] > 0) ++eligible[{f.source[i], f.cluster[i]}], ++total;
  }
  for (uint64_t i : s) ++drawn[{f.source[i], f.cluster[i]}];
  ASSERT_EQ(drawn.size(), 8u);
  for (const auto& [key, n] : eligible) {  // floor or floor + 1 of the proportional share
    const int share = 200 * n / total;
    EXPECT_GE(drawn[key], share) << key.first << " " << key.second;
    EXPECT_LE(drawn[key], share + 1) << key.first << " " << key.second;
  }
}

TEST(GradientSample, SeededAndAllWhenTooFew) {
  const SampleFrame f = frame(true);
  EXPECT_EQ(gradient_sample(f, 100, 11), gradient_sample(f, 100, 11));
  EXPECT_NE(gradient_sample(f, 100, 11), gradient_sample(f, 100, 12));
  const std::vector<uint64_t> all = gradient_sample(f, 5000, 1);
  EXPECT_EQ(all.size(), 1000u - 20u - 15u + 3u);  // every 50th and 70th left out; 0, 350, 700 counted twice
  EXPECT_TRUE(gradient_sample(SampleFrame{}, 10, 1).empty());
}

// Drawn from the file alone: the same file gives the same sample, and a selection's clusters (through
// /selection) stratify it. Pinned so that a change of the drawing (which would break the resume of
// stored groups and the rank-count independence) shows here.
TEST(GradientSample, FromTheResultFile) {
  const auto dir = std::filesystem::temp_directory_path() / "gradient_sample_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const SampleFrame f = frame(false);
  {
    store::H5File file = store::H5File::create(dir / "run.h5");
    layout::create_examples(file, "print", 1000, "run.selection.h5");
    file.write(layout::kStatus, {0}, {1000}, std::span<const uint8_t>(f.status));
    file.write(layout::kPromptTokens, {0}, {1000}, std::span<const int64_t>(f.prompt_tokens));
    file.write(layout::kReasoningTokens, {0}, {1000}, std::span<const int64_t>(f.reasoning_tokens));
    file.write(layout::kSource, 0, std::span<const std::string>(f.source));
  }
  const store::H5File file = store::H5File::open(dir / "run.h5", false);
  const SampleFrame read = read_sample_frame(file);
  EXPECT_TRUE(read.cluster.empty());
  EXPECT_EQ(gradient_sample(read, 50, 0), gradient_sample(f, 50, 0));
  const std::vector<uint64_t> s = gradient_sample(read, 5, 0);
  EXPECT_EQ(s, (std::vector<uint64_t>{177, 345, 452, 703, 778})) << "the drawing changed";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace curate::service
