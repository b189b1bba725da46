// The ResultSink: units go to the journal and the file, a journal rebuilds a file a kill lost, seal()
// marks the journal clean, and open_result_sink() writes the journal's header before the file exists.
#include "results/result_sink.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "curate/store/journal.h"
#include "results/journal_records.h"
#include "results/output_plan.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

using curate::testing::ScratchDir;

constexpr uint64_t kRecords = 6;
const std::string kPrint = "model=m;seed=1";

PassPlan difficulty_plan() {
  PassPlan p;
  p.pass = Pass::kDifficulty;
  p.slots = {{model::Family::kGaussian, 1}};
  p.tokens = 4, p.first_tokens = 2, p.unit_examples = 2;
  p.positions.resize(kRecords);
  std::iota(p.positions.begin(), p.positions.end(), uint64_t{0});
  p.cut_evenly();
  return p;
}

// Unit `index` of the difficulty plan: example i has losses {i, i, i} (mean i).
UnitResult result_of(const PassPlan& p, int64_t index) {
  UnitResult r;
  r.pass = p.pass, r.slot = 0, r.index = index, r.measure = 0.5;
  for (int64_t row = p.bounds[static_cast<std::size_t>(index)]; row < p.bounds[static_cast<std::size_t>(index) + 1];
       ++row) {
    ExampleResult e;
    e.line = row + 1, e.id = "r" + std::to_string(row), e.source = "s", e.domain = "d";
    e.prompt_tokens = 2, e.reasoning_tokens = 3, e.full_length = 5;
    e.losses.assign(3, static_cast<float>(row));
    r.examples.push_back(e);
  }
  return r;
}

std::vector<std::vector<std::byte>> journal_records(const std::filesystem::path& path) {
  std::vector<std::vector<std::byte>> records;
  store::Journal::read(path, [&](std::span<const std::byte> r) { records.emplace_back(r.begin(), r.end()); });
  return records;
}

class ResultSinkTest : public ::testing::Test {
 protected:
  ResultSinkTest() { options_.run.output = (dir_ / "run.h5").string(); }
  std::unique_ptr<ResultSink> open() { return open_result_sink(options_, kPrint, kRecords); }

  ScratchDir dir_;
  Options options_;
  PassPlan plan_ = difficulty_plan();
};

TEST_F(ResultSinkTest, ANewJournalStartsWithItsHeader) {
  auto sink = open();
  const auto records = journal_records(journal_path(options_));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(record_kind(records[0]), JournalRecord::kFresh);
  EXPECT_EQ(header_fingerprint(records[0]), kPrint);
  EXPECT_EQ(layout::version(sink->file()), layout::kVersion);
}

