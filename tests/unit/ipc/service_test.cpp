// The control socket service end to end, in process: a socket in a temporary
// directory, the service on its thread, and a fake loop thread answering the
// commands (and able to stall, as a loop in the middle of a reconfigure).
#include "ipc/service.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "ipc/protocol.h"
#include "tests/support/heap_guard.h"
#include "tests/unit/ipc/sample_snapshot.h"

using namespace pk;
using namespace pk::ipc;
using namespace std::chrono_literals;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Big enough for `show paths` of 4096 paths; static so reading allocates nothing.
char g_reply[8 << 20];

// A test client with fixed buffers only (it allocates nothing).
class RawClient {
 public:
  explicit RawClient(std::string_view path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool send_words(std::initializer_list<std::string_view> words) {
    char frame[kFrameHeaderBytes + kMaxRequestBytes];
    size_t n = encode_request(std::span<const std::string_view>(words.begin(), words.size()), frame);
    return n != 0 && send_raw(frame, n);
  }
  bool send_raw(const void* data, size_t len) {
    const char* p = static_cast<const char*>(data);
    while (len) {
      ssize_t n = ::send(fd_, p, len, MSG_NOSIGNAL);
      if (n <= 0) return false;
      p += n;
      len -= static_cast<size_t>(n);
    }
    return true;
  }
  // One reply into g_reply; false on end of stream, error or timeout.
  bool read_reply(ReplyHead& head) {
    if (!read_exact(g_reply, kFrameHeaderBytes)) return false;
    size_t len = get_le32(g_reply);
    if (len > sizeof g_reply - kFrameHeaderBytes) return false;
    if (!read_exact(g_reply + kFrameHeaderBytes, len)) return false;
    return parse_reply({g_reply + kFrameHeaderBytes, len}, head);
  }
  // True when the service closed the connection (within the receive timeout).
  bool closed_by_peer() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  bool readable_within(int ms) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
  }

 private:
  bool read_exact(char* out, size_t len) {
    size_t have = 0;
    while (have < len) {
      ssize_t n = ::recv(fd_, out + have, len - have, 0);
      if (n <= 0) return false;
      have += static_cast<size_t>(n);
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
};

// NOLINTNEXTLINE(bugprone-exception-escape): a null json cannot throw; its constructor is not noexcept
struct Answer {
  bool replied = false;
  bool ok = false;
  ErrorCode code = ErrorCode::Internal;
  json body;
  std::string message() const { return ok ? body["result"]["message"] : body["error"]["message"]; }
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pk-service-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    ::chmod(tmpl, 0755);  // other users reach the socket in the authorisation test
    config.control_socket = dir + "/run/control.sock";
    config.limits.max_paths = 16;
    config.limits.max_maps = 4;
    config.limits.max_clients = 4;
    options.command_timeout = 3s;
    options.send_timeout = 1s;
    options.idle_timeout = 3s;
    options.dbus.enabled = false;  // the socket alone (D-Bus: dbus_service_test.cpp)
  }

  void start() {
    snapshots.init(config.limits.max_paths, config.limits.max_maps);
    test::fill_sample(snapshots.back());
    snapshots.publish();
    ASSERT_TRUE(commands.open());
    ASSERT_TRUE(service.init(config, snapshots, commands, err, options)) << err.c_str();
    started = true;
    service_thread = std::thread([this] { service.run(stop); });
    loop_thread = std::thread([this] { fake_loop(); });
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
    std::filesystem::remove_all(dir);
  }

  // The loop's side of the command channel: answers every command at once
  // unless stalled. "nosuch" fails.
  void fake_loop() {
    while (!loop_stop) {
      pollfd p{commands.commands_fd(), POLLIN, 0};
      ::poll(&p, 1, 20);
      if (stalled) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
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
        char text[256];
        core::FixedWriter w(text);
        w.text(r.ok ? "done: " : "no path named ").text(c.target.view());
        r.message.assign(w.view());
        commands.reply(r);
      }
    }
  }

  std::string_view path() const { return config.control_socket; }

  Answer call(std::initializer_list<std::string_view> words) {
    RawClient c(path());
    EXPECT_TRUE(c.connected());
    EXPECT_TRUE(c.send_words(words));
    return read_answer(c);
  }
  static Answer read_answer(RawClient& c) {
    Answer a;
    ReplyHead head;
    a.replied = c.read_reply(head);
    if (!a.replied) return a;
    a.ok = head.ok;
    a.code = head.code;
    a.body = json::parse(head.body);
    return a;
  }

