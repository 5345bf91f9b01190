// The steady-state suite: the daemon built over fakes of the kernel, sealed,
// warmed up, then driven through thousands of turns of its loop on a manual
// clock: paths failing, hanging and coming back, all paths down and back,
// uevent storms, CLI snapshot requests over the real control socket and log
// floods. From the seal on, the guard counts every heap call, process
// creation, dlopen and thread creation in the whole process: all must be 0.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon/config/config_loader.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "tests/steady/fakes.h"
#include "tests/steady/guard.h"

using namespace pk;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t kPaths = 16;  // 8 maps of 2 paths

// A fake /sys: block/<dev>/size for each path.
std::string make_sysfs(const steady::FakeStorage& world) {
  char tmpl[] = "/tmp/pk-steady-XXXXXX";
  std::string root = ::mkdtemp(tmpl);
  ::mkdir((root + "/block").c_str(), 0755);
  for (uint32_t i = 0; i < world.path_count; ++i) {
    std::string dir = root + "/block/" + std::string(world.paths[i].dev.view());
    ::mkdir(dir.c_str(), 0755);
    FILE* f = std::fopen((dir + "/size").c_str(), "w");
    std::fputs("2097152\n", f);
    std::fclose(f);
  }
  return root;
}

// One pk1 request over the control socket, with stack buffers only.
// Returns the reply's length, or -1.
ssize_t ask(const char* socket_path, const char* words, size_t words_len, char* reply, size_t cap) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path, sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  char frame[256];
  uint32_t len = static_cast<uint32_t>(words_len);
  std::memcpy(frame, &len, 4);  // little-endian on the machines we run on
  std::memcpy(frame + 4, words, words_len);
  if (::send(fd, frame, 4 + words_len, MSG_NOSIGNAL) != static_cast<ssize_t>(4 + words_len)) {
    ::close(fd);
    return -1;
  }
  size_t got = 0;
  for (;;) {
    ssize_t n = ::recv(fd, reply + got, cap - got, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
    if (got >= 4) {
      uint32_t want;
      std::memcpy(&want, reply, 4);
      if (got >= 4 + want || got == cap) break;
    }
  }
  ::close(fd);
  return static_cast<ssize_t>(got);
}

class Steady : public ::testing::Test {
 protected:
  void SetUp() override {
    for (uint32_t i = 0; i < kPaths; ++i) {
      char dev[8], wwid[40];
      std::snprintf(dev, sizeof dev, "sd%c", 'a' + i);
      std::snprintf(wwid, sizeof wwid, "36000000000000000000000000000%03u", i / 2);
      world.add_path(dev, core::DevT{8, 16 * i}, wwid);
    }
    sysfs = make_sysfs(world);
    socket_path = sysfs + "/control.sock";

    config = daemon::default_config();
    config.timing.polling_interval = 1s;
    config.timing.failed_polling_interval = 1s;
    config.timing.checker_timeout = 3000ms;
    config.limits.max_paths = 64;
    config.limits.max_maps = 16;
    config.limits.max_paths_per_map = 8;
    config.limits.max_groups_per_map = 8;
    config.limits.max_clients = 4;
    config.limits.heap_reserve_bytes = 0;
    config.control_socket = socket_path;
    config.logging.file = sysfs + "/pathkeeperd.log";  // the ring and its writer run too
    config.logging.journal = false;
    config.logging.level = "debug";
    config.defaults.no_path_retry.kind = core::NoPathRetry::Kind::Time;
    config.defaults.no_path_retry.duration = 30s;
    // Friendly names and the wwids file, kept in the test's folder: their
    // writer thread runs under the guard too.
    config.user_friendly_names = true;
    config.bindings_file = sysfs + "/bindings";
    config.wwids_file = sysfs + "/wwids";

    daemon::Platform platform;
    platform.make_dm = [this] { return std::make_unique<steady::FakeDm>(world); };
    platform.make_devices = [this] { return std::make_unique<steady::FakeDevices>(world); };
    platform.make_checker = [this](core::CheckerKind k) {
      return std::make_unique<steady::FakeChecker>(world, k);
    };
    platform.clock = &clock;
    platform.process_setup = false;
    // sd-bus allocates per message (control plane, on the service thread):
    // kept out of a suite that counts every heap call in the process.
    platform.dbus = false;
    d = std::make_unique<daemon::Daemon>(std::move(platform));
    options.sysfs_root = sysfs;
    options.dev_root = "/dev";
    options.name_files.multipath_bindings = sysfs + "/multipath-bindings";
    core::Error err;
    ASSERT_TRUE(d->init(config, options, err)) << err.c_str();
  }

