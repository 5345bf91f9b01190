// Friendly names of the wired daemon: a multipath-tools bindings file's names
// taken and kept, the next free name for a new LUN, names that survive a
// restart and a reboot, an alias that wins, the wwids file, a bindings file
// that cannot be written, and names given after the seal without a heap call.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/bindings.h"
#include "core/wwids.h"
#include "daemon/name_files.h"
#include "tests/daemon/harness.h"
#include "tests/steady/guard.h"

using namespace pk;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kA = "36001405000000000000000000000000a";
constexpr std::string_view kB = "36001405000000000000000000000000b";
constexpr std::string_view kC = "36001405000000000000000000000000c";
constexpr std::string_view kD = "36001405000000000000000000000000d";

std::string s(std::string_view v) { return std::string(v); }

struct Names : ::testing::Test {
  behaviour::Harness h;

  void SetUp() override { h.config.user_friendly_names = true; }
  std::string multipath_bindings() const { return h.name_files.multipath_bindings; }
  std::string bindings() { return behaviour::Harness::read_file(h.config.bindings_file); }
  std::string wwids() { return behaviour::Harness::read_file(h.config.wwids_file); }
  // Two paths for each WWID: sda and sdb for the first, sdc and sdd for the
  // next, and so on.
  void luns(std::initializer_list<std::string_view> wwids) {
    uint32_t i = 0;
    for (std::string_view wwid : wwids) {
      for (int path = 0; path < 2; ++path, ++i) {
        const char dev[] = {'s', 'd', static_cast<char>('a' + i), '\0'};
        h.add_disk(dev, 16 * i, wwid);
      }
    }
  }
  void hide(uint32_t index) { h.world.hidden[index] = true; }
  core::NameFileUse bindings_status() {
    core::NameFileUse b, w;
    h.daemon().names().status(b, w);
    return b;
  }
  std::string name_of(std::string_view wwid) {
    core::MapId id = h.daemon().engine().find_map_by_wwid(wwid);
    return id == core::kNoSlot ? "" : std::string(h.daemon().engine().maps().at(id).name.view());
  }
};

}  // namespace

TEST_F(Names, AMultipathToolsBindingsFileGivesItsNamesAndTheyAreKeptInPathkeepersOwn) {
  const std::string foreign =
      std::string(core::kBindingsHeader) + "mpathc " + s(kA) + "\nmpatha " + s(kB) + "\n";
  behaviour::Harness::write_file(multipath_bindings(), foreign);
  luns({kA, kB});
  ASSERT_TRUE(h.start());
  h.run(5);
  EXPECT_TRUE(h.has_map("mpathc"));
  EXPECT_TRUE(h.has_map("mpatha"));
  EXPECT_EQ(h.world.map("mpathc")->uuid.view(), "mpath-" + s(kA));
  ASSERT_TRUE(h.files_settled());
  EXPECT_EQ(bindings(), std::string(core::kBindingsHeader) + "mpatha " + s(kB) + "\nmpathc " + s(kA) + "\n");
  EXPECT_EQ(behaviour::Harness::read_file(multipath_bindings()), foreign)
      << "multipath-tools' file is left as it is";
  EXPECT_EQ(wwids(), std::string(core::kWwidsHeader) + "/" + s(kA) + "/\n/" + s(kB) + "/\n");
}

