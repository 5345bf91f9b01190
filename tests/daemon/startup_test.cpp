// Degrade, don't refuse: the wired daemon starts and builds its maps without
// a log file, locked memory, its bindings file, its control socket or its
// control group, and says what it went without at READY (STATUS=), in
// `status` and its JSON. Without device-mapper it stops, and says why.
#include "core/startup.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "ipc/ctl/client.h"
#include "tests/daemon/harness.h"

using namespace pk;
using namespace std::chrono_literals;
using core::StartupStep;

namespace {

constexpr std::string_view kLun = "36001405000000000000000000000000a";

// systemd's end of NOTIFY_SOCKET: what the daemon sent (READY=1, STATUS=...).
class NotifyReceiver {
 public:
  explicit NotifyReceiver(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  ~NotifyReceiver() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  std::string received() {
    std::string all;
    char buf[2048];
    for (ssize_t n; (n = ::recv(fd_, buf, sizeof buf, 0)) > 0;)
      all.append(buf, static_cast<size_t>(n)).append("\n");
    return all;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

struct Startup : ::testing::Test {
  behaviour::Harness h;

  void SetUp() override {
    h.add_disk("sda", 0, kLun);
    h.add_disk("sdb", 16, kLun);
  }
  // A path under a regular file: nothing can ever be made there.
  std::string impossible(const std::string& leaf) {
    std::string file = h.folder() + "/a-file";
    behaviour::Harness::write_file(file, "in the way\n");
    return file + "/" + leaf;
  }
  bool map_built() {
    return h.has_map(kLun) && h.world.path_active_in_dm("sda") && h.world.path_active_in_dm("sdb");
  }
  const core::Degradation* without(StartupStep step) { return h.daemon().startup().find(step); }
  nlohmann::json status() {
    ctl::Reply reply;
    std::string error;
    if (!ctl::call_daemon(h.config.control_socket, {"status"}, 2s, reply, error) || !reply.ok)
      return {{"error", error}};
    return nlohmann::json::parse(reply.body)["status"];
  }
};

}  // namespace

TEST_F(Startup, WithoutItsLogFileTheDaemonStartsBuildsTheMapAndSaysWhyEverywhere) {
  NotifyReceiver systemd(h.folder() + "/notify.sock");
  ASSERT_TRUE(systemd.bound());
  h.config.logging.file = impossible("log/pathkeeperd.log");
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_TRUE(map_built());

  const core::Degradation* d = without(StartupStep::LogFile);
  ASSERT_NE(d, nullptr);
  const std::string reason = "cannot create " + h.folder() + "/a-file/log for the log file: Not a directory";
  EXPECT_EQ(d->reason.view(), reason);
  EXPECT_EQ(h.daemon().startup().size(), 1u) << "nothing else was given up";

  nlohmann::json s = status();
  EXPECT_EQ(s["ready"], true) << s.dump();
  EXPECT_EQ(s["degraded"], true);
  ASSERT_EQ(s["started_without"].size(), 1u);
  EXPECT_EQ(s["started_without"][0]["part"], "log_file");
  EXPECT_EQ(s["started_without"][0]["reason"], reason);
  EXPECT_EQ(s["log_sinks"]["file"]["active"], false);

  std::string sent = systemd.received();
  EXPECT_NE(
      sent.find("READY=1\nSTATUS=checking 2 paths in 1 maps; started without the log file (" + reason + ")"),
      std::string::npos)
      << sent;
  h.run(15);  // the periodic STATUS= keeps saying it
  sent += systemd.received();
  EXPECT_NE(sent.find("STATUS=2 paths in 1 map: 2 up, 0 down; started without the log file (" + reason + ")"),
            std::string::npos)
      << sent;
}

TEST_F(Startup, WithoutLockedMemoryTheDaemonStartsAndSaysSo) {
  h.lock_memory = [](core::Error& err) {
    err.set("mlockall failed (Cannot allocate memory): RLIMIT_MEMLOCK is 65536 bytes");
    return false;
  };
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_TRUE(map_built());
  const core::Degradation* d = without(StartupStep::MemoryLock);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason.view(), "mlockall failed (Cannot allocate memory): RLIMIT_MEMLOCK is 65536 bytes");
  EXPECT_EQ(status()["started_without"][0]["part"], "memory_lock");
}

TEST_F(Startup, ABindingsFileThatCannotBeReadNamesMapsByTheirWwid) {
  h.config.user_friendly_names = true;
  std::filesystem::create_directories(h.config.bindings_file);  // a folder: read fails with EISDIR
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_TRUE(map_built()) << "named by its WWID, not mpatha";
  EXPECT_FALSE(h.has_map("mpatha"));
  const core::Degradation* d = without(StartupStep::BindingsFile);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason.view(), "cannot read the bindings file " + h.config.bindings_file + ": Is a directory");

  core::Config next = h.config;  // a reconfigure does not turn them on again
  h.reconfigure(next);
  h.run(5);
  EXPECT_TRUE(h.has_map(kLun));
  EXPECT_FALSE(h.has_map("mpatha"));
}

TEST_F(Startup, WithoutItsControlSocketTheDaemonStillBuildsMaps) {
  h.config.control_socket = impossible("run/control.sock");
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_TRUE(map_built());
  const core::Degradation* d = without(StartupStep::ControlSocket);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason.view(),
            "cannot create the directory of " + h.config.control_socket + ": Not a directory");
}

TEST_F(Startup, AControlGroupThatIsNotAGroupLeavesChangesToRoot) {
  h.config.control_group = "no-such-group-at-boot";
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_TRUE(map_built());
  const core::Degradation* d = without(StartupStep::ControlGroup);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason.view(), "control_group 'no-such-group-at-boot' is not a group on this system");
  nlohmann::json s = status();
  EXPECT_EQ(s["started_without"][0]["part"], "control_group") << s.dump();
}

TEST_F(Startup, EverythingAtOnceIsListedInOrder) {
  h.config.logging.file = impossible("log/pathkeeperd.log");
  h.config.control_group = "no-such-group-at-boot";
  h.lock_memory = [](core::Error& err) {
    err.set("mlockall failed: Operation not permitted");
    return false;
  };
  ASSERT_TRUE(h.start());
  h.run(10);
  EXPECT_TRUE(map_built());
  nlohmann::json s = status();
  ASSERT_EQ(s["started_without"].size(), 3u) << s.dump();
  EXPECT_EQ(s["started_without"][0]["part"], "memory_lock");
  EXPECT_EQ(s["started_without"][1]["part"], "log_file");
  EXPECT_EQ(s["started_without"][2]["part"], "control_group");
}

TEST_F(Startup, WithoutDeviceMapperItStopsAndSaysWhy) {
  h.world.dm_missing = true;
  EXPECT_FALSE(h.start());
  ASSERT_NE(h.daemon().stopped_at(), nullptr);
  EXPECT_EQ(h.daemon().stopped_at()->step, StartupStep::DeviceMapper);
  EXPECT_EQ(std::string(h.daemon().stopped_at()->effect), "no map can be built, read or adopted");
}
