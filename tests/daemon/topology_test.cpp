// The behaviour of the wired daemon, one test per planner rule: what the
// kernel's maps look like after discovery, adoption, a path coming or going,
// an array changing its ALUA states, and a map removed behind its back.
#include <gtest/gtest.h>

#include "tests/daemon/harness.h"
#include "tests/steady/guard.h"

using namespace pk;
using namespace std::chrono_literals;
using core::AluaState;

namespace {

constexpr std::string_view kLun = "36001405000000000000000000000000a";
constexpr std::string_view kLun2 = "36001405000000000000000000000000b";
const std::string kUuid = "mpath-" + std::string(kLun);

// What the daemon builds for two paths of one LUN without ALUA.
constexpr std::string_view kTwoPathTable =
    "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 "
    "service-time 0 2 2 8:0 1 1 8:16 1 1";

struct Behaviour : ::testing::Test {
  behaviour::Harness h;
};

// ------------------------------------------------------------ discovery

TEST_F(Behaviour, TwoPathsOfAWwidBecomeOneMapNamedByTheWwid) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_EQ(h.world.counts.creates, 1u);
  EXPECT_EQ(h.table(kLun), kTwoPathTable);
  EXPECT_TRUE(h.world.path_active_in_dm("sda"));
  EXPECT_TRUE(h.world.path_active_in_dm("sdb"));
}

TEST_F(Behaviour, AWwidOnOnePathWaitsForMinPathsThenTheSecondPathMakesTheMap) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  h.world.hidden[1] = true;  // sdb is not there at start
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_FALSE(h.has_map(kLun)) << "one path is below discovery.min_paths 2";
  h.world.hotplug("sdb", adapters::DeviceAction::Add);
  h.run(5);
  EXPECT_EQ(h.table(kLun), kTwoPathTable);
}

TEST_F(Behaviour, ABlacklistedDeviceIsNoPath) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  h.add_disk("sdc", 32, kLun);
  h.config.blacklist.push_back({core::DeviceRule::Field::Devnode, "sdc", "", "test:1:1"});
  ASSERT_TRUE(h.start());
  h.run(5);
  EXPECT_EQ(h.table(kLun), kTwoPathTable) << "sdc stays out of the map";
  EXPECT_EQ(h.daemon().engine().find_path("sdc"), core::kNoSlot);
}

TEST_F(Behaviour, AConfiguredAliasNamesTheMapAndOnePathIsEnough) {
  h.add_disk("sda", 0, kLun);
  core::MapConfig m;
  m.wwid = std::string(kLun);
  m.alias = "oradata";
  m.settings = h.config.defaults;
  h.config.maps.push_back(m);
  ASSERT_TRUE(h.start());
  h.run(5);
  EXPECT_TRUE(h.has_map("oradata"));
  EXPECT_FALSE(h.has_map(kLun));
  EXPECT_EQ(h.world.map("oradata")->uuid.view(), kUuid);
}

TEST_F(Behaviour, AReconfiguredAliasRenamesTheLiveMapWithoutAReload) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  core::MapConfig m;
  m.wwid = std::string(kLun);
  m.alias = "oradata";
  m.settings = h.config.defaults;
  h.config.maps.push_back(m);
  ASSERT_TRUE(h.start());
  h.run(5);
  ASSERT_TRUE(h.has_map("oradata"));
  const core::DevT devt = h.world.map("oradata")->devt;
  core::Config next = h.config;
  next.maps[0].alias = "oralogs";
  h.reconfigure(next);
  h.run(5);
  EXPECT_FALSE(h.has_map("oradata"));
  ASSERT_TRUE(h.has_map("oralogs"));
  EXPECT_EQ(h.world.map("oralogs")->devt, devt) << "the same device";
  EXPECT_EQ(h.world.counts.renames, 1u);
  EXPECT_EQ(h.world.counts.reloads, 0u);
  EXPECT_EQ(h.world.counts.creates, 1u);
  const core::Engine& e = h.daemon().engine();
  EXPECT_NE(e.find_map_by_name("oralogs"), core::kNoSlot);
}

