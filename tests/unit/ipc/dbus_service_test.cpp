// The D-Bus service end to end, in process: a private dbus-daemon in a
// temporary directory, the service (control socket and D-Bus) on its thread,
// a fake loop answering commands, and sd-bus clients calling methods,
// reading properties and waiting for signals. Other users are played by
// child processes running dbus-send under uid 65534.
#include "ipc/dbus_service.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ipc/dbus_objects.h"
#include "ipc/protocol.h"
#include "ipc/service.h"
#include "pk_build_config.h"
#include "tests/unit/ipc/sample_snapshot.h"

using namespace pk;
using namespace pk::ipc;
using namespace std::chrono_literals;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr char kBus[] = "org.pathkeeper.PathKeeper1";
constexpr char kManager[] = "/org/pathkeeper/PathKeeper1";
constexpr char kManagerIface[] = "org.pathkeeper.PathKeeper1.Manager";
constexpr char kPathIface[] = "org.pathkeeper.PathKeeper1.Path";
constexpr char kMapIface[] = "org.pathkeeper.PathKeeper1.Map";

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
  auto end = SteadyClock::now() + limit;
  while (SteadyClock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

// A private bus that every user may connect to and own names on.
class PrivateBus {
 public:
  explicit PrivateBus(const std::string& dir) : dir_(dir) {
    std::ofstream(dir + "/bus.conf")
        << R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=)"
        << dir << R"(/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
)";
  }
  ~PrivateBus() { stop(); }

  bool start() {
    std::string conf = "--config-file=" + dir_ + "/bus.conf";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("dbus-daemon", "dbus-daemon", conf.c_str(), "--nofork", "--nopidfile", nullptr);
      ::_exit(127);
    }
    std::string sock = dir_ + "/bus";
    bool up = eventually([&] { return ::access(sock.c_str(), F_OK) == 0; });
    ::chmod(sock.c_str(), 0777);
    return up;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    ::unlink((dir_ + "/bus").c_str());
  }
  std::string address() const { return "unix:path=" + dir_ + "/bus"; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// A client connection of the test thread.
struct Client {
  sd_bus* bus = nullptr;
  explicit Client(const std::string& address) {
    EXPECT_GE(sd_bus_new(&bus), 0);
    EXPECT_GE(sd_bus_set_address(bus, address.c_str()), 0);
    EXPECT_GE(sd_bus_set_bus_client(bus, 1), 0);
    EXPECT_GE(sd_bus_start(bus), 0);
    sd_bus_set_method_call_timeout(bus, 5 * 1000 * 1000);
  }
  ~Client() { sd_bus_flush_close_unref(bus); }

  std::string string_property(const std::string& path, const char* iface, const char* name) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    char* value = nullptr;
    int r = sd_bus_get_property_string(bus, kBus, path.c_str(), iface, name, &e, &value);
    std::string out = r >= 0 ? value : std::string("error ") + (e.name ? e.name : "?");
    std::free(value);
    sd_bus_error_free(&e);
    return out;
  }
  template <typename T>
  T property(const std::string& path, const char* iface, const char* name, char type) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    T value{};
    char sig[2] = {type, 0};
    int r = sd_bus_get_property_trivial(bus, kBus, path.c_str(), iface, name, &e, type, &value);
    EXPECT_GE(r, 0) << name << ": " << (e.message ? e.message : "") << sig;
    sd_bus_error_free(&e);
    return value;
  }

  // A manager method with string arguments: "ok MESSAGE" or "ERROR.NAME MESSAGE".
  std::string call(const char* method, const char* types = "", const char* a = nullptr, uint32_t u = 0) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r;
    if (std::string(types) == "s")
      r = sd_bus_call_method(bus, kBus, kManager, kManagerIface, method, &e, &reply, "s", a);
    else if (std::string(types) == "su")
      r = sd_bus_call_method(bus, kBus, kManager, kManagerIface, method, &e, &reply, "su", a, u);
    else
      r = sd_bus_call_method(bus, kBus, kManager, kManagerIface, method, &e, &reply, "");
    std::string out;
    if (r < 0) {
      out = std::string(e.name ? e.name : "?") + " " + (e.message ? e.message : "");
    } else {
      const char* text = nullptr;
      sd_bus_message_read(reply, "s", &text);
      out = std::string("ok ") + (text ? text : "");
    }
    sd_bus_message_unref(reply);
    sd_bus_error_free(&e);
    return out;
  }

  std::string introspect(const char* path) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(bus, kBus, path, "org.freedesktop.DBus.Introspectable", "Introspect", &e,
                               &reply, "");
    const char* xml = "";
    if (r >= 0) sd_bus_message_read(reply, "s", &xml);
    std::string out = xml;
    sd_bus_message_unref(reply);
    sd_bus_error_free(&e);
    return out;
  }

  // Processes incoming messages until pred() or the time is up.
  template <typename Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds limit = 5s) {
    auto end = SteadyClock::now() + limit;
    while (!pred() && SteadyClock::now() < end) {
      while (sd_bus_process(bus, nullptr) > 0) {
      }
      if (pred()) break;
      sd_bus_wait(bus, 50 * 1000);
    }
    return pred();
  }
};

