// The log writer: every record to every sink; journald that does not read and
// a stderr nobody drains cost drops, never a wait; each loss is noted in the
// sink that lost it once it takes records again; the thread drains and stops.
#include "daemon/log_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/support/heap_guard.h"
#include "tests/unit/daemon/log_test_support.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

namespace pk::daemon {
namespace {

using namespace std::chrono_literals;

int64_t mono() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

class LogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!test::direct_io_works(dir.path(), why)) GTEST_SKIP() << why;
    ASSERT_EQ(::pipe2(pipe_, O_CLOEXEC), 0);
    ::fcntl(pipe_[0], F_SETFL, O_NONBLOCK);  // the test reads what is there, never waits
  }
  void TearDown() override {
    for (int fd : pipe_)
      if (fd >= 0) ::close(fd);
  }

  bool open(uint32_t ring_records, bool journal, bool to_stderr) {
    ring.init(ring_records);
    LogWriterOptions o;
    o.file = dir.file("pathkeeperd.log");
    o.file_size_bytes = 1 << 20;
    o.staging_pages = 8;
    if (journal) {
      receiver = std::make_unique<test::DatagramReceiver>(dir.file("journal.sock"));
      o.journal_socket = dir.file("journal.sock");
    }
    o.stderr_fd = to_stderr ? pipe_[1] : -1;
    o.skip_stderr_if_journal_stream = false;
    return writer.open(o, ring, err);
  }

  bool push(const std::string& text, core::LogLevel level = core::LogLevel::Info) {
    core::LogRing::Claim c = ring.try_claim();
    if (!c) return false;
    core::fill_log_record_text(*c.record, 1, level, "test", {"mpatha", "sdb", "3600a"}, text);
    ring.commit(c);
    writer.notify();
    return true;
  }

  std::string read_pipe() {
    std::string out;
    char buf[65536];
    int flags = ::fcntl(pipe_[0], F_GETFL);
    ::fcntl(pipe_[0], F_SETFL, flags | O_NONBLOCK);
    for (;;) {
      ssize_t n = ::read(pipe_[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  std::vector<std::string> file_messages() { return test::log_messages(dir.file("pathkeeperd.log")); }

  test::ScratchDir dir;
  core::LogRing ring;
  LogWriter writer;
  std::unique_ptr<test::DatagramReceiver> receiver;
  int pipe_[2] = {-1, -1};
  core::Error err;
};

TEST_F(LogWriterTest, EveryRecordReachesEverySink) {
  ASSERT_TRUE(open(64, true, true)) << err.c_str();
  EXPECT_EQ(writer.notes(), "created the log file (1 MiB, 2040 records); journald: yes; stderr: yes");
  push("one");
  push("two", core::LogLevel::Error);
  EXPECT_EQ(writer.run_once(mono(), false), -1) << "all written: nothing to wait for";
  EXPECT_EQ(file_messages(), (std::vector<std::string>{"one", "two"}));
  std::vector<std::string> datagrams = receiver->read_all();
  ASSERT_EQ(datagrams.size(), 2u);
  EXPECT_EQ(datagrams[1],
            "PRIORITY=3\nSYSLOG_FACILITY=3\nSYSLOG_IDENTIFIER=pathkeeperd\nPATHKEEPER_SUBSYSTEM=test\n"
            "PATHKEEPER_MAP=mpatha\nPATHKEEPER_PATH=sdb\nPATHKEEPER_WWID=3600a\nMESSAGE=two\n");
  EXPECT_EQ(read_pipe(), "<6>info test: [mpatha sdb] one\n<3>error test: [mpatha sdb] two\n");
  LogWriterCounters c = writer.counters();
  EXPECT_EQ(c.file.written, 2u);
  EXPECT_EQ(c.journal.written, 2u);
  EXPECT_EQ(c.stderr_sink.written, 2u);
}

TEST_F(LogWriterTest, JournalFieldsWithANewlineUseTheBinaryForm) {
  core::LogRecord r;
  core::fill_log_record_text(r, 1, core::LogLevel::Notice, "config", {}, std::string(300, 'x') + "\nline 2");
  char buf[LogJournalSink::kDatagramMax];
  size_t n = LogJournalSink::encode(r, buf, sizeof buf);
  std::string d(buf, n);
  std::string want_len(8, '\0');  // 307 as 64-bit little-endian
  want_len[0] = static_cast<char>(307 & 0xFF);
  want_len[1] = static_cast<char>(307 >> 8);
  EXPECT_NE(d.find("\nMESSAGE\n" + want_len + "xxx"), std::string::npos);
  EXPECT_EQ(d.substr(d.size() - 8), "\nline 2\n");
  EXPECT_EQ(d.find("PATHKEEPER_MAP"), std::string::npos) << "absent identity, absent field";

  core::fill_log_record_text(r, 1, core::LogLevel::Notice, "config", {}, std::string(1000, 'y'));
  EXPECT_NE(std::string(buf, LogJournalSink::encode(r, buf, sizeof buf)).find("PATHKEEPER_TRUNCATED=1\n"),
            std::string::npos);
}

TEST_F(LogWriterTest, NoJournaldMeansTheFileAlone) {
  ring.init(8);
  LogWriterOptions o;
  o.file = dir.file("pathkeeperd.log");
  o.file_size_bytes = 1 << 20;
  o.journal_socket = dir.file("nobody-here");
  ASSERT_TRUE(writer.open(o, ring, err)) << err.c_str();
  EXPECT_NE(writer.notes().find("journald: no (no journald at " + dir.file("nobody-here") +
                                ": No such file or directory)"),
            std::string::npos)
      << writer.notes();
  EXPECT_FALSE(writer.counters().journal_open);
}

// journald alive but not reading (stuck, stopped): its queue fills, the
// writer drops and counts and moves on at once.
TEST_F(LogWriterTest, AJournaldThatDoesNotReadCostsDropsNotTime) {
  ASSERT_TRUE(open(1024, true, false)) << err.c_str();
  for (int i = 0; i < 1000; ++i) push("r" + std::to_string(i));
  auto t0 = std::chrono::steady_clock::now();
  while (writer.run_once(mono(), false) == 0) {
  }
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 1s);
  LogWriterCounters c = writer.counters();
  EXPECT_EQ(c.file.written, 1000u) << "the file has everything";
  EXPECT_EQ(c.journal.written + c.journal.dropped, 1000u);
  EXPECT_GT(c.journal.dropped, 0u);
  EXPECT_EQ(c.journal.would_block, c.journal.dropped);
  EXPECT_EQ(c.journal.write_errors, 0u);
  std::printf("journald not reading: %llu sent, %llu dropped in %lld us\n",
              static_cast<unsigned long long>(c.journal.written),
              static_cast<unsigned long long>(c.journal.dropped),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(took).count()));

  // journald catches up: the next record is preceded by a note of the loss.
  size_t queued = receiver->read_all().size();
  EXPECT_EQ(queued, c.journal.written);
  push("after");
  writer.run_once(mono(), false);
  std::vector<std::string> d = receiver->read_all();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NE(d[0].find("MESSAGE=" + std::to_string(c.journal.dropped) +
                      " log messages did not reach the journal: journald did not keep up\n"),
            std::string::npos)
      << d[0];
  EXPECT_NE(d[0].find("PRIORITY=4\n"), std::string::npos);
  EXPECT_NE(d[1].find("MESSAGE=after\n"), std::string::npos);
}

TEST_F(LogWriterTest, AStderrNobodyDrainsCostsDropsNotTime) {
  ASSERT_TRUE(open(4096, false, true)) << err.c_str();
  for (int i = 0; i < 4000; ++i) push("a line long enough to fill a pipe sooner " + std::to_string(i));
  auto t0 = std::chrono::steady_clock::now();
  while (writer.run_once(mono(), false) == 0) {
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  LogWriterCounters c = writer.counters();
  EXPECT_GT(c.stderr_sink.dropped, 0u);
  EXPECT_EQ(c.stderr_sink.written + c.stderr_sink.dropped, 4000u);
  EXPECT_EQ(c.file.written, 4000u) << "the file went round and took everything";
  read_pipe();
  push("after");
  writer.run_once(mono(), false);
  EXPECT_EQ(read_pipe(), "<4>warning log: " + std::to_string(c.stderr_sink.dropped) +
                             " log messages were not written to stderr: it did not take them\n"
                             "<6>info test: [mpatha sdb] after\n");
}

TEST_F(LogWriterTest, RingDropsAreNotedInEverySink) {
  ASSERT_TRUE(open(4, false, true)) << err.c_str();
  for (int i = 0; i < 6; ++i) push("r" + std::to_string(i));
  EXPECT_EQ(ring.dropped(), 2u);
  writer.run_once(mono(), false);
  EXPECT_EQ(file_messages(), (std::vector<std::string>{
                                 "r0", "r1", "r2", "r3",
                                 // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one message, two lines
                                 "2 log messages were dropped: the log ring (4 records) was "
                                 "full"}));
  EXPECT_NE(read_pipe().find("<4>warning log: 2 log messages were dropped"), std::string::npos);
}

TEST_F(LogWriterTest, TheThreadDrainsAndStops) {
  ASSERT_TRUE(open(256, false, false)) << err.c_str();
  ASSERT_TRUE(writer.start(err)) << err.c_str();
  int pushed = 0;
  std::string last;
  for (int i = 0; i < 5000; ++i) {
    if (push("t" + std::to_string(i))) {
      ++pushed;
      last = "t" + std::to_string(i);
    }
    if (i % 100 == 0) std::this_thread::sleep_for(1ms);
  }
  writer.stop();
  LogWriterCounters c = writer.counters();
  EXPECT_GE(c.file.written + c.file.dropped, static_cast<uint64_t>(pushed))
      << "every record written or counted as dropped (and notes of drops)";
  EXPECT_EQ(ring.used(), 0u) << "drained before stopping";
  bool can_flush = false;  // PR_SET_IO_FLUSHER needs CAP_SYS_RESOURCE, which a container may lack
  std::thread([&] { can_flush = ::prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) == 0; }).join();
  if (can_flush) {
    EXPECT_TRUE(writer.io_flusher()) << "PR_SET_IO_FLUSHER on the writer's and the file's threads";
  }
  std::vector<std::string> m = file_messages();
  int previous = -1;
  for (const std::string& s : m) {
    if (s[0] != 't') continue;  // notes of drops
    int n = std::stoi(s.substr(1));
    EXPECT_GT(n, previous) << "in order";
    previous = n;
  }
  EXPECT_GE(previous, 0);
  if (c.file.dropped == 0 && ring.dropped() == 0) {
    EXPECT_EQ("t" + std::to_string(previous), last) << "the last record accepted reached the file";
  }
}

// The writer's steady state, thread and all: records in, pages out, zero
// allocations.
TEST_F(LogWriterTest, SteadyStateAllocatesNothing) {
  ASSERT_TRUE(open(1024, true, true)) << err.c_str();
  ASSERT_TRUE(writer.start(err)) << err.c_str();
  char text[64];
  // Warm-up: one record through both threads, so they have started (a
  // thread's start allocates under AddressSanitizer).
  core::LogRing::Claim first = ring.try_claim();
  ASSERT_TRUE(first);
  core::fill_log_record_text(*first.record, 0, core::LogLevel::Debug, "steady", {}, "warm-up");
  ring.commit(first);
  writer.notify();
  for (int i = 0; i < 5000 && writer.counters().file.written == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_GT(writer.counters().file.written, 0u);
  test::heap_guard::arm();
  for (int i = 0; i < 50000; ++i) {
    core::LogRing::Claim c = ring.try_claim();
    if (!c) continue;
    int n = std::snprintf(text, sizeof text, "record %d", i);
    core::fill_log_record_text(*c.record, i, core::LogLevel::Debug, "steady", {"mpatha", "sdb", "3600a"},
                               std::string_view(text, static_cast<size_t>(n)));
    ring.commit(c);
    writer.notify();
    if (i % 1000 == 0) {
      char drain[65536];
      [[maybe_unused]] ssize_t r = ::read(pipe_[0], drain, sizeof drain);
    }
  }
  for (int i = 0; i < 500 && ring.used() > 0; ++i) std::this_thread::sleep_for(1ms);
  test::heap_guard::disarm();
  writer.stop();
  EXPECT_EQ(test::heap_guard::count(), 0u) << "first heap call from " << test::heap_guard::first_caller();
  EXPECT_GT(writer.counters().file.written, 0u);
}

}  // namespace
}  // namespace pk::daemon
