// The directio checker reading real files with O_DIRECT through io_uring.
// tmpfs may refuse O_DIRECT, so the files live under /var/tmp; where O_DIRECT
// or io_uring is refused, the tests are skipped with the reason.
#include "checkers/directio.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "fake_tree.h"

namespace pk::checkers {
namespace {

using test::FakeTree;

constexpr const char* kBase = "/var/tmp";

class DirectIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern(8192, '\0');
    for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<char>('A' + i % 26);
    dev.write("disk.img", pattern.substr(0, pattern.size() - 1));  // + newline = 8192 bytes
    dev.write("empty.img", "");
    ASSERT_EQ(::truncate(dev.path("empty.img").c_str(), 0), 0);
    int probe = ::open(dev.path("disk.img").c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (probe < 0) {
      GTEST_SKIP() << "O_DIRECT refused on " << kBase << ": " << std::strerror(errno);
    }
    ::close(probe);
    if (!checker.init(8, err)) {
      if (err.view().find("io_uring_queue_init") != std::string_view::npos) {
        GTEST_SKIP() << "io_uring unavailable here: " << err.c_str();
      }
      FAIL() << err.c_str();
    }
  }

  PathIdentity identity(std::string_view name = "disk.img") const {
    PathIdentity id;
    id.dev = name;
    id.sysfs_fd = sys.fd();
    id.dev_fd = dev.fd();
    return id;
  }