// What a signal said, for the tests.
struct Seen {
  std::vector<std::string> lines;
};

int on_properties_changed(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto& seen = *static_cast<Seen*>(userdata);
  const char* iface = nullptr;
  if (sd_bus_message_read(m, "s", &iface) < 0) return 0;
  std::string line = std::string(sd_bus_message_get_path(m)) + " " + iface;
  sd_bus_message_enter_container(m, 'a', "{sv}");
  while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
    const char* name = nullptr;
    sd_bus_message_read(m, "s", &name);
    const char* contents = nullptr;
    sd_bus_message_peek_type(m, nullptr, &contents);
    line += std::string(" ") + name + "=";
    if (contents && contents[0] == 's') {
      const char* v = nullptr;
      sd_bus_message_read(m, "v", "s", &v);
      line += v;
    } else if (contents && contents[0] == 'b') {
      int v = 0;
      sd_bus_message_read(m, "v", "b", &v);
      line += v ? "true" : "false";
    } else if (contents && contents[0] == 'u') {
      uint32_t v = 0;
      sd_bus_message_read(m, "v", "u", &v);
      line += std::to_string(v);
    } else {
      sd_bus_message_skip(m, "v");
    }
    sd_bus_message_exit_container(m);
  }
  seen.lines.push_back(line);
  return 0;
}

int on_interfaces(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto& seen = *static_cast<Seen*>(userdata);
  const char* path = nullptr;
  if (sd_bus_message_read(m, "o", &path) < 0) return 0;
  seen.lines.push_back(std::string(sd_bus_message_get_member(m)) + " " + path);
  return 0;
}

class DbusServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pk-dbus-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    ::chmod(tmpl, 0755);  // uid 65534 reaches the bus socket
    bus = std::make_unique<PrivateBus>(dir);
    ASSERT_TRUE(bus->start()) << "dbus-daemon did not start";
    config.control_socket = dir + "/control.sock";
    config.limits.max_paths = 16;
    config.limits.max_maps = 4;
    config.limits.max_clients = 4;
    options.command_timeout = 3s;
    options.dbus.address = bus->address();
    options.dbus.poll_interval = 10ms;
    options.dbus.retry_interval = 100ms;
  }

  void start() {
    snapshots.init(config.limits.max_paths, config.limits.max_maps);
    publish([](core::Snapshot&) {});
    ASSERT_TRUE(commands.open());
    ASSERT_TRUE(service.init(config, snapshots, commands, err, options)) << err.c_str();
    started = true;
    service_thread = std::thread([this] { service.run(stop); });
    loop_thread = std::thread([this] { fake_loop(); });
    ASSERT_TRUE(eventually([&] { return service.stats().dbus.name_owned; }))
        << "the service did not own its name";
  }

  void TearDown() override {
    if (started) {
      stop = true;
      service.wake();
      service_thread.join();
      loop_stop = true;
      loop_thread.join();
      commands.close();
    }
    bus.reset();
    std::filesystem::remove_all(dir);
  }

  // The loop's side: publishes the sample snapshot changed by `edit`.
  template <typename Edit>
  void publish(Edit edit) {
    core::Snapshot& s = snapshots.back();
    test::fill_sample(s);
    test::add_path(s, "nosuch", {8, 96}, "x", "", 0, 1, core::PathState::Up, core::DmState::Unknown, false, 0,
                   0);
    s.generation = ++generation * 3;
    edit(s);
    snapshots.publish();
  }

  // Answers every command at once; target "nosuch" fails.
  void fake_loop() {
    while (!loop_stop) {
      pollfd p{commands.commands_fd(), POLLIN, 0};
      ::poll(&p, 1, 20);
      Command c;
      while (commands.pop(c)) {
        size_t i = received_count.load();
        if (i < std::size(received)) {
          received[i] = c;
          received_count.store(i + 1);
        }
        CommandResult r;
        r.token = c.token;
        r.ok = !(c.target == "nosuch");
        std::string text = (r.ok ? "done: " : "cannot: ") + std::string(c.target.view());
        r.message.assign(text);
        commands.reply(r);
      }
    }
  }

  // dbus-send as uid 65534 (with `group` as its only group, 0 for none):
  // its exit status and what it printed.
  std::pair<int, std::string> dbus_send_as_nobody(const std::vector<std::string>& args, gid_t group = 0) {
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    std::string address = "--bus=" + bus->address();
    std::vector<const char*> argv = {"dbus-send", address.c_str(), "--print-reply", "--reply-timeout=5000"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      gid_t groups[1] = {group};
      if (::setgroups(group ? 1 : 0, groups) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
          ::setresuid(65534, 65534, 65534) != 0)
        ::_exit(100);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::execvp("dbus-send", const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    ::close(out[1]);
    std::string text;
    char buf[512];
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
  }

  // One control socket request; true when it was answered "ok".
  bool socket_ok(std::initializer_list<std::string_view> words) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, config.control_socket.c_str(), sizeof addr.sun_path - 1);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    char frame[kFrameHeaderBytes + kMaxRequestBytes];
    size_t len = encode_request(std::span<const std::string_view>(words.begin(), words.size()), frame);
    ok = ok && ::send(fd, frame, len, MSG_NOSIGNAL) == static_cast<ssize_t>(len);
    std::string reply;
    char buf[65536];
    while (ok) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      reply.append(buf, static_cast<size_t>(n));
      if (reply.size() >= kFrameHeaderBytes && reply.size() >= kFrameHeaderBytes + get_le32(reply.data()))
        break;
    }
    ::close(fd);
    ReplyHead head;
    return ok && reply.size() > kFrameHeaderBytes &&
           parse_reply(std::string_view(reply).substr(kFrameHeaderBytes), head) && head.ok;
  }

  std::string dir;
  std::unique_ptr<PrivateBus> bus;
  core::Config config;
  ServiceOptions options;
  core::SnapshotExchange snapshots;
  uint64_t generation = 0;
  CommandChannel commands;
  Service service;
  core::Error err;
  std::atomic<bool> stop{false};
  std::atomic<bool> loop_stop{false};
  Command received[64];
  std::atomic<size_t> received_count{0};
  bool started = false;
  std::thread service_thread;
  std::thread loop_thread;
};

const std::string kSdb = "/org/pathkeeper/PathKeeper1/path/sdb";
const std::string kMpatha = "/org/pathkeeper/PathKeeper1/map/mpatha";

}  // namespace

