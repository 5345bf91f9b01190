// The map lifecycle, carried out by the wired daemon: a map whose last path
// goes away, an operator's remove map / remove path / add path, and a LUN
// that grows or shrinks (core/topology's plan_removal and plan_resize).
#include <gtest/gtest.h>

#include "tests/daemon/harness.h"

using namespace pk;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kLun = "36001405000000000000000000000000a";

struct Lifecycle : ::testing::Test {
  behaviour::Harness h;

  // Two paths of one LUN, the map built and checked.
  void two_paths() {
    h.add_disk("sda", 0, kLun);
    h.add_disk("sdb", 16, kLun);
    ASSERT_TRUE(h.start());
    h.run(10);
    ASSERT_TRUE(h.has_map(kLun));
  }
  // The daemon's record of the map (an empty one when it has none).
  const core::Map& map() {
    static const core::Map kNone;
    core::MapId id = h.daemon().engine().find_map_by_name(kLun);
    return id == core::kNoSlot ? kNone : h.daemon().engine().maps().at(id);
  }
  bool knows_map() { return h.daemon().engine().find_map_by_name(kLun) != core::kNoSlot; }
  static bool has(const std::string& text, std::string_view what) {
    return text.find(what) != std::string::npos;
  }
};

// ------------------------------------------------------------ removal

TEST_F(Lifecycle, TheLastPathOfAnUnusedMapRemovedRemovesTheMap) {
  two_paths();
  h.world.hotplug("sda", adapters::DeviceAction::Remove);
  h.run(3);
  ASSERT_TRUE(h.has_map(kLun)) << "one path is left";
  EXPECT_EQ(h.world.map(kLun)->table.paths.size(), 1u);
  h.world.hotplug("sdb", adapters::DeviceAction::Remove);
  h.run(3);
  EXPECT_FALSE(h.has_map(kLun));
  EXPECT_FALSE(knows_map()) << "the daemon forgot it too";
  EXPECT_EQ(h.world.counts.removes, 1u);
  EXPECT_EQ(h.world.counts.removed_while_queueing, 0u) << "queueing was turned off before the removal";
  // The LUN comes back: a new map, under the same name.
  h.world.hotplug("sda", adapters::DeviceAction::Add);
  h.world.hotplug("sdb", adapters::DeviceAction::Add);
  h.run(3);
  EXPECT_TRUE(h.has_map(kLun));
}

TEST_F(Lifecycle, AnOpenMapLosingItsLastPathStaysQueueingPerNoPathRetryAndStatusSaysWhy) {
  h.config.defaults.no_path_retry.duration = 30s;
  two_paths();
  h.world.map(kLun)->holders = 1;  // mounted
  h.world.hotplug("sda", adapters::DeviceAction::Remove);
  h.world.hotplug("sdb", adapters::DeviceAction::Remove);
  h.run(3);
  ASSERT_TRUE(h.has_map(kLun));
  EXPECT_EQ(h.world.counts.removes, 0u);
  ASSERT_TRUE(knows_map());
  EXPECT_TRUE(has(std::string(map().kept_because.view()), "open")) << map().kept_because.c_str();
  EXPECT_TRUE(h.world.map_queueing(0)) << "it queues, as with every path down";
  std::string shown = h.command("show map " + std::string(kLun));
  EXPECT_TRUE(has(shown, "\"kept_because\":\"it is open")) << shown;
  h.run(310);  // 31 s: past no_path_retry
  EXPECT_FALSE(h.world.map_queueing(0)) << "no_path_retry ended queueing";
  // Unmounted: it goes within a few seconds, nothing is left of it.
  h.world.map(kLun)->holders = 0;
  h.run(60);
  EXPECT_FALSE(h.has_map(kLun));
  EXPECT_FALSE(knows_map()) << "nothing is left of a map without paths";
}

