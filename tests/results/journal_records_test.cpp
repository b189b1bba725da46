// kStored journal records (journal_records.h) in each store.token_losses: the record holds what the
// file stores (float16: the file's bits; none: no per-token losses) and decodes to the same unit; a
// restart replays it into the bytes the direct path wrote, and still replays an older journal's kUnit
// records; a record of an unknown format is refused by name.
#include "results/journal_records.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "curate/store/half.h"
#include "curate/store/journal.h"
#include "results/output_plan.h"
#include "results/result_sink.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

using curate::testing::ScratchDir;

constexpr uint64_t kRecords = 6;
const std::string kPrint = "model=m;seed=2";

PassPlan plan_of(Pass pass, TokenLosses type) {
  PassPlan p;
  p.pass = pass;
  p.slots = {{model::Family::kDirectional, 1}, {model::Family::kDirectional, 2}};
  p.tokens = 5, p.first_tokens = 2, p.unit_examples = 2, p.token_losses = type;
  p.positions.resize(kRecords);
  std::iota(p.positions.begin(), p.positions.end(), uint64_t{0});
  p.cut_evenly();
  return p;
}

// Unit `index` at `slot`: example row has row + 2 losses (more than tokens for the last rows) that
// float16 rounds (1/3 steps), one NaN in row 3.
UnitResult result_of(const PassPlan& p, int32_t slot, int64_t index) {
  UnitResult r;
  r.pass = p.pass, r.slot = slot, r.index = index, r.measure = 0.25 * (slot + 1);
  for (int64_t row = p.bounds[static_cast<std::size_t>(index)]; row < p.bounds[static_cast<std::size_t>(index) + 1];
       ++row) {
    ExampleResult e;
    e.line = row + 1, e.id = "r" + std::to_string(row), e.source = "s", e.domain = "d";
    e.prompt_tokens = 2, e.reasoning_tokens = row + 2, e.full_length = row + 4;
    for (int64_t k = 0; k < row + 2; ++k) e.losses.push_back(static_cast<float>(row + slot + 1) / 3.0f + 0.01f * k);
    if (row == 3) e.losses[1] = std::nanf("");
    r.examples.push_back(e);
  }
  return r;
}

uint32_t bits(float v) {
  uint32_t b = 0;
  std::memcpy(&b, &v, 4);
  return b;
}

class StoredRecordTest : public ::testing::TestWithParam<TokenLosses> {};

TEST_P(StoredRecordTest, RoundTripsAndHoldsOnlyWhatTheFileStores) {
  for (Pass pass : {Pass::kDifficulty, Pass::kProfile, Pass::kCalibration}) {
    const PassPlan plan = plan_of(pass, GetParam());
    const UnitResult result = result_of(plan, 1, 2);  // rows 4 and 5: 6 and 7 losses, 5 kept
    const StoredUnit unit = prepare(plan, result);
    const std::vector<std::byte> record = stored_record(unit);
    ASSERT_EQ(record_kind(record), JournalRecord::kStored);
    const StoredUnit back = stored_of(record);
    EXPECT_EQ(back.pass, pass);
    EXPECT_EQ(back.slot, 1);
    EXPECT_EQ(back.index, 2);
    EXPECT_EQ(back.measure, 0.5);
    EXPECT_EQ(back.token_losses, unit.token_losses);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back.examples[1].id, pass == Pass::kDifficulty ? "r5" : "");  // metadata only where /examples takes it
    EXPECT_EQ(back.examples[1].reasoning_tokens, pass == Pass::kDifficulty ? 7 : 0);
    EXPECT_EQ(back.mean_loss, unit.mean_loss);
    EXPECT_EQ(back.mean_loss_first, unit.mean_loss_first);
    EXPECT_EQ(back.mean_loss_first.size(), pass == Pass::kProfile ? 2u : 0u);
    EXPECT_EQ(back.nan_losses, unit.nan_losses);
    EXPECT_EQ(back.loss_begin, unit.loss_begin);
    EXPECT_EQ(back.losses_f32, unit.losses_f32);
    EXPECT_EQ(back.losses_f16, unit.losses_f16);
    // Means are float32 over every float32 loss (calibration: over the first `tokens`), never rounded.
    const float mean = static_cast<float>(
        std::accumulate(result.examples[0].losses.begin(), result.examples[0].losses.end(), 0.0) / 6.0);
    const float first5 = static_cast<float>(
        std::accumulate(result.examples[0].losses.begin(), result.examples[0].losses.begin() + 5, 0.0) / 5.0);
    EXPECT_EQ(bits(back.mean_loss[0]), bits(pass == Pass::kCalibration ? first5 : mean));
    const TokenLosses type = pass == Pass::kCalibration ? TokenLosses::kNone : GetParam();
    EXPECT_EQ(back.token_losses, type);
    EXPECT_EQ(back.losses_f32.size(), type == TokenLosses::kFloat32 ? 10u : 0u);  // 5 per example: plan.tokens
    EXPECT_EQ(back.losses_f16.size(), type == TokenLosses::kFloat16 ? 10u : 0u);
    if (type == TokenLosses::kFloat16) {  // the rounding of store/half.h, done here once
      EXPECT_EQ(back.losses_f16[6], store::to_half(result.examples[1].losses[1]));
      EXPECT_NE(store::from_half(back.losses_f16[6]), result.examples[1].losses[1]);
    }
  }
}

