// The flaky-path rule (core/marginal.h) and how the engine applies it, on the
// manual clock: marked after more than N failures within T, held failed until
// healthy for R, never held as the last usable path, cleared by an operator.
#include "core/marginal.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/engine.h"
#include "tests/support/heap_guard.h"

using namespace pk::core;
using namespace std::chrono_literals;

namespace {

using Kind = Action::Kind;

TEST(FailureHistory, CountsOnlyFailuresInsideTheWindow) {
  FailureHistory h;
  MonoTime t{1000s};
  h.record(t);
  h.record(t + 10s);
  h.record(t + 50s);
  EXPECT_EQ(h.count_since(t), 3u);
  EXPECT_EQ(h.count_since(t + 5s), 2u);
  EXPECT_EQ(h.count_since(t + 51s), 0u);
  h.clear();
  EXPECT_EQ(h.count_since(t), 0u);
}

TEST(FailureHistory, KeepsTheLatestWhenFull) {
  FailureHistory h;
  for (uint32_t i = 0; i < 3 * FailureHistory::kCapacity; ++i) h.record(MonoTime{std::chrono::seconds(i)});
  EXPECT_EQ(h.count_since(MonoTime{0}), FailureHistory::kCapacity);
  EXPECT_EQ(h.count_since(MonoTime{std::chrono::seconds(3 * FailureHistory::kCapacity - 2)}), 2u);
}

TEST(MarginalRule, MoreThanNWithinT) {
  MarginalPaths s{.enabled = true, .failures = 2, .within = 60s, .healthy_for = 30s};
  FailureHistory h;
  MonoTime t{1000s};
  h.record(t);
  h.record(t + 20s);
  EXPECT_FALSE(marks_marginal(h, s, t + 20s)) << "2 failures is not more than 2";
  h.record(t + 40s);
  EXPECT_TRUE(marks_marginal(h, s, t + 40s));
  s.enabled = false;
  EXPECT_FALSE(marks_marginal(h, s, t + 40s));
}

TEST(MarginalRule, SpreadOutFailuresDoNotMark) {
  MarginalPaths s{.enabled = true, .failures = 2, .within = 60s, .healthy_for = 30s};
  FailureHistory h;
  MonoTime t{1000s};
  for (int i = 0; i < 10; ++i) {
    h.record(t + std::chrono::seconds(31 * i));
    EXPECT_FALSE(marks_marginal(h, s, t + std::chrono::seconds(31 * i))) << "failure " << i;
  }
}

TEST(MarginalRule, RecoveredAfterHealthyFor) {
  MarginalPaths s{.enabled = true, .failures = 2, .within = 60s, .healthy_for = 30s};
  MonoTime since{1000s};
  EXPECT_FALSE(marginal_recovered(since, s, since + 29s));
  EXPECT_TRUE(marginal_recovered(since, s, since + 30s));
}

// The engine: two paths in one map; path B flaps.
class MarginalEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    limits.max_paths = 4;
    limits.max_maps = 1;
    limits.max_paths_per_map = 4;
    timing.polling_interval = 5s;
    timing.failed_polling_interval = 1s;
    timing.checker_timeout = 3000ms;
    timing.transport_probe_interval = 0ms;
    engine.init(limits, timing);
    settings.marginal = {.enabled = true, .failures = 2, .within = 60s, .healthy_for = 30s};
    map = engine.add_map("mpatha", "naa.1", settings);
    a = add("sda", 0);
    b = add("sdb", 16);
    engine.set_map_in_kernel(map, 2048);
    check(a, CheckVerdict::Up);
    check(b, CheckVerdict::Up);
    take();
  }

  PathId add(const char* dev, uint32_t minor) {
    PathId p = engine.add_path(dev, DevT{8, minor}, "naa.1", CheckerKind::Tur, clock.now());
    engine.set_path_map(p, map, 1, 1);
    return p;
  }

  void check(PathId p, CheckVerdict v) {
    engine.on_check_started(p, clock.now());
    engine.on_check_result(p, v, clock.now());
  }

  // B goes down and comes back `times` times, a few seconds apart.
  void flap(PathId p, int times) {
    for (int i = 0; i < times; ++i) {
      clock.advance(2s);
      check(p, CheckVerdict::Down);
      clock.advance(2s);
      check(p, CheckVerdict::Up);
    }
  }

  // `seconds` of time in 1 s ticks; every check the engine starts answers
  // Up. What else it decides is kept for take().
  void healthy(int seconds) {
    for (int i = 0; i < seconds; ++i) {
      clock.advance(1s);
      engine.tick(clock.now());
      std::vector<PathId> started;
      for (const Action& x : engine.actions())
        if (x.kind == Kind::StartCheck) started.push_back(x.path);
      for (PathId p : started) engine.on_check_result(p, CheckVerdict::Up, clock.now());
    }
  }

  std::vector<Action> take() {
    std::vector<Action> out(engine.actions().begin(), engine.actions().end());
    engine.clear_actions();
    return out;
  }
  static size_t count(const std::vector<Action>& v, Kind k, PathId p) {
    return static_cast<size_t>(
        std::count_if(v.begin(), v.end(), [&](const Action& x) { return x.kind == k && x.path == p; }));
  }
  const Path& path(PathId p) const { return engine.paths().at(p); }

  Limits limits;
  Timing timing;
  MapSettings settings;
  ManualClock clock;
  Engine engine;
  MapId map = kNoSlot;
  PathId a = kNoSlot, b = kNoSlot;
};

