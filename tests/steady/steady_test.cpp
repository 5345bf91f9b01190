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

// A fake /sys: block/<dev>/size for each path, and its identity
// (device/wwid), which every check reads again under the guard.
std::string make_sysfs(const steady::FakeStorage& world) {
  char tmpl[] = "/tmp/pk-steady-XXXXXX";
  std::string root = ::mkdtemp(tmpl);
  ::mkdir((root + "/block").c_str(), 0755);
  for (uint32_t i = 0; i < world.path_count; ++i) {
    std::string dir = root + "/block/" + std::string(world.paths[i].dev.view());
    ::mkdir(dir.c_str(), 0755);
    ::mkdir((dir + "/device").c_str(), 0755);
    FILE* f = std::fopen((dir + "/size").c_str(), "w");
    std::fputs("2097152\n", f);
    std::fclose(f);
    f = std::fopen((dir + "/device/wwid").c_str(), "w");
    std::fprintf(f, "naa.%s\n", world.paths[i].wwid.c_str());
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
    daemon::log_stop();  // the log is the process's: the next test starts it again
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

  // An operator's command over the control socket while the loop turns
  // (the loop carries it out and answers): stack buffers only. `words` are
  // NUL-separated after "pk1". Returns the reply's length, or -1.
  ssize_t command(std::string_view words, char* reply, size_t cap) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
    char frame[256];
    uint32_t len = static_cast<uint32_t>(words.size());
    std::memcpy(frame, &len, 4);
    std::memcpy(frame + 4, words.data(), words.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::send(fd, frame, 4 + words.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(4 + words.size())) {
      ::close(fd);
      return -1;
    }
    size_t got = 0;
    for (int turn = 0; turn < 400; ++turn) {
      run(1);
      ssize_t n = ::recv(fd, reply + got, cap - got, 0);
      if (n == 0) break;
      if (n < 0) {
        ::usleep(2000);
        continue;
      }
      got += static_cast<size_t>(n);
      uint32_t want = 0;
      if (got >= 4) std::memcpy(&want, reply, 4);
      if (got >= 4 && got >= 4 + want) break;
    }
    ::close(fd);
    return static_cast<ssize_t>(got);
  }
  // "pk1\0VERB\0NOUN\0<name of the map of `wwid`>" into `out`.
  std::string_view map_command(const char* verb_noun, size_t n, std::string_view wwid, char (&out)[160]) {
    core::MapId id = d->engine().find_map_by_wwid(wwid);
    std::string_view name = id == core::kNoSlot ? "none" : d->engine().maps().at(id).name.view();
    std::memcpy(out, verb_noun, n);
    std::memcpy(out + n, name.data(), name.size());
    return {out, n + name.size()};
  }
  steady::FakeMap* fake_map_of(std::string_view wwid) {
    for (steady::FakeMap& m : world.maps)
      if (m.used && m.uuid.view().substr(0, 6) == "mpath-" && m.uuid.view().substr(6) == wwid) return &m;
    return nullptr;
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

namespace {

// The map lifecycle under the guard: a LUN growing (both paths rescanned),
// a LUN unmapped (every path removed: the map removed) and mapped again, a
// map held open losing every path (kept) and refusing `remove map`, remove
// path / add path and resize map from the control socket.
TEST_F(Steady, RemovalAndResizeAllocateNothing) {
  run(50);
  ASSERT_EQ(d->engine().maps().used(), kPaths / 2);
  world.sysfs_root.assign(sysfs);  // set_size writes the fake tree, then raises a change uevent
  const std::string grows(world.paths[0].wwid.view()), unmapped(world.paths[2].wwid.view()),
      held(world.paths[4].wwid.view());
  static char reply[1 << 16];
  char cmd[160];
  static const char kRemoveMap[] = "pk1\0remove\0map\0";
  static const char kResizeMap[] = "pk1\0resize\0map\0";
  static const char kRemovePath[] = "pk1\0remove\0path\0sdg";
  static const char kAddPath[] = "pk1\0add\0path\0sdg";
  // Once before the guard: the first command on a connection sets up what a
  // service thread keeps.
  ASSERT_GT(command(map_command(kResizeMap, sizeof kResizeMap - 1, grows, cmd), reply, sizeof reply), 4);
  const uint64_t removes_before = world.counts.removes;

  steady::guard_arm();
  uint64_t sectors = 2097152;
  int refused = 0, resized = 0, path_commands = 0;
  for (int cycle = 0; cycle < 10; ++cycle) {
    sectors += 2048;
    world.set_size("sda", sectors);
    world.set_size("sdb", sectors);
    run(5);

    world.hotplug("sdc", adapters::DeviceAction::Remove);
    world.hotplug("sdd", adapters::DeviceAction::Remove);
    run(5);
    world.hotplug("sdc", adapters::DeviceAction::Add);
    world.hotplug("sdd", adapters::DeviceAction::Add);
    run(10);

    if (steady::FakeMap* m = fake_map_of(held)) m->holders = 1;
    ssize_t n = command(map_command(kRemoveMap, sizeof kRemoveMap - 1, held, cmd), reply, sizeof reply);
    refused +=
        n > 4 && std::string_view(reply + 4, static_cast<size_t>(n) - 4).starts_with("pk1 error failed");
    world.hotplug("sde", adapters::DeviceAction::Remove);
    world.hotplug("sdf", adapters::DeviceAction::Remove);
    run(5);
    world.hotplug("sde", adapters::DeviceAction::Add);
    world.hotplug("sdf", adapters::DeviceAction::Add);
    run(10);
    if (steady::FakeMap* m = fake_map_of(held)) m->holders = 0;

    n = command({kRemovePath, sizeof kRemovePath - 1}, reply, sizeof reply);
    path_commands += n > 4 && std::string_view(reply + 4, static_cast<size_t>(n) - 4).starts_with("pk1 ok");
    n = command({kAddPath, sizeof kAddPath - 1}, reply, sizeof reply);
    path_commands += n > 4 && std::string_view(reply + 4, static_cast<size_t>(n) - 4).starts_with("pk1 ok");
    n = command(map_command(kResizeMap, sizeof kResizeMap - 1, grows, cmd), reply, sizeof reply);
    resized += n > 4 && std::string_view(reply + 4, static_cast<size_t>(n) - 4).starts_with("pk1 ok");
    run(20);
  }
  steady::Violations v = steady::guard_violations();
  steady::guard_disarm();

  EXPECT_EQ(v.heap, 0u) << "first heap call from " << v.first_heap_caller;
  EXPECT_EQ(v.processes, 0u);
  EXPECT_EQ(v.dlopen, 0u);
  EXPECT_EQ(v.threads, 0u);

  // It really did the work.
  ASSERT_NE(fake_map_of(grows), nullptr);
  EXPECT_EQ(fake_map_of(grows)->sectors, sectors) << "the LUN grew ten times, so did its map";
  EXPECT_EQ(resized, 10) << "resize map answered (already the size its paths say)";
  EXPECT_EQ(world.counts.removes - removes_before, 10u) << "the unmapped LUN's map, once per cycle";
  EXPECT_EQ(world.counts.removed_while_queueing, 0u);
  EXPECT_EQ(refused, 10) << "remove map of the held map, refused";
  EXPECT_EQ(path_commands, 20);
  EXPECT_NE(fake_map_of(unmapped), nullptr) << "mapped again";
  EXPECT_NE(fake_map_of(held), nullptr);
  EXPECT_EQ(active_in_dm(), kPaths);
  EXPECT_EQ(d->engine().counters().actions_dropped, 0u);
}

}  // namespace