  template <typename Pred>
  static bool eventually(Pred pred, std::chrono::milliseconds limit = 3s) {
    auto end = SteadyClock::now() + limit;
    while (SteadyClock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(2ms);
    }
    return pred();
  }

  std::string dir;
  core::Config config;
  ServiceOptions options;
  core::SnapshotExchange snapshots;
  CommandChannel commands;
  Service service;
  core::Error err;
  std::atomic<bool> stop{false};
  std::atomic<bool> loop_stop{false};
  std::atomic<bool> stalled{false};
  Command received[64];
  std::atomic<size_t> received_count{0};
  bool started = false;
  std::thread service_thread;
  std::thread loop_thread;
};

TEST_F(ServiceTest, ShowPathsAnswersWhileTheLoopIsStalled) {
  start();
  stalled = true;  // the loop is busy, e.g. reconfiguring
  RawClient waiting(path());
  ASSERT_TRUE(waiting.send_words({"reconfigure"}));

  auto t0 = SteadyClock::now();
  Answer paths = call({"show", "paths"});
  Answer status = call({"status"});
  auto took = SteadyClock::now() - t0;
  ASSERT_TRUE(paths.replied);
  EXPECT_TRUE(paths.ok);
  EXPECT_EQ(paths.body["paths"].size(), 5u);
  EXPECT_TRUE(status.ok);
  EXPECT_LT(took, 1s) << "reads never wait for the loop";
  EXPECT_FALSE(waiting.readable_within(0)) << "the command waits for the loop";

  stalled = false;
  Answer done = read_answer(waiting);
  ASSERT_TRUE(done.replied);
  EXPECT_TRUE(done.ok);
  ASSERT_EQ(received_count.load(), 1u);
  EXPECT_EQ(received[0].kind, Command::Kind::Reconfigure);
}

TEST_F(ServiceTest, ReadsAnswerFromTheLatestSnapshot) {
  start();
  Answer maps = call({"show", "maps"});
  ASSERT_TRUE(maps.ok);
  EXPECT_EQ(maps.body["version"], 1);
  EXPECT_EQ(maps.body["maps"][0]["uuid"], "mpath-360014051234abcd");
  Answer topo = call({"show", "topology"});
  ASSERT_TRUE(topo.ok);
  EXPECT_EQ(topo.body["maps"][0]["groups"].size(), 2u);
  Answer map = call({"show", "map", "mpatha"});
  ASSERT_TRUE(map.ok);
  EXPECT_EQ(map.body["map"]["groups"][1]["paths"][0]["dev"], "sdd");
  Answer p = call({"show", "path", "sdb"});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.body["path"]["devt"], "8:16");
  Answer st = call({"show", "status"});
  ASSERT_TRUE(st.ok);
  EXPECT_EQ(st.body["status"]["pid"], 1234);

  // The loop publishes a new snapshot: the next read sees it.
  core::Snapshot& next = snapshots.back();
  test::fill_sample(next);
  next.generation = 43;
  next.path_count = 2;
  snapshots.publish();
  Answer again = call({"show", "paths"});
  EXPECT_EQ(again.body["generation"], 43);
  EXPECT_EQ(again.body["paths"].size(), 2u);
}

TEST_F(ServiceTest, UnknownNamesAreNotFound) {
  start();
  Answer m = call({"show", "map", "mpathz"});
  ASSERT_TRUE(m.replied);
  EXPECT_FALSE(m.ok);
  EXPECT_EQ(m.code, ErrorCode::NotFound);
  EXPECT_EQ(m.message(), "no map named 'mpathz'");
  Answer p = call({"show", "path", "sdz"});
  EXPECT_EQ(p.code, ErrorCode::NotFound);
  EXPECT_EQ(p.message(), "no path named 'sdz'");
}

