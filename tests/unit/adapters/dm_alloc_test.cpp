// Proves that the DM data plane allocates nothing: the heap guard
// (tests/support/heap_guard.h) counts every heap call around
// message/status/table/list/arm and the codec beneath them.
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <string>

#include "adapters/dm_codec.h"
#include "adapters/dm_events.h"
#include "adapters/dm_kernel.h"
#include "adapters/udev_parse.h"
#include "tests/support/heap_guard.h"
#include "tests/unit/adapters/dm_kernel_sim.h"

using namespace pk::adapters;
using pk::core::Error;
using pk::test::DmKernelSim;
using pk::test::SimDevice;

namespace {

SimDevice mp(const char* name, uint32_t minor) {
  SimDevice d;
  d.name = name;
  d.uuid = std::string("mpath-") + name;
  d.minor = minor;
  d.status = "2 1 0 0 1 1 E 0 2 2 8:0 A 0 0 1 8:16 A 0 0 1";
  d.table = "1 queue_if_no_path 1 alua 1 1 service-time 0 2 2 8:0 1 1 8:16 1 1";
  return d;
}

}  // namespace

TEST(DmAllocations, TheCounterCounts) {
  pk::test::heap_guard::arm();
  void* p = std::malloc(16);
  asm volatile("" : : "g"(p) : "memory");  // keep the pair from being elided
  std::free(p);
  auto* q = new int(3);
  asm volatile("" : : "g"(q) : "memory");
  delete q;
  pk::test::heap_guard::disarm();
  EXPECT_GE(pk::test::heap_guard::count(), 2u);
}

TEST(DmAllocations, CodecAllocatesNothing) {
  alignas(8) static std::array<std::byte, 16384> buf;
  DmKernelSim sim;
  sim.devices = {mp("mp0", 0), mp("mp1", 1)};
  Error err;

  pk::test::heap_guard::arm();
  size_t n1 = dmio::encode_target_msg(buf, "mp0", "fail_path 8:16", err);
  size_t n2 = dmio::encode_table_status(buf, "mp0", false, 1024, err);
  int r1 = DmKernelSim::ioctl_fn(&sim, -1, DM_TABLE_STATUS, buf.data());
  dmio::Header h;
  bool ok1 = dmio::decode_header(buf, h, err);
  dmio::TargetReply t;
  bool ok2 = dmio::decode_first_target(buf, h, t, err);
  bool is_multipath = t.type == "multipath";  // t points into buf, reused below
  size_t n3 = dmio::encode_list_devices(buf, 4096, true);
  int r2 = DmKernelSim::ioctl_fn(&sim, -1, DM_LIST_DEVICES, buf.data());
  bool ok3 = dmio::decode_header(buf, h, err);
  dmio::NameListReader reader(buf, h);
  dmio::NameEntry e;
  int entries = 0;
  while (reader.next(e)) ++entries;
  pk::test::heap_guard::disarm();

  EXPECT_EQ(pk::test::heap_guard::count(), 0u)
      << "first heap call from " << pk::test::heap_guard::first_caller();
  EXPECT_GT(n1, 0u);
  EXPECT_GT(n2, 0u);
  EXPECT_GT(n3, 0u);
  EXPECT_EQ(r1, 0);
  EXPECT_EQ(r2, 0);
  EXPECT_TRUE(ok1 && ok2 && ok3) << err.c_str();
  EXPECT_TRUE(is_multipath);
  EXPECT_EQ(entries, 2);
}

TEST(DmAllocations, DataPlaneCallsAllocateNothing) {
  DmKernelSim sim;
  sim.devices = {mp("mp0", 0), mp("mp1", 1)};
  sim.devices[1].suspended = true;
  KernelDmOptions o;
  o.control_path = "/dev/null";
  o.ioctl = &DmKernelSim::ioctl_fn;
  o.ioctl_ctx = &sim;
  o.control_plane = false;
  auto dm = make_kernel_dm(o);
  Error err;
  ASSERT_TRUE(dm->open(64 * 1024, err)) << err.c_str();
  DmEventWatcher watcher;
  ASSERT_TRUE(watcher.init(16, err));
  ASSERT_TRUE(watcher.start(*dm, err)) << err.c_str();
  std::array<DmMapInfo, 16> maps;

  std::string_view params;
  uint32_t event_nr = 0;
  uint64_t sectors = 0;
  size_t count = 0;
  bool ok = true;
  pk::test::heap_guard::arm();
  for (int round = 0; round < 100; ++round) {
    ok &= dm->message("mp0", "fail_path 8:16", err);
    ok &= dm->message("mp0", "reinstate_path 8:16", err);
    ok &= dm->status("mp0", params, event_nr, err);
    ok &= dm->table("mp0", params, sectors, err);
    ok &= dm->list(maps, count, err);
    ok &= dm->arm_events(err);
    ok &= watcher.update(*dm, err);
    // Failures report without allocating too.
    ok &= !dm->message("mp1", "fail_path 8:16", err);  // suspended: EBUSY
    ok &= !dm->status("nope", params, event_nr, err);
  }
  pk::test::heap_guard::disarm();
  EXPECT_EQ(pk::test::heap_guard::count(), 0u)
      << "first heap call from " << pk::test::heap_guard::first_caller();
  EXPECT_TRUE(ok) << err.c_str();
  EXPECT_EQ(count, 2u);
}

TEST(DmAllocations, UdevParsingAllocatesNothing) {
  std::array<char, udevparse::kWwidMax> buf;
  pk::test::heap_guard::arm();
  auto w = udevparse::normalise_wwid("t10.ATA     QEMU HARDDISK   QM00001  \n", buf);
  auto t = udevparse::detect_transport("/devices/platform/host3/session1/target3:0:0/3:0:0:1/block/sdb",
                                       "sdb", true);
  auto v = udevparse::trim("Linux   ");
  pk::test::heap_guard::disarm();
  EXPECT_EQ(pk::test::heap_guard::count(), 0u)
      << "first heap call from " << pk::test::heap_guard::first_caller();
  EXPECT_EQ(w, "t10.ATA_QEMU_HARDDISK_QM00001");
  EXPECT_EQ(t, pk::core::Transport::Iscsi);
  EXPECT_EQ(v, "Linux");
}