TEST_F(MarginalEngineTest, NotMarkedAtTheThreshold) {
  flap(b, 2);
  auto acts = take();
  EXPECT_FALSE(path(b).marginal);
  EXPECT_EQ(count(acts, Kind::MarkMarginal, b), 0u);
  EXPECT_EQ(count(acts, Kind::ReinstatePath, b), 2u);
  EXPECT_EQ(path(b).dm_state, DmState::Active);
}

TEST_F(MarginalEngineTest, MarkedAfterMoreThanNFailuresWithinT) {
  flap(b, 3);
  auto acts = take();
  EXPECT_TRUE(path(b).marginal);
  EXPECT_EQ(count(acts, Kind::MarkMarginal, b), 1u);
  EXPECT_EQ(count(acts, Kind::FailPath, b), 3u);
  EXPECT_EQ(count(acts, Kind::ReinstatePath, b), 2u) << "the third return is held back";
  EXPECT_EQ(path(b).state, PathState::Up);
  EXPECT_EQ(path(b).dm_state, DmState::Failed);
  EXPECT_FALSE(path(a).marginal);
}

TEST_F(MarginalEngineTest, NotReinstatedBeforeHealthyFor) {
  flap(b, 3);
  take();
  healthy(29);  // since its last return, at the end of flap()
  auto acts = take();
  EXPECT_TRUE(path(b).marginal);
  EXPECT_EQ(count(acts, Kind::ReinstatePath, b), 0u);
  EXPECT_EQ(path(b).dm_state, DmState::Failed);
}

TEST_F(MarginalEngineTest, ReinstatedAfterHealthyFor) {
  flap(b, 3);
  take();
  const MonoTime due = path(b).usable_since + 30s;
  EXPECT_EQ(engine.next_wakeup() <= due, true);
  clock.set(due);
  engine.tick(clock.now());
  auto acts = take();
  EXPECT_FALSE(path(b).marginal);
  ASSERT_EQ(count(acts, Kind::LiftMarginal, b), 1u);
  EXPECT_EQ(count(acts, Kind::ReinstatePath, b), 1u);
  for (const Action& x : acts) {
    if (x.kind == Kind::LiftMarginal) {
      EXPECT_EQ(x.reason, MarginalReason::Healthy);
    }
  }
}

TEST_F(MarginalEngineTest, AFailureDuringRecoveryStartsItAgain) {
  flap(b, 3);
  clock.advance(20s);
  check(b, CheckVerdict::Down);
  clock.advance(1s);
  check(b, CheckVerdict::Up);
  take();
  healthy(29);
  EXPECT_TRUE(path(b).marginal) << "healthy for 29 s since the last failure";
  healthy(1);
  EXPECT_FALSE(path(b).marginal);
}

