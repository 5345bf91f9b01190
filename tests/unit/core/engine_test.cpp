#include "core/engine.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "tests/support/heap_guard.h"

using namespace pk::core;
using namespace std::chrono_literals;

namespace {

using Kind = Action::Kind;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    limits.max_paths = 8;
    limits.max_maps = 2;
    limits.max_paths_per_map = 4;
    timing.polling_interval = 5s;
    timing.failed_polling_interval = 1s;
    timing.checker_timeout = 3000ms;
    engine.init(limits, timing);
  }

  // A map in the kernel with `n` paths in one group, all checked Up and active.
  MapId make_map(unsigned n, MapSettings settings = {}) {
    MapId m = engine.add_map("mpatha", "naa.1", settings);
    for (unsigned i = 0; i < n; ++i) {
      std::string dev = "sd" + std::string(1, static_cast<char>('a' + i));
      PathId p = engine.add_path(dev, DevT{8, 16 * i}, "naa.1", CheckerKind::Tur, clock.now());
      engine.set_path_map(p, m, 1, 1);
      path_ids.push_back(p);
    }
    engine.set_map_in_kernel(m, 2048);
    report_status(m, std::vector<bool>(n, true), true);
    check_all(CheckVerdict::Up);
    engine.clear_actions();
    return m;
  }

  void report_status(MapId m, std::vector<bool> active, bool queueing, uint16_t current = 1,
                     std::vector<uint16_t> groups = {}) {
    std::array<StatusPath, 8> paths{};
    uint16_t group_count = 1;
    for (size_t i = 0; i < active.size(); ++i) {
      paths[i].devt = engine.paths().at(path_ids[i]).devt;
      paths[i].active = active[i];
      paths[i].group = groups.empty() ? 0 : static_cast<uint16_t>(groups[i] - 1);
      group_count = std::max<uint16_t>(group_count, static_cast<uint16_t>(paths[i].group + 1));
    }
    std::array<StatusGroup, 4> status_groups{};
    MultipathStatus s;
    s.next_group = current;
    s.groups = std::span<const StatusGroup>(status_groups.data(), group_count);
    s.paths = std::span<const StatusPath>(paths.data(), active.size());
    engine.on_status(m, s, queueing, clock.now());
  }

  // Runs a check round: every StartCheck the engine asks for gets `verdict`.
  void check_all(CheckVerdict verdict) {
    engine.tick(clock.now());
    std::vector<PathId> started;
    for (const Action& a : engine.actions())
      if (a.kind == Kind::StartCheck) started.push_back(a.path);
    for (PathId p : started) {
      engine.on_check_started(p, clock.now());
      engine.on_check_result(p, verdict, clock.now());
    }
  }

  // One check round after the polling interval: `down` answers Down, every
  // other path Up. The actions it decides are taken.
  void round_with_down(PathId down) {
    clock.advance(timing.polling_interval);
    engine.tick(clock.now());
    for (const Action& a : take()) {
      if (a.kind != Kind::StartCheck) continue;
      engine.on_check_started(a.path, clock.now());
      engine.on_check_result(a.path, a.path == down ? CheckVerdict::Down : CheckVerdict::Up, clock.now());
    }
    take();
  }

  // One check round after the polling interval in which every path answers
  // Down; `lun_gone(path)` says which answers were "no such LUN". The
  // actions it decides stay queued for the test.
  template <typename LunGone>
  void round_down(LunGone lun_gone) {
    clock.advance(timing.polling_interval);
    engine.tick(clock.now());
    for (const Action& a : take()) {
      if (a.kind != Kind::StartCheck) continue;
      engine.on_check_started(a.path, clock.now());
      engine.on_check_result(a.path, CheckVerdict::Down, clock.now(), lun_gone(a.path));
    }
  }

  std::vector<Action> take() {
    std::vector<Action> out(engine.actions().begin(), engine.actions().end());
    engine.clear_actions();
    return out;
  }

  static size_t count(const std::vector<Action>& v, Kind k) {
    return static_cast<size_t>(
        std::count_if(v.begin(), v.end(), [k](const Action& a) { return a.kind == k; }));
  }

  Limits limits;
  Timing timing;
  ManualClock clock;
  Engine engine;
  std::vector<PathId> path_ids;
};

