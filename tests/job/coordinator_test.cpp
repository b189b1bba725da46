// Rank 0's coordinator without torch or mpirun: a fake worker (test.fake_worker's losses), fake
// worker ranks behind a fake WorkerLink and a fake clock. Checks the plan of the passes, the
// calibration choice, what is stored, resume after a failure, a requested stop and worker failures.
#include "job/coordinator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <numeric>
#include <set>

#include "curate/job/job.h"
#include "job/calibration.h"
#include "job/fake_losses.h"
#include "results/output_plan.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

using curate::testing::ScratchDir;

constexpr uint64_t kRecords = 40;
const std::string kPrint = "coordinator test";

// A worker's result for `unit`, as Worker::score returns it: record at position p is line p + 1 with
// 3 + p % 5 prompt and 6 + p % 7 reasoning tokens; losses from fake_losses.
UnitResult fake_score(const Unit& unit) {
  UnitResult r;
  r.pass = unit.pass, r.slot = unit.slot, r.index = unit.index;
  r.measure = 0.01 * unit.checkpoint.index;
  for (uint64_t position : unit.positions) {
    ExampleResult e;
    e.line = static_cast<int64_t>(position) + 1;
    e.id = "r" + std::to_string(position), e.source = position % 2 ? "odd" : "even", e.domain = "math";
    e.prompt_tokens = 3 + static_cast<int64_t>(position % 5);
    e.reasoning_tokens = 6 + static_cast<int64_t>(position % 7);
    e.full_length = e.prompt_tokens + e.reasoning_tokens;
    e.losses = fake_losses(e.line, unit.checkpoint, std::min(unit.tokens, e.reasoning_tokens));
    r.examples.push_back(std::move(e));
  }
  return r;
}

// Worker ranks 1..workers in this process. Each announces itself (kRequest), then answers the units
// it holds in order, rank after rank. A silent rank never answers; a failing rank answers its
// `fail_after`-th unit with kFailure. receive() advances the fake clock by its timeout when no worker
// has anything to say.
class FakeWorkers final : public WorkerLink {
 public:
  FakeWorkers(int workers, double& clock) : workers_(workers), clock_(clock) {
    for (int rank = 1; rank <= workers; ++rank) announce_.push_back(rank);
  }
  int workers() const override { return workers_; }
  void send_unit(int rank, std::vector<std::byte> bytes) override {
    comm::Reader reader(bytes);
    held_[rank].push_back(decode_unit(reader));
  }
  void send_stop(int rank, bool then_select) override { stops[rank] = then_select; }
  std::optional<comm::Message> receive(double timeout_seconds) override {
    if (!announce_.empty()) {
      const int rank = announce_.front();
      announce_.pop_front();
      return comm::Message{rank, kRequest, {}};
    }
    for (int step = 0; step < workers_; ++step) {
      next_ = next_ % workers_ + 1;
      auto& held = held_[next_];
      if (held.empty() || silent.count(next_)) continue;
      const Unit unit = held.front();
      held.pop_front();
      comm::Writer w;
      if (fail_rank == next_ && ++answered_[next_] == fail_after) {
        encode(w, Failure{kExitModel, "rank " + std::to_string(next_) + ": CUDA out of memory"});
        return comm::Message{next_, kFailure, w.bytes()};
      }
      scored.push_back(unit);
      encode(w, fake_score(unit));
      return comm::Message{next_, kResult, w.bytes()};
    }
    clock_ += timeout_seconds;
    return std::nullopt;
  }

  std::set<int> silent;
  int fail_rank = 0, fail_after = 0;
  std::vector<Unit> scored;
  std::map<int, bool> stops;

 private:
  int workers_;
  double& clock_;
  std::deque<int> announce_;
  std::map<int, std::deque<Unit>> held_;
  std::map<int, int> answered_;
  int next_ = 0;
};

// The arrays a result comparison looks at (h5_same's subject), by path; floats as their bits (NaN
// pads the losses of short examples).
struct Snapshot {
  std::map<std::string, std::vector<uint32_t>> f32;
  std::map<std::string, std::vector<uint8_t>> u8;
  std::vector<int64_t> lines;
  std::optional<int> chosen;
  bool operator==(const Snapshot&) const = default;
};

std::vector<uint32_t> bits(const std::vector<float>& values) {
  std::vector<uint32_t> out(values.size());
  std::memcpy(out.data(), values.data(), values.size() * sizeof(float));
  return out;
}

