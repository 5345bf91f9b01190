// Which disks become maps (discovery.find_multipaths and the known WWIDs of
// the wwids file), and a reconfigure that changes the blacklist or the mode
// for devices already known: the wired daemon over fakes, on a manual clock.
#include <gtest/gtest.h>

#include "tests/daemon/harness.h"

using namespace pk;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kLun = "36001405000000000000000000000000a";
constexpr std::string_view kSingle = "36001405000000000000000000000000c";

struct Discovery : ::testing::Test {
  behaviour::Harness h;

  // sda and sdb: two paths of kLun; sdc: the only path of kSingle.
  void disks() {
    h.add_disk("sda", 0, kLun);
    h.add_disk("sdb", 16, kLun);
    h.add_disk("sdc", 32, kSingle);
  }
  void know(std::string_view wwid) {
    behaviour::Harness::write_file(h.config.wwids_file,
                                   std::string(core::kWwidsHeader) + "/" + std::string(wwid) + "/\n");
  }
  size_t paths_in(std::string_view map) {
    const steady::FakeMap* m = h.world.map(map);
    return m ? m->table.paths.size() : 0;
  }
  static core::DeviceRule devnode(std::string_view pattern) {
    core::DeviceRule r;
    r.field = core::DeviceRule::Field::Devnode;
    r.pattern = std::string(pattern);
    return r;
  }
};

// ------------------------------------------------------------ modes

TEST_F(Discovery, OnMapsTwoPathsNotASinglePathDisk) {
  disks();
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_TRUE(h.has_map(kLun));
  EXPECT_FALSE(h.has_map(kSingle)) << "a local disk with one path stays a disk";
}

TEST_F(Discovery, AKnownWwidWithOnePathAtStartIsMapped) {
  disks();
  know(kSingle);
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_TRUE(h.has_map(kSingle)) << "made into a map before: it stays one, degraded";
  EXPECT_EQ(paths_in(kSingle), 1u);
}

TEST_F(Discovery, AWwidMadeIntoAMapStaysOneWhenItComesBackWithOnePath) {
  disks();
  ASSERT_TRUE(h.start());
  h.run(10);
  ASSERT_TRUE(h.has_map(kLun));
  h.world.hotplug("sda", adapters::DeviceAction::Remove);
  h.world.hotplug("sdb", adapters::DeviceAction::Remove);
  h.run(3);
  ASSERT_FALSE(h.has_map(kLun)) << "its last path went: removed";
  h.world.hotplug("sda", adapters::DeviceAction::Add);
  h.run(3);
  EXPECT_TRUE(h.has_map(kLun)) << "known: one path is enough";
}

TEST_F(Discovery, StrictMapsOnlyKnownAndConfiguredWwids) {
  disks();
  h.add_disk("sdd", 48, "36001405000000000000000000000000d");
  h.add_disk("sde", 64, "36001405000000000000000000000000d");
  h.config.find_multipaths = core::FindMultipaths::Strict;
  know(kLun);
  core::MapConfig m;
  m.wwid = std::string(kSingle);
  h.config.maps.push_back(m);
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_TRUE(h.has_map(kLun)) << "known";
  EXPECT_TRUE(h.has_map(kSingle)) << "configured";
  EXPECT_FALSE(h.has_map("36001405000000000000000000000000d"))
      << "two paths, but neither known nor configured";
}

TEST_F(Discovery, GreedyMapsEverySinglePathDisk) {
  disks();
  h.config.find_multipaths = core::FindMultipaths::Greedy;
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_TRUE(h.has_map(kLun));
  EXPECT_TRUE(h.has_map(kSingle));
}

// ------------------------------------------------------------ smart

struct Smart : Discovery {
  void SetUp() override {
    h.add_disk("sdc", 32, kSingle);
    h.add_disk("sdd", 48, kSingle);
    h.world.hotplug("sdd", adapters::DeviceAction::Remove);  // not there yet
    h.config.find_multipaths = core::FindMultipaths::Smart;
    h.config.find_multipaths_timeout = 10s;
  }
};

TEST_F(Smart, ASecondPathWithinTheTimeoutMakesTheMap) {
  ASSERT_TRUE(h.start());
  h.run(95);  // 9.5 s: held
  EXPECT_FALSE(h.has_map(kSingle));
  h.world.hotplug("sdd", adapters::DeviceAction::Add);
  h.run(2);
  EXPECT_TRUE(h.has_map(kSingle));
  EXPECT_EQ(paths_in(kSingle), 2u);
}

