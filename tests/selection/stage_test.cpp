// The selection stage on one rank (MPI_COMM_WORLD of a singleton process) over a synthetic result
// file: every selection owns its files, the result file's /selection follows the latest selection
// (relative to the result file, wherever it moves), and large tables are datasets.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "curate/results/inspect.h"
#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "selection/columns.h"
#include "selection/output_checks.h"
#include "selection/reduce.h"
#include "selection/synthetic_run.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

namespace fs = std::filesystem;
using curate::testing::ScratchDir;
using curate::testing::SyntheticRun;
using curate::testing::SyntheticRunTest;

// Every file of the folder with its digest.
std::map<std::string, std::string> digests(const fs::path& folder) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(folder))
    out[entry.path().filename().string()] = file_digest(entry.path());
  return out;
}

std::string inspect_text(const fs::path& path) {
  std::ostringstream out;
  inspect(path, out);
  return out.str();
}

class SelectionStageTest : public SyntheticRunTest {
 protected:
  void SetUp() override {
    SyntheticRunTest::SetUp();
    run_.write();
  }
};

TEST_F(SelectionStageTest, ColumnsAreReadOnceAndViewedBySelect) {
  SelectionColumns columns = read_columns(store::H5File::open(run_.options.run.output, false));
  share_columns(comm_, columns, select::SelectReads{});
  EXPECT_EQ(columns.records(), 24u);
  EXPECT_EQ(columns.checkpoints, 3);
  EXPECT_EQ(columns.source.names, (std::vector<std::string>{"src0", "src1", "src2"}));
  EXPECT_EQ(columns.domain[1], "math");
  EXPECT_EQ(columns.id[5], "rec-5");
  EXPECT_EQ(columns.line[5], 6);
  const select::SelectInput input = columns.select_input();
  EXPECT_EQ(input.kept.size(), 24u);
  EXPECT_EQ(input.mean_loss.size(), 72u);
  EXPECT_EQ(input.mean_loss_first.size(), 72u);
  EXPECT_EQ(input.full_length[3], columns.full_length[3]);
  int visited = 0;
  columns.for_each([&](std::string_view, auto&) { ++visited; });
  EXPECT_EQ(visited, 16);
}

// What the other ranks hold (light_columns, sent by share_columns): the candidates' rows of what
// select() reads, nothing of the rest; select() takes from them what it takes from rank 0's columns.
TEST_F(SelectionStageTest, OtherRanksHoldTheCandidatesOfWhatSelectReads) {
  SelectionColumns full = read_columns(store::H5File::open(run_.options.run.output, false));
  for (std::size_t i = 0; i < full.records(); i += 4) full.candidate[i] = 0;  // 18 candidates of 24
  std::vector<int64_t> candidates;
  for (std::size_t i = 0; i < full.records(); ++i)
    if (full.candidate[i]) candidates.push_back(static_cast<int64_t>(i));
  full.gradient_dim = 2;  // projected gradients of every record, row 23 - i of record i
  for (int64_t i = 0; i < 24; ++i) full.gradient_row[static_cast<std::size_t>(i)] = 23 - i;  // read as -1: none
  for (int64_t k = 0; k < 48; ++k) full.gradients.push_back(static_cast<float>((k * 7) % 11) - 5.0f);
  for (const select::SelectMethod method :
       {select::SelectMethod::kTemp, select::SelectMethod::kLongest, select::SelectMethod::kS2l}) {
    select::SelectOptions options = run_.options.select;
    options.method = method;
    options.token_budget = method == select::SelectMethod::kLongest ? 400 : 0;
    if (method == select::SelectMethod::kS2l) options.features = select::SelectFeatures::kGradients;
    const select::SelectReads reads = select::select_reads(options);
    const SelectionColumns light = light_columns(full, reads);
    EXPECT_EQ(light.records(), 0u);
    EXPECT_TRUE(light.id.empty() && light.line.empty() && light.status.empty() && light.prompt_tokens.empty());
    EXPECT_EQ(light.reasoning_tokens.size(), reads.reasoning_tokens ? 18u : 0u);
    EXPECT_EQ(light.full_length.size(), reads.full_length ? 18u : 0u);
    EXPECT_EQ(light.mean_loss.size(), reads.mean_loss ? 54u : 0u);
    EXPECT_TRUE(light.difficulty.empty());
    EXPECT_EQ(light.checkpoints, 3);
    EXPECT_EQ(light.candidate, std::vector<uint8_t>(18, 1));
    EXPECT_EQ(light.source.names, full.source.names);
    EXPECT_EQ(light.domain.ids[4], full.domain.ids[6]);                              // candidate 4 is record 6
    EXPECT_EQ(light.mean_loss_first[2 * 18 + 4], full.mean_loss_first[2 * 24 + 6]);  // checkpoint 2
    if (reads.reasoning_tokens) EXPECT_EQ(light.reasoning_tokens[4], full.reasoning_tokens[6]);
    EXPECT_EQ(light.gradient_dim, reads.gradients ? 2 : 0);
    EXPECT_EQ(light.gradient_row.size(), reads.gradients ? 18u : 0u);
    EXPECT_EQ(light.gradients, reads.gradients ? full.gradients : std::vector<float>());
    if (reads.gradients) EXPECT_EQ(light.gradient_row[4], 17);  // record 6's row
    const select::SelectResult whole =
        select::select(full.select_input(), full.source.names, full.domain.names, options);
    const select::SelectResult part =
        select::select(light.select_input(), light.source.names, light.domain.names, options);
    std::vector<int64_t> selected;
    for (int64_t j : part.selected) selected.push_back(candidates[static_cast<std::size_t>(j)]);
    EXPECT_EQ(selected, whole.selected) << select::select_method_name(method);
    EXPECT_FALSE(selected.empty());
  }
}

