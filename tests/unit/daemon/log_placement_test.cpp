// Where the log file may live: a fake sysfs with a multipath map over two
// paths, a partition of one path, an LV over the map, and unrelated disks.
#include "daemon/log_placement.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <map>

#include "tests/unit/checkers/fake_tree.h"

namespace pk::daemon {
namespace {

class LogPlacementTest : public ::testing::Test {
 protected:
  // A block device at devices/<where>/<name> with number `dev`, linked from dev/block.
  void device(const std::string& where, const std::string& name, const std::string& dev) {
    std::string dir = "devices/" + where + "/" + name;
    tree.write(dir + "/dev", dev);
    tree.mkdirs(dir + "/holders");
    tree.mkdirs(dir + "/slaves");
    tree.symlink("dev/block/" + dev, tree.path(dir));
    dirs[name] = dir;
  }
  void dm(const std::string& name, const std::string& dev, const std::string& uuid,
          const std::string& dm_name) {
    device("virtual/block", name, dev);
    tree.write(dirs[name] + "/dm/uuid", uuid);
    tree.write(dirs[name] + "/dm/name", dm_name);
  }
  // `upper` is built on `lower`.
  void stack(const std::string& upper, const std::string& lower) {
    tree.symlink(dirs[upper] + "/slaves/" + lower, tree.path(dirs[lower]));
    tree.symlink(dirs[lower] + "/holders/" + upper, tree.path(dirs[upper]));
  }

  void SetUp() override {
    device("pci0/host1/block", "sdb", "8:16");
    device("pci0/host2/block", "sdc", "8:32");
    device("pci0/host1/block/sdb", "sdb1", "8:17");  // a partition sits in its disk's folder
    tree.write(dirs["sdb1"] + "/partition", "1");
    dm("dm-3", "253:3", "mpath-3600140512", "mpatha");
    stack("dm-3", "sdb");
    stack("dm-3", "sdc");
    dm("dm-5", "253:5", "LVM-abcdef", "vg-lv");  // an LV on the map
    stack("dm-5", "dm-3");
    device("pci0/host3/block", "sdd", "8:48");  // the local disk
    device("virtual/block", "loop0", "7:0");
    dm("dm-0", "253:0", "", "logdisk");  // dm linear over a loop device
    stack("dm-0", "loop0");
  }

  std::string refused(uint32_t major, uint32_t minor) {
    core::Error err;
    if (check_log_device(tree.fd(), major, minor, err)) return "accepted";
    return err.c_str();
  }

  test::FakeTree tree;
  std::map<std::string, std::string> dirs;
};

TEST_F(LogPlacementTest, OnAMultipathMap) { EXPECT_EQ(refused(253, 3), "on multipath map mpatha (dm-3)"); }

TEST_F(LogPlacementTest, OnAPathOfAMap) {
  EXPECT_EQ(refused(8, 16), "on sdb, a path of multipath map mpatha (dm-3)");
}

TEST_F(LogPlacementTest, OnAPartitionOfAPath) {
  EXPECT_EQ(refused(8, 17), "on sdb1, on sdb, a path of multipath map mpatha (dm-3)");
}

TEST_F(LogPlacementTest, OnSomethingStackedOverAMap) {
  EXPECT_EQ(refused(253, 5), "on dm-5, stacked over multipath map mpatha (dm-3)");
}

TEST_F(LogPlacementTest, LocalDisksAndOtherStacksAreFine) {
  EXPECT_EQ(refused(8, 48), "accepted");
  EXPECT_EQ(refused(253, 0), "accepted") << "dm linear over a loop device";
  EXPECT_EQ(refused(7, 0), "accepted");
  EXPECT_EQ(refused(0, 45), "accepted") << "tmpfs, btrfs: no block device";
  EXPECT_EQ(refused(9, 9), "accepted") << "a number sysfs does not know";
}

// The device of the nearest existing directory is checked (the file and its
// folder may not exist yet).
TEST_F(LogPlacementTest, TheFilesDirectoryIsWhatCounts) {
  core::Error err;
  EXPECT_TRUE(check_log_placement("/var/tmp/not-yet/pathkeeperd.log", tree.root().string(), err))
      << err.c_str();
  EXPECT_TRUE(check_log_placement("/var/tmp/pathkeeperd.log", "/nonexistent-sysfs", err));

  struct stat st {};
  ASSERT_EQ(::stat("/var/tmp", &st), 0);
  if (::major(st.st_dev) == 0) GTEST_SKIP() << "/var/tmp is on no block device here";
  // Pretend the disk under /var/tmp is a multipath map.
  std::string number = std::to_string(::major(st.st_dev)) + ":" + std::to_string(::minor(st.st_dev));
  dm("dm-9", number, "mpath-36001405feed", "mpathz");
  EXPECT_FALSE(check_log_placement("/var/tmp/not-yet/pathkeeperd.log", tree.root().string(), err));
  EXPECT_STREQ(
      err.c_str(),
      "the log file /var/tmp/not-yet/pathkeeperd.log is on multipath map mpathz (dm-9): logging there could "
      "wait on the paths pathkeeperd restores (the 2005 multipathd deadlock); put it on a local disk");
}

}  // namespace
}  // namespace pk::daemon
