// The host's protection, wired: a map's dirty-page cap reaches its BDI in
// sysfs once a path of it is usable (never during an outage), and
// dm_multipath's backstop follows the maps' no_path_retry.
#include <gtest/gtest.h>

#include "tests/daemon/harness.h"

using namespace pk;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kLun = "36001405000000000000000000000000a";

struct HostGuard : ::testing::Test {
  // A kernel of 6.2 or newer: the BDI of the first fake map (254:0) has the
  // three knobs; dm_multipath is loaded.
  void kernel_knobs(bool strict) {
    const std::string bdi = h.folder() + "/class/bdi/254:0/";
    behaviour::Harness::write_file(bdi + "max_ratio", "100\n");
    if (strict) {
      behaviour::Harness::write_file(bdi + "max_bytes", "0\n");
      behaviour::Harness::write_file(bdi + "strict_limit", "0\n");
    }
    behaviour::Harness::write_file(backstop(), "0\n");
  }
  std::string knob(std::string_view name) {
    return behaviour::Harness::read_file(h.folder() + "/class/bdi/254:0/" + std::string(name));
  }
  std::string backstop() const {
    return h.folder() + "/module/dm_multipath/parameters/queue_if_no_path_timeout_secs";
  }
  std::string map_json() { return h.command("show map " + std::string(kLun)); }

  behaviour::Harness h;
};

}  // namespace

TEST_F(HostGuard, TheCapIsStrictWhereTheKernelAllowsIt) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  kernel_knobs(true);
  ASSERT_TRUE(h.start());
  h.run(20);
  EXPECT_EQ(knob("max_ratio"), "10");
  EXPECT_EQ(knob("strict_limit"), "1");
  EXPECT_EQ(knob("max_bytes"), "0\n") << "a percentage writes max_ratio only";
  const std::string shown = map_json();
  EXPECT_NE(shown.find("\"dirty_cap\":\"applied\""), std::string::npos) << shown;
  EXPECT_NE(shown.find("\"dirty_cap_note\":\"max_ratio 10, strict_limit 1\""), std::string::npos) << shown;
}

TEST_F(HostGuard, OnAnOlderKernelMaxRatioOnlyAndStatusSaysItIsNotStrict) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  kernel_knobs(false);
  h.config.defaults.dirty_limit = {core::DirtyLimit::Kind::Percent, 3, 0};
  ASSERT_TRUE(h.start());
  h.run(20);
  EXPECT_EQ(knob("max_ratio"), "3");
  const std::string shown = map_json();
  EXPECT_NE(shown.find("\"dirty_cap\":\"not-strict\""), std::string::npos) << shown;
  EXPECT_NE(shown.find("\"dirty_limit\":\"3%\""), std::string::npos) << shown;
}

TEST_F(HostGuard, AMapAdoptedInAnOutageGetsItsCapOnlyWhenAPathIsBack) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  kernel_knobs(true);
  ASSERT_TRUE(h.start());
  h.run(20);
  ASSERT_EQ(knob("max_ratio"), "10");
  // The kernel's defaults again (as on a map another daemon made), every
  // path down, and a new daemon adopts the map in the outage.
  kernel_knobs(true);
  h.world.set_behaviour("sda", steady::Behaviour::Down);
  h.world.set_behaviour("sdb", steady::Behaviour::Down);
  h.run(30);
  ASSERT_TRUE(h.restart());
  h.run(50);
  EXPECT_EQ(knob("max_ratio"), "100\n") << "nothing is written while no path works";
  EXPECT_NE(map_json().find("\"dirty_cap\":\"deferred\""), std::string::npos) << map_json();
  h.world.set_behaviour("sda", steady::Behaviour::Up);
  h.run(50);
  EXPECT_EQ(knob("max_ratio"), "10");
  EXPECT_EQ(knob("strict_limit"), "1");
}

TEST_F(HostGuard, TheBackstopFollowsTheLongestBoundAndIsZeroWithAQueueMap) {
  h.add_disk("sda", 0, kLun);
  h.add_disk("sdb", 16, kLun);
  kernel_knobs(true);
  h.config.defaults.no_path_retry = {core::NoPathRetry::Kind::Time, 0, core::Seconds{60}};
  ASSERT_TRUE(h.start());
  h.run(5);
  // 60 s + polling_interval 2 s + checker_timeout 3 s + 5 s.
  EXPECT_EQ(behaviour::Harness::read_file(backstop()), "70");
  const std::string status = h.command("status");
  EXPECT_NE(status.find("\"backstop\":{\"state\":\"bounded\",\"seconds\":70,\"written\":true"),
            std::string::npos)
      << status;

  core::Config next = h.config;
  core::MapConfig archive;
  archive.wwid = "36001405000000000000000000000000f";
  archive.settings = next.defaults;
  archive.settings.no_path_retry = {core::NoPathRetry::Kind::Queue, 0, core::Seconds{0}};
  next.maps.push_back(archive);
  h.reconfigure(next);
  h.run(5);
  EXPECT_EQ(behaviour::Harness::read_file(backstop()), "0");
  EXPECT_NE(h.command("status").find("\"state\":\"unbounded\""), std::string::npos);
}