  void TearDown() override {
    d.reset();
    std::string cmd = "rm -rf " + sysfs;
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  // Turns of the loop, `dt` of manual time each.
  void run(int turns, core::Duration dt = 100ms) {
    for (int i = 0; i < turns; ++i) {
      clock.advance(dt);
      d->step(0);
    }
  }

  uint32_t active_in_dm() const {
    uint32_t n = 0;
    for (uint32_t i = 0; i < world.path_count; ++i) n += world.path_active_in_dm(world.paths[i].dev.view());
    return n;
  }

  steady::FakeStorage world;
  core::ManualClock clock;
  core::Config config;
  daemon::Options options;
  std::unique_ptr<daemon::Daemon> d;
  std::string sysfs, socket_path;
};

TEST_F(Steady, ThousandsOfTurnsThroughFailuresOutagesStormsAndQueriesAllocateNothing) {
  // Warm up: maps built, every path checked once, the first snapshots served.
  run(50);
  ASSERT_EQ(d->engine().maps().used(), kPaths / 2);
  ASSERT_EQ(active_in_dm(), kPaths);
  static char reply[1 << 20];
  static const char kShowPaths[] = "pk1\0show\0paths";
  static const char kStatus[] = "pk1\0status";
  ASSERT_GT(ask(socket_path.c_str(), kShowPaths, sizeof kShowPaths - 1, reply, sizeof reply), 100);
  uint32_t threads_before = d->measured_at_ready().threads;

  steady::guard_arm();
  for (int cycle = 0; cycle < 20; ++cycle) {
    // A path fails, another hangs (its check times out), both come back.
    world.set_behaviour("sda", steady::Behaviour::Down);
    world.set_behaviour("sdd", steady::Behaviour::Hang);
    run(60);
    world.set_behaviour("sda", steady::Behaviour::Up);
    world.set_behaviour("sdd", steady::Behaviour::Up);
    run(30);

    // All paths of map 3 (sdg, sdh) down past no_path_retry, then back.
    world.set_behaviour("sdg", steady::Behaviour::Down);
    world.set_behaviour("sdh", steady::Behaviour::Hang);
    run(400);  // 40 s: queueing ends after 30 s
    world.set_behaviour("sdg", steady::Behaviour::Up);
    world.set_behaviour("sdh", steady::Behaviour::Up);
    run(30);

    // A uevent storm, CLI queries and a log flood.
    world.storm(200);
    for (int q = 0; q < 5; ++q) {
      ask(socket_path.c_str(), kShowPaths, sizeof kShowPaths - 1, reply, sizeof reply);
      ask(socket_path.c_str(), kStatus, sizeof kStatus - 1, reply, sizeof reply);
    }
    for (int l = 0; l < 200; ++l) log_debug("steady", "log flood line %d of cycle %d", l, cycle);
    run(20);
  }
  steady::Violations v = steady::guard_violations();
  steady::guard_disarm();

  EXPECT_EQ(v.heap, 0u) << "first heap call from " << v.first_heap_caller;
  EXPECT_EQ(v.processes, 0u);
  EXPECT_EQ(v.dlopen, 0u);
  EXPECT_EQ(v.threads, 0u);

  // It really did the work, and ended where the storage is: all paths back.
  const steady::Counts& c = world.counts;
  EXPECT_GE(c.fail_path, 40u) << "each hung path was failed by the daemon's timeout";
  EXPECT_GE(c.reinstate_path, 40u);
  EXPECT_GE(c.fail_if_no_path, 20u) << "no_path_retry ended queueing each outage";
  EXPECT_GE(c.queue_if_no_path, 20u) << "queueing came back with the paths";
  EXPECT_GE(c.checks_busy, 1u) << "a hung check was not re-issued";
  EXPECT_GE(c.uevents, 4000u);
  EXPECT_GT(c.transport_probes, 100u) << "failed paths had their transport probed";
  EXPECT_GT(c.checks_started, 12000u) << "about 16 paths x 1080 s at a 1 s interval";
  EXPECT_EQ(active_in_dm(), kPaths);
  for (size_t m = 0; m < kPaths / 2; ++m) EXPECT_TRUE(world.map_queueing(m)) << "map " << m;
  EXPECT_EQ(d->engine().counters().actions_dropped, 0u);

  ssize_t n = ask(socket_path.c_str(), kStatus, sizeof kStatus - 1, reply, sizeof reply);
  ASSERT_GT(n, 4);
  std::string status(reply + 4, static_cast<size_t>(n) - 4);
  EXPECT_NE(status.find("\"threads\":" + std::to_string(threads_before)), std::string::npos) << status;
}

}  // namespace