TEST_F(EngineTest, ChecksANewPathAtOnceThenEveryPollingInterval) {
  PathId p = engine.add_path("sda", {8, 0}, "naa.1", CheckerKind::Tur, clock.now());
  engine.tick(clock.now());
  auto a = take();
  ASSERT_EQ(count(a, Kind::StartCheck), 1u);
  engine.on_check_started(p, clock.now());
  engine.on_check_result(p, CheckVerdict::Up, clock.now());
  EXPECT_EQ(engine.next_wakeup(), clock.now() + 5s);

  clock.advance(4s);
  engine.tick(clock.now());
  EXPECT_EQ(count(take(), Kind::StartCheck), 0u);
  clock.advance(1s);
  engine.tick(clock.now());
  EXPECT_EQ(count(take(), Kind::StartCheck), 1u);
}

TEST_F(EngineTest, FailsADownPathOnceAndReinstatesItWhenItReturns) {
  make_map(2);
  clock.advance(5s);
  engine.tick(clock.now());
  take();
  PathId p = path_ids[0];
  engine.on_check_started(p, clock.now());
  engine.on_check_result(p, CheckVerdict::Down, clock.now());
  auto a = take();
  ASSERT_EQ(count(a, Kind::FailPath), 1u);
  EXPECT_EQ(a[0].path, p);
  EXPECT_EQ(engine.paths().at(p).state, PathState::Down);

  // Failed paths are checked more often, and not failed twice.
  EXPECT_EQ(engine.paths().at(p).next_check, clock.now() + 1s);
  clock.advance(1s);
  engine.tick(clock.now());
  take();
  engine.on_check_started(p, clock.now());
  engine.on_check_result(p, CheckVerdict::Down, clock.now());
  EXPECT_EQ(count(take(), Kind::FailPath), 0u);

  clock.advance(1s);
  engine.tick(clock.now());
  take();
  engine.on_check_started(p, clock.now());
  engine.on_check_result(p, CheckVerdict::Up, clock.now());
  EXPECT_EQ(count(take(), Kind::ReinstatePath), 1u);
  EXPECT_EQ(engine.paths().at(p).failures, 1u);
}

TEST_F(EngineTest, ACheckPastItsDeadlineTimesThePathOutAndNothingPilesUp) {
  make_map(2);
  clock.advance(5s);
  engine.tick(clock.now());
  take();
  PathId p = path_ids[0];
  engine.on_check_started(p, clock.now());
  engine.on_check_started(path_ids[1], clock.now());
  engine.on_check_result(path_ids[1], CheckVerdict::Up, clock.now());
  clock.advance(2999ms);
  engine.tick(clock.now());
  EXPECT_EQ(count(take(), Kind::FailPath), 0u);
  clock.advance(1ms);
  engine.tick(clock.now());
  auto a = take();
  EXPECT_EQ(count(a, Kind::FailPath), 1u);
  EXPECT_EQ(engine.paths().at(p).state, PathState::Timeout);

  // The checker still holds the hung command: Busy keeps the path timed out.
  clock.advance(1s);
  engine.tick(clock.now());
  take();
  engine.on_check_busy(p, clock.now());
  EXPECT_EQ(engine.paths().at(p).state, PathState::Timeout);
  EXPECT_EQ(count(take(), Kind::FailPath), 0u);
  // A late answer counts, and a good one brings the path back.
  engine.on_check_result(p, CheckVerdict::Up, clock.now());
  EXPECT_EQ(engine.counters().late_results, 1u);
  EXPECT_EQ(count(take(), Kind::ReinstatePath), 1u);
}

