// The kernel DM adapter's data plane against a simulated ioctl interface.
#include "adapters/dm_kernel.h"

#include <gtest/gtest.h>
#include <linux/dm-ioctl.h>

#include <array>
#include <string>

#include "tests/unit/adapters/dm_kernel_sim.h"

using namespace pk::adapters;
using pk::core::DevT;
using pk::core::Error;
using pk::test::DmKernelSim;
using pk::test::SimDevice;

namespace {

const char* kStatus = "2 1 0 0 1 1 E 0 2 2 8:0 A 0 0 1 8:16 A 0 0 1";
const char* kTable = "1 queue_if_no_path 1 alua 1 1 service-time 0 2 2 8:0 1 1 8:16 1 1";

SimDevice mpath(std::string name, uint32_t minor, uint32_t event_nr = 0) {
  SimDevice d;
  d.name = std::move(name);
  d.uuid = "mpath-wwid" + std::to_string(minor);
  d.minor = minor;
  d.event_nr = event_nr;
  d.status = kStatus;
  d.table = kTable;
  return d;
}

SimDevice linear(std::string name, uint32_t minor) {
  SimDevice d;
  d.name = std::move(name);
  d.uuid = "LVM-abc" + std::to_string(minor);
  d.minor = minor;
  d.type = "linear";
  d.status = "";
  d.table = "8:32 2048";
  return d;
}

struct Fixture : ::testing::Test {
  DmKernelSim sim;
  std::unique_ptr<Dm> dm;
  Error err;

  std::unique_ptr<Dm> make() {
    KernelDmOptions o;
    o.control_path = "/dev/null";
    o.ioctl = &DmKernelSim::ioctl_fn;
    o.ioctl_ctx = &sim;
    o.control_plane = false;
    return make_kernel_dm(o);
  }
  void open(size_t bytes = 64 * 1024) {
    dm = make();
    ASSERT_TRUE(dm->open(bytes, err)) << err.c_str();
  }
  bool has(std::string_view what) const { return err.view().find(what) != std::string_view::npos; }
};

using DmKernel = Fixture;

}  // namespace

TEST_F(DmKernel, OpensOnA61Kernel) {
  open();
  EXPECT_GE(dm->event_fd(), 0);
  EXPECT_EQ(sim.cmd, unsigned{DM_VERSION_CMD});
}

TEST_F(DmKernel, RefusesAKernelWithoutArmPoll) {
  sim.minor_version = 36;
  dm = make();
  EXPECT_FALSE(dm->open(65536, err));
  EXPECT_TRUE(has("4.36.0 is too old")) << err.c_str();
  EXPECT_TRUE(has("4.37")) << err.c_str();
  EXPECT_EQ(dm->event_fd(), -1);
}

TEST_F(DmKernel, SaysWhenItLacksThePrivilege) {
  sim.fail_errno = EPERM;
  dm = make();
  EXPECT_FALSE(dm->open(65536, err));
  EXPECT_TRUE(has("CAP_SYS_ADMIN")) << err.c_str();
}

TEST_F(DmKernel, SaysWhenDeviceMapperIsMissing) {
  KernelDmOptions o;
  o.control_path = "/nonexistent/mapper/control";
  dm = make_kernel_dm(o);
  EXPECT_FALSE(dm->open(65536, err));
  EXPECT_TRUE(has("dm_mod")) << err.c_str();
}

TEST_F(DmKernel, SendsAMessageWithATightBuffer) {
  sim.devices = {mpath("mp0", 0)};
  open();
  ASSERT_TRUE(dm->message("mp0", "fail_path 8:16", err)) << err.c_str();
  EXPECT_EQ(sim.cmd, unsigned{DM_TARGET_MSG_CMD});
  EXPECT_STREQ(sim.last_message, "fail_path 8:16");
  EXPECT_STREQ(sim.last_message_map, "mp0");
  EXPECT_EQ(sim.last_message_sector, 0u);
  EXPECT_EQ(sim.copied_in, 336u);  // what the kernel allocates and copies
}

TEST_F(DmKernel, ExplainsMessageFailures) {
  sim.devices = {mpath("mp0", 0)};
  sim.devices[0].suspended = true;
  open();
  EXPECT_FALSE(dm->message("mp0", "reinstate_path 8:0", err));
  EXPECT_TRUE(has("suspended")) << err.c_str();
  EXPECT_TRUE(has("retry")) << err.c_str();
  EXPECT_FALSE(dm->message("nope", "fail_path 8:0", err));
  EXPECT_TRUE(has("no DM device nope")) << err.c_str();
  // ENXIO also means "no such path device": the adapter tells which.
  sim.devices[0].suspended = false;
  EXPECT_FALSE(dm->message("mp0", "fail_path 9:99", err));
  EXPECT_TRUE(has("no such path device")) << err.c_str();
}

