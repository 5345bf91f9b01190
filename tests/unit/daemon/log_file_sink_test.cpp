// The log file sink on a real file with direct I/O: created at full size,
// written as a circular file, read back in order after wrap-around, adopted
// after a restart, and nothing else ever overwritten.
#include "daemon/log_file_sink.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "tests/unit/daemon/log_test_support.h"

namespace pk::daemon {
namespace {

class LogFileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!test::direct_io_works(dir.path(), why)) GTEST_SKIP() << why;
  }

  static core::LogRecord record(const std::string& text) {
    core::LogRecord r;
    core::fill_log_record_text(r, 1, core::LogLevel::Info, "test", {"mpatha", "sdb", "3600a"}, text);
    return r;
  }

  // Appends `n` records "prefix<i>", flushing as the writer would.
  static void write(LogFileSink& sink, int from, int to, const std::string& prefix = "r") {
    for (int i = from; i < to; ++i) {
      ASSERT_TRUE(sink.append(record(prefix + std::to_string(i))));
      if (i % 50 == 49) sink.flush(0, false);
    }
    sink.flush(0, true);
  }

  static std::vector<std::string> range(int from, int to, const std::string& prefix = "r") {
    std::vector<std::string> v;
    for (int i = from; i < to; ++i) v.push_back(prefix + std::to_string(i));
    return v;
  }

  test::ScratchDir dir;
  core::Error err;
};

TEST_F(LogFileSinkTest, CreatedAtFullSizeWithEveryBlockAllocated) {
  std::string path = dir.file("var/log/pathkeeper/pathkeeperd.log");  // the folders are created too
  LogFileSink sink;
  ASSERT_TRUE(sink.open(path, 1 << 20, 8, 42, err)) << err.c_str();
  EXPECT_TRUE(sink.direct());
  EXPECT_NE(sink.notes().find("created the log file (1 MiB, 2040 records)"), std::string::npos)
      << sink.notes();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  EXPECT_GE(st.st_blocks * 512, 1 << 20) << "allocated now, not when written";
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(sink.header().slots, 2040u);
  EXPECT_EQ(sink.header().created_ns, 42);
  EXPECT_TRUE(test::log_messages(path).empty());
}

TEST_F(LogFileSinkTest, ReadBackInOrderAfterWrappingTwice) {
  std::string path = dir.file("pathkeeperd.log");
  LogFileSink sink;
  ASSERT_TRUE(sink.open(path, 1 << 20, 8, 1, err)) << err.c_str();
  write(sink, 0, 5000);
  EXPECT_EQ(test::log_messages(path), range(5000 - 2040, 5000));
  LogSinkCounters c = sink.counters();
  EXPECT_EQ(c.written, 5000u);
  EXPECT_EQ(c.dropped, 0u);
  EXPECT_EQ(c.write_errors, 0u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20) << "a circular file never grows";
}

TEST_F(LogFileSinkTest, AReopenedFileContinuesAfterItsNewestRecord) {
  std::string path = dir.file("pathkeeperd.log");
  {
    LogFileSink sink;
    ASSERT_TRUE(sink.open(path, 1 << 20, 8, 1, err)) << err.c_str();
    write(sink, 0, 2100);  // wrapped once; the next record goes in the middle of a page
  }
  LogFileSink again;
  ASSERT_TRUE(again.open(path, 1 << 20, 8, 2, err)) << err.c_str();
  EXPECT_EQ(again.next_seq(), 2100u);
  // A page the writer starts is empty: when record 2096 began page 7 (slots
  // 56..63), the oldest records 60..63 went; 2036 are left.
  EXPECT_NE(again.notes().find("continuing the log file after record 2100 (2036 records kept)"),
            std::string::npos)
      << again.notes();
  EXPECT_EQ(again.header().created_ns, 1) << "the same file";
  write(again, 0, 10, "after");  // slots 60..69: page 7 continued, page 8 begun (70, 71 go)
  std::vector<std::string> want = range(72, 2100);
  for (const auto& s : range(0, 10, "after")) want.push_back(s);
  EXPECT_EQ(test::log_messages(path), want) << "the records of the page it continued in are kept";
}

TEST_F(LogFileSinkTest, ANewSizeMakesANewFile) {
  std::string path = dir.file("pathkeeperd.log");
  {
    LogFileSink sink;
    ASSERT_TRUE(sink.open(path, 1 << 20, 8, 1, err)) << err.c_str();
    write(sink, 0, 10);
  }
  LogFileSink bigger;
  ASSERT_TRUE(bigger.open(path, 2 << 20, 8, 2, err)) << err.c_str();
  EXPECT_NE(bigger.notes().find("the log file was 1 MiB, is now 2 MiB"), std::string::npos) << bigger.notes();
  EXPECT_EQ(bigger.next_seq(), 0u);
  EXPECT_TRUE(test::log_messages(path).empty());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 2 << 20);
}

TEST_F(LogFileSinkTest, SomethingElseIsNeverOverwritten) {
  std::string path = dir.file("precious");
  std::ofstream(path) << "not a log\n";
  LogFileSink sink;
  EXPECT_FALSE(sink.open(path, 1 << 20, 8, 1, err));
  EXPECT_NE(std::string(err.c_str()).find("exists and is not a pathkeeper log file"), std::string::npos)
      << err.c_str();
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "not a log");

  ASSERT_EQ(::symlink(dir.file("elsewhere").c_str(), dir.file("link").c_str()), 0);
  LogFileSink linked;
  EXPECT_FALSE(linked.open(dir.file("link"), 1 << 20, 8, 1, err));
  EXPECT_NE(std::string(err.c_str()).find("symbolic link"), std::string::npos) << err.c_str();
}