TEST_P(StoredRecordTest, RecordSizeFollowsThePrecision) {
  const PassPlan plan = plan_of(Pass::kProfile, GetParam());
  PassPlan wide = plan;
  wide.tokens = 5000;
  UnitResult result = result_of(plan, 0, 0);
  for (auto& e : result.examples) e.losses.assign(5000, 1.5f);
  const std::size_t bytes = stored_record(prepare(wide, result)).size();
  const std::size_t header = 1 + 1 + 4 + 4 + 8 + 8 + 1 + 8, per_example = 4 + 4 + 1;  // profile: mean, first, NaN
  const std::size_t losses = GetParam() == TokenLosses::kFloat32   ? 8 + 4 * 5000
                             : GetParam() == TokenLosses::kFloat16 ? 8 + 2 * 5000
                                                                   : 0;
  EXPECT_EQ(bytes, header + 2 * (per_example + losses));
}

INSTANTIATE_TEST_SUITE_P(Precisions, StoredRecordTest,
                         ::testing::Values(TokenLosses::kFloat32, TokenLosses::kFloat16, TokenLosses::kNone));

TEST(StoredRecordTest, AnotherFormatOrAMalformedRecordIsRefused) {
  const PassPlan plan = plan_of(Pass::kProfile, TokenLosses::kFloat16);
  std::vector<std::byte> record = stored_record(prepare(plan, result_of(plan, 0, 0)));
  std::vector<std::byte> newer = record;
  newer[1] = std::byte{2};
  EXPECT_THROW_WITH(stored_of(newer), DistError, "format 2: this curate_dist reads format 1");
  std::vector<std::byte> longer = record;
  longer.push_back(std::byte{0});
  EXPECT_THROW_WITH(stored_of(longer), DistError, "1 bytes after the unit");
  record.resize(record.size() - 1);
  EXPECT_THROW(stored_of(record), DistError);
  StoredUnit wide = prepare(plan, result_of(plan, 0, 2));     // rows of 6 and 7 losses, 5 kept of each
  wide.losses_f16.push_back(0), wide.loss_begin.back() += 1;  // 6 losses for a 5-token row
  ScratchDir dir;
  RunFile file(dir.path() / "run.h5", kPrint, kRecords);
  file.open_pass(plan);
  EXPECT_THROW_WITH(file.store(plan, wide), DistError, "float16, at most 5 per example");
}

