// SEL.examples.html from a selection (src/selection/examples_page.cpp, written by selection_outputs):
// one row per selected example with its text read from the dataset, linked from the report, listed in
// the selection file with its digest, escaped against hostile records, and replaced with the rest of
// the selection's files by a re-selection.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "selection/output_checks.h"
#include "selection/reduce.h"
#include "selection/synthetic_run.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

namespace fs = std::filesystem;
using curate::testing::read_file;
using curate::testing::SyntheticRunTest;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

int rows_of(const std::string& html) {
  int n = 0;
  for (std::size_t at = html.find("<tr><td>"); at != std::string::npos; at = html.find("<tr><td>", at + 1)) ++n;
  return n;
}

// The entry of `path` in the selection file's /selection/outputs ("" when it has none).
std::string listed_entry(const SelectionFiles& files, const fs::path& path) {
  const layout::SelectionFacts facts = layout::read_selection_facts(store::H5File::open(files.selection, false));
  for (const std::string& entry : facts.outputs) {
    if (entry.starts_with(path.filename().string() + "\t")) return entry;
  }
  return "";
}

using ExamplesPageTest = SyntheticRunTest;

TEST_F(ExamplesPageTest, ListsEverySelectedExampleIsLinkedFromTheReportAndVouchedForByTheSelectionFile) {
  run_.write();
  run_selection(run_.options, comm_);
  const SelectionFiles files = SelectionFiles::of(run_.options.run.selected);
  EXPECT_EQ(files.examples, dir_ / "r.examples.html");
  const std::string html = read_file(files.examples);
  EXPECT_EQ(rows_of(html), 6) << html;  // select.budget = 6
  for (const std::string& id : lines_of(read_file(files.ids)))
    EXPECT_NE(html.find("<tr><td>" + id + "</td>"), std::string::npos) << id;
  EXPECT_NE(html.find("reasoning "), std::string::npos);  // the text, read from the dataset
  EXPECT_NE(html.find("curate_tool explain " + fs::absolute(run_.options.run.output).string() + " ID"),
            std::string::npos);
  EXPECT_NE(html.find("<a href=\"r.report.html\">"), std::string::npos);
  const std::string report = read_file(files.report);
  EXPECT_NE(report.find("Every selected example, searchable: <a href=\"r.examples.html\">"), std::string::npos);
  EXPECT_EQ(listed_entry(files, files.examples), "r.examples.html\t" + file_digest(files.examples));
  const nlohmann::json summary = nlohmann::json::parse(read_file(files.summary));
  EXPECT_EQ(summary["outputs"]["examples"], files.examples.string());
}

TEST_F(ExamplesPageTest, AHostileRecordIsShownEscaped) {
  run_.reasoning_text = [](uint64_t i) {
    return R"(</td><script>alert(\"x\")</script>\u001b[31mred\u001b]0;title\u0007 )" + std::to_string(i);
  };
  run_.write();
  run_selection(run_.options, comm_);
  const std::string html = read_file(SelectionFiles::of(run_.options.run.selected).examples);
  EXPECT_EQ(rows_of(html), 6);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
  EXPECT_EQ(html.find('\x07'), std::string::npos);
  EXPECT_NE(html.find("&lt;/td&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\\x1b[31mred\\x1b]0;title\\x07 "),
            std::string::npos)
      << html;
}

TEST_F(ExamplesPageTest, AReselectionReplacesThePageWithTheRestOfTheSelection) {
  run_.write();
  run_selection(run_.options, comm_);
  const SelectionFiles files = SelectionFiles::of(run_.options.run.selected);
  const std::string before = file_digest(files.examples);
  run_.options.select.budget = 9;
  run_selection(run_.options, comm_);
  EXPECT_EQ(rows_of(read_file(files.examples)), 9);
  EXPECT_EQ(lines_of(read_file(files.ids)).size(), 9u);
  EXPECT_NE(file_digest(files.examples), before);
  EXPECT_EQ(listed_entry(files, files.examples), "r.examples.html\t" + file_digest(files.examples));
}

TEST_F(ExamplesPageTest, ARecordsFileNamedLikeAnotherSelectionsPageIsRefused) {
  run_.write();
  run_selection(run_.options, comm_);
  Options other = run_.options;
  other.run.selected = (dir_ / "r.examples.html").string();  // would be the page of the selection "r"
  EXPECT_THROW_WITH(check_output_paths(other), ConfigError, "the examples page of the selection");
  fs::copy_file(other.run.dataset, dir_ / "s.examples.html");  // a dataset the page of the selection "s" would be
  other.run.dataset = (dir_ / "s.examples.html").string();
  other.run.selected = (dir_ / "s.jsonl").string();
  EXPECT_THROW_WITH(check_output_paths(other), ConfigError, "the examples page '", "' is the dataset (data.path)",
                    "writing it would destroy that file");
}

}  // namespace
}  // namespace curate::service