TEST_F(Smart, ASinglePathIsReleasedAtTheTimeoutAndALatePathMakesNoMap) {
  ASSERT_TRUE(h.start());
  h.run(105);  // 10.5 s: released
  EXPECT_FALSE(h.has_map(kSingle));
  h.world.hotplug("sdd", adapters::DeviceAction::Add);
  h.run(5);
  EXPECT_FALSE(h.has_map(kSingle)) << "released: the disk may be in use as a plain disk by now";
  // Every path gone, the LUN presented again: waited for anew.
  h.world.hotplug("sdc", adapters::DeviceAction::Remove);
  h.world.hotplug("sdd", adapters::DeviceAction::Remove);
  h.run(2);
  h.world.hotplug("sdc", adapters::DeviceAction::Add);
  h.run(20);
  h.world.hotplug("sdd", adapters::DeviceAction::Add);
  h.run(2);
  EXPECT_TRUE(h.has_map(kSingle));
}

TEST_F(Smart, TheReleaseIsDecidedByTheClockAloneWithNoEvent) {
  h.config.timing.polling_interval = 60s;  // no check wakes the loop meanwhile
  ASSERT_TRUE(h.start());
  // One long turn: the release is decided on the clock alone.
  h.run(1, 10500ms);
  h.world.hotplug("sdd", adapters::DeviceAction::Add);
  h.run(2);
  EXPECT_FALSE(h.has_map(kSingle));
}

// ------------------------------------------------------------ reconfigure

TEST_F(Discovery, ReconfigureBlacklistingAPathTakesItOutOfItsLiveMapAndBack) {
  disks();
  ASSERT_TRUE(h.start());
  h.run(10);
  ASSERT_EQ(paths_in(kLun), 2u);
  core::Config next = h.config;
  next.blacklist.push_back(devnode("sda"));
  h.reconfigure(next);
  h.run(2);
  EXPECT_EQ(paths_in(kLun), 1u) << "sda left the map, no uevent needed";
  EXPECT_FALSE(h.world.path_active_in_dm("sda"));
  EXPECT_EQ(h.daemon().engine().find_path("sda"), core::kNoSlot) << "no longer a path: not checked";
  h.reconfigure(h.config);  // the rule gone again
  h.run(2);
  EXPECT_EQ(paths_in(kLun), 2u) << "sda joined again without waiting for a uevent";
  EXPECT_NE(h.daemon().engine().find_path("sda"), core::kNoSlot);
}

TEST_F(Discovery, ReconfigureBlacklistingEveryPathOfAnUnusedMapRemovesIt) {
  disks();
  ASSERT_TRUE(h.start());
  h.run(10);
  core::Config next = h.config;
  next.blacklist.push_back(devnode("sd[ab]"));
  h.reconfigure(next);
  h.run(2);
  EXPECT_FALSE(h.has_map(kLun)) << "a map left with no path goes, as when its last path is removed";
  EXPECT_EQ(h.world.counts.removed_while_queueing, 0u);
}

TEST_F(Discovery, ReconfigureBlacklistingEveryPathOfAnOpenMapKeepsIt) {
  disks();
  ASSERT_TRUE(h.start());
  h.run(10);
  h.world.map(kLun)->holders = 1;  // mounted
  core::Config next = h.config;
  next.blacklist.push_back(devnode("sd[ab]"));
  h.reconfigure(next);
  h.run(2);
  EXPECT_TRUE(h.has_map(kLun)) << "kept while open, as removal does";
  EXPECT_EQ(h.world.counts.removes, 0u);
}

TEST_F(Discovery, ReconfigureToGreedyMapsASinglePathDiskAtOnce) {
  disks();
  ASSERT_TRUE(h.start());
  h.run(10);
  ASSERT_FALSE(h.has_map(kSingle));
  core::Config next = h.config;
  next.find_multipaths = core::FindMultipaths::Greedy;
  h.reconfigure(next);
  h.run(2);
  EXPECT_TRUE(h.has_map(kSingle));
}

TEST_F(Discovery, ADiskBlacklistedAtStartIsPickedUpByAReconfigureThatAllowsIt) {
  disks();
  h.config.blacklist.push_back(devnode("sdb"));
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_FALSE(h.has_map(kLun)) << "one path left of two: below min_paths";
  core::Config next = h.config;
  next.blacklist.clear();
  h.reconfigure(next);
  h.run(2);
  EXPECT_EQ(paths_in(kLun), 2u);
}

}  // namespace