TEST_F(ServiceTest, CommandsReachTheLoopAndTheirResultsComeBack) {
  start();
  Answer fail = call({"fail", "path", "sdb"});
  ASSERT_TRUE(fail.replied);
  EXPECT_TRUE(fail.ok);
  EXPECT_EQ(fail.message(), "done: sdb");
  Answer sw = call({"switch", "group", "mpatha", "2"});
  EXPECT_TRUE(sw.ok);
  Answer dq = call({"disable", "queueing", "--all"});
  EXPECT_TRUE(dq.ok);
  Answer rq = call({"restore", "queueing", "nbd-export1"});
  EXPECT_TRUE(rq.ok);
  Answer re = call({"reinstate", "path", "nosuch"});
  ASSERT_TRUE(re.replied);
  EXPECT_FALSE(re.ok);
  EXPECT_EQ(re.code, ErrorCode::Failed);
  EXPECT_EQ(re.message(), "no path named nosuch");

  ASSERT_EQ(received_count.load(), 5u);
  EXPECT_EQ(received[0].kind, Command::Kind::FailPath);
  EXPECT_EQ(received[0].target.view(), "sdb");
  EXPECT_EQ(received[1].kind, Command::Kind::SwitchGroup);
  EXPECT_EQ(received[1].target.view(), "mpatha");
  EXPECT_EQ(received[1].group, 2);
  EXPECT_EQ(received[2].kind, Command::Kind::DisableQueueing);
  EXPECT_TRUE(received[2].all);
  EXPECT_EQ(received[3].kind, Command::Kind::RestoreQueueing);
  EXPECT_FALSE(received[3].all);
  EXPECT_EQ(received[3].target.view(), "nbd-export1");
  EXPECT_EQ(received[4].kind, Command::Kind::ReinstatePath);
  std::set<uint32_t> tokens;
  for (size_t i = 0; i < 5; ++i) tokens.insert(received[i].token);
  EXPECT_EQ(tokens.size(), 5u) << "every command has its own token";
}

TEST_F(ServiceTest, ACommandTheLoopDoesNotAnswerTimesOut) {
  options.command_timeout = 200ms;
  start();
  stalled = true;
  RawClient c(path());
  ASSERT_TRUE(c.send_words({"fail", "path", "sdb"}));
  auto t0 = SteadyClock::now();
  Answer a = read_answer(c);
  ASSERT_TRUE(a.replied);
  EXPECT_EQ(a.code, ErrorCode::Timeout);
  EXPECT_EQ(a.message(), "the daemon did not carry the command out within 200 ms");
  EXPECT_LT(SteadyClock::now() - t0, 2s);
  EXPECT_EQ(service.stats().command_timeouts, 1u);

  // The loop answers late: the answer goes nowhere, the connection goes on.
  stalled = false;
  ASSERT_TRUE(eventually([&] { return received_count.load() == 1; }));
  ASSERT_TRUE(c.send_words({"status"}));
  Answer st = read_answer(c);
  ASSERT_TRUE(st.replied);
  EXPECT_TRUE(st.ok);
  EXPECT_TRUE(st.body.contains("status")) << "not the late command result";
}

TEST_F(ServiceTest, AClientLeavingBeforeItsResultHarmsNothing) {
  start();
  stalled = true;
  {
    RawClient c(path());
    ASSERT_TRUE(c.send_words({"fail", "path", "sdb"}));
    ASSERT_TRUE(eventually([&] { return service.stats().requests == 1; }));
  }
  ASSERT_TRUE(eventually([&] { return service.stats().clients == 0; }));
  stalled = false;
  ASSERT_TRUE(eventually([&] { return received_count.load() == 1; }));
  EXPECT_TRUE(call({"status"}).ok);
}

TEST_F(ServiceTest, AOneMebibyteRequestGetsAnErrorAndTheServiceStaysHealthy) {
  start();
  RawClient c(path());
  char header[4];
  put_le32(1 << 20, header);
  ASSERT_TRUE(c.send_raw(header, 4));
  static char junk[1 << 20];
  std::memset(junk, 'x', sizeof junk);
  c.send_raw(junk, sizeof junk);  // fails part way: the service stops reading
  Answer a = read_answer(c);
  ASSERT_TRUE(a.replied);
  EXPECT_EQ(a.code, ErrorCode::TooLarge);
  EXPECT_EQ(a.message(), "request of 1048576 bytes: a request has at most 4096");
  EXPECT_TRUE(c.closed_by_peer());

  Answer st = call({"status"});
  EXPECT_TRUE(st.ok) << "still healthy";
}