TEST_F(DbusServiceTest, PropertiesComeFromTheSnapshot) {
  start();
  Client c(bus->address());
  EXPECT_EQ(c.string_property(kManager, kManagerIface, "Version"), PK_VERSION);
  EXPECT_EQ(c.property<int>(kManager, kManagerIface, "Ready", 'b'), 1);
  EXPECT_EQ(c.property<uint32_t>(kManager, kManagerIface, "PathCount", 'u'), 6u);
  EXPECT_EQ(c.property<uint32_t>(kManager, kManagerIface, "MapCount", 'u'), 2u);
  EXPECT_EQ(c.property<uint64_t>(kManager, kManagerIface, "ChecksTotal", 't'), 2751u);
  EXPECT_EQ(c.string_property(kManager, kManagerIface, "LastError"),
            "reload of nbd-export1: Device or resource busy");
  EXPECT_EQ(c.string_property(kManager, kManagerIface, "StartedWithout"),
            "started without the log file (cannot allocate 16 MiB for the log file "
            "/var/log/pathkeeper/pathkeeperd.log: No space left on device)");

  EXPECT_EQ(c.string_property(kSdb, kPathIface, "Dev"), "sdb");
  EXPECT_EQ(c.string_property(kSdb, kPathIface, "DevT"), "8:16");
  EXPECT_EQ(c.string_property(kSdb, kPathIface, "State"), "up");
  EXPECT_EQ(c.string_property(kSdb, kPathIface, "DmState"), "active");
  EXPECT_EQ(c.string_property(kSdb, kPathIface, "Map"), "mpatha");
  EXPECT_EQ(c.string_property(kSdb, kPathIface, "Checker"), "tur");
  EXPECT_EQ(c.property<uint32_t>(kSdb, kPathIface, "Priority", 'u'), 50u);
  EXPECT_EQ(c.property<uint64_t>(kSdb, kPathIface, "Checks", 't'), 900u);
  // A WWID that is not a valid D-Bus string as it stands still reads.
  EXPECT_EQ(c.string_property("/org/pathkeeper/PathKeeper1/path/sde", kPathIface, "Wwid"),
            "ATA \"odd\" \\disk\t1");

  EXPECT_EQ(c.string_property(kMpatha, kMapIface, "Uuid"), "mpath-360014051234abcd");
  EXPECT_EQ(c.property<int>(kMpatha, kMapIface, "Queueing", 'b'), 1);
  EXPECT_EQ(c.property<uint32_t>(kMpatha, kMapIface, "PathsActive", 'u'), 2u);
  EXPECT_EQ(c.string_property(kMpatha, kMapIface, "NoPathRetry"), "queue");
  EXPECT_EQ(c.string_property("/org/pathkeeper/PathKeeper1/map/nbd_2dexport1", kMapIface, "NoPathRetry"),
            "3");
  EXPECT_EQ(c.property<int>("/org/pathkeeper/PathKeeper1/map/nbd_2dexport1", kMapIface, "AllPathsDown", 'b'),
            1);

  EXPECT_EQ(c.string_property("/org/pathkeeper/PathKeeper1/path/sdz", kPathIface, "State"),
            "error org.freedesktop.DBus.Error.UnknownObject");
}

TEST_F(DbusServiceTest, IntrospectionAndTheObjectManagerListEveryObject) {
  start();
  Client c(bus->address());
  std::string root = c.introspect(kManager);
  EXPECT_NE(root.find("<interface name=\"org.pathkeeper.PathKeeper1.Manager\">"), std::string::npos) << root;
  EXPECT_NE(root.find("<method name=\"FailPath\">"), std::string::npos);
  EXPECT_NE(root.find("<node name=\"path\"/>"), std::string::npos) << root;
  EXPECT_NE(root.find("<node name=\"map\"/>"), std::string::npos) << root;
  EXPECT_EQ(root.find("<node name=\"path/"), std::string::npos) << root;
  std::string paths = c.introspect("/org/pathkeeper/PathKeeper1/path");
  for (const char* dev : {"nbd0", "sdb", "sdc", "sdd", "sde"})
    EXPECT_NE(paths.find(std::string("<node name=\"") + dev + "\"/>"), std::string::npos) << paths;
  std::string sdb = c.introspect(kSdb.c_str());
  EXPECT_NE(sdb.find("<property name=\"State\" type=\"s\" access=\"read\">"), std::string::npos) << sdb;

  sd_bus_error e = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  ASSERT_GE(sd_bus_call_method(c.bus, kBus, kManager, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &e, &reply, ""),
            0)
      << (e.message ? e.message : "");
  int objects = 0;
  ASSERT_GE(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}"), 0);
  while (sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}") > 0) {
    ++objects;
    sd_bus_message_skip(reply, "oa{sa{sv}}");
    sd_bus_message_exit_container(reply);
  }
  EXPECT_EQ(objects, 6 + 2);  // six paths, two maps
  sd_bus_message_unref(reply);
  sd_bus_error_free(&e);
}

