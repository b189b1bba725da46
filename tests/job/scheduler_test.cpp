// The Scheduler against a fake WorkerLink: what it sends to which rank, what it accepts back, and
// when it gives up, on a clock the test moves (no wall-clock waits).
#include "job/scheduler.h"

#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

using model::CheckpointKey;
using model::Family;

// Records what the scheduler sends; hands out scripted messages; each empty receive advances the clock
// by its timeout, as a real wait would.
class FakeLink final : public WorkerLink {
 public:
  explicit FakeLink(int workers) : workers_(workers) {}
  int workers() const override { return workers_; }
  void send_unit(int rank, std::vector<std::byte> bytes) override {
    comm::Reader reader(bytes);
    units.emplace_back(rank, decode_unit(reader));
  }
  void send_stop(int rank, bool then_select) override { stops.emplace_back(rank, then_select); }
  std::optional<comm::Message> receive(double timeout_seconds) override {
    if (inbox.empty()) {
      now += timeout_seconds;
      return std::nullopt;
    }
    comm::Message m = std::move(inbox.front());
    inbox.pop_front();
    return m;
  }

  void request(int rank) { inbox.push_back({rank, kRequest, {}}); }
  void result(int rank, const Unit& unit, std::size_t tokens = 1) {
    UnitResult r;
    r.pass = unit.pass, r.slot = unit.slot, r.index = unit.index;
    r.examples.resize(1);
    r.examples[0].losses.assign(tokens, 1.0f);
    comm::Writer w;
    encode(w, r);
    inbox.push_back({rank, kResult, w.bytes()});
  }

  int workers_;
  double now = 0;
  std::deque<comm::Message> inbox;
  std::vector<std::pair<int, Unit>> units;
  std::vector<std::pair<int, bool>> stops;
};

Unit unit(int64_t index, CheckpointKey checkpoint, int32_t slot = 0) {
  return Unit{Pass::kProfile, slot, index, checkpoint, 4, {static_cast<uint64_t>(index)}};
}

class SchedulerTest : public ::testing::Test {
 protected:
  Scheduler scheduler(double timeout = 10) {
    return Scheduler(link_, timeout, [this] { return link_.now; });
  }
  void step(Scheduler& s) {
    s.step(0.25, [this](const UnitResult& r) { stored_.push_back(r.index); });
  }

  FakeLink link_{2};
  std::vector<int64_t> stored_;
};

const CheckpointKey kOne{Family::kDirectional, 1}, kTwo{Family::kDirectional, 2};

TEST_F(SchedulerTest, NothingIsSentBeforeAWorkerAsks) {
  Scheduler s = scheduler();
  s.add(unit(0, kOne));
  step(s);  // no message yet
  EXPECT_TRUE(link_.units.empty());
  EXPECT_EQ(s.pending(), 1u);
}

TEST_F(SchedulerTest, AWorkerHoldsTwoUnitsAtOnce) {
  Scheduler s = scheduler();
  for (int64_t i = 0; i < 3; ++i) s.add(unit(i, kOne));
  link_.request(1);
  step(s);  // handles the request
  step(s);  // hands out
  ASSERT_EQ(link_.units.size(), 2u);
  EXPECT_EQ(link_.units[0].first, 1);
  EXPECT_EQ(link_.units[0].second.index, 0);
  EXPECT_EQ(link_.units[1].second.index, 1);
  EXPECT_EQ(s.in_flight(), 2u);
  EXPECT_EQ(s.pending(), 1u);
}