TEST_F(Behaviour, AMapAdoptedUnderAnotherNameKeepsItOnReconfigure) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  h.leave_map("mpatha", kUuid, kTwoPathTable);  // as multipathd named it
  ASSERT_TRUE(h.start());
  h.run(5);
  h.reconfigure(h.config);
  h.run(5);
  EXPECT_TRUE(h.has_map("mpatha"));
  EXPECT_EQ(h.world.counts.renames, 0u);
}

// ------------------------------------------------------------ adoption

TEST_F(Behaviour, AMapWhoseTableMatchesIsAdoptedWithoutAReload) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  h.leave_map(kLun, kUuid, kTwoPathTable);
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_EQ(h.world.counts.creates, 0u);
  EXPECT_EQ(h.world.counts.reloads, 0u);
  EXPECT_TRUE(h.daemon().engine().maps().at(h.daemon().engine().find_map_by_name(kLun)).in_kernel);
}

TEST_F(Behaviour, AMapWhoseTableDiffersIsAdoptedAndReloaded) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  h.leave_map(kLun, kUuid,
              "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 "
              "service-time 0 1 2 8:0 1 1");
  ASSERT_TRUE(h.start());
  h.run(5);
  EXPECT_EQ(h.world.counts.creates, 0u);
  EXPECT_EQ(h.world.counts.reloads, 1u);
  EXPECT_EQ(h.table(kLun), kTwoPathTable);
}

TEST_F(Behaviour, DmDevicesThatAreNotOursAreLeftAlone) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  h.leave_map("vg-root", "LVM-abcdef",
              "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 "
              "service-time 0 1 2 8:0 1 1");
  h.leave_map("other", "mpath-" + std::string(kLun2), kTwoPathTable, /*multipath=*/false);
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_EQ(h.daemon().engine().find_map_by_name("vg-root"), core::kNoSlot);
  EXPECT_EQ(h.daemon().engine().find_map_by_name("other"), core::kNoSlot);
  EXPECT_EQ(h.world.counts.reloads, 0u) << "never reloaded";
  EXPECT_EQ(h.world.counts.creates, 1u) << "only the map for the paths";
}

// ------------------------------------------------------------ paths come and go

TEST_F(Behaviour, APathAddedJoinsAndAPathRemovedLeavesByReload) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  h.add_disk("sdc", 32, kLun);
  h.world.hidden[2] = true;
  ASSERT_TRUE(h.start());
  h.run(5);
  ASSERT_EQ(h.table(kLun), kTwoPathTable);
  h.world.hotplug("sdc", adapters::DeviceAction::Add);
  h.run(5);
  EXPECT_EQ(h.world.counts.reloads, 1u);
  EXPECT_EQ(h.table(kLun),
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 "
            "service-time 0 3 2 8:0 1 1 8:16 1 1 8:32 1 1");
  h.world.hotplug("sda", adapters::DeviceAction::Remove);
  h.run(5);
  EXPECT_EQ(h.world.counts.reloads, 2u);
  EXPECT_EQ(h.table(kLun),
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 "
            "service-time 0 2 2 8:16 1 1 8:32 1 1");
}