  bool wait_ready(int timeout_ms = 5000) const {
    pollfd p{checker.completion_fd(), POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
  }

  // Waits and reaps until `want` completions arrived (or time is up).
  std::vector<Completion> reap_until(size_t want, size_t batch = 8) {
    std::vector<Completion> all;
    for (int i = 0; i < 50 && all.size() < want; ++i) {
      if (!wait_ready(100)) continue;
      Completion out[8];
      size_t n = checker.reap(std::span<Completion>(out, batch));
      all.insert(all.end(), out, out + n);
    }
    return all;
  }

  FakeTree dev{kBase};
  FakeTree sys;
  DirectIoChecker checker;
  core::Error err;
};

TEST_F(DirectIoTest, ReadsOneBlockAndReportsUp) {
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  ASSERT_GE(checker.completion_fd(), 0);
  ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  auto done = reap_until(1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].path, 0u);
  EXPECT_EQ(done[0].verdict, Verdict::Up) << "errno " << checker.last_errno(0);
  auto block = checker.last_block(0);
  ASSERT_GE(block.size(), 512u);
  ASSERT_LE(block.size(), DirectIoChecker::kBlockBufferSize);
  for (size_t i = 0; i < block.size(); ++i) {
    ASSERT_EQ(static_cast<char>(block[i]), static_cast<char>('A' + i % 26)) << "byte " << i;
  }
}

// Reads share one block: the locked memory a directio checker needs does not
// grow by a block per path (4096 paths would hold 16 MiB).
TEST_F(DirectIoTest, MemoryDoesNotGrowByABlockPerPath) {
  DirectIoChecker big;
  struct mallinfo2 before = ::mallinfo2();
  ASSERT_TRUE(big.init(4096, err)) << err.c_str();
  struct mallinfo2 after = ::mallinfo2();
  EXPECT_LT(after.uordblks + after.hblkhd - before.uordblks - before.hblkhd, size_t{4096} * 1024);
}

TEST_F(DirectIoTest, BusyWhileInFlight) {
  ASSERT_TRUE(checker.attach(1, identity(), err)) << err.c_str();
  ASSERT_EQ(checker.start(1, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  // Until its completion is reaped the read owns the buffer: Busy, never a second read.
  EXPECT_EQ(checker.start(1, core::MonoTime{}).kind, StartResult::Kind::Busy);
  ASSERT_TRUE(wait_ready());
  EXPECT_EQ(checker.start(1, core::MonoTime{}).kind, StartResult::Kind::Busy);
  auto done = reap_until(1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].verdict, Verdict::Up);
  EXPECT_EQ(checker.start(1, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  EXPECT_EQ(reap_until(1).size(), 1u);
}

TEST_F(DirectIoTest, ShortReadIsDown) {
  ASSERT_TRUE(checker.attach(0, identity("empty.img"), err)) << err.c_str();
  ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  auto done = reap_until(1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].verdict, Verdict::Down);
}

TEST_F(DirectIoTest, ScsiPrecheck) {
  sys.write("block/disk.img/device/state", "blocked");
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  StartResult r = checker.start(0, core::MonoTime{});
  EXPECT_EQ(r.kind, StartResult::Kind::Done);
  EXPECT_EQ(r.verdict, Verdict::Pending);
  sys.write("block/disk.img/device/state", "transport-offline");
  r = checker.start(0, core::MonoTime{});
  EXPECT_EQ(r.kind, StartResult::Kind::Done);
  EXPECT_EQ(r.verdict, Verdict::Down);
  sys.write("block/disk.img/device/state", "running");
  EXPECT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  auto done = reap_until(1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].verdict, Verdict::Up);
  sys.remove("block/disk.img");  // removed: state unreadable
  r = checker.start(0, core::MonoTime{});
  EXPECT_EQ(r.kind, StartResult::Kind::Done);
  EXPECT_EQ(r.verdict, Verdict::Down);
}

TEST_F(DirectIoTest, DetachWhileInFlightKeepsBufferUntilReaped) {
  ASSERT_TRUE(checker.attach(2, identity(), err)) << err.c_str();
  ASSERT_EQ(checker.start(2, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  checker.detach(2);
  EXPECT_EQ(checker.start(2, core::MonoTime{}).kind, StartResult::Kind::Failed);
  ASSERT_TRUE(checker.attach(2, identity(), err)) << err.c_str();
  // The earlier read still owns the slot's buffer.
  EXPECT_EQ(checker.start(2, core::MonoTime{}).kind, StartResult::Kind::Busy);
  ASSERT_TRUE(wait_ready());
  Completion out[4];
  EXPECT_EQ(checker.reap(out), 0u);  // stale: dropped, not reported for the new attach
  ASSERT_EQ(checker.start(2, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  auto done = reap_until(1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].path, 2u);
}

TEST_F(DirectIoTest, SmallReapBufferLeavesTheRestSignalled) {
  for (PathIndex p = 0; p < 4; ++p) ASSERT_TRUE(checker.attach(p, identity(), err)) << err.c_str();
  for (PathIndex p = 0; p < 4; ++p) {
    ASSERT_EQ(checker.start(p, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  }
  auto done = reap_until(4, 1);  // one completion per reap: each needs a fresh wake-up
  ASSERT_EQ(done.size(), 4u);
  bool seen[4] = {};
  for (const Completion& c : done) {
    ASSERT_LT(c.path, 4u);
    seen[c.path] = true;
    EXPECT_EQ(c.verdict, Verdict::Up);
  }
  for (bool s : seen) EXPECT_TRUE(s);
}

TEST_F(DirectIoTest, AttachErrors) {
  EXPECT_FALSE(checker.attach(0, identity("missing.img"), err));
  EXPECT_NE(err.view().find("open missing.img"), std::string_view::npos) << err.c_str();
  EXPECT_FALSE(checker.attach(8, identity(), err));
  EXPECT_NE(err.view().find("beyond capacity"), std::string_view::npos) << err.c_str();
  dev.mkdirs("adir");
  EXPECT_FALSE(checker.attach(0, identity("adir"), err));
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  EXPECT_FALSE(checker.attach(0, identity(), err));
  EXPECT_NE(err.view().find("already attached"), std::string_view::npos) << err.c_str();
}

TEST(DirectIoInit, RejectsBadCapacity) {
  DirectIoChecker c;
  core::Error err;
  EXPECT_FALSE(c.init(0, err));
  EXPECT_FALSE(c.init(1u << 20, err));
  EXPECT_NE(err.view().find("out of range"), std::string_view::npos) << err.c_str();
}

}  // namespace
}  // namespace pk::checkers
