// The restart decision table of docs/DESIGN.md ("On start, rank 0 decides"), row by row: what
// prepare_output decides for each state of the result file and journal, and what apply_output_plan
// leaves on disk.
#include "results/output_plan.h"

#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <vector>

#include "curate/store/journal.h"
#include "curate/util/error.h"
#include "results/run_file.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::write_file;

constexpr uint64_t kRecords = 7;
const std::string kPrint = "model=m;seed=1";

class OutputPlanTest : public ::testing::Test {
 protected:
  OutputPlanTest() { options_.run.output = (dir_ / "run.h5").string(); }

  std::filesystem::path output() const { return options_.run.output; }
  void make_result_file(const std::string& print = kPrint) { RunFile(output(), print, kRecords); }
  // A result file holding one stored unit (its done flag set) of the difficulty pass.
  void make_result_file_with_a_unit(const std::string& print) {
    RunFile file(output(), print, kRecords);
    PassPlan p;
    p.pass = Pass::kDifficulty, p.slots = {{model::Family::kGaussian, 1}}, p.tokens = 2, p.first_tokens = 2,
    p.unit_examples = 4;
    for (uint64_t i = 0; i < kRecords; ++i) p.positions.push_back(i);
    p.cut_evenly();
    file.open_pass(p);
    UnitResult r;
    r.pass = p.pass, r.slot = 0, r.index = 0;
    for (int i = 0; i < 4; ++i) r.examples.push_back({});
    file.store(p, r);
    file.flush();
  }
  // A journal of `records` (each one byte tag + text) headed by `header` + the fingerprint.
  void make_journal(char header, std::initializer_list<char> records, const std::string& print = kPrint) {
    store::Journal journal(journal_path(options_));
    std::string head = header + print;
    journal.append(std::as_bytes(std::span(head.data(), head.size())));
    for (char tag : records) {
      const std::byte b{static_cast<unsigned char>(tag)};
      journal.append(std::span<const std::byte>(&b, 1));
    }
  }
  OutputPlan plan() { return prepare_output(options_, kPrint, kRecords); }

  ScratchDir dir_;
  Options options_;
};

TEST_F(OutputPlanTest, NothingThereStartsANewJournal) {
  const OutputPlan p = plan();
  EXPECT_TRUE(p.new_journal);
  EXPECT_FALSE(p.snapshot);
  EXPECT_FALSE(p.restore_base);
}

TEST_F(OutputPlanTest, CleanlyClosedFileResumesWithItsJournal) {
  make_result_file();
  make_journal('F', {'U', 'C'});
  const OutputPlan p = plan();
  EXPECT_FALSE(p.new_journal || p.snapshot || p.restore_base);
  EXPECT_TRUE(std::filesystem::exists(output()));
}

TEST_F(OutputPlanTest, FileAKillLeftUnclosedIsRebuiltFromTheJournal) {
  make_result_file();
  make_journal('F', {'U', 'C', 'U'});  // a clean stop, resumed, then killed
  const OutputPlan p = plan();
  EXPECT_FALSE(p.new_journal);
  EXPECT_FALSE(p.restore_base);
  EXPECT_FALSE(std::filesystem::exists(output()));  // rebuilt from an empty file and the journal
}

TEST_F(OutputPlanTest, FinishedFileWithoutJournalIsCopiedBeforeARunContinuesIt) {
  make_result_file();
  const OutputPlan p = plan();
  EXPECT_TRUE(p.new_journal);
  EXPECT_TRUE(p.snapshot);
  write_file(base_path(options_), "stale copy of an earlier run");
  apply_output_plan(options_, p);
  EXPECT_EQ(read_file(base_path(options_)), read_file(output()));
  EXPECT_FALSE(std::filesystem::exists(base_path(options_).string() + ".tmp"));
}

TEST_F(OutputPlanTest, KilledContinuationIsRebuiltFromTheBaseCopy) {
  make_result_file();
  std::filesystem::copy_file(output(), base_path(options_));
  const std::string finished = read_file(output());
  make_journal('B', {'U'});
  write_file(output(), finished.substr(0, 100));  // the kill left the file cut short
  const OutputPlan p = plan();
  EXPECT_TRUE(p.restore_base);
  EXPECT_FALSE(p.new_journal);
  apply_output_plan(options_, p);
  EXPECT_EQ(read_file(output()), finished);
  EXPECT_TRUE(std::filesystem::exists(journal_path(options_)));  // its units are replayed next
}

TEST_F(OutputPlanTest, MissingBaseCopyIsNamed) {
  make_journal('B', {'U'});
  const OutputPlan p = plan();  // no result file: rebuilt from the base copy, which is gone
  EXPECT_TRUE(p.restore_base);
  EXPECT_THROW_WITH(apply_output_plan(options_, p), StoreError, "run.h5.base", "missing", "--fresh");
}

