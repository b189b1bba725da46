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

}  // namespace
}  // namespace curate::service