TEST_F(SchedulerTest, AssignmentPrefersTheCheckpointTheWorkerHolds) {
  Scheduler s = scheduler();
  s.add(unit(0, kTwo));
  link_.request(1);
  step(s);
  step(s);  // rank 1 now holds checkpoint 2
  ASSERT_EQ(link_.units.size(), 1u);
  s.add(unit(1, kOne));
  s.add(unit(2, kTwo));
  link_.result(1, link_.units[0].second);
  step(s);  // stores unit 0, frees one slot (the other is still free)
  step(s);  // hands out: checkpoint 2 first although unit 1 is older
  ASSERT_EQ(link_.units.size(), 3u);
  EXPECT_EQ(link_.units[1].second.index, 2);
  EXPECT_EQ(link_.units[1].second.checkpoint, kTwo);
  EXPECT_EQ(link_.units[2].second.index, 1);
  EXPECT_EQ(stored_, std::vector<int64_t>{0});
}

TEST_F(SchedulerTest, AFreeWorkerJoinsTheCheckpointWithTheMostUnitsPerHolder) {
  Scheduler s = scheduler();
  for (int64_t i = 0; i < 4; ++i) s.add(unit(i, kOne));
  for (int64_t i = 4; i < 8; ++i) s.add(unit(i, kTwo));
  link_.request(1);
  link_.request(2);
  step(s);
  step(s);
  step(s);  // rank 1 took two units of checkpoint 1 (queued first); rank 2 finds 2 left there for one holder
            // against 4 for none at checkpoint 2: it starts on checkpoint 2 instead of switching later
  ASSERT_EQ(link_.units.size(), 4u);
  for (const auto& [rank, u] : link_.units) EXPECT_EQ(u.checkpoint, rank == 1 ? kOne : kTwo) << "unit " << u.index;
  EXPECT_EQ(s.pending(), 4u);
  EXPECT_EQ(s.take()->index, 2);  // rank 0 alone takes units in the order queued
}

TEST_F(SchedulerTest, AResultForAUnitNotGivenIsRefused) {
  Scheduler s = scheduler();
  s.add(unit(0, kOne));
  link_.request(1);
  step(s);
  step(s);
  link_.result(2, link_.units[0].second);  // rank 2 was never given unit 0
  EXPECT_THROW_WITH(step(s), DistError, "rank 2 returned unit 0 that it was not given");
  EXPECT_TRUE(stored_.empty());
}

TEST_F(SchedulerTest, ResultsMustComeBackInTheOrderSent) {
  Scheduler s = scheduler();
  s.add(unit(0, kOne));
  s.add(unit(1, kOne));
  link_.request(1);
  step(s);
  step(s);
  link_.result(1, link_.units[1].second);
  EXPECT_THROW_WITH(step(s), DistError, "rank 1 returned unit 1");
}

TEST_F(SchedulerTest, AThrowingStoreLeavesTheWorkerBusy) {
  Scheduler s = scheduler();
  s.add(unit(0, kOne));
  link_.request(1);
  step(s);
  step(s);
  link_.result(1, link_.units[0].second);
  EXPECT_THROW(s.step(0.25, [](const UnitResult&) { throw StoreError("disk full"); }), StoreError);
  EXPECT_TRUE(s.workers_busy());
}

TEST_F(SchedulerTest, AFailureMessageEndsTheJobWithItsTextAndExitCode) {
  Scheduler s = scheduler();
  comm::Writer w;
  encode(w, Failure{kExitModel, "rank 2 cannot start: base/model.safetensors: the file is truncated"});
  link_.inbox.push_back({2, kFailure, w.bytes()});
  EXPECT_THROW_WITH(step(s), ModelError, "rank 2 cannot start: base/model.safetensors");
  comm::Writer other;
  encode(other, Failure{kExitInternal, "rank 2 failed on gaussian 1 unit 3: bad_alloc"});
  link_.inbox.push_back({2, kFailure, other.bytes()});
  try {
    step(s);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitInternal);
  }
}