// The array remapped the LUN behind sdb, and a rescan made the kernel read
// its new identity: the change uevent carries another WWID. sdb is failed in
// its old map at once (a message, before any reload), leaves it, and joins
// the map of its new LUN.
TEST_F(Behaviour, APathWhoseLunWasReplacedLeavesItsMapAtOnceAndJoinsTheNewOne) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  h.add_disk("sdc", 32, kLun2);
  h.add_disk("sdd", 48, kLun2);
  ASSERT_TRUE(h.start());
  h.run(5);
  ASSERT_EQ(h.table(kLun), kTwoPathTable);
  const uint64_t fails_before = h.world.counts.fail_path;
  h.world.path("sdb")->wwid.assign(kLun2);
  h.world.hotplug("sdb", adapters::DeviceAction::Change);
  h.run(1);
  EXPECT_EQ(h.world.counts.fail_path, fails_before + 1) << "sdb failed in its old map";
  EXPECT_EQ(h.table(kLun),
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 "
            "service-time 0 1 2 8:0 1 1");
  EXPECT_EQ(h.table(kLun2),
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 "
            "service-time 0 3 2 8:16 1 1 8:32 1 1 8:48 1 1");
  const core::Engine& e = h.daemon().engine();
  EXPECT_EQ(e.paths().at(e.find_path("sdb")).wwid.view(), kLun2);
}

// The same remap, and a rescan that sends no uevent (the new LUN has the
// old one's size, or udev is stopped): the kernel's identity in sysfs has
// changed, and the next check of sdb sees it. sdb is failed at once, leaves
// the map before the check's answer (from the other LUN) could reinstate it,
// and udev is asked for a change event, whose new WWID puts it in its new map.
TEST_F(Behaviour, APathWhoseIdentityChangedWithoutAUeventLeavesItsMapAtTheNextCheck) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  h.add_disk("sdc", 32, kLun2);
  h.add_disk("sdd", 48, kLun2);
  ASSERT_TRUE(h.start());
  h.run(5);
  ASSERT_EQ(h.table(kLun), kTwoPathTable);
  const uint64_t fails_before = h.world.counts.fail_path;
  behaviour::Harness::write_file(h.folder() + "/block/sdb/device/wwid", "naa." + std::string(kLun2) + "\n");
  h.run(1);
  EXPECT_EQ(h.table(kLun), kTwoPathTable) << "nothing is known before sdb's next check";
  // Within one polling interval (the tests' default) sdb is checked.
  h.run(static_cast<int>(h.config.timing.polling_interval / 100ms) + 1);
  EXPECT_EQ(h.world.counts.fail_path, fails_before + 1) << "sdb failed in its old map";
  EXPECT_EQ(h.table(kLun),
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 "
            "service-time 0 1 2 8:0 1 1");
  EXPECT_EQ(h.daemon().engine().find_path("sdb"), core::kNoSlot) << "no path until udev names its LUN";
  EXPECT_EQ(behaviour::Harness::read_file(h.folder() + "/block/sdb/uevent"), "change");
  // udev's change event, with the WWID it read anew.
  h.world.path("sdb")->wwid.assign(kLun2);
  h.world.hotplug("sdb", adapters::DeviceAction::Change);
  h.run(1);
  EXPECT_EQ(h.table(kLun2),
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 "
            "service-time 0 3 2 8:16 1 1 8:32 1 1 8:48 1 1");
}

// A device whose size disagrees with the map of its WWID is refused: smaller
// and the kernel would refuse the table; larger and it is another LUN, or one
// that grew before its map did. Said loudly, and in show paths; once the map
// is resized to it (its other paths grew) it joins.
TEST_F(Behaviour, APathWhoseSizeDisagreesWithItsMapIsRefusedAndSaysWhy) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  h.add_disk("sdc", 32, kLun);
  h.world.hidden[2] = true;
  ASSERT_TRUE(h.start());
  h.run(5);
  ASSERT_EQ(h.table(kLun), kTwoPathTable);
  behaviour::Harness::write_file(h.folder() + "/block/sdc/size", "1024\n");
  h.world.hotplug("sdc", adapters::DeviceAction::Add);
  h.run(5);
  EXPECT_EQ(h.table(kLun), kTwoPathTable) << "sdc stays out";
  EXPECT_EQ(h.world.counts.reloads, 0u);
  const core::Engine& e = h.daemon().engine();
  const core::Path& sdc = e.paths().at(e.find_path("sdc"));
  EXPECT_EQ(sdc.map, core::kNoSlot);
  EXPECT_EQ(sdc.no_map_because.view(),
            "sdc says 1024 sectors, " + std::string(kLun) +
                " has 2048: smaller than its map: the kernel would refuse the table");
  const std::string paths = h.command("show paths");
  EXPECT_NE(paths.find("\"no_map_because\":\"sdc says 1024 sectors"), std::string::npos) << paths;
  // The LUN seen through sdc grows to the map's size (a rescan): it joins.
  h.world.set_size("sdc", 2048);
  h.run(5);
  EXPECT_EQ(h.table(kLun),
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 "
            "service-time 0 3 2 8:0 1 1 8:16 1 1 8:32 1 1");
  EXPECT_TRUE(e.paths().at(e.find_path("sdc")).no_map_because.empty());
}