// The datasets a unit of `pass` writes, as raw values: float16 ones as their bits.
std::vector<uint32_t> raw(const store::H5File& file, Pass pass) {
  std::vector<uint32_t> out;
  for (const char* name : {layout::dataset::kLosses, layout::dataset::kMeanLoss, layout::dataset::kMeanLossFirst,
                           layout::dataset::kLoss, layout::dataset::kDistance}) {
    const std::string path = layout::path(pass, name);
    if (!file.exists(path)) continue;
    for (float v : file.read_f32(path)) out.push_back(bits(v));  // f16 widens exactly: bits stay distinct
  }
  for (uint8_t v : file.read_u8(layout::path(pass, layout::dataset::kNanLosses))) out.push_back(v);
  for (uint8_t v : file.read_u8(layout::path(pass, layout::dataset::kDone))) out.push_back(v);
  return out;
}

class ReplayTest : public ::testing::TestWithParam<TokenLosses> {
 protected:
  ReplayTest() { options_.run.output = (dir_.path() / "run.h5").string(); }
  std::unique_ptr<ResultSink> open() { return open_result_sink(options_, kPrint, kRecords); }
  // Every unit of both slots stored directly; returns the file's values.
  std::vector<uint32_t> direct(const PassPlan& plan) {
    const std::filesystem::path path = dir_.path() / ("direct-" + std::string(pass_name(plan.pass)) + ".h5");
    std::filesystem::remove(path);
    RunFile file(path, kPrint, kRecords);
    file.open_pass(plan);
    for (int32_t slot = 0; slot < 2; ++slot)
      for (int64_t u = 0; u < plan.units(); ++u) file.store(plan, prepare(plan, result_of(plan, slot, u)));
    return raw(file.file(), plan.pass);
  }
  ScratchDir dir_;
  Options options_;
};

TEST_P(ReplayTest, AKilledRunIsRebuiltBitIdenticalFromTheJournal) {
  for (Pass pass : {Pass::kProfile, Pass::kDifficulty, Pass::kCalibration}) {
    const PassPlan plan = plan_of(pass, GetParam());
    options_.run.output = (dir_.path() / (std::string(pass_name(pass)) + ".h5")).string();
    {
      auto sink = open();
      sink->open_pass(plan);
      for (int32_t slot = 0; slot < 2; ++slot)
        for (int64_t u = 0; u < plan.units(); ++u) sink->keep(plan, result_of(plan, slot, u));
      sink->checkpoint();
    }  // killed: no clean mark, so the file is rebuilt from the journal
    prepare_output(options_, kPrint, kRecords);
    ASSERT_FALSE(std::filesystem::exists(options_.run.output));
    auto sink = open();
    std::vector<uint8_t> done = sink->open_pass(plan);
    EXPECT_EQ(sink->replay(plan, done), 2 * plan.units());
    EXPECT_EQ(raw(sink->file(), pass), direct(plan)) << pass_name(pass);
  }
}

TEST_P(ReplayTest, AnOlderJournalsUnitRecordsStillReplay) {
  const PassPlan plan = plan_of(Pass::kProfile, GetParam());
  {
    store::Journal journal(journal_path(options_));  // as curate_dist wrote it before kStored
    journal.append(header_record(false, kPrint));
    for (int32_t slot = 0; slot < 2; ++slot)
      for (int64_t u = 0; u < plan.units(); ++u) journal.append(unit_record(result_of(plan, slot, u)));
    journal.sync();
  }
  prepare_output(options_, kPrint, kRecords);
  auto sink = open();
  std::vector<uint8_t> done = sink->open_pass(plan);
  EXPECT_EQ(sink->replay(plan, done), 2 * plan.units());
  EXPECT_EQ(raw(sink->file(), Pass::kProfile), direct(plan));
}

INSTANTIATE_TEST_SUITE_P(Precisions, ReplayTest,
                         ::testing::Values(TokenLosses::kFloat32, TokenLosses::kFloat16, TokenLosses::kNone));

}  // namespace
}  // namespace curate::service