TEST_F(SelectionStageTest, WritesEveryFileOfTheSelectionAndLeavesNoLockOrTemporary) {
  run_selection(run_.options, comm_);
  const SelectionFiles files = SelectionFiles::of(run_.options.run.selected);
  EXPECT_EQ(files.ids, dir_ / "r.selected_ids.txt");  // the default select.output keeps the run's names
  for (const fs::path& path : files.listed()) EXPECT_TRUE(fs::exists(path)) << path;
  std::istringstream ids(curate::testing::read_file(files.ids));
  int lines = 0;
  for (std::string line; std::getline(ids, line);) ++lines;
  EXPECT_EQ(lines, 6);
  const std::map<std::string, std::string> all = digests(dir_.path());
  for (const auto& [name, digest] : all) {
    EXPECT_FALSE(name.ends_with(".lock") || name.ends_with(".tmp") || name.find(".discarded-") != std::string::npos)
        << name << " left behind";
  }
  const store::H5File result = store::H5File::open(run_.options.run.output, false);
  EXPECT_EQ(layout::linked_selection(result), "r.selection.h5");
  EXPECT_EQ(result.read_i64(layout::kSelected).size(), 6u);  // through the link
  const layout::SelectionFacts facts = layout::read_selection_facts(store::H5File::open(files.selection, false));
  EXPECT_EQ(facts.selected, 6);
  EXPECT_EQ(facts.results, "r.h5");
  EXPECT_EQ(facts.outputs.size(), 6u);
  EXPECT_FALSE(facts.time.empty());
}

TEST_F(SelectionStageTest, ASecondMethodLeavesTheFirstSelectionByteIdentical) {
  run_selection(run_.options, comm_);
  const std::map<std::string, std::string> before = digests(dir_.path());
  Options random = run_.options;
  random.select.method = select::SelectMethod::kRandom;
  random.run.selected = (dir_ / "random.jsonl").string();
  run_selection(random, comm_);
  const std::map<std::string, std::string> after = digests(dir_.path());
  for (const auto& [name, digest] : before) {
    if (name == "r.h5" || name == "dataset_info.json") continue;  // the link; one entry per selection
    ASSERT_TRUE(after.count(name)) << name << " disappeared";
    EXPECT_EQ(after.at(name), digest) << name << " changed";
  }
  for (const char* name : {"random.jsonl", "random.selected_ids.txt", "random.scores.tsv", "random.summary.json",
                           "random.report.html", "random.examples.html", "random.selection.h5"}) {
    EXPECT_TRUE(after.count(name)) << name;
  }
  const std::string text = inspect_text(run_.options.run.output);
  EXPECT_NE(text.find("selections: 2 made from this file"), std::string::npos) << text;
  EXPECT_NE(text.find("by temp"), std::string::npos) << text;
  EXPECT_NE(text.find("by random"), std::string::npos) << text;
  EXPECT_NE(text.find("random.selection.h5 (latest"), std::string::npos) << text;
  EXPECT_EQ(text.find("changed"), std::string::npos) << text;
  const store::H5File result = store::H5File::open(run_.options.run.output, false);
  EXPECT_EQ(layout::linked_selection(result), "random.selection.h5");
  EXPECT_EQ(layout::read_selection_list(result), (std::vector<std::string>{"r.selection.h5", "random.selection.h5"}));
}

TEST_F(SelectionStageTest, ARecordsFileOfAnotherSelectionWithTheSameStemIsRefused) {
  run_selection(run_.options, comm_);
  Options other = run_.options;
  other.run.selected = (dir_ / "r.jsonl").string();  // stem "r", as r.selected.jsonl's
  EXPECT_THROW_WITH(run_selection(other, comm_), ConfigError, "belongs to the selection whose records are");
  other.run.selected = (dir_ / "r.summary.json").string();
  EXPECT_THROW_WITH(check_output_paths(other), ConfigError, "is also select.output");
}