// A change uevent without a WWID (udev could not read it) is no new LUN.
TEST_F(Behaviour, AChangeWithoutAWwidKeepsThePathInItsMap) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  ASSERT_TRUE(h.start());
  h.run(5);
  h.world.path("sdb")->wwid.assign("");
  h.world.hotplug("sdb", adapters::DeviceAction::Change);
  h.run(5);
  EXPECT_EQ(h.table(kLun), kTwoPathTable);
  EXPECT_EQ(h.world.counts.reloads, 0u);
}

TEST_F(Behaviour, AMapRemovedBehindTheDaemonsBackIsMadeAgainOnlyWhenItsPathsCome) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  ASSERT_TRUE(h.start());
  h.run(5);
  ASSERT_TRUE(h.has_map(kLun));
  h.world.remove_map_behind_the_back(kLun);
  h.run(1);
  const core::Engine& e = h.daemon().engine();
  EXPECT_FALSE(e.maps().at(e.find_map_by_name(kLun)).in_kernel) << "seen within one loop turn";
  h.run(100);  // checks and failures go on; nothing makes the map again
  EXPECT_FALSE(h.has_map(kLun));
  EXPECT_EQ(h.world.counts.creates, 1u);
  h.world.hotplug("sdb", adapters::DeviceAction::Remove);
  h.world.hotplug("sdb", adapters::DeviceAction::Add);
  h.run(5);
  EXPECT_TRUE(h.has_map(kLun)) << "its path came again";
  EXPECT_EQ(h.world.counts.creates, 2u);
}

// ------------------------------------------------------------ ALUA

struct Alua : Behaviour {
  void SetUp() override {
    h.add_disk("sda", 0, kLun, AluaState::Optimized, 10);
    h.add_disk("sdb", 16, kLun, AluaState::Standby, 20);
  }
  static constexpr std::string_view kATable =
      "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 1 alua 2 1 "
      "service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:16 1 1";
  static constexpr std::string_view kBTable =
      "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 1 alua 2 1 "
      "service-time 0 1 2 8:16 1 1 service-time 0 1 2 8:0 1 1";
};

TEST_F(Alua, TheOptimizedPortLeadsTheNewMap) {
  ASSERT_TRUE(h.start());
  h.run(5);
  EXPECT_EQ(h.table(kLun), kATable);
  EXPECT_EQ(h.active_group_devs(kLun), std::vector<std::string>{"sda"});
}

