// The report's gathering (report_gather.cpp) on a synthetic result file and its columns: totals,
// allocation, links relative to the report, per-source views; and the rendered page stays small
// however many sources the dataset has.
#include "report/report_gather.h"

#include <gtest/gtest.h>

#include "selection/columns.h"
#include "selection/synthetic_run.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

using curate::testing::ScratchDir;
using curate::testing::SyntheticRun;

struct Gathered {
  report::ReportData data;
  SelectionColumns columns;
  select::SelectResult result;
};

Gathered gather(SyntheticRun& run, const std::string& selected) {
  run.options.run.selected = selected;
  const store::H5File f = store::H5File::open(run.options.run.output, false);
  Gathered g;
  g.columns = read_columns(f);
  g.result =
      select::select(g.columns.select_input(), g.columns.source.names, g.columns.domain.names, run.options.select);
  const OutputFiles files = OutputFiles::of(run.options);
  g.data = gather_report(f, report_settings(run.options, files.run), g.columns, g.result, files.selection,
                         files.run.result, 0.5, 1);
  return g;
}

TEST(ReportGatherTest, CountsLinksAndSourcesComeFromTheColumns) {
  ScratchDir dir;
  SyntheticRun run;
  run.folder = dir.path();
  run.write();
  const Gathered g = gather(run, (dir / "picks" / "a.jsonl").string());
  EXPECT_EQ(g.data.examples, 24);
  EXPECT_EQ(g.data.kept, 24);
  EXPECT_EQ(g.data.selected, 6);
  EXPECT_EQ(g.data.method, "temp");
  EXPECT_EQ(g.data.sources.size(), 6u);  // (domain, source) pairs: 2 domains x 3 sources
  int64_t read = 0, selected = 0;
  for (const auto& s : g.data.sources) read += s.read, selected += s.selected;
  EXPECT_EQ(read, 24);
  EXPECT_EQ(selected, 6);
  std::map<std::string, std::string> links(g.data.links.begin(), g.data.links.end());
  EXPECT_EQ(links.at("ids"), "a.selected_ids.txt");  // the selection's own names, relative to its report
  EXPECT_EQ(links.at("results"), "../r.h5");
  EXPECT_EQ(links.at("selection"), "a.selection.h5");
  EXPECT_EQ(links.at("examples"), "a.examples.html");  // the searchable page of every selected example
  ASSERT_EQ(g.data.mean_all.size(), 3u);
  EXPECT_TRUE(std::isfinite(g.data.mean_all[2]));
  bool example_shown = false;
  for (const auto& s : g.data.sources) example_shown = example_shown || !s.examples.empty();
  EXPECT_TRUE(example_shown);
}

TEST(ReportGatherTest, TheReportStaysSmallWithManySources) {
  ScratchDir dir;
  SyntheticRun run;
  run.folder = dir.path();
  run.records = 6000;
  run.sources = 1500;
  run.write();
  run.options.select.method = select::SelectMethod::kRandom;
  run.options.select.budget = 300;
  const Gathered g = gather(run, (dir / "r.selected.jsonl").string());
  const std::string html = report::html_report(g.data);
  EXPECT_LT(html.size(), 400u << 10) << "USAGE: a few hundred KB whatever the dataset's size";
  EXPECT_NE(html.find("other groups (the summary JSON lists each)"), std::string::npos);
  EXPECT_EQ(report::summary_json(g.data).at("sources").size(), 1500u);  // every group, in the summary
}

// 96 records in two groups of 48 (source and domain both follow i % 2), clustered into 4 clusters each.
SyntheticRun clustered_run(const std::filesystem::path& folder) {
  SyntheticRun run;
  run.folder = folder;
  run.records = 96;
  run.sources = 2;
  run.write();
  run.options.select.budget = 8;
  run.options.select.k_rule = select::KRule::kCandidates;
  run.options.select.per_cluster = 12;
  return run;
}

// A gradient of `dim` values along one axis per (group, cluster), plus a small deterministic wobble.
std::vector<float> planted_gradient(int64_t axis, int64_t i, int64_t dim) {
  std::vector<float> row(static_cast<std::size_t>(dim));
  for (int64_t k = 0; k < dim; ++k) row[static_cast<std::size_t>(k)] = 0.2f * std::sin(static_cast<float>(i * 31 + k));
  row[static_cast<std::size_t>(axis % dim)] += 1.0f;
  return row;
}