TEST_F(SchedulerTest, AFailedWorkerIsNotWaitedFor) {
  Scheduler s = scheduler(/*timeout=*/5);
  link_.request(1);
  step(s);
  comm::Writer w;
  encode(w, Failure{kExitModel, "rank 2 cannot start: no config.json"});
  link_.inbox.push_back({2, kFailure, w.bytes()});
  EXPECT_THROW(step(s), ModelError);
  s.finish(false);  // rank 1 is stopped, rank 2 has exited: nothing left to wait for
  EXPECT_EQ(link_.now, 0);
}

TEST_F(SchedulerTest, ATimeoutNamesRankCheckpointAndUnit) {
  Scheduler s = scheduler(/*timeout=*/5);
  s.add(unit(7, kTwo));
  link_.request(2);
  step(s);
  step(s);
  s.check_timeouts();  // just handed out
  link_.now += 4;
  s.check_timeouts();
  link_.now += 2;
  EXPECT_THROW_WITH(s.check_timeouts(), DistError,
                    "rank 2 has not answered for 5 s on " + model::describe(kTwo) + " unit 7");
}

TEST_F(SchedulerTest, TheSecondUnitsClockStartsWhenTheFirstReturns) {
  Scheduler s = scheduler(/*timeout=*/5);
  s.add(unit(0, kOne));
  s.add(unit(1, kOne));
  link_.request(1);
  step(s);
  step(s);
  link_.now += 4;
  link_.result(1, link_.units[0].second);
  step(s);
  link_.now += 4;  // 8 s after unit 1 was sent, 4 s after the worker started it
  s.check_timeouts();
  link_.now += 2;
  EXPECT_THROW_WITH(s.check_timeouts(), DistError, "unit 1");
}

TEST_F(SchedulerTest, FinishStopsIdleWorkersAndWaitsForTheOthersToAsk) {
  Scheduler s = scheduler();
  link_.request(1);
  step(s);  // rank 1 is idle; rank 2 has not asked yet
  link_.request(2);
  s.finish(/*then_select=*/true);
  EXPECT_EQ(link_.stops, (std::vector<std::pair<int, bool>>{{1, true}, {2, true}}));
}

TEST_F(SchedulerTest, FinishGivesUpOnWorkersThatNeverAsk) {
  Scheduler s = scheduler(/*timeout=*/3);
  link_.request(1);
  step(s);
  EXPECT_THROW_WITH(s.finish(false), DistError, "1 worker(s) never asked for work within 3 s");
  EXPECT_EQ(link_.stops, (std::vector<std::pair<int, bool>>{{1, false}}));
}

TEST_F(SchedulerTest, SlowestRankIsNamedOnceTwoWorkersReturned) {
  Scheduler s = scheduler();
  s.add(unit(0, kOne));
  s.add(unit(1, kOne));
  link_.request(1);
  step(s);
  step(s);  // rank 1 takes both
  link_.request(2);
  s.add(unit(2, kOne));
  step(s);
  step(s);  // rank 2 takes unit 2
  ASSERT_EQ(link_.units.size(), 3u);
  // Unit 0 went out at 0 s, unit 2 at 0.25 s (after one empty wait).
  link_.now = 2;
  link_.result(1, link_.units[0].second, 1000);  // 1000 tokens in 2 s
  step(s);
  EXPECT_EQ(s.slowest_rank(), "");  // one worker: no comparison
  link_.now = 4.25;
  link_.result(2, link_.units[2].second, 200);  // 200 tokens in 4 s
  step(s);
  EXPECT_EQ(s.slowest_rank(), "; slowest rank 2 at 50 tokens/s");
  s.reset_rates();
  EXPECT_EQ(s.slowest_rank(), "");
}

TEST_F(SchedulerTest, DropPendingKeepsUnitsInFlight) {
  Scheduler s = scheduler();
  for (int64_t i = 0; i < 4; ++i) s.add(unit(i, kOne));
  link_.request(1);
  step(s);
  step(s);
  s.drop_pending();
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_EQ(s.in_flight(), 2u);
  EXPECT_TRUE(s.workers_busy());
}

}  // namespace
}  // namespace curate::service
