// The daemon's logging API end to end: stderr before log_start, the ring and
// the writer after it, a log file on a multipath map never used, and logging at
// full rate from several threads with zero allocations.
#include "daemon/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "daemon/config/config_loader.h"
#include "tests/support/heap_guard.h"
#include "tests/unit/checkers/fake_tree.h"
#include "tests/unit/daemon/log_test_support.h"

namespace pk::daemon {
namespace {

using namespace std::chrono_literals;

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!test::direct_io_works(dir.path(), why)) GTEST_SKIP() << why;
    cfg.file = dir.file("pathkeeperd.log");
    cfg.file_size_bytes = 1 << 20;
    cfg.journal = false;
  }
  void TearDown() override { log_stop(); }

  test::ScratchDir dir;
  core::LoggingConfig cfg;
  LogStartOptions options;
  core::Error err;
};

// Early start-up errors must be seen: before log_start, straight to stderr.
TEST(LogBeforeStart, WritesStderrAtOnce) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  int saved = ::dup(STDERR_FILENO);
  ::dup2(p[1], STDERR_FILENO);
  uint64_t written = log_counters().written;
  log_error("config", "cannot read %s", "/etc/x.yaml");
  log_path(LogLevel::Notice, "path", "mpatha", "sdb", "3600a", "failed");
  log_debug("config", "below the level: not written");
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(p[1]);
  char buf[256];
  ssize_t n = ::read(p[0], buf, sizeof buf);
  ::close(p[0]);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)),
            "<3>error config: cannot read /etc/x.yaml\n<5>notice path: [mpatha sdb] failed\n");
  EXPECT_EQ(log_counters().written, written + 2);
  EXPECT_EQ(log_counters().records_limit, 0u);
}

TEST_F(LogTest, RecordsGoToTheFileAndCountersFollow) {
  ASSERT_TRUE(log_start(cfg, 256, false, options, err)) << err.c_str();
  EXPECT_EQ(log_file_path(), cfg.file);
  core::Error again;
  EXPECT_FALSE(log_start(cfg, 256, false, options, again));
  EXPECT_STREQ(again.c_str(), "logging is started already");

  log_notice("daemon", "hello %d", 1);
  log_map(LogLevel::Warning, "map", "mpatha", "3600a", "no usable path");
  log_path(LogLevel::Info, "path", "mpatha", "sdb", "3600a", "reinstated");
  LogCounters during = log_counters();
  EXPECT_EQ(during.records_limit, 256u);
  log_stop();

  ctl::LogFileReader reader;
  std::string error;
  ASSERT_TRUE(reader.open(cfg.file, error)) << error;
  std::vector<core::LogRecord> r = reader.read_all();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(std::string(r[0].message()),
            cfg.file + ": created the log file (1 MiB, 2040 records); 256 records in the ring")
      << "the writer says what it does";
  EXPECT_EQ(r[1].message(), "hello 1");
  EXPECT_EQ(r[2].map(), "mpatha");
  EXPECT_EQ(r[2].wwid(), "3600a");
  EXPECT_EQ(r[2].log_level(), LogLevel::Warning);
  EXPECT_EQ(r[3].path(), "sdb");
  EXPECT_EQ(ctl::format_log_record(r[3]).substr(23), " info    path: [mpatha sdb] reinstated");

  LogCounters c = log_counters();
  EXPECT_EQ(c.file.written, 4u);
  EXPECT_TRUE(c.file.active);
  EXPECT_FALSE(c.journal.active);
  EXPECT_FALSE(c.stderr_sink.active);
  EXPECT_EQ(c.ring_dropped, 0u);
  EXPECT_EQ(c.records_used, 0u);
  EXPECT_GE(c.records_high_water, 1u);
}

TEST_F(LogTest, ALogFileOnAMultipathMapIsNeverUsedAndLoggingGoesOn) {
  struct stat st {};
  ASSERT_EQ(::stat(dir.path().c_str(), &st), 0);
  if (::major(st.st_dev) == 0) GTEST_SKIP() << dir.path() << " is on no block device here";
  test::FakeTree sys;
  std::string number = std::to_string(::major(st.st_dev)) + ":" + std::to_string(::minor(st.st_dev));
  sys.write("devices/virtual/block/dm-4/dev", number);
  sys.write("devices/virtual/block/dm-4/dm/uuid", "mpath-36001405cafe");
  sys.write("devices/virtual/block/dm-4/dm/name", "mpathb");
  sys.symlink("dev/block/" + number, sys.path("devices/virtual/block/dm-4"));
  options.sysfs_root = sys.root().string();
  ASSERT_TRUE(log_start(cfg, 256, false, options, err)) << err.c_str();
  const std::string why(log_degraded().file.view());
  EXPECT_EQ(why.rfind("the log file " + cfg.file + " is on multipath map mpathb (dm-4): ", 0), 0u) << why;
  EXPECT_TRUE(log_degraded().writer.empty());
  EXPECT_EQ(log_file_path(), "");
  log_notice("daemon", "still logging");
  EXPECT_EQ(log_counters().records_limit, 256u) << "the ring works";
  EXPECT_FALSE(log_counters().file.active);
  struct stat none {};
  EXPECT_NE(::stat(cfg.file.c_str(), &none), 0) << "nothing was created";
}