TEST_F(EngineTest, APathBlockedLongerThanTheTimeoutIsFailed) {
  make_map(2);
  PathId p = path_ids[0];
  for (int i = 0; i < 3; ++i) {
    clock.advance(1s);
    engine.request_check(p, clock.now());
    engine.tick(clock.now());
    take();
    engine.on_check_started(p, clock.now());
    engine.on_check_result(p, CheckVerdict::Pending, clock.now());
    EXPECT_EQ(count(take(), Kind::FailPath), 0u) << "round " << i;
  }
  clock.advance(1s);
  engine.request_check(p, clock.now());
  engine.tick(clock.now());
  take();
  engine.on_check_started(p, clock.now());
  engine.on_check_result(p, CheckVerdict::Pending, clock.now());
  EXPECT_EQ(count(take(), Kind::FailPath), 1u);
  EXPECT_EQ(engine.paths().at(p).state, PathState::Timeout);
}

TEST_F(EngineTest, QueuesForTheConfiguredTimeThenFailsThenQueuesAgainWhenAPathReturns) {
  MapSettings s;
  s.no_path_retry.kind = NoPathRetry::Kind::Time;
  s.no_path_retry.duration = 30s;
  MapId m = make_map(2, s);
  clock.advance(5s);
  check_all(CheckVerdict::Down);
  auto a = take();
  EXPECT_EQ(count(a, Kind::FailPath), 2u);
  EXPECT_EQ(count(a, Kind::FailIfNoPath), 0u);
  EXPECT_TRUE(engine.maps().at(m).all_down);

  for (int i = 0; i < 29; ++i) {
    clock.advance(1s);
    check_all(CheckVerdict::Down);
    ASSERT_EQ(count(take(), Kind::FailIfNoPath), 0u) << "after " << i + 1 << " s";
  }
  clock.advance(1s);
  check_all(CheckVerdict::Down);
  EXPECT_EQ(count(take(), Kind::FailIfNoPath), 1u);
  EXPECT_FALSE(engine.maps().at(m).queueing);

  clock.advance(1s);
  check_all(CheckVerdict::Up);
  a = take();
  EXPECT_EQ(count(a, Kind::QueueIfNoPath), 1u);
  EXPECT_EQ(count(a, Kind::ReinstatePath), 2u);
  EXPECT_TRUE(engine.maps().at(m).queueing);
  EXPECT_FALSE(engine.maps().at(m).all_down);
}

TEST_F(EngineTest, NoPathRetryByChecksAndFailAndQueue) {
  MapSettings checks;
  checks.no_path_retry.kind = NoPathRetry::Kind::Checks;
  checks.no_path_retry.checks = 3;
  MapId m = make_map(1, checks);
  clock.advance(5s);
  check_all(CheckVerdict::Down);
  // 3 checks as multipath-tools counts them: 3 polling intervals (15 s),
  // although the failed path is checked every second.
  int seconds = 0;
  while (count(take(), Kind::FailIfNoPath) == 0 && seconds < 60) {
    clock.advance(1s);
    check_all(CheckVerdict::Down);
    ++seconds;
  }
  EXPECT_EQ(seconds, 15);
  EXPECT_FALSE(engine.maps().at(m).queueing);
}

// With no check due, the engine still wakes when queueing must stop.
TEST_F(EngineTest, NoPathRetryEndsAtItsTimeWithoutACheck) {
  MapSettings checks;
  checks.no_path_retry.kind = NoPathRetry::Kind::Checks;
  checks.no_path_retry.checks = 2;
  make_map(1, checks);
  clock.advance(5s);
  check_all(CheckVerdict::Down);
  take();
  clock.advance(9s);
  engine.tick(clock.now());
  EXPECT_EQ(count(take(), Kind::FailIfNoPath), 0u);
  clock.advance(1s);
  engine.tick(clock.now());
  EXPECT_EQ(count(take(), Kind::FailIfNoPath), 1u);
}