TEST_F(MarginalEngineTest, TheLastUsablePathIsNeverHeld) {
  flap(b, 3);
  take();
  ASSERT_TRUE(path(b).marginal);
  clock.advance(1s);
  check(a, CheckVerdict::Down);  // A fails; B (healthy, held) is all that is left
  auto acts = take();
  EXPECT_FALSE(path(b).marginal);
  ASSERT_EQ(count(acts, Kind::LiftMarginal, b), 1u);
  EXPECT_EQ(count(acts, Kind::ReinstatePath, b), 1u);
  for (const Action& x : acts) {
    if (x.kind == Kind::LiftMarginal) {
      EXPECT_EQ(x.reason, MarginalReason::LastPath);
    }
  }
  EXPECT_EQ(path(b).dm_state, DmState::Active);
}

TEST_F(MarginalEngineTest, AMarginalPathComingBackAloneIsReinstatedAtOnce) {
  flap(b, 2);
  clock.advance(1s);
  check(a, CheckVerdict::Down);
  clock.advance(1s);
  check(b, CheckVerdict::Down);  // the third failure in the window: marked
  ASSERT_TRUE(path(b).marginal);
  take();
  clock.advance(1s);
  check(b, CheckVerdict::Up);  // A is still down
  auto acts = take();
  EXPECT_FALSE(path(b).marginal);
  EXPECT_EQ(count(acts, Kind::ReinstatePath, b), 1u);
}

TEST_F(MarginalEngineTest, TheKernelFailingAPathCountsAsAFailure) {
  // A link that drops for less than a check interval: the kernel fails the
  // path on an I/O error and the next check finds it up again.
  std::array<StatusPath, 2> paths{};
  paths[0].devt = path(a).devt;
  paths[0].active = true;
  paths[1].devt = path(b).devt;
  std::array<StatusGroup, 1> groups{};
  MultipathStatus s;
  s.next_group = 1;
  s.groups = groups;
  s.paths = paths;
  for (int i = 0; i < 3; ++i) {
    clock.advance(3s);
    paths[1].active = false;
    engine.on_status(map, s, true, clock.now());
    engine.on_status(map, s, true, clock.now());  // seen twice: one failure
    check(b, CheckVerdict::Up);
    paths[1].active = true;
  }
  EXPECT_TRUE(path(b).marginal);
  EXPECT_EQ(path(b).failure_history.count_since(clock.now() - 60s), 3u);
}

TEST_F(MarginalEngineTest, ClearedByAnOperator) {
  flap(b, 3);
  take();
  ASSERT_TRUE(engine.admin_clear_marginal(b, clock.now()));
  auto acts = take();
  EXPECT_FALSE(path(b).marginal);
  EXPECT_EQ(count(acts, Kind::ReinstatePath, b), 1u);
  for (const Action& x : acts) {
    if (x.kind == Kind::LiftMarginal) {
      EXPECT_EQ(x.reason, MarginalReason::Operator);
    }
  }
  // Its failures are forgotten: one more does not mark it again.
  flap(b, 1);
  EXPECT_FALSE(path(b).marginal);
  EXPECT_FALSE(engine.admin_clear_marginal(kNoSlot - 1, clock.now()));
}

TEST_F(MarginalEngineTest, TurnedOffByReconfigure) {
  flap(b, 3);
  take();
  MapSettings off = settings;
  off.marginal.enabled = false;
  engine.set_map_settings(map, off, clock.now());
  auto acts = take();
  EXPECT_FALSE(path(b).marginal);
  EXPECT_EQ(count(acts, Kind::ReinstatePath, b), 1u);
  flap(b, 5);
  EXPECT_FALSE(path(b).marginal);
}

TEST_F(MarginalEngineTest, NoAllocation) {
  pk::test::heap_guard::arm();
  flap(b, 8);
  clock.advance(31s);
  engine.tick(clock.now());
  engine.admin_clear_marginal(b, clock.now());
  engine.clear_actions();
  pk::test::heap_guard::disarm();
  EXPECT_EQ(pk::test::heap_guard::count(), 0u)
      << "first heap call from " << pk::test::heap_guard::first_caller();
}

}  // namespace
