// The restart decision table of docs/DESIGN.md ("On start, rank 0 decides"), row by row: what
// prepare_output decides for each state of the result file and journal, and what apply_output_plan
// leaves on disk.
#include "results/output_plan.h"

#include <gtest/gtest.h>

#include <string>

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
  write_file(output(), "not an HDF5 file");
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

}  // namespace
}  // namespace curate::service
