// `curate_tool explain` (src/selection/explain.cpp) on a synthetic run: the settings every selection
// records in the result file bring the example back whole (recorded_settings), wherever it is asked
// from; a moved dataset and a file without recorded settings are refused with what to do.
#include "curate/selection/explain.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "curate/util/error.h"
#include "selection/reduce.h"
#include "selection/synthetic_run.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

namespace fs = std::filesystem;
using curate::testing::SyntheticRunTest;

// recorded_settings(result, ["explain", args...]).
Options recorded(const fs::path& result, std::vector<std::string> args = {}) {
  args.insert(args.begin(), "curate_tool explain");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return recorded_settings(result, static_cast<int>(argv.size()), argv.data());
}

std::string explained(const Options& job, const std::string& id) {
  std::ostringstream out;
  ExplainOptions which;
  which.id = id;
  explain(job, which, out);
  return out.str();
}

// Makes `folder` the current folder until destroyed.
class CurrentFolder {
 public:
  explicit CurrentFolder(const fs::path& folder) : before_(fs::current_path()) { fs::current_path(folder); }
  ~CurrentFolder() { fs::current_path(before_); }
  CurrentFolder(const CurrentFolder&) = delete;
  CurrentFolder& operator=(const CurrentFolder&) = delete;

 private:
  fs::path before_;
};

class ExplainTest : public SyntheticRunTest {
 protected:
  void SetUp() override {
    SyntheticRunTest::SetUp();
    run_.write();
  }
};

TEST_F(ExplainTest, TheRecordedSettingsExplainAnExampleWholeFromAnyFolder) {
  const CurrentFolder in_run(dir_.path());  // the run names its files relative to its folder, as users do
  Options relative = run_.options;
  relative.run.dataset = "data.jsonl";
  relative.run.output = "r.h5";
  relative.run.selected = "r.selected.jsonl";
  run_selection(relative, comm_);
  const std::string settings = layout::read_settings(store::H5File::open(run_.options.run.output, false));
  EXPECT_NE(settings.find("[data]\npath = " + fs::absolute(run_.options.run.dataset).string() + "\n"),
            std::string::npos)
      << settings;
  fs::create_directories(dir_ / "elsewhere");
  const CurrentFolder elsewhere(dir_ / "elsewhere");  // relative paths would now miss; the recorded ones are absolute
  const std::string text = explained(recorded("../r.h5"), "rec-4");
  EXPECT_NE(text.find("example rec-4: line 5 of " + fs::absolute(run_.options.run.dataset).string()), std::string::npos)
      << text;
  EXPECT_NE(text.find("--- reasoning (scored)\nreasoning 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("selection: ../r.selection.h5 (temp, 6 selected"), std::string::npos) << text;
  EXPECT_NE(text.find("verdict: "), std::string::npos) << text;
  // The command line goes over the recorded settings.
  EXPECT_NE(explained(recorded(run_.options.run.output, {"--pass.difficulty_tokens", "7"}), "rec-4")
                .find("(mean over the first 7 scored tokens)"),
            std::string::npos);
}

TEST_F(ExplainTest, AMovedDatasetIsNamedWithTheOptionThatFindsIt) {
  run_selection(run_.options, comm_);
  fs::rename(run_.options.run.dataset, dir_ / "moved.jsonl");
  EXPECT_THROW_WITH(recorded(run_.options.run.output), DataError,
                    "the dataset " + fs::absolute(run_.options.run.dataset).string(), "is missing (moved or deleted)",
                    "--data.path PATH", "--config run.ini");
  const Options job = recorded(run_.options.run.output, {"--data.path", (dir_ / "moved.jsonl").string()});
  EXPECT_NE(explained(job, "rec-2").find("reasoning 2\n"), std::string::npos);
}

TEST_F(ExplainTest, AFileWithoutRecordedSettingsPointsToTheConfigForm) {
  // SyntheticRun writes the file as a curate_dist without the settings attribute did; no selection yet.
  EXPECT_THROW_WITH(recorded(run_.options.run.output), ConfigError, "records no settings",
                    "curate_tool explain --config run.ini --output.path " + run_.options.run.output);
  EXPECT_THROW_WITH(recorded(run_.options.run.dataset), StoreError);  // not HDF5 at all
}

}  // namespace
}  // namespace curate::service