// Names what differs (gtest would print the bytes of the struct).
void expect_same(const Snapshot& got, const Snapshot& want) {
  EXPECT_EQ(got.f32.size(), want.f32.size());
  for (const auto& [path, values] : want.f32) EXPECT_EQ(got.f32.at(path), values) << path;
  EXPECT_EQ(got.u8, want.u8);
  EXPECT_EQ(got.lines, want.lines);
  EXPECT_EQ(got.chosen, want.chosen);
}

Snapshot snapshot(const store::H5File& file) {
  Snapshot s;
  for (Pass pass : kPasses) {
    for (const char* name : {layout::dataset::kLoss, layout::dataset::kMeanLoss, layout::dataset::kLosses,
                             layout::dataset::kMeanLossFirst, layout::dataset::kNoiseStd}) {
      const std::string at = layout::path(pass, name);
      if (file.exists(at)) s.f32[at] = bits(file.read_f32(at));
    }
    const std::string done = layout::path(pass, layout::dataset::kDone);
    if (file.exists(done)) s.u8[done] = file.read_u8(done);
  }
  if (file.exists(layout::kFilterKept)) s.u8[layout::kFilterKept] = file.read_u8(layout::kFilterKept);
  s.lines = layout::read_lines(file);
  s.chosen = layout::read_chosen_checkpoint(file);
  return s;
}

class CoordinatorTest : public ::testing::Test {
 protected:
  CoordinatorTest() {
    options_.run.output = (dir_ / "run.h5").string();
    options_.run.dataset = (dir_ / "data.jsonl").string();
    options_.run.stage = Stage::kDifficulty;
    options_.run.worker_timeout = 60;
    options_.pass.unit_examples = 8;
    options_.pass.difficulty_tokens = 4;
    options_.pass.profile_tokens = 8;
    options_.pass.calibration_samples = 12;
    options_.pass.calibration_low = 1.4;  // fake_losses' ratios: about 1 + 0.3 j at Gaussian j
    options_.pass.calibration_high = 2.5;
    options_.engine.perturb.gaussian_checkpoints = 3;
    options_.engine.perturb.directional_checkpoints = 2;
    options_.filter.whole_budget = 0;  // 40 records would be kept whole
    stop_requested = false;
  }
  ~CoordinatorTest() override { stop_requested = false; }

  // A coordinator over a fresh or resumed sink; `local` scores alone, else `workers` do.
  std::unique_ptr<Coordinator> coordinator(WorkerLink& workers, LocalScorer local = {}) {
    return std::make_unique<Coordinator>(options_, Crew{workers, std::move(local), [this] { return clock_; }}, kRecords,
                                         nullptr, open_result_sink(options_, kPrint, kRecords));
  }
  // Runs the configured stages with rank 0 alone; returns the units it scored.
  std::vector<Unit> run_alone() {
    FakeWorkers none(0, clock_);
    std::vector<Unit> scored;
    coordinator(none, [&](const Unit& u) {
      scored.push_back(u);
      return fake_score(u);
    })->run();
    return scored;
  }
  Snapshot stored() const { return snapshot(store::H5File::open(options_.run.output, false)); }

  ScratchDir dir_;
  Options options_;
  double clock_ = 0;
};

int64_t count(const std::vector<Unit>& units, Pass pass) {
  return std::count_if(units.begin(), units.end(), [&](const Unit& u) { return u.pass == pass; });
}

TEST_F(CoordinatorTest, CalibratesThenScoresEveryRecordOnce) {
  const std::vector<Unit> scored = run_alone();
  // Calibration: base + 3 Gaussian checkpoints x ceil(12 / 8) units; difficulty: ceil(40 / 8) units.
  EXPECT_EQ(count(scored, Pass::kCalibration), 4 * 2);
  ASSERT_EQ(count(scored, Pass::kDifficulty), 5);
  std::vector<uint64_t> positions;
  for (const Unit& u : scored) {
    if (u.pass != Pass::kDifficulty) continue;
    EXPECT_EQ(u.tokens, options_.pass.difficulty_tokens);
    positions.insert(positions.end(), u.positions.begin(), u.positions.end());
  }
  std::vector<uint64_t> all(kRecords);
  std::iota(all.begin(), all.end(), uint64_t{0});
  EXPECT_EQ(positions, all);

  // The difficulty pass runs at the checkpoint choose_checkpoint() picks from the stored losses.
  const store::H5File file = store::H5File::open(options_.run.output, false);
  const CheckpointChoice choice = choose_checkpoint(layout::read_calibration_loss(file), 4,
                                                    options_.pass.calibration_low, options_.pass.calibration_high);
  ASSERT_EQ(layout::read_chosen_checkpoint(file), choice.chosen);
  const auto difficulty =
      std::find_if(scored.begin(), scored.end(), [](const Unit& u) { return u.pass == Pass::kDifficulty; });
  EXPECT_EQ(difficulty->checkpoint, (model::CheckpointKey{model::Family::kGaussian, choice.chosen}));
  EXPECT_TRUE(layout::pass_complete(file, Pass::kDifficulty));
  EXPECT_FALSE(file.exists(layout::path(Pass::kProfile, layout::dataset::kDone)));  // stage difficulty only
}