// The array moves the optimized port group (an NDU): the map follows at the
// next check, by a reload, and the standby port never leads it again. Under
// the steady suite's guard: no heap call from the flip to the end.
TEST_F(Alua, AFlipReloadsTheMapAndAStandbyPortNeverLeads) {
  ASSERT_TRUE(h.start());
  h.run(30);
  ASSERT_EQ(h.table(kLun), kATable);

  steady::guard_arm();
  h.world.set_alua("sda", AluaState::Standby);
  h.world.set_alua("sdb", AluaState::Optimized);
  int turns_to_follow = -1;
  bool standby_led_after = false;
  for (int turn = 0; turn < 100; ++turn) {  // 10 s
    h.run(1);
    const bool on_b = h.active_group_is(kLun, "sdb");
    if (turns_to_follow < 0 && on_b) turns_to_follow = turn + 1;
    if (turns_to_follow >= 0 && !on_b) standby_led_after = true;
  }
  steady::Violations v = steady::guard_violations();
  steady::guard_disarm();

  ASSERT_GE(turns_to_follow, 1) << "never followed; table now " << h.table(kLun);
  EXPECT_LE(turns_to_follow, 21) << "within one polling interval (2 s) and a turn";
  EXPECT_FALSE(standby_led_after);
  EXPECT_EQ(h.table(kLun), kBTable);
  EXPECT_EQ(h.world.counts.reloads, 1u);
  EXPECT_EQ(h.world.counts.fail_path, 0u) << "a standby port is a ghost, not a failure";
  EXPECT_EQ(v.heap, 0u) << "first heap call from " << v.first_heap_caller;

  // And back, as after the upgrade of the other controller.
  h.world.set_alua("sdb", AluaState::Standby);
  h.world.set_alua("sda", AluaState::Optimized);
  h.run(30);
  EXPECT_EQ(h.table(kLun), kATable);
  EXPECT_EQ(h.active_group_devs(kLun), std::vector<std::string>{"sda"});
}

// As on a real array under I/O: the kernel fails the port that went to
// standby before any check runs (its alua handler refuses the I/O), and
// moves I/O to the other group by itself. The daemon must not switch back to
// the failed group while it learns why, nor at any turn after.
TEST_F(Alua, UnderIoTheKernelFailsTheStandbyPortFirstAndIOStaysOnTheOptimizedOne) {
  ASSERT_TRUE(h.start());
  h.run(30);
  ASSERT_TRUE(h.active_group_is(kLun, "sda"));
  h.world.set_alua("sda", AluaState::Standby);
  h.world.set_alua("sdb", AluaState::Optimized);
  h.world.kernel_fails("sda");
  ASSERT_TRUE(h.active_group_is(kLun, "sdb")) << "the kernel's own failover";
  int turns_on_standby = 0;
  for (int turn = 0; turn < 100; ++turn) {
    h.run(1);
    turns_on_standby += h.active_group_is(kLun, "sda") ? 1 : 0;
  }
  EXPECT_EQ(turns_on_standby, 0);
  EXPECT_EQ(h.table(kLun), kBTable);
  EXPECT_TRUE(h.world.path_active_in_dm("sda")) << "a standby port stays in the map, last";
}

// Arrays move port groups one after the other: for a moment both ports are
// standby. The map is reloaded once, when the new optimized port shows,
// not also for the moment between.
TEST_F(Alua, AFlipInTwoStepsReloadsOnce) {
  ASSERT_TRUE(h.start());
  h.run(30);
  h.world.set_alua("sda", AluaState::Standby);
  h.world.kernel_fails("sda");
  h.run(5);
  EXPECT_EQ(h.world.counts.reloads, 0u) << "no port can serve: nothing to reorder yet";
  h.world.set_alua("sdb", AluaState::Optimized);
  h.run(25);
  EXPECT_EQ(h.world.counts.reloads, 1u);
  EXPECT_EQ(h.table(kLun), kBTable);
  EXPECT_TRUE(h.active_group_is(kLun, "sdb"));
}

TEST_F(Alua, AChangeThatKeepsTheOrderReloadsNothing) {
  ASSERT_TRUE(h.start());
  h.run(30);
  h.world.set_alua("sda", AluaState::NonOptimized);  // still ahead of standby
  h.run(30);
  EXPECT_EQ(h.world.counts.reloads, 0u);
  EXPECT_EQ(h.table(kLun), kATable);
  const core::Engine& e = h.daemon().engine();
  EXPECT_EQ(e.paths().at(e.find_path("sda")).alua.state, AluaState::NonOptimized);
}