TEST(ReportGatherTest, ThePremiseHoldsWhenGradientsFollowTheLossClusters) {
  ScratchDir dir;
  SyntheticRun run = clustered_run(dir.path());
  Gathered before = gather(run, (dir / "a.jsonl").string());
  EXPECT_EQ(before.data.premise.state, "absent");
  EXPECT_NE(before.data.premise.note.find("--stage gradients"), std::string::npos);
  const nlohmann::json absent = report::summary_json(before.data).at("premise");
  EXPECT_TRUE(absent.at("verdict").is_null());
  EXPECT_TRUE(absent.at("clusterings").empty());  // never numbers without gradients

  std::vector<int64_t> sampled;  // every third record
  for (int64_t i = 0; i < 96; i += 3) sampled.push_back(i);
  const std::vector<int32_t> cluster = before.result.cluster;
  run.write_gradients(sampled, 64, [&](int64_t i) {
    return planted_gradient((i % 2) * 8 + cluster[static_cast<std::size_t>(i)], i, 64);
  });
  const Gathered g = gather(run, (dir / "a.jsonl").string());
  ASSERT_EQ(g.result.cluster, cluster);  // the gradients do not change a loss-pattern selection
  const report::Premise& p = g.data.premise;
  EXPECT_EQ(p.state, "tested");
  EXPECT_EQ(p.sampled, 32);
  EXPECT_EQ(p.examples, 32);
  EXPECT_EQ(p.groups, 2);
  EXPECT_EQ(p.dim, 64);
  ASSERT_EQ(p.clusterings.size(), 3u);
  EXPECT_GT(p.clusterings[0].gap_low, 0.3);
  EXPECT_TRUE(p.holds) << p.verdict;
  const nlohmann::json json = report::summary_json(g.data).at("premise");
  EXPECT_EQ(json.at("holds"), true);
  EXPECT_EQ(json.at("clusterings").at(0).at("name"), "loss-pattern clusters");
  EXPECT_DOUBLE_EQ(json.at("clusterings").at(0).at("gap_interval").at(0).get<double>(), p.clusterings[0].gap_low);
  const std::string html = report::html_report(g.data);
  EXPECT_NE(html.find("The premise holds on this run"), std::string::npos);
  EXPECT_NE(html.find("<section id=\"premise\">"), std::string::npos);
}

TEST(ReportGatherTest, ThePremiseIsNotTestedOnAnIncompleteStageOrOnGradientClusters) {
  ScratchDir dir;
  SyntheticRun run = clustered_run(dir.path());
  std::vector<int64_t> every(96);
  for (int64_t i = 0; i < 96; ++i) every[static_cast<std::size_t>(i)] = i;
  run.write_gradients(
      every, 8, [](int64_t i) { return planted_gradient(i % 8, i, 8); }, /*complete=*/false);
  EXPECT_EQ(gather(run, (dir / "a.jsonl").string()).data.premise.state, "incomplete");

  std::filesystem::create_directories(dir / "b");
  SyntheticRun complete = clustered_run(dir / "b");
  complete.write_gradients(every, 8, [](int64_t i) { return planted_gradient(i % 8, i, 8); });
  complete.options.select.features = select::SelectFeatures::kGradients;
  const Gathered g = gather(complete, (dir / "b" / "a.jsonl").string());
  EXPECT_EQ(g.data.premise.state, "gradient features");
  EXPECT_TRUE(g.data.premise.clusterings.empty());

  std::filesystem::create_directories(dir / "c");
  SyntheticRun two = clustered_run(dir / "c");
  two.write_gradients({0, 1}, 8, [](int64_t i) { return planted_gradient(i % 8, i, 8); });  // one per source
  const Gathered few = gather(two, (dir / "c" / "a.jsonl").string());
  EXPECT_EQ(few.data.premise.state, "untestable");
  EXPECT_NE(few.data.premise.note.find("cannot be tested"), std::string::npos) << few.data.premise.note;
  const nlohmann::json json = report::summary_json(few.data).at("premise");
  EXPECT_TRUE(json.at("holds").is_null());
  EXPECT_TRUE(json.at("clusterings").empty());
  EXPECT_NE(report::html_report(few.data).find("cannot be tested"), std::string::npos);
}

}  // namespace
}  // namespace curate::service