TEST_F(ServiceTest, GarbageGetsAnErrorNeverACrash) {
  start();
  {
    // A well-framed payload of garbage: an error, and the connection goes on.
    RawClient c(path());
    const char garbage[] = "\x10\0\0\0\x8f\x01zz\xff\xfe\0\0q\x7f\x80\x81\x82\x83\x84\x85";
    ASSERT_TRUE(c.send_raw(garbage, 20));
    Answer a = read_answer(c);
    ASSERT_TRUE(a.replied);
    EXPECT_EQ(a.code, ErrorCode::Usage);
    ASSERT_TRUE(c.send_words({"show", "maps"}));
    EXPECT_TRUE(read_answer(c).ok);
  }
  {
    // Not our protocol at all: the first four bytes read as a huge length.
    RawClient c(path());
    ASSERT_TRUE(c.send_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27));
    Answer a = read_answer(c);
    EXPECT_EQ(a.code, ErrorCode::TooLarge);
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    // An empty frame: an error, then the connection is closed.
    RawClient c(path());
    ASSERT_TRUE(c.send_raw("\0\0\0\0", 4));
    Answer a = read_answer(c);
    EXPECT_EQ(a.code, ErrorCode::Usage);
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    // Another protocol version (whatever follows the version word).
    RawClient c(path());
    ASSERT_TRUE(c.send_raw("\x0b\0\0\0pk2\0status", 15));
    Answer a = read_answer(c);
    EXPECT_EQ(a.code, ErrorCode::Version);
  }
  {
    // Half a frame, then gone.
    RawClient c(path());
    ASSERT_TRUE(c.send_raw("\x20\0\0\0pk1\0sh", 10));
  }
  EXPECT_TRUE(call({"status"}).ok);
}

TEST_F(ServiceTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawClient c(path());
  ASSERT_TRUE(c.send_words({"show", "path", "sdb"}));
  ASSERT_TRUE(c.send_words({"fail", "path", "sdc"}));
  ASSERT_TRUE(c.send_words({"show", "path", "sdd"}));
  Answer a = read_answer(c);
  Answer b = read_answer(c);
  Answer d = read_answer(c);
  EXPECT_EQ(a.body["path"]["dev"], "sdb");
  EXPECT_EQ(b.message(), "done: sdc");
  EXPECT_EQ(d.body["path"]["dev"], "sdd");
}

TEST_F(ServiceTest, OverTheClientLimitAClientIsToldBusyAndCounted) {
  start();
  RawClient c1(path()), c2(path()), c3(path()), c4(path());
  ASSERT_TRUE(eventually([&] { return service.stats().clients == 4; }));
  RawClient over(path());
  ASSERT_TRUE(over.connected());
  Answer a = read_answer(over);
  ASSERT_TRUE(a.replied);
  EXPECT_EQ(a.code, ErrorCode::Busy);
  EXPECT_EQ(a.message(), "the daemon serves at most 4 clients at a time; try again");
  EXPECT_TRUE(over.closed_by_peer());
  EXPECT_EQ(service.stats().refused_busy, 1u);

  c1.close();
  ASSERT_TRUE(eventually([&] { return service.stats().clients == 3; }));
  EXPECT_TRUE(call({"status"}).ok);
  ASSERT_TRUE(c2.send_words({"status"}));
  EXPECT_TRUE(read_answer(c2).ok) << "the others still work";
}

TEST_F(ServiceTest, AClientThatSendsNothingIsDropped) {
  options.idle_timeout = 200ms;
  start();
  RawClient idle(path());
  ASSERT_TRUE(idle.connected());
  RawClient partial(path());
  ASSERT_TRUE(partial.send_raw("\x20\0\0\0pk1", 7));
  EXPECT_TRUE(idle.closed_by_peer());
  EXPECT_TRUE(partial.closed_by_peer());
  EXPECT_EQ(service.stats().dropped_idle, 2u);
}