TEST_F(EngineTest, NoPathRetryFailStopsQueueingAtOnce) {
  MapSettings fail;
  fail.no_path_retry.kind = NoPathRetry::Kind::Fail;
  MapId m = make_map(1, fail);
  EXPECT_FALSE(engine.maps().at(m).queueing);
  clock.advance(5s);
  check_all(CheckVerdict::Down);
  auto a = take();
  EXPECT_EQ(count(a, Kind::FailIfNoPath), 0u) << "the map never queued";
  EXPECT_EQ(count(a, Kind::QueueIfNoPath), 0u);
}

// Every path answers "no such LUN": I/O fails at once, whatever no_path_retry.
TEST_F(EngineTest, ALunGoneOnEveryPathFailsIOAtOnceAndQueuesAgainWhenItReturns) {
  MapSettings s;
  s.no_path_retry.kind = NoPathRetry::Kind::Queue;
  MapId m = make_map(2, s);
  clock.advance(5s);
  engine.tick(clock.now());
  auto a = take();
  ASSERT_EQ(count(a, Kind::StartCheck), 2u);
  engine.on_check_started(path_ids[0], clock.now());
  engine.on_check_result(path_ids[0], CheckVerdict::Down, clock.now(), true);
  EXPECT_EQ(count(take(), Kind::FailIfNoPath), 0u) << "one path of two says so";
  engine.on_check_started(path_ids[1], clock.now());
  engine.on_check_result(path_ids[1], CheckVerdict::Down, clock.now(), true);
  EXPECT_EQ(count(take(), Kind::FailIfNoPath), 1u);
  EXPECT_TRUE(engine.maps().at(m).lun_lost);
  EXPECT_FALSE(engine.maps().at(m).retry_exhausted);
  EXPECT_FALSE(engine.maps().at(m).queueing);

  // The LUN mapped back: the first path that answers makes the map queue again.
  clock.advance(1s);
  engine.tick(clock.now());
  take();
  engine.on_check_started(path_ids[0], clock.now());
  engine.on_check_result(path_ids[0], CheckVerdict::Up, clock.now());
  a = take();
  EXPECT_EQ(count(a, Kind::QueueIfNoPath), 1u);
  EXPECT_FALSE(engine.maps().at(m).lun_lost);
  EXPECT_TRUE(engine.maps().at(m).queueing);
}

// A transient outage is never a lost LUN: a path that cannot answer (a
// timeout, a transport error) keeps the map queueing.
TEST_F(EngineTest, ALunGoneOnOnePathAndAnOutageOnTheOtherKeepsQueueing) {
  MapSettings s;
  s.no_path_retry.kind = NoPathRetry::Kind::Queue;
  MapId m = make_map(2, s);
  for (int round = 0; round < 10; ++round) {
    round_down([&](PathId p) { return p == path_ids[0]; });
    ASSERT_EQ(count(take(), Kind::FailIfNoPath), 0u) << "round " << round;
  }
  EXPECT_TRUE(engine.maps().at(m).all_down);
  EXPECT_FALSE(engine.maps().at(m).lun_lost);
  EXPECT_TRUE(engine.maps().at(m).queueing);
}

TEST_F(EngineTest, LostLunQueueTreatsAGoneLunAsAnyOutage) {
  MapSettings s;
  s.no_path_retry.kind = NoPathRetry::Kind::Queue;
  s.lost_lun = LostLun::Queue;
  MapId m = make_map(2, s);
  for (int round = 0; round < 5; ++round) {
    round_down([](PathId) { return true; });
    ASSERT_EQ(count(take(), Kind::FailIfNoPath), 0u) << "round " << round;
  }
  EXPECT_FALSE(engine.maps().at(m).lun_lost);
  EXPECT_TRUE(engine.maps().at(m).queueing);
}

TEST_F(EngineTest, NoPathRetryQueueNeverStops) {
  MapSettings queue;
  queue.no_path_retry.kind = NoPathRetry::Kind::Queue;
  MapId m = make_map(1, queue);
  for (int i = 0; i < 600; ++i) {
    clock.advance(1s);
    check_all(CheckVerdict::Down);
    ASSERT_EQ(count(take(), Kind::FailIfNoPath), 0u);
  }
  EXPECT_TRUE(engine.maps().at(m).queueing);
}