TEST_F(LogTest, JournaldAndForegroundStderr) {
  test::DatagramReceiver journal(dir.file("journal.sock"));
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  options.journal_socket = dir.file("journal.sock");
  options.stderr_fd = p[1];
  cfg.journal = true;
  ASSERT_TRUE(log_start(cfg, 256, true, options, err)) << err.c_str();
  log_path(LogLevel::Notice, "path", "mpatha", "sdc", "3600a", "failed by the checker");
  log_stop();
  std::vector<std::string> d = journal.read_all();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NE(d[1].find("PATHKEEPER_PATH=sdc\nPATHKEEPER_WWID=3600a\nMESSAGE=failed by the checker\n"),
            std::string::npos)
      << d[1];
  char buf[1024];
  ssize_t n = ::read(p[0], buf, sizeof buf);
  ::close(p[0]);
  ::close(p[1]);
  ASSERT_GT(n, 0);
  std::string lines(buf, static_cast<size_t>(n));
  EXPECT_NE(lines.find("journald: yes; stderr: yes"), std::string::npos) << lines;
  EXPECT_NE(lines.find("<5>notice path: [mpatha sdc] failed by the checker\n"), std::string::npos) << lines;
}

// `pathkeeperctl log` finds the running daemon's log file in its `show config`.
TEST(LogFileFromConfig, TheDaemonsOwnDump) {
  core::Config c = default_config();
  c.logging.file = "/srv/logs/pathkeeper/pk.log";
  EXPECT_EQ(ctl::log_file_from_config(dump_config_yaml(c)), "/srv/logs/pathkeeper/pk.log");
  EXPECT_EQ(ctl::log_file_from_config(
                "control:\n  file: /not/this\nlogging:\n  level: info\n  file: \"/a b/c.log\"\n"),
            "/a b/c.log");
  EXPECT_EQ(ctl::log_file_from_config("logging:\n  level: info\n"), "");
}

// The proof: producers on four threads log as fast as they can while
// the writer thread writes the file and journald; nobody allocates.
TEST_F(LogTest, FullRateFromManyThreadsAllocatesNothing) {
  test::DatagramReceiver journal(dir.file("journal.sock"));  // bound, never read: drops
  options.journal_socket = dir.file("journal.sock");
  cfg.journal = true;
  ASSERT_TRUE(log_start(cfg, 1024, false, options, err)) << err.c_str();
  // Warm-up: one record to the file, so the writer's and the file's threads
  // have started (a thread's start allocates under AddressSanitizer).
  log_info("test", "warm-up");
  for (int i = 0; i < 5000 && log_counters().file.written == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_GT(log_counters().file.written, 0u);
  constexpr int kThreads = 4;
  constexpr int kEach = 25000;
  std::atomic<bool> go{false};
  std::atomic<bool> may_exit{false};  // a thread's exit frees its state: after the measurement
  std::atomic<int> started{0}, done{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&go, &may_exit, &started, &done, t] {
      started.fetch_add(1);
      while (!go.load()) {
      }
      for (int i = 0; i < kEach; ++i) {
        log_path(LogLevel::Info, "path", "3600140512345678", "sdb", "3600140512345678",
                 "thread %d record %d: checker says up after %d ms", t, i, i % 100);
      }
      done.fetch_add(1);
      while (!may_exit.load()) std::this_thread::yield();
    });
  }
  while (started.load() < kThreads) std::this_thread::yield();  // a thread's start allocates (under ASan)
  LogCounters before_c = log_counters();
  test::heap_guard::arm();
  auto t0 = std::chrono::steady_clock::now();
  go = true;
  while (done.load() < kThreads) std::this_thread::yield();
  auto produced = std::chrono::steady_clock::now() - t0;
  for (int i = 0; i < 2000 && log_counters().records_used > 0; ++i) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(100ms);  // the last page reaches the file
  test::heap_guard::disarm();
  may_exit = true;
  for (auto& t : threads) t.join();
  LogCounters c = log_counters();
  EXPECT_EQ(test::heap_guard::count(), 0u)
      << "heap calls while logging at full rate, the first from " << test::heap_guard::first_caller();
  EXPECT_EQ((c.written - before_c.written) + (c.ring_dropped - before_c.ring_dropped),
            uint64_t{kThreads} * kEach)
      << "every record accepted or counted as dropped";
  EXPECT_GT(c.journal.dropped, 0u) << "journald did not read";
  std::printf(
      "%d records from %d threads in %lld ms: %llu accepted, %llu dropped by the ring; file %llu written, "
      "%llu dropped; journald %llu sent, %llu dropped\n",
      kThreads * kEach, kThreads,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(produced).count()),
      static_cast<unsigned long long>(c.written - before_c.written),
      static_cast<unsigned long long>(c.ring_dropped), static_cast<unsigned long long>(c.file.written),
      static_cast<unsigned long long>(c.file.dropped), static_cast<unsigned long long>(c.journal.written),
      static_cast<unsigned long long>(c.journal.dropped));
}

}  // namespace
}  // namespace pk::daemon