TEST_F(DmKernel, ReadsStatusAndTable) {
  sim.devices = {linear("vg-root", 0), mpath("mp0", 1, 4)};
  open();
  std::string_view params;
  uint32_t event_nr = 0;
  ASSERT_TRUE(dm->status("mp0", params, event_nr, err)) << err.c_str();
  EXPECT_EQ(params, kStatus);
  EXPECT_EQ(event_nr, 4u);
  EXPECT_EQ(sim.copied_in, 1024u);  // the initial window, not the 64 KiB buffer
  uint64_t sectors = 0;
  ASSERT_TRUE(dm->table("mp0", params, sectors, err)) << err.c_str();
  EXPECT_EQ(params, kTable);
  EXPECT_EQ(sectors, 32768u);
}

TEST_F(DmKernel, RefusesMapsThatAreNotMultipath) {
  sim.devices = {linear("vg-root", 0), mpath("empty", 1)};
  sim.devices[1].targets = 0;
  open();
  std::string_view params;
  uint32_t event_nr = 0;
  EXPECT_FALSE(dm->status("vg-root", params, event_nr, err));
  EXPECT_TRUE(has("not a multipath map")) << err.c_str();
  EXPECT_TRUE(has("'linear'")) << err.c_str();
  EXPECT_FALSE(dm->status("empty", params, event_nr, err));
  EXPECT_TRUE(has("no live table")) << err.c_str();
  EXPECT_FALSE(dm->status("gone", params, event_nr, err));
  EXPECT_TRUE(has("no DM device gone")) << err.c_str();
}

TEST_F(DmKernel, GrowsTheStatusWindowOnBufferFullAndKeepsIt) {
  sim.devices = {mpath("big", 0)};
  sim.devices[0].status = std::string(3000, 'x');
  open();
  std::string_view params;
  uint32_t event_nr = 0;
  ASSERT_TRUE(dm->status("big", params, event_nr, err)) << err.c_str();
  EXPECT_EQ(params.size(), 3000u);
  // VERSION, then status at 1024 (full), 2048 (full), 4096.
  ASSERT_EQ(sim.history, 4u);
  EXPECT_EQ(sim.data_size_history[1], 1024u);
  EXPECT_EQ(sim.data_size_history[2], 2048u);
  EXPECT_EQ(sim.data_size_history[3], 4096u);
  ASSERT_TRUE(dm->status("big", params, event_nr, err));
  EXPECT_EQ(sim.history, 5u);
  EXPECT_EQ(sim.data_size_history[4], 4096u);
  // The table window is separate and still small.
  uint64_t sectors;
  ASSERT_TRUE(dm->table("big", params, sectors, err));
  EXPECT_EQ(sim.data_size_history[5], 1024u);
}

TEST_F(DmKernel, NamesTheCapacityWhenAnAnswerDoesNotFit) {
  sim.devices = {mpath("big", 0)};
  sim.devices[0].status = std::string(5000, 'x');
  open(4096);
  std::string_view params;
  uint32_t event_nr = 0;
  EXPECT_FALSE(dm->status("big", params, event_nr, err));
  EXPECT_TRUE(has("4096-byte DM buffer")) << err.c_str();
  EXPECT_TRUE(has("DM_BUFFER_FULL_FLAG")) << err.c_str();
}

TEST_F(DmKernel, ListsDevicesWithUuidsAndTargetTypes) {
  sim.devices = {linear("vg-root", 0), mpath("mp0", 1, 2), mpath("mp1", 2, 9), linear("by-hand", 3)};
  sim.devices[2].uuid = "";
  sim.devices[3].uuid = "";
  open();
  std::array<DmMapInfo, 8> out;
  size_t n = 0;
  ASSERT_TRUE(dm->list(out, n, err)) << err.c_str();
  ASSERT_EQ(n, 4u);
  // The table of every device with an mpath- uuid or none is read; LVM's is not.
  EXPECT_EQ(sim.by_cmd[DM_TABLE_STATUS_CMD], 3u);
  EXPECT_EQ(sim.by_cmd[DM_DEV_STATUS_CMD], 0u);  // uuids came with the list
  EXPECT_STREQ(out[3].name, "by-hand");
  EXPECT_FALSE(out[3].multipath);
  EXPECT_STREQ(out[0].name, "vg-root");
  EXPECT_STREQ(out[0].uuid, "LVM-abc0");
  EXPECT_FALSE(out[0].multipath);
  EXPECT_STREQ(out[1].name, "mp0");
  EXPECT_STREQ(out[1].uuid, "mpath-wwid1");
  EXPECT_EQ(out[1].devt, (DevT{253, 1}));
  EXPECT_EQ(out[1].event_nr, 2u);
  EXPECT_TRUE(out[1].multipath);
  EXPECT_STREQ(out[2].uuid, "");
  EXPECT_EQ(out[2].event_nr, 9u);
  EXPECT_TRUE(out[2].multipath);
}