TEST_F(ResultSinkTest, KeepWritesTheJournalThenTheFile) {
  auto sink = open();
  std::vector<uint8_t> done = sink->open_pass(plan_);
  EXPECT_EQ(done, std::vector<uint8_t>(3, 0));
  sink->keep(plan_, result_of(plan_, 1));
  sink->drain();  // keep() only queues it for the writer thread
  const auto records = journal_records(journal_path(options_));
  ASSERT_EQ(records.size(), 2u);
  ASSERT_EQ(record_kind(records[1]), JournalRecord::kStored);
  EXPECT_EQ(stored_of(records[1]).index, 1);
  EXPECT_EQ(layout::read_done(sink->file(), Pass::kDifficulty), (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_EQ(layout::read_ids(sink->file())[2], "r2");
  EXPECT_EQ(layout::read_lines(sink->file())[3], 4);
}

TEST_F(ResultSinkTest, ReplayAfterACrashRestoresTheUnitsIntoTheFile) {
  {
    auto sink = open();
    sink->open_pass(plan_);
    sink->keep(plan_, result_of(plan_, 0));
    sink->keep(plan_, result_of(plan_, 2));
    sink->checkpoint();
  }  // killed: no clean mark
  const OutputPlan decision = prepare_output(options_, kPrint, kRecords);
  EXPECT_FALSE(decision.new_journal);
  EXPECT_FALSE(std::filesystem::exists(options_.run.output));  // not trusted: deleted for the rebuild
  auto sink = open();
  std::vector<uint8_t> done = sink->open_pass(plan_);
  EXPECT_EQ(done, std::vector<uint8_t>(3, 0));
  EXPECT_EQ(sink->replay(plan_, done), 2);
  EXPECT_EQ(done, (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(layout::read_done(sink->file(), Pass::kDifficulty), (std::vector<uint8_t>{1, 0, 1}));
  const std::vector<float> means = sink->file().read_f32(layout::path(Pass::kDifficulty, layout::dataset::kMeanLoss));
  EXPECT_EQ(means[0], 0.0f);
  EXPECT_EQ(means[5], 5.0f);
  EXPECT_TRUE(std::isnan(means[2]));        // unit 1 was never stored
  EXPECT_EQ(sink->replay(plan_, done), 0);  // flagged units are not stored again
}

TEST_F(ResultSinkTest, NaNLossesAreFlaggedPerExampleAndSurviveARebuild) {
  UnitResult nan_unit = result_of(plan_, 1);
  nan_unit.examples[1].losses[1] = std::nanf("");  // row 3: one NaN among its losses
  {
    auto sink = open();
    sink->open_pass(plan_);
    sink->keep(plan_, result_of(plan_, 0));
    sink->keep(plan_, nan_unit);
    EXPECT_EQ(layout::read_nan_rows(sink->file(), Pass::kDifficulty), (std::vector<std::vector<uint64_t>>{{3}}));
    sink->checkpoint();
  }  // killed: the file is rebuilt from the journal, flags included
  prepare_output(options_, kPrint, kRecords);
  auto sink = open();
  std::vector<uint8_t> done = sink->open_pass(plan_);
  EXPECT_EQ(sink->replay(plan_, done), 2);
  EXPECT_EQ(layout::read_nan_rows(sink->file(), Pass::kDifficulty), (std::vector<std::vector<uint64_t>>{{3}}));
  EXPECT_FALSE(has_nan(result_of(plan_, 0).examples[0].losses));
  EXPECT_FALSE(has_nan({}));  // nothing scored is not a NaN loss
}

TEST_F(ResultSinkTest, ReplaySkipsUnitsOfOtherPasses) {
  auto sink = open();
  sink->open_pass(plan_);
  UnitResult other = result_of(plan_, 0);
  other.pass = Pass::kCalibration;
  sink->keep(plan_, result_of(plan_, 1));
  sink->drain();
  store::Journal(journal_path(options_)).append(unit_record(other));
  std::vector<uint8_t> done(3, 0);
  EXPECT_EQ(sink->replay(plan_, done), 1);
  EXPECT_EQ(done, (std::vector<uint8_t>{0, 1, 0}));
}

TEST_F(ResultSinkTest, SealMarksTheJournalCleanSoTheFileIsTrusted) {
  {
    auto sink = open();
    sink->open_pass(plan_);
    sink->keep(plan_, result_of(plan_, 0));
    sink->seal();
  }
  const auto records = journal_records(journal_path(options_));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(record_kind(records.back()), JournalRecord::kClean);
  EXPECT_EQ(records.back().size(), 1u);
  const OutputPlan decision = prepare_output(options_, kPrint, kRecords);
  EXPECT_FALSE(decision.new_journal || decision.snapshot || decision.restore_base);
  EXPECT_TRUE(std::filesystem::exists(options_.run.output));
}

TEST_F(ResultSinkTest, UnitsStillQueuedAreStoredInOrderBeforeTheSinkCloses) {
  options_.test.writer_delay_seconds = 0.01;  // a slow disk: keep() returns before the writer stores
  {
    auto sink = open();
    sink->open_pass(plan_);
    for (int64_t u : {2, 0, 1}) sink->keep(plan_, result_of(plan_, u));
  }  // no checkpoint: the destructor stores what is queued
  const auto records = journal_records(journal_path(options_));
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(stored_of(records[1]).index, 2);
  EXPECT_EQ(stored_of(records[2]).index, 0);
  EXPECT_EQ(stored_of(records[3]).index, 1);
}

TEST_F(ResultSinkTest, TheWritersErrorIsRethrownByDrainAndEveryLaterCall) {
  auto sink = open();
  sink->open_pass(plan_);
  UnitResult stray = result_of(plan_, 0);
  stray.index = 7;  // beyond the plan's 3 units: RunFile::store refuses it
  sink->keep(plan_, result_of(plan_, 0));
  sink->keep(plan_, stray);
  EXPECT_THROW_WITH(sink->drain(), DistError, "unit 7");
  EXPECT_THROW_WITH(sink->keep(plan_, result_of(plan_, 1)), DistError, "unit 7");
  EXPECT_THROW_WITH(sink->checkpoint(), DistError, "unit 7");
  const auto records = journal_records(journal_path(options_));
  ASSERT_EQ(records.size(), 3u);  // the stray unit reached the journal (the file refused it); unit 1 nothing
  EXPECT_EQ(stored_of(records[1]).index, 0);
}

TEST_F(ResultSinkTest, WriteFilterStoresTheKeptSetAndItsCount) {
  auto sink = open();
  sink->write_filter({1, 0, 1, 1, 0, 0}, "kmeans");
  EXPECT_EQ(layout::read_filter(sink->file()), (std::vector<uint8_t>{1, 0, 1, 1, 0, 0}));
  EXPECT_EQ(sink->file().int_attribute(layout::kFilter, "kept"), 3);
  EXPECT_EQ(sink->file().string_attribute(layout::kFilter, "method"), "kmeans");
}

TEST(JournalRecordsTest, BytesAreTheOnDiskFormat) {
  const std::vector<std::byte> header = header_record(true, "fp");
  EXPECT_EQ(header, (std::vector<std::byte>{std::byte{'B'}, std::byte{'f'}, std::byte{'p'}}));
  EXPECT_EQ(header_record(false, "")[0], std::byte{'F'});
  EXPECT_EQ(clean_record(), std::vector<std::byte>{std::byte{'C'}});
  UnitResult r;
  r.pass = Pass::kProfile, r.slot = 3, r.index = 9;
  const std::vector<std::byte> unit = unit_record(r);
  ASSERT_GT(unit.size(), 5u);
  EXPECT_EQ(unit[0], std::byte{'U'});
  int32_t pass = 0;
  std::memcpy(&pass, unit.data() + 1, 4);
  EXPECT_EQ(pass, 2);  // the stable code of the profile pass
  EXPECT_EQ(unit_of(unit).index, 9);
  EXPECT_EQ(record_kind(std::vector<std::byte>{std::byte{'X'}}), std::nullopt);
  EXPECT_EQ(record_kind({}), std::nullopt);
}

}  // namespace
}  // namespace curate::service

namespace curate::service {
namespace {

// --stage gradients: rows and norms land under /gradients with their done flag, the journal carries
// the norm and the settings tag, and a replay keeps only the units of the plan's tag.
PassPlan gradient_plan(uint64_t tag) {
  PassPlan p;
  p.pass = Pass::kGradients;
  p.slots = {{model::Family::kBase, 0}};
  p.tokens = 8, p.unit_examples = 2;
  p.positions = {1, 3, 4};
  p.gradient = {.dim = 2,
                .tokens = 8,
                .examples = 3,
                .seed = 0,
                .params = "default",
                .projection = "rademacher",
                .fingerprint = "gradients.dim = 2"};
  p.settings = tag;
  p.cut_evenly();
  return p;
}

UnitResult gradient_result(const PassPlan& p, int64_t index) {
  UnitResult r;
  r.pass = Pass::kGradients, r.index = index, r.settings = p.settings;
  for (int64_t row = p.bounds[static_cast<std::size_t>(index)]; row < p.bounds[static_cast<std::size_t>(index) + 1];
       ++row) {
    ExampleResult e;
    e.line = row + 10;
    e.losses = {static_cast<float>(row), -static_cast<float>(row)};
    e.norm = 0.5f + static_cast<float>(row);
    r.examples.push_back(e);
  }
  return r;
}

TEST_F(ResultSinkTest, GradientUnitsAreStoredAndReplayedOnlyUnderTheirTag) {
  const PassPlan plan = gradient_plan(7);
  {
    auto sink = open();
    EXPECT_EQ(sink->open_pass(plan), std::vector<uint8_t>(2, 0));
    sink->keep(plan, gradient_result(plan, 1));
    EXPECT_EQ(layout::read_gradient_attrs(sink->file()), plan.gradient);
    EXPECT_EQ(sink->file().read_f32(layout::kGradientProjected)[4], 2.0f);  // row 2 = unit 1's only example
    EXPECT_EQ(sink->file().read_f32(layout::kGradientNorm)[2], 2.5f);
    EXPECT_EQ(sink->file().read_u8(layout::kGradientDone), (std::vector<uint8_t>{0, 1}));
    const PassPlan other = gradient_plan(8);  // the same unit under other settings, journaled only
    store::Journal(journal_path(options_)).append(unit_record(gradient_result(other, 0)));
    sink->checkpoint();
  }  // killed
  prepare_output(options_, kPrint, kRecords);
  auto sink = open();
  std::vector<uint8_t> done = sink->open_pass(plan);
  EXPECT_EQ(sink->replay(plan, done), 1);  // unit 1; unit 0 of tag 8 is not this plan's
  EXPECT_EQ(done, (std::vector<uint8_t>{0, 1}));
  const std::vector<float> norm = sink->file().read_f32(layout::kGradientNorm);
  EXPECT_EQ(norm[2], 2.5f);
  EXPECT_TRUE(std::isnan(norm[0]));
  EXPECT_EQ(sink->file().read_i64(layout::kGradientExample), (std::vector<int64_t>{1, 3, 4}));
}

}  // namespace
}  // namespace curate::service