TEST_F(SelectionStageTest, TheLinkFollowsTheResultFileWhenItIsRenamedAndMoved) {
  run_selection(run_.options, comm_);
  fs::create_directories(dir_ / "moved");
  fs::create_directories(dir_ / "picks");
  fs::rename(dir_ / "r.h5", dir_ / "moved" / "r2.h5");
  Options moved = run_.options;
  moved.run.output = (dir_ / "moved" / "r2.h5").string();
  moved.run.selected = (dir_ / "picks" / "s.jsonl").string();
  EXPECT_EQ(layout::linked_selection(store::H5File::open(moved.run.output, false)), "r.selection.h5");  // stale
  run_selection(moved, comm_);
  const store::H5File result = store::H5File::open(moved.run.output, false);
  EXPECT_EQ(layout::linked_selection(result), "../picks/s.selection.h5");
  EXPECT_EQ(result.read_i64(layout::kSelected).size(), 6u);  // HDF5 follows it relative to the result file
  const std::string text = inspect_text(moved.run.output);
  EXPECT_NE(text.find("../picks/s.selection.h5 (latest"), std::string::npos) << text;
}

// 96 records in two groups of 48 (source and domain both follow i % 2), k = 4 clusters per group. The
// gradients point along (i / 2) % 4: a partition the loss patterns do not follow.
class GradientFeaturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_.folder = dir_.path();
    run_.records = 96;
    run_.sources = 2;
    run_.write();
    run_.options.select.budget = 8;
    run_.options.select.k_rule = select::KRule::kCandidates;
    run_.options.select.per_cluster = 12;
  }
  static std::vector<float> gradient(int64_t i) {
    std::vector<float> row(16, 0.0f);
    row[static_cast<std::size_t>((i / 2) % 4)] = 1.0f + 0.01f * static_cast<float>(i % 5);
    row[8 + static_cast<std::size_t>(i % 8)] = 0.05f;
    return row;
  }
  std::vector<int64_t> every(int64_t step = 1) const {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < run_.records; i += step) rows.push_back(i);
    return rows;
  }
  select::SelectResult select_on_file() const {
    SelectionColumns columns = read_columns(store::H5File::open(run_.options.run.output, false));
    return select::select(columns.select_input(), columns.source.names, columns.domain.names, run_.options.select);
  }
  ScratchDir dir_;
  SyntheticRun run_;
  const comm::Comm comm_ = comm::Comm::world();
};

// Whether rows i and j share a cluster exactly when they share the gradient direction, in each group.
bool follows_gradients(const std::vector<int32_t>& cluster) {
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    for (std::size_t j = i % 2; j < cluster.size(); j += 2) {
      if ((cluster[i] == cluster[j]) != ((i / 2) % 4 == (j / 2) % 4)) return false;
    }
  }
  return true;
}

TEST_F(GradientFeaturesTest, GradientFeaturesClusterOnTheGradientsAndLossFeaturesDoNot) {
  run_.write_gradients(every(), 16, gradient);
  const select::SelectResult loss = select_on_file();
  EXPECT_FALSE(follows_gradients(loss.cluster));
  run_.options.select.features = select::SelectFeatures::kGradients;
  const select::SelectResult on_gradients = select_on_file();
  EXPECT_TRUE(follows_gradients(on_gradients.cluster));
  EXPECT_EQ(on_gradients.selected.size(), 8u);
  // The stage records the features in the selection file and inspect shows them.
  run_selection(run_.options, comm_);
  const OutputFiles files = OutputFiles::of(run_.options);
  EXPECT_EQ(layout::read_selection_facts(store::H5File::open(files.selection.selection, false)).features, "gradients");
  EXPECT_NE(inspect_text(run_.options.run.output).find("examples by temp on gradients"), std::string::npos);
}

TEST_F(GradientFeaturesTest, GradientFeaturesAreRefusedWithoutAGradientForEveryCandidate) {
  run_.options.select.features = select::SelectFeatures::kGradients;
  try {
    run_selection(run_.options, comm_);
    FAIL() << "no /gradients: refused";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("has none: run --stage gradients first"), std::string::npos) << e.what();
  }
  run_.write_gradients(every(3), 16, gradient);
  try {
    run_selection(run_.options, comm_);
    FAIL() << "two thirds of the candidates lack a gradient: refused";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("64 of 96 candidates of"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("have no projected gradient (the first: id 'rec-1', line 2; --stage "
                                         "gradients sampled 32 examples)"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("gradients.examples >= 96"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(OutputFiles::of(run_.options).selection.selection));
}

TEST(SelectionScaleTest, TenThousandSourcesKeepTheirTablesInDatasets) {
  ScratchDir dir;
  SyntheticRun run;
  run.folder = dir.path();
  run.records = 20000;
  run.sources = 10000;
  run.write();
  run.options.select.method = select::SelectMethod::kRandom;
  run.options.select.budget = 100;
  run_selection(run.options, comm::Comm::world());
  const layout::SelectionFacts facts = layout::read_selection_facts(store::H5File::open(dir / "r.selection.h5", false));
  EXPECT_EQ(facts.selected, 100);
  EXPECT_GT(facts.allocation.size(), 10000u);
  EXPECT_LT(fs::file_size(dir / "r.report.html"), 400u << 10);  // USAGE: a few hundred KB whatever the size
  const std::string text = inspect_text(dir / "r.h5");
  EXPECT_NE(text.find("more allocation rows"), std::string::npos);
}

}  // namespace
}  // namespace curate::service