TEST_F(ServiceTest, StateChangesNeedRootOrTheControlGroup) {
  config.control_group = "4242";
  start();
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to connect as other users";
  // A child process connects as another user; its exit status is the answer's code.
  auto as_user = [&](gid_t group) {
    pid_t pid = ::fork();
    if (pid == 0) {
      gid_t groups[1] = {group};
      if (::setgroups(group ? 1 : 0, groups) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
          ::setresuid(65534, 65534, 65534) != 0)
        ::_exit(100);
      RawClient c(path());
      ReplyHead head;
      if (!c.send_words({"fail", "path", "sdb"}) || !c.read_reply(head)) ::_exit(101);
      ::_exit(head.ok ? 0 : 10 + static_cast<int>(head.code));
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(as_user(0), 10 + static_cast<int>(ErrorCode::Denied)) << "nobody, no group";
  EXPECT_EQ(as_user(4242), 0) << "a member of the control group";
  EXPECT_EQ(received_count.load(), 1u) << "only the permitted command reached the loop";

  // Everyone may read.
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setresuid(65534, 65534, 65534) != 0) ::_exit(100);
    RawClient c(path());
    ReplyHead head;
    ::_exit(c.send_words({"show", "paths"}) && c.read_reply(head) && head.ok ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(ServiceTest, ShowConfigAnswersWithThePublishedText) {
  options.config_text_capacity = 64;
  start();
  Answer none = call({"show", "config"});
  EXPECT_EQ(none.code, ErrorCode::Unavailable);
  EXPECT_EQ(none.message(), "the daemon has not published its configuration yet");

  std::string yaml = "defaults:\n  checker: tur\n  # \"quoted\" \\ text\n";
  ASSERT_TRUE(service.set_config_text(yaml));
  Answer a = call({"show", "config"});
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.body["version"], 1);
  EXPECT_EQ(a.body["config"]["yaml"], yaml);
  EXPECT_EQ(a.body["config"]["source"], "/etc/pathkeeper/pathkeeper.yaml");

  EXPECT_FALSE(service.set_config_text(std::string(65, 'y')));
  Answer big = call({"show", "config"});
  EXPECT_EQ(big.code, ErrorCode::Unavailable);
  EXPECT_EQ(big.message(), "the configuration text (65 bytes) is larger than the 64 bytes reserved for it");
}

TEST_F(ServiceTest, TheSocketIsForEveryoneInADirectoryItCreates) {
  start();
  struct stat st {};
  ASSERT_EQ(::stat(config.control_socket.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  EXPECT_EQ(service.socket_path(), config.control_socket);
}

TEST_F(ServiceTest, ASecondServiceOnALiveSocketIsRefused) {
  start();
  core::SnapshotExchange x;
  x.init(1, 1);
  CommandChannel ch;
  ASSERT_TRUE(ch.open());
  Service second;
  core::Error e;
  EXPECT_FALSE(second.init(config, x, ch, e));
  EXPECT_EQ(e.view(), "another daemon answers on " + config.control_socket);
  EXPECT_TRUE(second.problems().another_daemon);
  EXPECT_TRUE(call({"status"}).ok) << "the first one is untouched";
  ch.close();
}

TEST_F(ServiceTest, AStaleSocketIsReplacedAndOtherFilesAreLeftAlone) {
  std::filesystem::create_directories(dir + "/run");
  {
    // A socket nobody listens on any more (a crashed daemon's).
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, config.control_socket.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  start();
  EXPECT_TRUE(call({"status"}).ok);

  std::string file = dir + "/run/not-a-socket";
  std::ofstream(file) << "keep me";
  core::Config other = config;
  other.control_socket = file;
  core::SnapshotExchange x;
  x.init(1, 1);
  CommandChannel ch;
  ASSERT_TRUE(ch.open());
  Service s;
  core::Error e;
  EXPECT_TRUE(s.init(other, x, ch, e)) << "D-Bus serves alone";
  EXPECT_EQ(s.problems().socket.view(), file + " exists and is not a socket; not touching it");
  EXPECT_FALSE(s.problems().another_daemon);
  std::ifstream in(file);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "keep me");
  ch.close();
}

TEST_F(ServiceTest, TheSocketFileGoesWithTheService) {
  {
    Service s;
    core::SnapshotExchange x;
    x.init(1, 1);
    CommandChannel ch;
    ASSERT_TRUE(ch.open());
    ASSERT_TRUE(s.init(config, x, ch, err)) << err.c_str();
    EXPECT_TRUE(std::filesystem::exists(config.control_socket));
    ch.close();
  }
  EXPECT_FALSE(std::filesystem::exists(config.control_socket));
}

TEST_F(ServiceTest, BadConfigurationsAreRefusedAtInit) {
  core::SnapshotExchange x;
  x.init(1, 1);
  CommandChannel ch;
  ASSERT_TRUE(ch.open());
  core::Config c = config;
  c.control_socket = "relative.sock";
  Service s1;
  EXPECT_FALSE(s1.init(c, x, ch, err));
  c = config;
  c.control_socket = "/" + std::string(200, 'x');
  Service s2;
  EXPECT_FALSE(s2.init(c, x, ch, err));
  c = config;
  c.limits.max_clients = 0;
  Service s4;
  EXPECT_FALSE(s4.init(c, x, ch, err));
  ch.close();
  Service s5;
  EXPECT_FALSE(s5.init(config, x, ch, err)) << "the command channel is closed";
  std::atomic<bool> never{false};
  s5.run(never);  // returns at once: nothing to serve
}

// At boot the group database may not be up yet (NSS over LDAP): the
// service starts, and changing state is root's alone until a reconfigure.
TEST_F(ServiceTest, AnUnknownControlGroupLeavesChangesToRoot) {
  config.control_group = "no-such-group-here";
  start();
  EXPECT_EQ(service.problems().group.view(),
            "control_group 'no-such-group-here' is not a group on this system");
  EXPECT_TRUE(service.problems().socket.empty());
  EXPECT_TRUE(call({"status"}).ok);
}

TEST_F(ServiceTest, StopEndsRunPromptly) {
  start();
  auto t0 = SteadyClock::now();
  stop = true;
  service.wake();
  service_thread.join();
  EXPECT_LT(SteadyClock::now() - t0, 500ms);
  service_thread = std::thread([] {});  // for TearDown
}

TEST_F(ServiceTest, ServingAllocatesNothingAfterInit) {
  start();
  ASSERT_TRUE(service.set_config_text("defaults: {}\n"));
  auto round = [&](RawClient& c) {
    bool all = true;
    ReplyHead head;
    for (auto words : {std::initializer_list<std::string_view>{"show", "paths"},
                       {"show", "maps"},
                       {"show", "topology"},
                       {"show", "map", "mpatha"},
                       {"show", "path", "sdd"},
                       {"show", "map", "nope"},
                       {"status"},
                       {"show", "config"},
                       {"fail", "path", "sdb"},
                       {"reinstate", "path", "nosuch"},
                       {"switch", "group", "mpatha", "2"},
                       {"shwo", "paths"}}) {
      all = all && c.send_words(words) && c.read_reply(head);
    }
    all = all && c.send_raw("\x05\0\0\0pk2\0x", 9) && c.read_reply(head);
    return all;
  };
  {
    RawClient warm(path());
    ASSERT_TRUE(round(warm));
  }
  test::heap_guard::arm();
  bool all = true;
  for (int i = 0; i < 20; ++i) {
    RawClient c(path());
    all = all && round(c);
    RawClient big(path());
    char header[4];
    put_le32(100000, header);
    ReplyHead head;
    all = all && big.send_raw(header, 4) && big.read_reply(head) && !head.ok;
  }
  test::heap_guard::disarm();
  EXPECT_TRUE(all);
  EXPECT_EQ(test::heap_guard::count(), 0u)
      << "the service allocated after init; first heap call from " << test::heap_guard::first_caller();
}

// A snapshot too big for the socket buffers, and a client that never reads.
class SlowReaderTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    config.limits.max_paths = 4096;
    options.send_timeout = 300ms;
  }
};

TEST_F(SlowReaderTest, AClientThatDoesNotReadIsDroppedAndBlocksNobody) {
  start();
  core::Snapshot& s = snapshots.back();
  test::fill_sample(s);
  for (uint32_t i = 0; s.path_count < 4096; ++i) {
    char dev[16];
    std::snprintf(dev, sizeof dev, "sd%05u", i);
    test::add_path(s, dev, {8, i}, "360014051234abcd-some-long-identifier-of-this-lun", "mpatha", 1, 50,
                   core::PathState::Up, core::DmState::Active, false, 1000, i);
  }
  snapshots.publish();

  RawClient slow(path());
  ASSERT_TRUE(slow.send_words({"show", "paths"}));
  ASSERT_TRUE(eventually([&] { return service.stats().requests == 1; }));

  auto t0 = SteadyClock::now();
  Answer cmd = call({"fail", "path", "sdb"});
  EXPECT_TRUE(cmd.ok) << "small replies never wait for the snapshot buffer";
  EXPECT_LT(SteadyClock::now() - t0, 250ms);

  Answer st = call({"status"});  // waits for the buffer until the slow one is dropped
  EXPECT_TRUE(st.ok);
  EXPECT_LT(SteadyClock::now() - t0, 2s);
  EXPECT_EQ(service.stats().dropped_slow, 1u);

  // A reader that reads gets the whole big reply.
  Answer all = call({"show", "paths"});
  ASSERT_TRUE(all.ok);
  EXPECT_EQ(all.body["paths"].size(), 4096u);
}

}  // namespace