TEST_F(CoordinatorTest, AMissedCalibrationStopsBeforeTheDifficultyPassUnlessAllowed) {
  options_.pass.calibration_low = 5;  // fake_losses reach about 1.9 at Gaussian 3
  options_.pass.calibration_high = 6;
  EXPECT_THROW_WITH(run_alone(), DataError, "calibration missed its target");
  {
    const store::H5File file = store::H5File::open(options_.run.output, false);
    EXPECT_TRUE(layout::read_chosen_checkpoint(file));  // stored before the error
    EXPECT_FALSE(file.exists(layout::path(Pass::kDifficulty, layout::dataset::kDone)));
  }
  // Allowed, the rerun reuses the finished calibration and goes on with the closest checkpoint.
  options_.engine.perturb.allow_calibration_miss = true;
  const std::vector<Unit> scored = run_alone();
  EXPECT_EQ(count(scored, Pass::kCalibration), 0);
  EXPECT_EQ(count(scored, Pass::kDifficulty), 5);
  for (const Unit& u : scored) EXPECT_EQ(u.checkpoint, (model::CheckpointKey{model::Family::kGaussian, 3}));
}

TEST_F(CoordinatorTest, AutoSearchesTheNoiseThenCalibratesAtIt) {
  // fake_losses scale the noise effect by max_std / 0.008. Gaussian 3's ratio on the sample: 0.008 ->
  // 1.62 (below 2.5-3.5), 0.032 -> 3.82 (above), 0.016 -> 2.35 (below), 0.0226 -> 2.96 (in the band).
  options_.engine.perturb.search_max_std = true;
  options_.pass.calibration_low = 2.5;
  options_.pass.calibration_high = 3.5;
  const std::vector<Unit> alone = run_alone();
  const Snapshot one = stored();
  // Probes (base once, then Gaussian 3 at each of 4 stds: 2 units each) and the calibration pass (4 x 2).
  EXPECT_EQ(count(alone, Pass::kCalibration), 2 + 4 * 2 + 4 * 2);
  const store::H5File file = store::H5File::open(options_.run.output, false);
  const auto search = layout::read_noise_search(file);
  ASSERT_TRUE(search);
  EXPECT_EQ(search->stds, (std::vector<std::string>{"0.008", "0.032", "0.016", "0.0226"}));
  EXPECT_EQ(search->found, "0.0226");
  EXPECT_GE(search->ratios.back(), 2.5);
  EXPECT_LE(search->ratios.back(), 3.5);
  // The calibration at 0.0226: its Gaussian 3 is the last probe, bit for bit.
  EXPECT_EQ(layout::read_calibration_warning(file), "");
  EXPECT_EQ(file.read_f32(layout::path(Pass::kCalibration, layout::dataset::kRatio)).back(), search->ratios.back());
  for (const Unit& u : alone) {
    if (u.pass == Pass::kDifficulty) {
      EXPECT_EQ(u.checkpoint.max_std, 0.0226);
    }
  }
  // The same search and bits with three workers.
  std::filesystem::remove(options_.run.output);
  std::filesystem::remove(journal_path(options_));
  FakeWorkers three(3, clock_);
  coordinator(three)->run();
  expect_same(stored(), one);
  const auto again = layout::read_noise_search(store::H5File::open(options_.run.output, false));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->stds, search->stds);
  EXPECT_EQ(again->ratios, search->ratios);
}

TEST_F(CoordinatorTest, StoresWhatTheWorkerReturned) {
  options_.pass.gaussian_checkpoint = 2;
  run_alone();
  const store::H5File file = store::H5File::open(options_.run.output, false);
  const std::vector<float> mean = file.read_f32(layout::path(Pass::kDifficulty, layout::dataset::kMeanLoss));
  ASSERT_EQ(mean.size(), kRecords);
  for (uint64_t p = 0; p < kRecords; ++p) {
    const std::vector<float> losses =
        fake_losses(static_cast<int64_t>(p) + 1, {model::Family::kGaussian, 2}, options_.pass.difficulty_tokens);
    double sum = 0;
    for (float v : losses) sum += v;
    EXPECT_FLOAT_EQ(mean[p], static_cast<float>(sum / static_cast<double>(losses.size()))) << "record " << p;
  }
  EXPECT_EQ(layout::read_lines(file)[7], 8);
}