TEST_F(EngineTest, AKernelFailedPathIsCheckedAtOnce) {
  MapId m = make_map(2);
  clock.advance(1s);
  report_status(m, {false, true}, true);  // PATH_FAILED: an I/O error on sda
  engine.tick(clock.now());
  auto a = take();
  ASSERT_EQ(count(a, Kind::StartCheck), 1u);
  EXPECT_EQ(a[0].path, path_ids[0]);
  EXPECT_EQ(count(a, Kind::ReinstatePath), 0u) << "only a good check reinstates";
}

TEST_F(EngineTest, FailbackImmediateManualAndDelayed) {
  for (Failback mode : {Failback::Immediate, Failback::Manual, Failback::Delayed}) {
    SetUp();
    path_ids.clear();
    clock.set(MonoTime(1000s));
    MapSettings s;
    s.failback = mode;
    s.failback_delay = 10s;
    MapId m = make_map(2, s);
    report_status(m, {true, true}, true, 1, {1, 2});
    take();
    // Group 1's path fails; the kernel moves to group 2.
    clock.advance(5s);
    engine.tick(clock.now());
    take();
    engine.on_check_started(path_ids[0], clock.now());
    engine.on_check_result(path_ids[0], CheckVerdict::Down, clock.now());
    engine.on_check_started(path_ids[1], clock.now());
    engine.on_check_result(path_ids[1], CheckVerdict::Up, clock.now());
    report_status(m, {false, true}, true, 2, {1, 2});
    take();
    // It returns.
    clock.advance(1s);
    engine.tick(clock.now());
    take();
    engine.on_check_started(path_ids[0], clock.now());
    engine.on_check_result(path_ids[0], CheckVerdict::Up, clock.now());
    auto a = take();
    if (mode == Failback::Immediate) {
      ASSERT_EQ(count(a, Kind::SwitchGroup), 1u);
      EXPECT_EQ(std::find_if(a.begin(), a.end(), [](const Action& x) { return x.kind == Kind::SwitchGroup; })
                    ->group,
                1);
    } else if (mode == Failback::Manual) {
      EXPECT_EQ(count(a, Kind::SwitchGroup), 0u);
    } else {
      EXPECT_EQ(count(a, Kind::SwitchGroup), 0u);
      clock.advance(9s);
      engine.tick(clock.now());
      EXPECT_EQ(count(take(), Kind::SwitchGroup), 0u);
      clock.advance(1s);
      engine.tick(clock.now());
      EXPECT_EQ(count(take(), Kind::SwitchGroup), 1u);
    }
  }
}

// A ghost (ALUA standby) path never heads I/O while an up path is usable,
// even in a later group; and a path the kernel failed is no failback target
// until a check has it reinstated.
TEST_F(EngineTest, FailbackPrefersAnUpGroupOverAGhostOneAndSkipsKernelFailedPaths) {
  MapId m = make_map(3);
  report_status(m, {true, true, true}, true, 1, {1, 2, 3});
  take();
  clock.advance(5s);
  engine.tick(clock.now());
  take();
  // sda (group 1) went to standby, sdb (group 2) is up.
  engine.on_check_started(path_ids[0], clock.now());
  engine.on_check_result(path_ids[0], CheckVerdict::Ghost, clock.now());
  auto a = take();
  ASSERT_EQ(count(a, Kind::SwitchGroup), 1u);
  EXPECT_EQ(
      std::find_if(a.begin(), a.end(), [](const Action& x) { return x.kind == Kind::SwitchGroup; })->group,
      2);

  // The kernel failed sdb on I/O; its check has not run yet. sdc (group 3)
  // is up and active: I/O belongs there, not on sdb's group.
  report_status(m, {true, false, true}, true, 3, {1, 2, 3});
  a = take();
  EXPECT_EQ(count(a, Kind::SwitchGroup), 0u) << "no switch to a group whose only path the kernel failed";
  EXPECT_EQ(engine.maps().at(m).current_group, 3);
}

