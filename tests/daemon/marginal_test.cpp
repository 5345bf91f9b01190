// Flaky paths on the wired daemon: a path that flaps is marked marginal and
// held failed in the kernel while the other path carries I/O; it is given
// back when it is the last usable path, when it has been healthy long
// enough, or when an operator clears the mark. The flapping runs under the
// steady suite's guard: marking, holding and lifting use no heap.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>

#include "ipc/ctl/client.h"
#include "tests/daemon/harness.h"
#include "tests/steady/guard.h"

using namespace pk;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kLun = "36001405000000000000000000000000a";

struct Marginal : ::testing::Test {
  behaviour::Harness h;

  void SetUp() override {
    h.add_disk("sda", 0, kLun);
    h.add_disk("sdb", 16, kLun);
    h.config.defaults.marginal = {.enabled = true, .failures = 3, .within = 60s, .healthy_for = 30s};
    ASSERT_TRUE(h.start());
    h.run(30);
    ASSERT_TRUE(h.world.path_active_in_dm("sda"));
    ASSERT_TRUE(h.world.path_active_in_dm("sdb"));
  }

  // sdb goes down for 2 s and comes back for 3 s, `times` times (polling
  // every 2 s, failed paths every 1 s: each outage is seen by a check).
  void flap(int times) {
    for (int i = 0; i < times; ++i) {
      h.world.set_behaviour("sdb", steady::Behaviour::Down);
      h.run(20);
      h.world.set_behaviour("sdb", steady::Behaviour::Up);
      h.run(30);
    }
  }
  const core::Path& path(std::string_view dev) const {
    const core::Engine& e = h.daemon().engine();
    return e.paths().at(e.find_path(dev));
  }
  // A pathkeeperctl call; the loop turns meanwhile, as commands that change
  // state are carried out by it.
  nlohmann::json ctl(std::vector<std::string> words) {
    ctl::Reply reply;
    std::string error;
    auto call = std::async(std::launch::async, [&] {
      return ctl::call_daemon(h.config.control_socket, words, 2s, reply, error);
    });
    while (call.wait_for(5ms) != std::future_status::ready) h.run(1);
    if (!call.get()) return {{"error", error}};
    if (!reply.ok) return {{"error", reply.body}};
    return reply.body.empty() || reply.body[0] != '{' ? nlohmann::json{{"text", reply.body}}
                                                      : nlohmann::json::parse(reply.body);
  }
};

}  // namespace

TEST_F(Marginal, AFlappingPathIsHeldFailedWhileTheOtherCarriesIo) {
  steady::guard_arm();
  flap(3);
  const bool marked_early = path("sdb").marginal;
  flap(1);  // the fourth failure within a minute: more than 3
  const bool marked = path("sdb").marginal;
  const bool sdb_active = h.world.path_active_in_dm("sdb");
  const bool sda_active = h.world.path_active_in_dm("sda");
  h.run(100);  // 10 s of sdb healthy: still held
  const bool still_held = path("sdb").marginal && !h.world.path_active_in_dm("sdb");
  steady::Violations v = steady::guard_violations();
  steady::guard_disarm();

  EXPECT_FALSE(marked_early) << "3 failures are not more than 3";
  EXPECT_TRUE(marked);
  EXPECT_EQ(path("sdb").state, core::PathState::Up) << "its checks say up";
  EXPECT_FALSE(sdb_active) << "but the kernel keeps it failed";
  EXPECT_TRUE(sda_active);
  EXPECT_TRUE(still_held);
  EXPECT_EQ(v.heap, 0u) << "first heap call from " << v.first_heap_caller;

  nlohmann::json paths = ctl({"show", "paths"});
  ASSERT_TRUE(paths.contains("paths")) << paths.dump();
  bool seen = false;
  for (const auto& p : paths["paths"]) {
    if (p["dev"] != "sdb") continue;
    seen = true;
    EXPECT_EQ(p["marginal"], true);
    EXPECT_EQ(p["state"], "up");
    EXPECT_EQ(p["dm_state"], "failed");
    EXPECT_EQ(p["recent_failures"], 4);
    EXPECT_GT(p["marginal_age_ms"].get<int64_t>(), 0);
  }
  EXPECT_TRUE(seen);
}

TEST_F(Marginal, ReinstatedAfterHealthyFor) {
  flap(4);
  ASSERT_TRUE(path("sdb").marginal);
  h.run(250);  // 25 s: less than 30 s since it came back (3 s ago)
  EXPECT_FALSE(h.world.path_active_in_dm("sdb"));
  h.run(60);
  EXPECT_FALSE(path("sdb").marginal);
  EXPECT_TRUE(h.world.path_active_in_dm("sdb"));
}

TEST_F(Marginal, TheLastUsablePathIsNeverHeld) {
  flap(4);
  ASSERT_TRUE(path("sdb").marginal);
  h.world.set_behaviour("sda", steady::Behaviour::Down);
  h.run(30);
  EXPECT_FALSE(h.world.path_active_in_dm("sda"));
  EXPECT_TRUE(h.world.path_active_in_dm("sdb")) << "sdb is all the map has";
  EXPECT_FALSE(path("sdb").marginal);
  EXPECT_TRUE(h.world.map_queueing(0));
}

TEST_F(Marginal, AnOperatorClearsTheMark) {
  flap(4);
  ASSERT_TRUE(path("sdb").marginal);
  nlohmann::json r = ctl({"clear", "marginal", "sdb"});
  EXPECT_FALSE(r.contains("error")) << r.dump();
  h.run(5);
  EXPECT_FALSE(path("sdb").marginal);
  EXPECT_TRUE(h.world.path_active_in_dm("sdb"));
  nlohmann::json missing = ctl({"clear", "marginal", "sdz"});
  EXPECT_TRUE(missing.contains("error")) << missing.dump();
}

TEST_F(Marginal, OffInTheConfigurationNeverHolds) {
  core::Config next = h.config;
  next.defaults.marginal.enabled = false;
  h.reconfigure(next);
  h.run(5);
  flap(6);
  EXPECT_FALSE(path("sdb").marginal);
  EXPECT_TRUE(h.world.path_active_in_dm("sdb"));
}