TEST_F(DbusServiceTest, MethodsGoThroughTheLoopAndAnswerItsResult) {
  start();
  Client c(bus->address());
  EXPECT_EQ(c.call("FailPath", "s", "sdb"), "ok done: sdb");
  ASSERT_EQ(received_count.load(), 1u);
  EXPECT_EQ(received[0].kind, Command::Kind::FailPath);
  EXPECT_EQ(received[0].target.view(), "sdb");

  EXPECT_EQ(c.call("ReinstatePath", "s", "nosuch"), "org.pathkeeper.PathKeeper1.Error.Failed cannot: nosuch");
  EXPECT_EQ(c.call("FailPath", "s", "sdz"), "org.pathkeeper.PathKeeper1.Error.NotFound no path named 'sdz'");
  EXPECT_EQ(c.call("SwitchGroup", "su", "mpatha", 2), "ok done: mpatha");
  EXPECT_EQ(received[2].group, 2);
  EXPECT_EQ(c.call("SwitchGroup", "su", "mpatha", 0).substr(0, 39),
            "org.freedesktop.DBus.Error.InvalidArgs ");
  EXPECT_EQ(c.call("DisableQueueing", "s", ""), "ok done: ");
  EXPECT_TRUE(received[3].all);
  EXPECT_EQ(c.call("RestoreQueueing", "s", "nbd-export1"), "ok done: nbd-export1");
  EXPECT_FALSE(received[4].all);
  EXPECT_EQ(c.call("RestoreQueueing", "s", "mpathz"),
            "org.pathkeeper.PathKeeper1.Error.NotFound no map named 'mpathz'");
  EXPECT_EQ(c.call("Reconfigure"), "ok done: ");
  EXPECT_EQ(received[5].kind, Command::Kind::Reconfigure);
  EXPECT_EQ(received_count.load(), 6u);
  EXPECT_EQ(service.stats().dbus.method_calls, 6u);  // those that got past the arguments
}

TEST_F(DbusServiceTest, GetTopologyJSONIsTheSocketsDocument) {
  start();
  Client c(bus->address());
  std::string reply = c.call("GetTopologyJSON");
  ASSERT_EQ(reply.substr(0, 3), "ok ");
  json doc = json::parse(reply.substr(3));
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["generation"], 3);
  ASSERT_EQ(doc["maps"].size(), 2u);
  EXPECT_EQ(doc["maps"][0]["name"], "mpatha");
  EXPECT_EQ(doc["maps"][0]["groups"][0]["paths"][0]["dev"], "sdb");
}