// The kernel moved to the standby group when the optimized port failed; when
// it returns, a switch_group (no reload) brings I/O back.
TEST_F(Alua, AReturningBetterGroupIsSwitchedToWithoutAReload) {
  ASSERT_TRUE(h.start());
  h.run(30);
  h.world.set_behaviour("sda", steady::Behaviour::Down);
  h.run(10);
  ASSERT_EQ(h.active_group_devs(kLun), std::vector<std::string>{"sdb"});
  h.world.set_behaviour("sda", steady::Behaviour::Up);
  h.run(30);
  EXPECT_EQ(h.active_group_devs(kLun), std::vector<std::string>{"sda"});
  EXPECT_GE(h.world.counts.switch_group, 1u);
  EXPECT_EQ(h.world.counts.reloads, 0u);
}

// Transitioning (02/04/0a) is the array at work: the path stays pending, is
// not failed, and the map keeps queueing, past checker_timeout (3 s here).
TEST_F(Alua, ATransitioningPortIsNotFailed) {
  ASSERT_TRUE(h.start());
  h.run(30);
  h.world.set_alua("sda", AluaState::Transitioning);
  h.run(150);  // 15 s
  const core::Engine& e = h.daemon().engine();
  EXPECT_EQ(e.paths().at(e.find_path("sda")).state, core::PathState::Pending);
  EXPECT_EQ(h.world.counts.fail_path, 0u);
  EXPECT_TRUE(h.world.path_active_in_dm("sda"));
  EXPECT_EQ(h.world.counts.reloads, 0u) << "a port in transition keeps its place";
  EXPECT_TRUE(h.world.map_queueing(0));
  // The transition ends with the groups swapped: the map follows.
  h.world.set_alua("sda", AluaState::Standby);
  h.world.set_alua("sdb", AluaState::Optimized);
  h.run(30);
  EXPECT_EQ(h.table(kLun), kBTable);
  EXPECT_EQ(h.active_group_devs(kLun), std::vector<std::string>{"sdb"});
}

// The optimized port goes transitioning, then standby, and only then is the
// other port made optimized (as LIO and arrays do in an NDU): for a moment
// both ports are standby. I/O stays on the group it is on (the other port's)
// rather than going back to the port that just left; the map follows the
// new optimized port at its check.
TEST_F(Alua, WhenBothPortsAreStandbyIOStaysOnTheGroupItIsOn) {
  ASSERT_TRUE(h.start());
  h.run(30);
  h.world.set_alua("sda", AluaState::Transitioning);
  h.run(50);
  ASSERT_EQ(h.active_group_devs(kLun), std::vector<std::string>{"sdb"}) << "sda is in transition";
  h.world.set_alua("sda", AluaState::Standby);
  int turns_on_sda = 0;
  for (int turn = 0; turn < 50; ++turn) {  // 5 s: sda's checks say standby
    h.run(1);
    turns_on_sda += h.active_group_is(kLun, "sda") ? 1 : 0;
  }
  EXPECT_EQ(turns_on_sda, 0) << "I/O went back to the port that had just left";
  h.world.set_alua("sdb", AluaState::Optimized);
  h.run(30);
  EXPECT_EQ(h.table(kLun), kBTable);
  EXPECT_EQ(h.active_group_devs(kLun), std::vector<std::string>{"sdb"});
}

TEST_F(Alua, GroupByTpgGroupsPathsByTheirPortGroup) {
  h.add_disk("sdc", 32, kLun, AluaState::Optimized, 10);
  h.add_disk("sdd", 48, kLun, AluaState::Standby, 20);
  h.config.defaults.grouping = core::Grouping::GroupByTpg;
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_EQ(h.table(kLun),
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 1 alua 2 1 "
            "service-time 0 2 2 8:0 1 1 8:32 1 1 service-time 0 2 2 8:16 1 1 8:48 1 1");
}

}  // namespace