// Every usable path a ghost: the groups' order is stale, so I/O stays on
// the current group rather than moving to the lowest-numbered one.
TEST_F(EngineTest, WithOnlyGhostsUsableTheCurrentGroupIsKept) {
  MapId m = make_map(2);
  report_status(m, {true, true}, true, 1, {1, 2});
  for (PathId p : {path_ids[0], path_ids[1]}) {
    engine.on_check_started(p, clock.now());
    engine.on_check_result(p, CheckVerdict::Ghost, clock.now());
  }
  take();
  // The kernel carries I/O on group 2 (as after a failover).
  report_status(m, {true, true}, true, 2, {1, 2});
  clock.advance(5s);
  engine.tick(clock.now());
  auto a = take();
  EXPECT_EQ(count(a, Kind::SwitchGroup), 0u) << "both ghosts: no reason to leave group 2";
  EXPECT_EQ(engine.maps().at(m).current_group, 2);
  // A check finds path 1 up: its group is better now.
  engine.on_check_started(path_ids[0], clock.now());
  engine.on_check_result(path_ids[0], CheckVerdict::Up, clock.now());
  a = take();
  ASSERT_EQ(count(a, Kind::SwitchGroup), 1u);
  EXPECT_EQ(engine.maps().at(m).current_group, 1);
}

TEST_F(EngineTest, RunningOutOfSlotsIsCountedNotFatal) {
  for (uint32_t i = 0; i < limits.max_paths; ++i)
    ASSERT_NE(engine.add_path("sd" + std::to_string(i), {8, i}, "w", CheckerKind::Tur, clock.now()), kNoSlot);
  EXPECT_EQ(engine.add_path("sdz", {9, 0}, "w", CheckerKind::Tur, clock.now()), kNoSlot);
  EXPECT_EQ(engine.counters().paths_refused, 1u);
  EXPECT_EQ(engine.add_path(std::string(40, 'x'), {9, 1}, "w", CheckerKind::Tur, clock.now()), kNoSlot);
  EXPECT_EQ(engine.counters().paths_refused, 2u);
}

TEST_F(EngineTest, OperatorFailHoldsUntilReinstated) {
  make_map(2);
  PathId p = path_ids[1];
  EXPECT_TRUE(engine.admin_fail(p, clock.now()));
  EXPECT_EQ(count(take(), Kind::FailPath), 1u);
  clock.advance(5s);
  check_all(CheckVerdict::Up);
  EXPECT_EQ(count(take(), Kind::ReinstatePath), 0u);
  EXPECT_TRUE(engine.admin_reinstate(p, clock.now()));
  EXPECT_EQ(count(take(), Kind::ReinstatePath), 1u);
}

// A failed path's transport is read every transport_probe_interval; when it
// comes back from down, the path is checked at once, not at its next
// failed_polling_interval.
TEST_F(EngineTest, ATransportBackFromDownIsCheckedAtOnce) {
  timing.failed_polling_interval = 5s;
  timing.transport_probe_interval = 250ms;
  engine.set_timing(timing);
  make_map(2);
  PathId p = path_ids[0];
  round_with_down(p);
  EXPECT_LE(engine.next_wakeup(), clock.now()) << "the first probe is due at once";

  // Probes of the failed path only, one per interval.
  engine.tick(clock.now());
  auto a = take();
  ASSERT_EQ(count(a, Kind::ProbeTransport), 1u);
  EXPECT_EQ(a[0].path, p);
  EXPECT_EQ(engine.next_wakeup(), clock.now() + 250ms);
  engine.on_transport_state(p, false, clock.now());  // session failed
  clock.advance(100ms);
  engine.tick(clock.now());
  EXPECT_EQ(count(take(), Kind::ProbeTransport), 0u);

  // The transport returns: a check now, 4.6 s before its interval.
  clock.advance(150ms);
  engine.tick(clock.now());
  ASSERT_EQ(count(take(), Kind::ProbeTransport), 1u);
  engine.on_transport_state(p, true, clock.now());
  EXPECT_LE(engine.next_wakeup(), clock.now());
  engine.tick(clock.now());
  a = take();
  ASSERT_EQ(count(a, Kind::StartCheck), 1u);
  EXPECT_EQ(a[0].path, p);
  engine.on_check_started(p, clock.now());
  engine.on_check_result(p, CheckVerdict::Up, clock.now());
  EXPECT_EQ(count(take(), Kind::ReinstatePath), 1u);

  // Healthy again: no more probes.
  clock.advance(1s);
  engine.tick(clock.now());
  EXPECT_EQ(count(take(), Kind::ProbeTransport), 0u);
}