TEST_F(Lifecycle, AMapKeptOpenIsRemovedOnceNothingHoldsItAnyMore) {
  two_paths();
  h.world.add_partition(kLun, 1);
  h.run(2);
  h.world.map(std::string(kLun) + "-part1")->holders = 1;  // a udev probe, a mount
  h.world.hotplug("sda", adapters::DeviceAction::Remove);
  h.world.hotplug("sdb", adapters::DeviceAction::Remove);
  h.run(3);
  ASSERT_TRUE(h.has_map(kLun));
  EXPECT_TRUE(has(std::string(map().kept_because.view()), "-part1 has open count 1"))
      << map().kept_because.c_str();
  h.run(60);  // 6 s: looked at again, still held
  EXPECT_TRUE(h.has_map(kLun));
  h.world.map(std::string(kLun) + "-part1")->holders = 0;
  h.run(60);
  EXPECT_FALSE(h.has_map(kLun));
  EXPECT_FALSE(h.has_map(std::string(kLun) + "-part1"));
  EXPECT_FALSE(knows_map());
  EXPECT_EQ(h.world.counts.removes_refused, 0u);
  EXPECT_EQ(h.world.counts.removed_while_queueing, 0u);
}

TEST_F(Lifecycle, RemoveMapIsRefusedWhileOpenThenRemovesQueueingOffPartitionsThenTheMap) {
  two_paths();
  h.world.add_partition(kLun, 1);
  h.world.add_partition(kLun, 2);
  h.run(2);
  h.world.map(kLun)->holders = 1;  // LVM on the whole disk
  std::string refused = h.command("remove map " + std::string(kLun));
  EXPECT_TRUE(has(refused, "pk1 error failed")) << refused;
  EXPECT_TRUE(has(refused, "is not removed: it is open")) << refused;
  EXPECT_TRUE(has(refused, "open count 1")) << refused;
  EXPECT_TRUE(h.has_map(kLun));
  EXPECT_TRUE(h.world.map_queueing(0)) << "a refusal changes nothing";

  // A partition in use refuses it too, and is named.
  h.world.map(kLun)->holders = 0;
  h.world.map(std::string(kLun) + "-part2")->holders = 1;
  refused = h.command("remove map " + std::string(kLun));
  EXPECT_TRUE(has(refused, std::string(kLun) + "-part2 has open count 1")) << refused;

  h.world.map(std::string(kLun) + "-part2")->holders = 0;
  std::string done = h.command("remove map " + std::string(kLun));
  EXPECT_TRUE(has(done, "pk1 ok")) << done;
  EXPECT_TRUE(has(done, "and 2 partition(s)")) << done;
  EXPECT_FALSE(h.has_map(kLun));
  EXPECT_FALSE(h.has_map(std::string(kLun) + "-part1"));
  EXPECT_EQ(h.world.counts.removes, 3u);
  EXPECT_EQ(h.world.counts.removes_refused, 0u) << "never asked the kernel while something held it";
  EXPECT_EQ(h.world.counts.removed_while_queueing, 0u);

  // Its paths are still checked, but the map is not made again behind the
  // operator's back; `add path` of one of them brings it back.
  h.run(50);
  EXPECT_FALSE(h.has_map(kLun));
  EXPECT_TRUE(has(h.command("add path sda"), "made " + std::string(kLun) + " again"));
  EXPECT_TRUE(h.has_map(kLun));
}

TEST_F(Lifecycle, RemoveMapNamesWhatIsWrong) {
  two_paths();
  std::string none = h.command("remove map nosuch");
  EXPECT_TRUE(has(none, "pk1 error failed")) << none;
  EXPECT_TRUE(has(none, "no such map: nosuch")) << none;
  std::string usage = h.command("remove maps");
  EXPECT_TRUE(has(usage, "pk1 error usage")) << usage;
  EXPECT_TRUE(has(usage, "cannot remove 'maps'")) << usage;
}

// ------------------------------------------------------------ paths

TEST_F(Lifecycle, RemovePathTakesItOutUntilAddPathGivesItBack) {
  two_paths();
  std::string r = h.command("remove path sdb");
  EXPECT_TRUE(has(r, "pk1 ok")) << r;
  EXPECT_EQ(h.world.map(kLun)->table.paths.size(), 1u);
  EXPECT_EQ(h.daemon().engine().find_path("sdb"), core::kNoSlot);
  h.world.hotplug("sdb", adapters::DeviceAction::Change);  // a uevent does not bring it back
  h.run(3);
  EXPECT_EQ(h.daemon().engine().find_path("sdb"), core::kNoSlot);
  EXPECT_TRUE(has(h.command("add path sdb"), "added sdb to " + std::string(kLun)));
  EXPECT_EQ(h.world.map(kLun)->table.paths.size(), 2u);
  EXPECT_TRUE(has(h.command("add path sdb"), "sdb is a path already"));
  EXPECT_TRUE(has(h.command("add path sdz"), "no block device named sdz"));
}