TEST_F(CoordinatorTest, AFixedCheckpointSkipsCalibration) {
  options_.pass.gaussian_checkpoint = 2;
  const std::vector<Unit> scored = run_alone();
  EXPECT_EQ(count(scored, Pass::kCalibration), 0);
  for (const Unit& u : scored) EXPECT_EQ(u.checkpoint, (model::CheckpointKey{model::Family::kGaussian, 2}));
}

TEST_F(CoordinatorTest, ProfileScoresTheKeptExamplesAtEveryCheckpoint) {
  options_.run.stage = Stage::kAll;
  options_.pass.gaussian_checkpoint = 1;
  const std::vector<Unit> scored = run_alone();
  const std::vector<uint8_t> kept = stored().u8.at(layout::kFilterKept);
  const auto n_kept = static_cast<int64_t>(std::count(kept.begin(), kept.end(), 1));
  ASSERT_GT(n_kept, 0);
  ASSERT_LT(n_kept, static_cast<int64_t>(kRecords));
  std::map<int, int64_t> examples;  // per Gaussian checkpoint
  for (const Unit& u : scored) {
    if (u.pass != Pass::kProfile) continue;
    EXPECT_EQ(u.tokens, options_.pass.profile_tokens);
    for (uint64_t p : u.positions) EXPECT_TRUE(kept[p]) << "record " << p << " was filtered out";
    examples[u.checkpoint.index] += static_cast<int64_t>(u.positions.size());
  }
  EXPECT_EQ(examples, (std::map<int, int64_t>{{1, n_kept}, {2, n_kept}, {3, n_kept}}));
}

TEST_F(CoordinatorTest, WorkersStoreTheSameFileAsOneRank) {
  options_.run.stage = Stage::kAll;
  run_alone();
  const Snapshot alone = stored();
  std::filesystem::remove(options_.run.output);
  std::filesystem::remove(journal_path(options_));
  FakeWorkers workers(3, clock_);
  coordinator(workers)->run();
  expect_same(stored(), alone);
  EXPECT_EQ(workers.stops, (std::map<int, bool>{{1, true}, {2, true}, {3, true}}));  // they join the selection
}

TEST_F(CoordinatorTest, AResumedRunScoresOnlyTheMissingUnits) {
  options_.run.stage = Stage::kAll;
  const std::size_t total = run_alone().size();
  const Snapshot straight = stored();
  std::filesystem::remove(options_.run.output);
  std::filesystem::remove(journal_path(options_));

  FakeWorkers none(0, clock_);
  int scored = 0;
  {
    auto first = coordinator(none, [&](const Unit& u) {
      if (++scored == 12) throw ModelError("CUDA out of memory");
      return fake_score(u);
    });
    EXPECT_THROW(first->run(), ModelError);
    first->seal();
  }
  EXPECT_EQ(run_alone().size(), total - 11);  // the first run stored 11 units
  expect_same(stored(), straight);
}

TEST_F(CoordinatorTest, AStopCollectsTheUnitsInFlightThenThrowsInterrupted) {
  options_.pass.gaussian_checkpoint = 1;
  FakeWorkers none(0, clock_);
  int scored = 0;
  auto c = coordinator(none, [&](const Unit& u) {
    if (++scored == 2) request_stop();
    return fake_score(u);
  });
  EXPECT_THROW(c->run(), Interrupted);
  EXPECT_EQ(scored, 2);
  const std::vector<uint8_t> done = stored().u8.at(layout::path(Pass::kDifficulty, layout::dataset::kDone));
  EXPECT_EQ(std::count(done.begin(), done.end(), 1), 2);
}

TEST_F(CoordinatorTest, AWorkerFailureEndsTheRunWithItsExitCode) {
  options_.pass.gaussian_checkpoint = 1;
  FakeWorkers workers(2, clock_);
  workers.fail_rank = 2, workers.fail_after = 2;
  try {
    coordinator(workers)->run();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitModel);
    EXPECT_NE(std::string(e.what()).find("rank 2: CUDA out of memory"), std::string::npos) << e.what();
  }
}

TEST_F(CoordinatorTest, ASilentWorkerTimesOutOnTheClock) {
  options_.pass.gaussian_checkpoint = 1;
  FakeWorkers workers(2, clock_);
  workers.silent = {2};
  try {
    coordinator(workers)->run();
    FAIL() << "no error";
  } catch (const DistError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 2"), std::string::npos) << e.what();
  }
  EXPECT_GT(clock_, options_.run.worker_timeout);
  // Timeouts are checked at most once a second, between waits of 0.25 s.
  EXPECT_LE(clock_, options_.run.worker_timeout + 1 + 0.25);
}

}  // namespace
}  // namespace curate::service