// A command hung on a running device: the transport says up all along, which
// says nothing new. No early checks (each would answer Busy).
TEST_F(EngineTest, ATransportUpAllAlongTriggersNoEarlyCheck) {
  timing.failed_polling_interval = 5s;
  engine.set_timing(timing);
  make_map(2);
  round_with_down(path_ids[0]);
  for (int i = 0; i < 16; ++i) {
    clock.advance(250ms);
    engine.tick(clock.now());
    auto a = take();
    EXPECT_EQ(count(a, Kind::StartCheck), 0u) << "probe " << i;
    for (const Action& x : a)
      if (x.kind == Kind::ProbeTransport) engine.on_transport_state(x.path, true, clock.now());
  }
}

TEST_F(EngineTest, NoProbesWhenTheIntervalIsZero) {
  timing.transport_probe_interval = 0ms;
  engine.set_timing(timing);
  make_map(2);
  round_with_down(path_ids[0]);
  EXPECT_EQ(engine.next_wakeup(), clock.now() + 1s);
  for (int i = 0; i < 4; ++i) {
    clock.advance(200ms);
    engine.tick(clock.now());
    EXPECT_EQ(count(take(), Kind::ProbeTransport), 0u);
  }
}

// changes() moves with a path's state, not with checks that confirm it: the
// daemon publishes a snapshot at once for the first, once a second for these.
TEST_F(EngineTest, ChangesCountStateChangesNotConfirmingChecks) {
  make_map(2);
  const uint64_t before = engine.changes();
  for (int i = 0; i < 3; ++i) {
    clock.advance(5s);
    check_all(CheckVerdict::Up);
    take();
  }
  EXPECT_EQ(engine.changes(), before);
  clock.advance(5s);
  check_all(CheckVerdict::Down);
  EXPECT_EQ(engine.changes(), before + 2);
}

TEST_F(EngineTest, TheDataPlaneAllocatesNothing) {
  MapId m = make_map(3);
  (void)m;
  pk::test::heap_guard::arm();
  for (int round = 0; round < 2000; ++round) {
    clock.advance(500ms);
    engine.tick(clock.now());
    // Copy the actions into a fixed array: the daemon does the same.
    std::array<Action, 64> todo{};
    size_t n = std::min(todo.size(), engine.actions().size());
    std::copy_n(engine.actions().begin(), n, todo.begin());
    engine.clear_actions();
    for (size_t i = 0; i < n; ++i) {
      if (todo[i].kind != Kind::StartCheck) continue;
      engine.on_check_started(todo[i].path, clock.now());
      CheckVerdict v = (round / 100) % 2 ? CheckVerdict::Down : CheckVerdict::Up;
      engine.on_check_result(todo[i].path, v, clock.now());
    }
    engine.clear_actions();
    (void)engine.next_wakeup();
  }
  pk::test::heap_guard::disarm();
  EXPECT_EQ(pk::test::heap_guard::count(), 0u)
      << "first heap call from " << pk::test::heap_guard::first_caller();
  EXPECT_GT(engine.paths().at(path_ids[0]).checks, 100u) << "the loop really ran checks";
}

}  // namespace