TEST_F(Names, ANewLunGetsTheLowestFreeName) {
  behaviour::Harness::write_file(multipath_bindings(), "mpatha " + s(kA) + "\nmpathc " + s(kC) + "\n");
  luns({kA, kB, kD});
  for (uint32_t i = 2; i < 6; ++i) hide(i);  // B and D come later
  ASSERT_TRUE(h.start());
  h.run(5);
  EXPECT_TRUE(h.has_map("mpatha"));
  h.world.hotplug("sdc", adapters::DeviceAction::Add);
  h.world.hotplug("sdd", adapters::DeviceAction::Add);
  h.run(5);
  EXPECT_EQ(name_of(kB), "mpathb") << "the gap below mpathc";
  h.world.hotplug("sde", adapters::DeviceAction::Add);
  h.world.hotplug("sdf", adapters::DeviceAction::Add);
  h.run(5);
  EXPECT_EQ(name_of(kD), "mpathd") << "mpathc is C's, although C is not here";
  ASSERT_TRUE(h.files_settled());
  EXPECT_NE(bindings().find("mpathb " + s(kB) + "\nmpathc " + s(kC) + "\nmpathd " + s(kD) + "\n"),
            std::string::npos)
      << bindings();
}

TEST_F(Names, ARestartAndARebootKeepTheNames) {
  luns({kA, kB});
  ASSERT_TRUE(h.start());
  h.run(5);
  ASSERT_EQ(name_of(kA), "mpatha");
  ASSERT_EQ(name_of(kB), "mpathb");
  // A restart: the maps are adopted under their names, nothing is renamed.
  ASSERT_TRUE(h.restart());
  h.run(5);
  EXPECT_EQ(name_of(kA), "mpatha");
  EXPECT_EQ(name_of(kB), "mpathb");
  EXPECT_EQ(h.world.counts.renames, 0u);
  // A reboot: no map is left, and B's disks come first. B still gets mpathb.
  ASSERT_TRUE(h.files_settled());
  h.world.remove_map_behind_the_back("mpatha");
  h.world.remove_map_behind_the_back("mpathb");
  hide(0);
  hide(1);
  ASSERT_TRUE(h.restart());
  h.run(5);
  EXPECT_EQ(name_of(kB), "mpathb");
  EXPECT_TRUE(h.has_map("mpathb"));
  h.world.hotplug("sda", adapters::DeviceAction::Add);
  h.world.hotplug("sdb", adapters::DeviceAction::Add);
  h.run(5);
  EXPECT_TRUE(h.has_map("mpatha"));
  EXPECT_EQ(name_of(kA), "mpatha");
}

TEST_F(Names, AnAliasInMapsWinsAndIsNeverGivenToAnotherWwid) {
  behaviour::Harness::write_file(multipath_bindings(), "mpatha " + s(kA) + "\n");
  luns({kA, kB, kC});
  core::MapConfig a;
  a.wwid = s(kA);
  a.alias = "oradata";
  a.settings = h.config.defaults;
  core::MapConfig c = a;
  c.wwid = s(kC);
  c.alias = "mpathb";  // a friendly-looking alias: no other WWID gets it
  h.config.maps = {a, c};
  ASSERT_TRUE(h.start());
  h.run(5);
  EXPECT_TRUE(h.has_map("oradata"));
  EXPECT_FALSE(h.has_map("mpatha"));
  EXPECT_EQ(name_of(kC), "mpathb");
  EXPECT_EQ(name_of(kB), "mpathc") << "mpatha stays A's binding, mpathb is C's alias";
}

TEST_F(Names, FriendlyNamesTurnedOnRenameTheLiveMapsWithoutAReload) {
  h.config.user_friendly_names = false;
  luns({kA});
  ASSERT_TRUE(h.start());
  h.run(5);
  ASSERT_TRUE(h.has_map(kA));
  core::Config next = h.config;
  next.user_friendly_names = true;
  h.reconfigure(next);
  h.run(5);
  EXPECT_TRUE(h.has_map("mpatha"));
  EXPECT_EQ(h.world.counts.renames, 1u);
  EXPECT_EQ(h.world.counts.reloads, 0u);
  ASSERT_TRUE(h.files_settled());
  EXPECT_NE(bindings().find("mpatha " + s(kA)), std::string::npos);
}