// ------------------------------------------------------------ resize

TEST_F(Lifecycle, AGrownLunGrowsItsMapOnceEveryUsablePathSaysSo) {
  two_paths();
  const uint64_t reloads = h.world.counts.reloads;
  h.world.set_size("sda", 4096);  // sda rescanned, sdb not yet
  h.run(2);
  EXPECT_EQ(h.world.map(kLun)->sectors, 2048u);
  EXPECT_TRUE(has(std::string(map().resize_note.view()), "sda says 4096 sectors, sdb 2048"))
      << map().resize_note.c_str();
  h.world.set_size("sdb", 4096);
  h.run(2);
  EXPECT_EQ(h.world.map(kLun)->sectors, 4096u);
  EXPECT_EQ(h.world.counts.reloads, reloads + 1) << "one noflush reload";
  EXPECT_EQ(h.world.map(kLun)->table.paths.size(), 2u);
  EXPECT_TRUE(map().resize_note.empty());
  EXPECT_EQ(map().sectors, 4096u);
}

TEST_F(Lifecycle, AShrunkLunIsNeverAppliedNotEvenOnRequest) {
  two_paths();
  h.world.set_size("sda", 1024);
  h.world.set_size("sdb", 1024);
  h.run(2);
  EXPECT_EQ(h.world.map(kLun)->sectors, 2048u);
  EXPECT_TRUE(has(std::string(map().resize_note.view()), "shrinking is never applied"));
  std::string r = h.command("resize map " + std::string(kLun));
  EXPECT_TRUE(has(r, "pk1 error failed")) << r;
  EXPECT_TRUE(has(r, "keeps 2048 sectors")) << r;
  EXPECT_EQ(h.world.map(kLun)->sectors, 2048u);
}

TEST_F(Lifecycle, WithAutoResizeOffGrowthWaitsForResizeMap) {
  h.config.defaults.auto_resize = core::AutoResize::Off;
  two_paths();
  h.world.set_size("sda", 4096);
  h.world.set_size("sdb", 4096);
  h.run(2);
  EXPECT_EQ(h.world.map(kLun)->sectors, 2048u);
  EXPECT_TRUE(has(std::string(map().resize_note.view()), "auto_resize is off"));
  std::string r = h.command("resize map " + std::string(kLun));
  EXPECT_TRUE(has(r, "pk1 ok")) << r;
  EXPECT_TRUE(has(r, "grew from 2048 to 4096 sectors")) << r;
  EXPECT_EQ(h.world.map(kLun)->sectors, 4096u);
}

TEST_F(Lifecycle, AGrowthThatWaitedIsAppliedWhenAReconfigureTurnsAutoResizeOn) {
  h.config.defaults.auto_resize = core::AutoResize::Off;
  two_paths();
  h.world.set_size("sda", 4096);
  h.world.set_size("sdb", 4096);
  h.run(2);
  ASSERT_EQ(h.world.map(kLun)->sectors, 2048u);
  core::Config next = h.config;
  next.defaults.auto_resize = core::AutoResize::Grow;
  h.reconfigure(next);
  h.run(2);
  EXPECT_EQ(h.world.map(kLun)->sectors, 4096u);
  EXPECT_TRUE(map().resize_note.empty());
}

TEST_F(Lifecycle, ResizeMapReportsPathsThatDisagreeAndChangesNothing) {
  two_paths();
  // The size file changes without a uevent: resize map reads every path.
  h.world.sysfs_root.clear();  // set_size would raise a uevent; write the file alone
  behaviour::Harness::write_file(h.folder() + "/block/sdb/size", "8192\n");
  std::string r = h.command("resize map " + std::string(kLun));
  EXPECT_TRUE(has(r, "pk1 error failed")) << r;
  EXPECT_TRUE(has(r, "sda says 2048 sectors, sdb 8192")) << r;
  EXPECT_EQ(h.world.map(kLun)->sectors, 2048u);
}

}  // namespace