TEST_F(OutputPlanTest, JournalOfAnotherConfigurationIsReplaced) {
  make_journal('F', {'U'}, "model=other");
  const OutputPlan p = plan();
  EXPECT_TRUE(p.new_journal);
  apply_output_plan(options_, p);
  EXPECT_FALSE(std::filesystem::exists(journal_path(options_)));
}

TEST_F(OutputPlanTest, FileOfAnotherConfigurationNeedsFresh) {
  make_result_file_with_a_unit("model=other");
  EXPECT_THROW_WITH(plan(), ConfigError, "different configuration", "--fresh");
  options_.run.fresh = true;
  EXPECT_TRUE(plan().new_journal);
  EXPECT_FALSE(std::filesystem::exists(output()));  // moved aside, not deleted
  int aside = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    aside += entry.path().filename().string().starts_with("run.h5.discarded-");
  }
  EXPECT_EQ(aside, 1);
}

TEST_F(OutputPlanTest, FreshMovesEvenAResumableFileAside) {
  make_result_file_with_a_unit(kPrint);
  make_journal('F', {'U', 'C'});
  options_.run.fresh = true;
  const OutputPlan p = plan();
  EXPECT_TRUE(p.new_journal);
  EXPECT_FALSE(p.restore_base);
  EXPECT_FALSE(std::filesystem::exists(output()));
  apply_output_plan(options_, p);
  EXPECT_FALSE(std::filesystem::exists(journal_path(options_)));
  int aside = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    aside += entry.path().filename().string().starts_with("run.h5.discarded-");
  }
  EXPECT_EQ(aside, 1);
}

TEST_F(OutputPlanTest, FreshNeverMovesOverAnEarlierDiscardedFile) {
  for (int run = 0; run < 3; ++run) {  // within one second: the names get -2, -3
    make_result_file();
    options_.run.fresh = true;
    plan();
  }
  int aside = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    aside += entry.path().filename().string().starts_with("run.h5.discarded-");
  }
  EXPECT_EQ(aside, 3);
}

// A run that failed before its first unit (no config.json, a worker that could not load) left a file
// of its configuration: the fixed rerun replaces it instead of refusing.
TEST_F(OutputPlanTest, FileOfAnotherConfigurationWithNothingStoredIsReplaced) {
  make_result_file("model=other");
  make_journal('F', {}, "model=other");
  const OutputPlan p = plan();
  EXPECT_TRUE(p.new_journal);
  EXPECT_FALSE(std::filesystem::exists(output()));
}

TEST_F(OutputPlanTest, FileWithNothingStoredButUnitsInItsJournalIsRefused) {
  make_result_file("model=other");
  make_journal('F', {'U'}, "model=other");  // killed after a unit reached the journal, before the file
  EXPECT_THROW_WITH(plan(), ConfigError, "different configuration", "--fresh");
  EXPECT_TRUE(std::filesystem::exists(output()));
}

TEST_F(OutputPlanTest, DamagedFileIsRebuiltWithItsJournalAndRefusedWithout) {
  make_result_file();
  write_file(output(), read_file(output()).substr(0, 1200));  // cut short, its format attribute kept
  EXPECT_THROW_WITH(plan(), StoreError, "no journal of this configuration", "--fresh");
  EXPECT_TRUE(std::filesystem::exists(output()));  // left untouched
  make_journal('F', {'U'});
  const OutputPlan p = plan();
  EXPECT_FALSE(p.new_journal);
  EXPECT_FALSE(std::filesystem::exists(output()));  // moved aside for the rebuild
}

TEST_F(OutputPlanTest, TornHeaderCountsAsNoJournal) {
  make_result_file();
  make_journal('B', {});
  const std::string journal = read_file(journal_path(options_));
  write_file(journal_path(options_), journal.substr(0, journal.size() - 3));  // killed while writing the header
  const OutputPlan p = plan();
  EXPECT_TRUE(p.new_journal);  // the finished file is trusted and copied again
  EXPECT_TRUE(p.snapshot);
  EXPECT_TRUE(std::filesystem::exists(output()));
}

