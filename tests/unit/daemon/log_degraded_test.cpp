// A log file that cannot be had never stops logging: the daemon goes on with
// journald, stderr and the ring, and log_degraded() says why there is no
// file. A file half made on a full disk is emptied again, so its blocks come
// back and the next start makes it afresh.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "daemon/log.h"
#include "tests/unit/daemon/log_test_support.h"

namespace pk::daemon {
namespace {

class LogDegradedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!test::direct_io_works(dir.path(), why)) GTEST_SKIP() << why;
    cfg.file = dir.file("pathkeeperd.log");
    cfg.file_size_bytes = 1 << 20;
    cfg.journal = true;
    options.journal_socket = dir.file("journal.sock");
  }
  void TearDown() override { log_stop(); }

  // Starts logging with journald listening; true when it started.
  bool start() { return log_start(cfg, 64, false, options, err); }
  std::string file_problem() const { return std::string(log_degraded().file.view()); }
  // Logs one record and returns what journald received of it.
  std::string logged_to_journal(test::DatagramReceiver& journal) {
    log_notice("daemon", "maps are built");
    log_stop();
    std::string all;
    for (const std::string& d : journal.read_all()) all += d;
    return all;
  }

  test::ScratchDir dir;
  core::LoggingConfig cfg;
  LogStartOptions options;
  core::Error err;
};

TEST_F(LogDegradedTest, AFolderThatCannotBeMadeLeavesJournaldAndTheRing) {
  test::DatagramReceiver journal(options.journal_socket);
  std::ofstream(dir.file("not-a-folder")) << "a file where the folder would go";
  cfg.file = dir.file("not-a-folder/log/pathkeeperd.log");
  ASSERT_TRUE(start()) << err.c_str();
  EXPECT_EQ(file_problem(),
            "cannot create " + dir.file("not-a-folder/log") + " for the log file: Not a directory");
  EXPECT_EQ(log_file_path(), "");
  EXPECT_EQ(log_counters().records_limit, 64u);
  EXPECT_FALSE(log_counters().file.active);
  EXPECT_TRUE(log_counters().journal.active);
  std::string sent = logged_to_journal(journal);
  EXPECT_NE(sent.find("MESSAGE=maps are built\n"), std::string::npos) << sent;
  EXPECT_NE(sent.find("MESSAGE=no log file: cannot create "), std::string::npos) << "said in the log itself";
}

TEST_F(LogDegradedTest, SomeoneElsesFileIsLeftAsItIs) {
  test::DatagramReceiver journal(options.journal_socket);
  std::ofstream(cfg.file) << "not ours\n";
  ASSERT_TRUE(start()) << err.c_str();
  EXPECT_EQ(file_problem().rfind(cfg.file + " exists and is not a pathkeeper log file", 0), 0u)
      << file_problem();
  std::string sent = logged_to_journal(journal);
  EXPECT_NE(sent.find("MESSAGE=maps are built\n"), std::string::npos);
  std::ifstream in(cfg.file);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "not ours");
}

// A full disk, as the kernel reports it to a file that may not grow: the
// size limit (RLIMIT_FSIZE) fails the same calls ENOSPC does.
TEST_F(LogDegradedTest, AFileThatCannotBeMadeFullSizeIsEmptiedAndLoggingGoesOn) {
  test::DatagramReceiver journal(options.journal_socket);
  struct sigaction ignore {
  }, before{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGXFSZ, &ignore, &before);
  rlimit saved{};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  rlimit small = saved;
  small.rlim_cur = 64 << 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  bool started = start();
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::sigaction(SIGXFSZ, &before, nullptr);
  ASSERT_TRUE(started) << err.c_str();
  EXPECT_EQ(file_problem(), "cannot size the log file " + cfg.file + " to 1 MiB: File too large");
  struct stat st {};
  ASSERT_EQ(::stat(cfg.file.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0) << "emptied: its blocks given back";
  std::string sent = logged_to_journal(journal);
  EXPECT_NE(sent.find("MESSAGE=maps are built\n"), std::string::npos);

  // Room again: the next start makes the file.
  ASSERT_TRUE(start()) << err.c_str();
  EXPECT_EQ(file_problem(), "");
  EXPECT_EQ(log_file_path(), cfg.file);
}

}  // namespace
}  // namespace pk::daemon
