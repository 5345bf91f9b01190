// pathkeeperctl without a daemon: the command line, and the tables people see,
// from JSON the real renderer produces for the sample snapshot (so a change of
// the schema that the CLI does not follow fails here).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/snapshot_json.h"
#include "ipc/ctl/args.h"
#include "ipc/ctl/client.h"
#include "ipc/ctl/tables.h"
#include "ipc/service.h"
#include "tests/unit/ipc/sample_snapshot.h"

using namespace pk;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Parsed {
  bool ok;
  ctl::Invocation inv;
  std::string error;
};
Parsed parse(std::vector<std::string_view> args) {
  Parsed p;
  p.ok = ctl::parse_args(args, p.inv, p.error);
  return p;
}

TEST(CtlArgs, DefaultsAndGlobalOptionsAnywhere) {
  Parsed p = parse({"show", "paths"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.inv.socket, "/run/pathkeeper/control.sock");
  EXPECT_FALSE(p.inv.json);
  EXPECT_EQ(p.inv.kind, ipc::RequestKind::ShowPaths);
  EXPECT_EQ(p.inv.words, (std::vector<std::string>{"show", "paths"}));
  EXPECT_EQ(p.inv.effective_timeout(), ctl::kReadTimeout);

  p = parse({"--socket", "/tmp/s.sock", "show", "map", "mpatha", "--json", "--timeout=2.5"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.inv.socket, "/tmp/s.sock");
  EXPECT_TRUE(p.inv.json);
  EXPECT_EQ(p.inv.effective_timeout(), 2500ms);
  EXPECT_EQ(p.inv.words, (std::vector<std::string>{"show", "map", "mpatha"}));

  p = parse({"--socket=/x", "disable", "queueing", "--all"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.inv.socket, "/x");
  EXPECT_EQ(p.inv.words, (std::vector<std::string>{"disable", "queueing", "--all"}));
  EXPECT_EQ(p.inv.effective_timeout(), ctl::kCommandTimeout) << "commands wait for the loop";

  EXPECT_TRUE(parse({"--help"}).inv.help);
  EXPECT_TRUE(parse({"--version"}).inv.version);
}

TEST(CtlArgs, Watch) {
  Parsed p = parse({"watch"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_TRUE(p.inv.watch);
  EXPECT_EQ(p.inv.kind, ipc::RequestKind::ShowTopology);
  EXPECT_EQ(p.inv.interval, 2000ms);
  p = parse({"watch", "--interval", "0.5", "show", "paths"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.inv.interval, 500ms);
  EXPECT_EQ(p.inv.words, (std::vector<std::string>{"show", "paths"}));
}

TEST(CtlArgs, UsageErrorsNameTheBadWord) {
  struct Case {
    std::vector<std::string_view> args;
    std::string error;
  } cases[] = {
      {{}, "no command given"},
      {{"shwo", "paths"}, "unknown command 'shwo'"},
      {{"show", "pathz"},
       "cannot show 'pathz': expected paths, maps, topology, map NAME, path DEV, status or config"},
      {{"fail", "path"}, "'fail path' needs a path DEV"},
      {{"switch", "group", "mpatha", "two"}, "group 'two' is not a number from 1 to 65535"},
      {{"--bogus", "status"}, "unknown option '--bogus'"},
      {{"-x", "status"}, "unknown option '-x'"},
      {{"status", "--socket"}, "--socket needs a value"},
      {{"--socket=", "status"}, "--socket needs a path"},
      {{"--timeout", "soon", "status"}, "--timeout 'soon' is not a number of seconds (0 < S <= 86400)"},
      {{"--timeout", "-1", "status"}, "--timeout '-1' is not a number of seconds (0 < S <= 86400)"},
      {{"--interval", "1", "status"}, "--interval goes with watch only"},
      {{"watch", "fail", "path", "sdb"}, "watch repeats a show command; 'fail' changes state"},
      {{"log", "now"}, "log takes options only (-f, -n N, --log-file PATH), not 'now'"},
      {{"-f", "status"}, "-f goes with log only"},
      {{"watch", "-n", "3"}, "-n goes with log only"},
      {{"log", "-n", "many"}, "-n 'many' is not a number of records"},
      {{"show", ""}, "word 2 of the command is empty"},
  };
  for (const Case& c : cases) {
    Parsed p = parse(c.args);
    EXPECT_FALSE(p.ok) << c.error;
    EXPECT_EQ(p.error, c.error);
  }
}

TEST(CtlUnits, HumanSizesAndDurations) {
  EXPECT_EQ(ctl::human_size(0), "0B");
  EXPECT_EQ(ctl::human_size(1023), "1023B");
  EXPECT_EQ(ctl::human_size(1536), "1.5K");
  EXPECT_EQ(ctl::human_size(4294967296ull), "4.0G");
  EXPECT_EQ(ctl::human_size(21474836480ull), "20G");
  EXPECT_EQ(ctl::human_size(UINT64_MAX), "16E");
  EXPECT_EQ(ctl::human_duration(0), "0s");
  EXPECT_EQ(ctl::human_duration(999), "0s");
  EXPECT_EQ(ctl::human_duration(65000), "1m05s");
  EXPECT_EQ(ctl::human_duration(7500000), "2h05m");
  EXPECT_EQ(ctl::human_duration(300000000), "3d11h");
  EXPECT_EQ(ctl::human_duration(-1), "-");
}

class CtlTables : public ::testing::Test {
 protected:
  void SetUp() override {
    snap.init(8, 4);
    test::fill_sample(snap);
  }
  template <typename Fn>
  json doc(Fn fn) {
    core::FixedWriter w(buf);
    EXPECT_TRUE(fn(w));
    return json::parse(w.view());
  }
  core::Snapshot snap;
  std::vector<char> buf = std::vector<char>(1 << 16);
  uint32_t scratch[8] = {};
};

TEST_F(CtlTables, Paths) {
  json d = doc([&](core::FixedWriter& w) { return core::render_paths(snap, w); });
  EXPECT_EQ(ctl::format_paths(d),
            "DEV   DEVT  MAP          GROUP  PRIO  ALUA                  CHECKER   STATE      DM_STATE  "
            "SINCE  CHECKS  FAILURES  TIMEOUTS  NOTE\n"
            "nbd0  43:0  nbd-export1      1     1  -                     directio  down       failed    "
            "1m05s      70         0         0\n"
            "sdb   8:16  mpatha           1    50  active/optimized      tur       up         active    "
            "1h02m     900         0         0\n"
            "sdc   8:32  mpatha           1    50  active/optimized      tur       up         active      "
            "59s     901         0         0\n"
            "sdd   8:48  mpatha           2    10  active/non-optimized  tur       down       failed      "
            "12s     880         2         1  admin-failed\n"
            "sde   8:64  -                -     1  -                     tur       unchecked  unknown      "
            "0s       0         0         0\n");
  EXPECT_EQ(ctl::format_reply(ipc::RequestKind::ShowPaths, d), ctl::format_paths(d));
}

TEST_F(CtlTables, Maps) {
  json d = doc([&](core::FixedWriter& w) { return core::render_maps(snap, w); });
  EXPECT_EQ(
      ctl::format_maps(d),
      "NAME         DM    SIZE  USABLE  ACTIVE  GROUP  QUEUEING  NO_PATH_RETRY  FAULTS  WWID              "
      "NOTE\n"
      "mpatha       dm-3  4.0G     2/3     2/3    1/2  yes       queue               4  360014051234abcd\n"
      "nbd-export1  dm-4   20G     0/1     0/1    1/1  yes       3 checks            1  nbd-export1       "
      "all paths down for 1m05s, every path removed, kept: open\n");
}

TEST_F(CtlTables, TopologyLooksLikeMultipathLl) {
  json d = doc([&](core::FixedWriter& w) { return core::render_topology(snap, scratch, w); });
  EXPECT_EQ(ctl::format_topology(d),
            "mpatha (360014051234abcd) dm-3\n"
            "size=4.0G queueing=yes no_path_retry=queue failback=immediate paths=2/3 usable\n"
            "|-+- policy='service-time' prio=50 status=active\n"
            "| |- sdb 8:16 up   active active/optimized\n"
            "| `- sdc 8:32 up   active active/optimized\n"
            "`-+- policy='service-time' prio=10 status=enabled\n"
            "  `- sdd 8:48 down failed active/non-optimized admin-failed\n"
            "nbd-export1 dm-4\n"
            "size=20G queueing=yes no_path_retry='3 checks' failback='after 30s' paths=0/1 usable "
            "[all paths down for 1m05s, every path removed, kept: open]\n"
            "`-+- policy='round-robin' prio=1 status=active\n"
            "  `- nbd0 43:0 down failed\n");
}

TEST_F(CtlTables, AMapOutsideTheKernelAndWithoutPaths) {
  snap.maps[0].in_kernel = false;
  snap.path_count = 0;
  json d = doc([&](core::FixedWriter& w) { return core::render_map(snap, snap.maps[0], scratch, w); });
  std::string text = ctl::format_map(d);
  EXPECT_EQ(
      text.substr(0, text.find("\n\n") + 1),
      "mpatha (360014051234abcd) (not in the kernel)\n"
      "size=4.0G queueing=yes no_path_retry=queue failback=immediate paths=2/3 usable [not in the kernel]\n"
      "`-- (no paths)\n");
}

TEST_F(CtlTables, AMapInTheKernelWithoutItsDeviceNumber) {
  snap.maps[0].devt = {};
  json d = doc([&](core::FixedWriter& w) { return core::render_map(snap, snap.maps[0], scratch, w); });
  std::string text = ctl::format_map(d);
  EXPECT_EQ(text.substr(0, text.find('\n') + 1), "mpatha (360014051234abcd)\n");
}

TEST_F(CtlTables, OneMapOnePathAndStatusAsFields) {
  json m = doc([&](core::FixedWriter& w) { return core::render_map(snap, snap.maps[1], scratch, w); });
  std::string map = ctl::format_map(m);
  EXPECT_NE(map.find("`-+- policy='round-robin' prio=1 status=active\n"), std::string::npos) << map;
  EXPECT_NE(map.find("\nuuid:                       mpath-nbd-export1\n"), std::string::npos) << map;
  EXPECT_NE(map.find("\nall paths down:             yes, for 1m05s\n"), std::string::npos) << map;
  EXPECT_NE(map.find("\nfailback:                   after 30s\n"), std::string::npos) << map;
  EXPECT_NE(map.find("\ndirty_limit:                256 MiB: pending\n"), std::string::npos) << map;

  json p = doc([&](core::FixedWriter& w) { return core::render_path(snap, snap.paths[3], w); });
  std::string path = ctl::format_path(p);
  EXPECT_EQ(path.substr(0, path.find("checker")),
            "dev:          sdd\n"
            "devt:         8:48\n"
            "wwid:         360014051234abcd\n"
            "map:          mpatha\n"
            "group:        2\n"
            "priority:     10\n"
            "alua:         active/non-optimized, port group 20\n");
  EXPECT_NE(path.find("state:        down for 12s\n"), std::string::npos) << path;
  EXPECT_NE(path.find("admin failed: yes\n"), std::string::npos) << path;

  json s = doc([&](core::FixedWriter& w) { return core::render_status(snap, w); });
  std::string status = ctl::format_status(s);
  // NOLINTBEGIN(bugprone-suspicious-missing-comma): long lines, each split in two literals
  for (std::string_view line :
       {"pid:                     1234\n", "uptime:                  1d02h\n",
        "heap:                    67M (+1000 bytes since ready)\n",
        "page faults since ready: 3 minor, 4 major\n", "clients:                 1 of 16\n",
        "last error:              reload of nbd-export1: Device or resource busy\n",
        "bindings file:           /var/lib/pathkeeper/bindings: 3 of 1027 names, not all on "
        "disk yet, 2 writes, 5 failed (rename /var/lib/pathkeeper/bindings: Read-only file "
        "system; retried)\n",
        "wwids file:              /etc/multipath/wwids: 2 of 1030 WWIDs, on disk, 1 writes\n",
        "kernel backstop:         320 s (every map is bounded)\n", "degraded:                yes\n",
        "started without:         the log file: cannot allocate 16 MiB for the log file "
        "/var/log/pathkeeper/pathkeeperd.log: No space left on device\n",
        "  what follows:          logging goes on to journald"})
    EXPECT_NE(status.find(line), std::string::npos) << line << status;
  // NOLINTEND(bugprone-suspicious-missing-comma)
}

TEST(CtlReplies, ConfigResultsAndErrors) {
  json config = {{"version", 1}, {"config", {{"source", "/etc/x.yaml"}, {"yaml", "a: 1"}}}};
  EXPECT_EQ(ctl::format_reply(ipc::RequestKind::ShowConfig, config), "a: 1\n");
  json result = {{"version", 1}, {"result", {{"message", "path sdb failed"}}}};
  EXPECT_EQ(ctl::format_reply(ipc::RequestKind::FailPath, result), "path sdb failed\n");
  json error = {{"version", 1}, {"error", {{"code", "not-found"}, {"message", "no map named 'x'"}}}};
  EXPECT_EQ(ctl::error_message(error), "no map named 'x'");
  EXPECT_EQ(ctl::error_message(json::object()), "unknown error");
}

TEST(CtlReplies, MissingFieldsShowAsDefaults) {
  json d = {{"version", 1}, {"paths", {{{"dev", "sdq"}}}}};
  EXPECT_EQ(
      ctl::format_paths(d),
      "DEV  DEVT  MAP  GROUP  PRIO  ALUA  CHECKER  STATE  DM_STATE  SINCE  CHECKS  FAILURES  TIMEOUTS  NOTE\n"
      "sdq        -        -     0  -                                  0s       0         0         0\n");
  EXPECT_EQ(ctl::format_topology(json::object()), "");
}

}  // namespace

namespace {

// pathkeeperctl's client against a real service (reads need no loop).
class CtlClient : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pk-ctl-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    config.control_socket = dir + "/control.sock";
    config.limits.max_paths = 8;
    config.limits.max_maps = 4;
  }
  void TearDown() override {
    if (thread.joinable()) {
      stop = true;
      service.wake();
      thread.join();
    }
    commands.close();
    std::filesystem::remove_all(dir);
  }
  void start() {
    snapshots.init(8, 4);
    test::fill_sample(snapshots.back());
    snapshots.publish();
    ASSERT_TRUE(commands.open());
    core::Error err;
    ASSERT_TRUE(service.init(config, snapshots, commands, err)) << err.c_str();
    thread = std::thread([this] { service.run(stop); });
  }
  std::string dir;
  core::Config config;
  core::SnapshotExchange snapshots;
  ipc::CommandChannel commands;
  ipc::Service service;
  std::atomic<bool> stop{false};
  std::thread thread;
};

TEST_F(CtlClient, AnswersComeBackAsJson) {
  start();
  ctl::Reply r;
  std::string error;
  ASSERT_TRUE(ctl::call_daemon(config.control_socket, {"show", "topology"}, 2s, r, error)) << error;
  EXPECT_TRUE(r.ok);
  json d = json::parse(r.body);
  EXPECT_EQ(ctl::format_topology(d).substr(0, 31), "mpatha (360014051234abcd) dm-3\n");

  ASSERT_TRUE(ctl::call_daemon(config.control_socket, {"show", "map", "nope"}, 2s, r, error)) << error;
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ipc::ErrorCode::NotFound);
  EXPECT_EQ(ctl::error_message(json::parse(r.body)), "no map named 'nope'");
}

TEST_F(CtlClient, AnAbsentDaemonIsNamedPlainly) {
  ctl::Reply r;
  std::string error;
  EXPECT_FALSE(ctl::call_daemon(config.control_socket, {"status"}, 1s, r, error));
  EXPECT_EQ(error, "no control socket at " + config.control_socket + ": is pathkeeperd running?");

  // A socket file nobody listens on (the daemon died).
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, config.control_socket.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_FALSE(ctl::call_daemon(config.control_socket, {"status"}, 1s, r, error));
  EXPECT_EQ(error, "nobody answers on " + config.control_socket + ": pathkeeperd is not running");

  // Listening but never answering (a hung daemon): the timeout.
  ASSERT_EQ(::listen(fd, 4), 0);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(ctl::call_daemon(config.control_socket, {"status"}, 300ms, r, error));
  EXPECT_EQ(error, "no answer from pathkeeperd on " + config.control_socket + " within 0.3 s");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  ::close(fd);
}

}  // namespace