TEST_F(DmKernel, ListsUuidsOnKernelsThatDoNotReportThemInTheList) {
  sim.minor_version = 40;
  sim.devices = {linear("vg-root", 0), mpath("mp0", 1, 2)};
  open();
  std::array<DmMapInfo, 8> out;
  size_t n = 0;
  ASSERT_TRUE(dm->list(out, n, err)) << err.c_str();
  ASSERT_EQ(n, 2u);
  EXPECT_STREQ(out[0].uuid, "LVM-abc0");
  EXPECT_FALSE(out[0].multipath);
  EXPECT_STREQ(out[1].uuid, "mpath-wwid1");
  EXPECT_TRUE(out[1].multipath);
  EXPECT_EQ(out[1].event_nr, 2u);
  EXPECT_EQ(sim.by_cmd[DM_DEV_STATUS_CMD], 2u);
  EXPECT_EQ(sim.by_cmd[DM_TABLE_STATUS_CMD], 1u);
}

TEST_F(DmKernel, ListReadsWholeTablesOfLargeMaps) {
  // A full answer brings back the header alone, without even the target
  // type: the check must grow its window like any table read.
  sim.devices = {mpath("wide", 0)};
  sim.devices[0].table = std::string(2000, 't');
  open();
  std::array<DmMapInfo, 4> out;
  size_t n = 0;
  ASSERT_TRUE(dm->list(out, n, err)) << err.c_str();
  ASSERT_EQ(n, 1u);
  EXPECT_TRUE(out[0].multipath);
}

TEST_F(DmKernel, DropsDevicesRemovedWhileListing) {
  sim.devices = {mpath("mp0", 0), mpath("mp1", 1), mpath("mp2", 2)};
  sim.devices[1].vanish_after_list = true;
  open();
  std::array<DmMapInfo, 8> out;
  size_t n = 0;
  ASSERT_TRUE(dm->list(out, n, err)) << err.c_str();
  ASSERT_EQ(n, 2u);
  EXPECT_STREQ(out[0].name, "mp0");
  EXPECT_STREQ(out[1].name, "mp2");
}

TEST_F(DmKernel, ListGrowsItsWindowAndNamesItsCapacity) {
  for (uint32_t i = 0; i < 60; ++i) {
    sim.devices.push_back(mpath("a-rather-long-map-name-for-testing-" + std::to_string(i), i));
  }
  open();
  std::array<DmMapInfo, 64> out;
  size_t n = 0;
  ASSERT_TRUE(dm->list(out, n, err)) << err.c_str();
  EXPECT_EQ(n, 60u);
  EXPECT_EQ(sim.data_size_history[1], 4096u);  // full
  EXPECT_EQ(sim.data_size_history[2], 8192u);
  std::array<DmMapInfo, 10> small;
  EXPECT_FALSE(dm->list(small, n, err));
  EXPECT_TRUE(has("capacity of 10")) << err.c_str();
}

TEST_F(DmKernel, ArmsWithoutAPayload) {
  open();
  ASSERT_TRUE(dm->arm_events(err)) << err.c_str();
  EXPECT_EQ(sim.arms, 1u);
  EXPECT_EQ(sim.data_size_in, 312u);
  EXPECT_EQ(sim.copied_in, 0u);
}

TEST_F(DmKernel, ControlPlaneOffInTests) {
  open();
  EXPECT_FALSE(dm->create("mp9", "mpath-x", 8, kTable, err));
  EXPECT_TRUE(has("disabled")) << err.c_str();
}

TEST_F(DmKernel, UsedBeforeOpen) {
  dm = make();
  std::string_view params;
  uint32_t event_nr;
  EXPECT_FALSE(dm->status("mp0", params, event_nr, err));
  EXPECT_TRUE(has("before open")) << err.c_str();
  EXPECT_EQ(dm->event_fd(), -1);
}

TEST(DmBufferBytes, CoversTheListAndTheLargestMap) {
  // 1024 devices with 127-byte names and 128-byte uuids: 288 bytes each.
  EXPECT_GE(dm_buffer_bytes(1024, 8), 312u + 1024u * 288u);
  EXPECT_GE(dm_buffer_bytes(1, 1024), 1024u * 100u);
  EXPECT_EQ(dm_buffer_bytes(1, 1) % 4096, 0u);
}

TEST_F(DmKernel, OpenCountIsReadFromTheDeviceStatus) {
  SimDevice d = mpath("mpatha", 3);
  d.open_count = 2;
  sim.devices.push_back(d);
  open();
  int32_t count = -1;
  ASSERT_TRUE(dm->open_count("mpatha", count, err)) << err.c_str();
  EXPECT_EQ(count, 2);
  EXPECT_FALSE(dm->open_count("mpathz", count, err));
  EXPECT_TRUE(has("no DM device mpathz")) << err.c_str();
}