// When every staging page waits for the disk, records are dropped and
// counted; nothing already staged is lost.
TEST_F(LogFileSinkTest, FullStagingDropsAndCounts) {
  std::string path = dir.file("pathkeeperd.log");
  LogFileSink sink;
  ASSERT_TRUE(sink.open(path, 1 << 20, 4, 1, err)) << err.c_str();
  int kept = 0;
  for (int i = 0; i < 45; ++i) kept += sink.append(record("r" + std::to_string(i))) ? 1 : 0;
  EXPECT_EQ(kept, 40) << "4 staging pages and the page being filled, 8 records each";
  EXPECT_EQ(sink.staged(), 4u);
  EXPECT_EQ(sink.counters().dropped, 5u);
  EXPECT_EQ(sink.unreported_drops(), 5u);
  sink.flush(0, true);
  EXPECT_EQ(sink.staged(), 0u);
  EXPECT_EQ(sink.counters().written, 40u);
  EXPECT_EQ(test::log_messages(path), range(0, 40));
  EXPECT_TRUE(sink.append(record("r45")));
  sink.drops_reported(5);
  EXPECT_EQ(sink.unreported_drops(), 0u);
}

// The file's own thread writes what the writer hands over; at stop it writes
// the rest.
TEST_F(LogFileSinkTest, TheIoThreadWritesAndStops) {
  std::string path = dir.file("pathkeeperd.log");
  LogFileSink sink;
  ASSERT_TRUE(sink.open(path, 1 << 20, 8, 1, err)) << err.c_str();
  ASSERT_TRUE(sink.start(err)) << err.c_str();
  int kept = 0;
  for (int i = 0; i < 3000; ++i) {
    kept += sink.append(record("r" + std::to_string(i))) ? 1 : 0;
    if (i % 40 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  sink.publish_partial();
  sink.stop(1'000'000'000);
  EXPECT_FALSE(sink.running());
  LogSinkCounters c = sink.counters();
  std::printf("I/O thread: %d kept, %llu written, %llu dropped, %llu would block\n", kept,
              static_cast<unsigned long long>(c.written), static_cast<unsigned long long>(c.dropped),
              static_cast<unsigned long long>(c.would_block));
  EXPECT_EQ(c.written + c.dropped, 3000u) << "every record written or counted";
  std::vector<std::string> m = test::log_messages(path);
  ASSERT_FALSE(m.empty());
  int previous = -1;
  for (const std::string& s : m) {
    int n = std::stoi(s.substr(1));
    EXPECT_GT(n, previous) << "in order";
    previous = n;
  }
}

TEST_F(LogFileSinkTest, APartlyFilledPageIsRewrittenAsItFills) {
  std::string path = dir.file("pathkeeperd.log");
  LogFileSink sink;
  ASSERT_TRUE(sink.open(path, 1 << 20, 4, 1, err)) << err.c_str();
  ASSERT_TRUE(sink.append(record("a")));
  sink.flush(0, false);
  EXPECT_TRUE(sink.partial_dirty()) << "the page being filled waits for the writer to be idle";
  EXPECT_TRUE(test::log_messages(path).empty());
  sink.flush(0, true);
  EXPECT_EQ(test::log_messages(path), std::vector<std::string>{"a"});
  ASSERT_TRUE(sink.append(record("b")));
  sink.flush(0, true);
  EXPECT_EQ(test::log_messages(path), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(sink.counters().written, 2u) << "a record rewritten with its page is counted once";
}

// `pathkeeperctl log -f`: what is new since the last look, in order; a
// writer that went round the whole file meanwhile; a re-created file.
TEST_F(LogFileSinkTest, FollowingTheFile) {
  std::string path = dir.file("pathkeeperd.log");
  auto sink = std::make_unique<LogFileSink>();
  ASSERT_TRUE(sink->open(path, 1 << 20, 8, 1, err)) << err.c_str();
  write(*sink, 0, 10);
  ctl::LogFileReader reader;
  std::string error;
  ASSERT_TRUE(reader.open(path, error)) << error;
  EXPECT_EQ(reader.read_all(3).size(), 3u) << "-n 3";
  uint64_t skipped = 99;
  EXPECT_TRUE(reader.poll(skipped).empty());
  EXPECT_EQ(skipped, 0u);

  write(*sink, 10, 15);
  auto messages = [](const std::vector<core::LogRecord>& v) {
    std::vector<std::string> out;
    out.reserve(v.size());
    for (const auto& r : v) out.emplace_back(r.message());
    return out;
  };
  EXPECT_EQ(messages(reader.poll(skipped)), range(10, 15));
  EXPECT_EQ(skipped, 0u);
  write(*sink, 15, 700);  // more than one look's window
  EXPECT_EQ(messages(reader.poll(skipped)), range(15, 700));

  write(*sink, 700, 3000);  // round the whole file and more
  std::vector<core::LogRecord> fresh = reader.poll(skipped);
  EXPECT_EQ(skipped, 3000u - 2040u - 700u) << "records overwritten before they could be read";
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(fresh.back().message(), "r2999");
  EXPECT_EQ(fresh.size() + skipped, 3000u - 700u);

  sink.reset();  // the daemon restarts with another size: a new file
  sink = std::make_unique<LogFileSink>();
  ASSERT_TRUE(sink->open(path, 2 << 20, 8, 2, err)) << err.c_str();
  write(*sink, 0, 3, "new");
  EXPECT_EQ(messages(reader.poll(skipped)), range(0, 3, "new"));
}

}  // namespace
}  // namespace pk::daemon