// Issue 27: --fresh, "move aside", "replace" and "remove" act only on files curate_dist made, recognised
// by their content; everything else is refused (exit 2) and left byte for byte.
TEST_F(OutputPlanTest, FilesCurateDidNotWriteAreNeverMovedReplacedOrRemoved) {
  const std::vector<std::filesystem::path> paths = {output(),
                                                    journal_path(options_),
                                                    output().string() + ".lock",
                                                    base_path(options_),
                                                    index_cache_path(options_),
                                                    hash_cache_path(options_)};
  for (const auto& path : paths) {
    for (bool fresh : {false, true}) {
      options_.run.fresh = fresh;
      write_file(path, "{\"the user's\": \"notes\"}\n");
      EXPECT_THROW_WITH(check_result_files(options_), ConfigError, path.filename().string(), "is not",
                        "that curate_dist", "left as it is", "choose another output.path");
      if (path == output() || path == journal_path(options_)) {
        EXPECT_THROW_WITH(plan(), ConfigError, "left as it is");
      }
      EXPECT_EQ(read_file(path), "{\"the user's\": \"notes\"}\n") << path;
      EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()), {}), 1);  // nothing moved aside
      std::filesystem::remove(path);
    }
  }
  // A foreign HDF5 file (another program's) is not a result file either; an empty file holds nothing.
  write_file(output(), std::string("\x89HDF\r\n\x1a\n", 8) + std::string(200, '\1'));
  EXPECT_THROW_WITH(check_result_files(options_), ConfigError, "is not a result file");
  write_file(output(), "");
  check_result_files(options_);
  // What curate_dist made passes: a result file, a journal, a lock and the caches it writes.
  std::filesystem::remove(output());
  make_result_file();
  make_journal('F', {'U'});
  write_file(hash_cache_path(options_), "curate-hash-cache 1\n");
  store::RunLock lock(output().string() + ".lock");
  check_result_files(options_);
}

TEST_F(OutputPlanTest, OutputPathThatIsEmptyAFolderOrAnInputIsRefused) {
  options_.run.output = "";
  EXPECT_THROW_WITH(check_result_files(options_), ConfigError, "output.path is empty");
  options_.run.output = dir_.path().string();
  EXPECT_THROW_WITH(check_result_files(options_), ConfigError, "is a folder", "run.h5");
  options_.run.output = (dir_ / "sub/").string();
  EXPECT_THROW_WITH(check_result_files(options_), ConfigError, "is a folder");
  write_file(dir_ / "data.jsonl", "{}\n");
  options_.run.dataset = (dir_ / "data.jsonl").string();
  options_.run.output = options_.run.dataset;
  EXPECT_THROW_WITH(check_result_files(options_), ConfigError, "is the dataset (data.path)",
                    "never writes over an input");
  std::filesystem::create_symlink("data.jsonl", dir_ / "link.h5");
  options_.run.output = (dir_ / "link.h5").string();
  EXPECT_THROW_WITH(check_result_files(options_), ConfigError, "is the dataset (data.path)");
  options_.run.dataset = (dir_ / "r.h5.index").string();  // a companion that is the input
  std::filesystem::rename(dir_ / "data.jsonl", options_.run.dataset);
  options_.run.output = (dir_ / "r.h5").string();
  EXPECT_THROW_WITH(check_result_files(options_), ConfigError, "r.h5.index", "is the dataset (data.path)");
  std::filesystem::create_directories(dir_ / "r2.h5.journal");
  options_.run.output = (dir_ / "r2.h5").string();
  EXPECT_THROW_WITH(check_result_files(options_), ConfigError, "r2.h5.journal is a folder");
  EXPECT_EQ(read_file(options_.run.dataset), "{}\n");
}

TEST_F(OutputPlanTest, AFinishedStageIsStoredAndNeedsNoCopy) {
  {
    RunFile file(output(), kPrint, kRecords);
    PassPlan p;
    p.pass = Pass::kDifficulty, p.slots = {{model::Family::kGaussian, 1}}, p.tokens = 2, p.first_tokens = 2,
    p.unit_examples = 8;
    for (uint64_t i = 0; i < kRecords; ++i) p.positions.push_back(i);
    p.cut_evenly();
    file.open_pass(p);
    UnitResult r;
    r.pass = p.pass, r.slot = 0, r.index = 0;
    for (uint64_t i = 0; i < kRecords; ++i) r.examples.push_back({});
    file.store(p, r);
    file.flush();
  }
  options_.run.stage = Stage::kDifficulty;
  EXPECT_TRUE(stage_stored(options_, kPrint, kRecords));
  EXPECT_FALSE(stage_stored(options_, "model=other", kRecords));
  options_.run.stage = Stage::kAll;  // the profile pass is still to score: copied first
  EXPECT_FALSE(stage_stored(options_, kPrint, kRecords));
  options_.run.stage = Stage::kDifficulty;
  make_journal('F', {'U'});  // a run of it is under way or was killed: not finished
  EXPECT_FALSE(stage_stored(options_, kPrint, kRecords));
}

}  // namespace
}  // namespace curate::service