TEST_F(DbusServiceTest, ChangesAreSignalled) {
  start();
  Client c(bus->address());
  Seen seen;
  ASSERT_GE(sd_bus_match_signal(c.bus, nullptr, nullptr, nullptr, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", on_properties_changed, &seen),
            0);
  ASSERT_GE(sd_bus_match_signal(c.bus, nullptr, nullptr, kManager, "org.freedesktop.DBus.ObjectManager",
                                nullptr, on_interfaces, &seen),
            0);
  // Let the service compare a first snapshot.
  std::this_thread::sleep_for(100ms);

  publish([](core::Snapshot& s) {
    s.paths[1].state = core::PathState::Down;  // sdb
    s.paths[1].dm_state = core::DmState::Failed;
    s.maps[0].paths_active = 1;  // mpatha
  });
  ASSERT_TRUE(c.wait_for([&] { return seen.lines.size() >= 2; })) << "no signal";
  EXPECT_EQ(seen.lines[0], kSdb + " org.pathkeeper.PathKeeper1.Path State=down DmState=failed");
  EXPECT_EQ(seen.lines[1], kMpatha + " org.pathkeeper.PathKeeper1.Map PathsActive=1");
  EXPECT_EQ(c.string_property(kSdb, kPathIface, "State"), "down");

  seen.lines.clear();
  publish([](core::Snapshot& s) {
    s.maps[0].paths_active = 1;
    test::add_path(s, "sdq", {65, 0}, "360014051234abcd", "mpatha", 2, 10, core::PathState::Up,
                   core::DmState::Active, false, 0, 0);
    s.paths[1] = s.paths[--s.path_count];  // sdb goes, sdq takes its slot
  });
  ASSERT_TRUE(c.wait_for([&] { return seen.lines.size() >= 2; })) << "no signal";
  EXPECT_EQ(seen.lines[0], "InterfacesRemoved " + kSdb);
  EXPECT_EQ(seen.lines[1], "InterfacesAdded /org/pathkeeper/PathKeeper1/path/sdq");

  seen.lines.clear();
  publish([](core::Snapshot& s) {
    s.maps[0].paths_active = 1;
    s.paths[1] = s.paths[--s.path_count];  // sdb goes, nosuch takes its slot
  });
  ASSERT_TRUE(c.wait_for([&] { return seen.lines.size() >= 2; })) << "no signal";
  EXPECT_EQ(seen.lines[0], "InterfacesRemoved /org/pathkeeper/PathKeeper1/path/sdq");
  EXPECT_EQ(seen.lines[1], std::string(kManager) + " org.pathkeeper.PathKeeper1.Manager PathCount=5");
  // The service counts a signal after sending it: the client may see it first.
  for (int i = 0; i < 400 && service.stats().dbus.signals < 6; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_GE(service.stats().dbus.signals, 6u);
}

TEST_F(DbusServiceTest, OtherUsersMayReadButNotChangeState) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run as other users";
  start();
  auto [read_status, read_text] =
      dbus_send_as_nobody({"--dest=org.pathkeeper.PathKeeper1", kSdb, "org.freedesktop.DBus.Properties.Get",
                           "string:org.pathkeeper.PathKeeper1.Path", "string:State"});
  EXPECT_EQ(read_status, 0) << read_text;
  EXPECT_NE(read_text.find("string \"up\""), std::string::npos) << read_text;

  auto [fail_status, fail_text] =
      dbus_send_as_nobody({"--dest=org.pathkeeper.PathKeeper1", kManager,
                           "org.pathkeeper.PathKeeper1.Manager.FailPath", "string:sdb"});
  EXPECT_NE(fail_status, 0);
  EXPECT_NE(fail_text.find("org.pathkeeper.PathKeeper1.Error.AccessDenied"), std::string::npos) << fail_text;
  EXPECT_NE(fail_text.find("uid 65534 may not change state: only root may"), std::string::npos) << fail_text;
  EXPECT_EQ(received_count.load(), 0u);
  EXPECT_EQ(service.stats().dbus.denied, 1u);

  // A member of the control group may.
  ASSERT_TRUE(service.set_control_group("4242", err)) << err.c_str();
  auto [member_status, member_text] =
      dbus_send_as_nobody({"--dest=org.pathkeeper.PathKeeper1", kManager,
                           "org.pathkeeper.PathKeeper1.Manager.FailPath", "string:sdb"},
                          4242);
  EXPECT_EQ(member_status, 0) << member_text;
  EXPECT_NE(member_text.find("done: sdb"), std::string::npos) << member_text;
  EXPECT_EQ(received_count.load(), 1u);
}

TEST_F(DbusServiceTest, TheSocketServesWhenTheBusGoesAndTheServiceComesBackWithIt) {
  start();
  EXPECT_TRUE(socket_ok({"show", "paths"}));
  bus->stop();
  ASSERT_TRUE(eventually([&] { return !service.stats().dbus.connected; })) << "the lost bus went unnoticed";
  EXPECT_TRUE(socket_ok({"show", "paths"}));
  EXPECT_TRUE(socket_ok({"fail", "path", "sdb"}));

  ASSERT_TRUE(bus->start());
  ASSERT_TRUE(eventually([&] { return service.stats().dbus.name_owned; })) << "no reconnection";
  EXPECT_EQ(service.stats().dbus.connects, 2u);
  Client c(bus->address());
  EXPECT_EQ(c.string_property(kSdb, kPathIface, "State"), "up");
}

TEST_F(DbusServiceTest, WithoutABusTheSocketServes) {
  bus->stop();
  options.dbus.address = "unix:path=" + dir + "/nobody-listens";
  snapshots.init(config.limits.max_paths, config.limits.max_maps);
  publish([](core::Snapshot&) {});
  ASSERT_TRUE(commands.open());
  ASSERT_TRUE(service.init(config, snapshots, commands, err, options)) << err.c_str();
  started = true;
  service_thread = std::thread([this] { service.run(stop); });
  loop_thread = std::thread([this] { fake_loop(); });
  EXPECT_TRUE(socket_ok({"show", "topology"}));
  EXPECT_TRUE(socket_ok({"reinstate", "path", "sdb"}));
  EXPECT_FALSE(service.stats().dbus.connected);
  EXPECT_EQ(service.stats().dbus.connects, 0u);
}