TEST_F(Names, ACorruptBindingsFileLosesNoGoodLineAndIsKeptAsItWas) {
  const std::string corrupt =
      "mpatha " + s(kA) + "\n\x01\x02\n" + "mpathb " + s(kA) + "\nmpathc " + s(kB) + "\n";
  behaviour::Harness::write_file(h.config.bindings_file, corrupt);
  luns({kA, kB, kC});
  ASSERT_TRUE(h.start());
  h.run(5);
  EXPECT_EQ(name_of(kA), "mpatha");
  EXPECT_EQ(name_of(kB), "mpathc");
  EXPECT_EQ(name_of(kC), "mpathb") << "the refused mpathb is free";
  EXPECT_EQ(behaviour::Harness::read_file(h.config.bindings_file + ".bad"), corrupt);
  ASSERT_TRUE(h.files_settled());
  EXPECT_EQ(bindings(), std::string(core::kBindingsHeader) + "mpatha " + s(kA) + "\nmpathb " + s(kC) +
                            "\nmpathc " + s(kB) + "\n");
}

TEST_F(Names, ABindingsFileThatCannotBeWrittenLosesNothingAndStatusSaysSo) {
  // The folder is a file: nothing can be created in it (root ignores modes).
  const std::string folder = h.folder() + "/blocked";
  behaviour::Harness::write_file(folder, "not a folder");
  h.config.bindings_file = folder + "/bindings";
  luns({kA});
  ASSERT_TRUE(h.start());
  h.run(5);
  EXPECT_TRUE(h.has_map("mpatha")) << "the name is given at once";
  std::this_thread::sleep_for(100ms);
  h.run(2);
  core::NameFileUse st = bindings_status();
  EXPECT_TRUE(st.pending);
  EXPECT_GE(st.write_errors, 1u);
  EXPECT_EQ(st.error.view(), "create " + h.config.bindings_file + ": Not a directory");
  // The folder comes back (a read-only /var remounted): the retry writes it.
  std::filesystem::remove(folder);
  std::filesystem::create_directories(folder);
  ASSERT_TRUE(h.files_settled());
  st = bindings_status();
  EXPECT_FALSE(st.pending);
  EXPECT_EQ(st.error.view(), "");
  EXPECT_EQ(st.writes, 1u);
  EXPECT_NE(bindings().find("mpatha " + s(kA)), std::string::npos);
}

TEST_F(Names, TheWwidsFileIsMergedNotReplaced) {
  const std::string before = std::string(core::kWwidsHeader) + "/3600other/\n#/3600removed/\n";
  behaviour::Harness::write_file(h.config.wwids_file, before);
  luns({kA});
  ASSERT_TRUE(h.start());
  h.run(5);
  ASSERT_TRUE(h.files_settled());
  EXPECT_EQ(wwids(), before + "/" + s(kA) + "/\n");
}

// Names for LUNs that appear after READY come from the table sized at start-up,
// and the writer thread writes from buffers made then: no heap call anywhere
// in the process from the first uevent to the files on disk.
TEST_F(Names, NamesGivenAfterTheSealCallTheHeapNowhere) {
  luns({kA, kB, kC});
  for (uint32_t i = 2; i < 6; ++i) hide(i);
  ASSERT_TRUE(h.start());
  h.run(10);
  ASSERT_TRUE(h.files_settled());
  steady::guard_arm();
  for (const char* dev : {"sdc", "sdd", "sde", "sdf"}) h.world.hotplug(dev, adapters::DeviceAction::Add);
  h.run(20);
  const bool settled = h.files_settled();
  steady::Violations v = steady::guard_violations();
  steady::guard_disarm();
  EXPECT_TRUE(h.has_map("mpathb"));
  EXPECT_TRUE(h.has_map("mpathc"));
  EXPECT_TRUE(settled);
  EXPECT_EQ(v.heap, 0u) << "first heap call from " << v.first_heap_caller;
  EXPECT_EQ(v.threads, 0u);
  EXPECT_NE(bindings().find("mpathc " + s(kC)), std::string::npos);
  EXPECT_NE(wwids().find("/" + s(kC) + "/"), std::string::npos);
}
