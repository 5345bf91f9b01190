// After init, the data plane of the checkers allocates nothing: the heap
// guard (tests/support/heap_guard.h) counts every heap call, and the count
// stays at zero across many start/reap rounds, and across attach/detach.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "checkers/directio.h"
#include "checkers/state.h"
#include "checkers/tur.h"
#include "fake_tree.h"
#include "tests/support/heap_guard.h"

namespace pk::checkers {
namespace {

using test::FakeTree;

// Counts heap calls from construction to count().
class AllocationCounter {
 public:
  AllocationCounter() { pk::test::heap_guard::arm(); }
  ~AllocationCounter() { pk::test::heap_guard::disarm(); }
  uint64_t count() {
    pk::test::heap_guard::disarm();
    return pk::test::heap_guard::count();
  }
};

constexpr int kRounds = 2000;

bool wait_ready(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 5000) == 1;
}

void* volatile g_sink_a = nullptr;
void* volatile g_sink_b = nullptr;

TEST(Allocations, CounterSeesAllocations) {
  AllocationCounter counter;
  g_sink_a = new int(7);  // escapes: the compiler may not elide it
  g_sink_b = std::malloc(64);
  uint64_t n = counter.count();
  delete static_cast<int*>(g_sink_a);
  std::free(g_sink_b);
  EXPECT_GE(n, 2u);
}

TEST(Allocations, StateChecker) {
  FakeTree sys;
  sys.write("block/sda/device/state", "running");
  std::string sdev = "devices/platform/host2/session1/target2:0:0/2:0:0:1";
  sys.write(sdev + "/state", "running");
  sys.mkdirs(sdev + "/block/sdb");
  sys.symlink(sdev + "/block/sdb/device", "../../../2:0:0:1");
  sys.symlink("block/sdb", "../" + sdev + "/block/sdb");
  sys.write("class/iscsi_session/session1/state", "LOGGED_IN");
  sys.write("class/nvme/nvme0/state", "live");
  sys.write("block/nbd0/pid", "1");
  struct {
    const char* dev;
    Transport transport;
  } paths[] = {{"sda", Transport::Scsi},
               {"sdb", Transport::Iscsi},
               {"nvme0n1", Transport::Nvme},
               {"nbd0", Transport::Nbd}};

  StateChecker checker;
  core::Error err;
  ASSERT_TRUE(checker.init(4, err)) << err.c_str();
  Completion out[4];
  AllocationCounter counter;
  for (PathIndex p = 0; p < 4; ++p) {
    PathIdentity id;
    id.dev = paths[p].dev;
    id.transport = paths[p].transport;
    id.sysfs_fd = sys.fd();
    ASSERT_TRUE(checker.attach(p, id, err)) << err.c_str();
  }
  for (int round = 0; round < kRounds; ++round) {
    for (PathIndex p = 0; p < 4; ++p) {
      StartResult r = checker.start(p, core::MonoTime{});
      ASSERT_EQ(r.kind, StartResult::Kind::Done);
      ASSERT_EQ(r.verdict, Verdict::Up) << paths[p].dev;
    }
    ASSERT_EQ(checker.reap(out), 0u);
  }
  for (PathIndex p = 0; p < 4; ++p) checker.detach(p);
  EXPECT_EQ(counter.count(), 0u);
}

TEST(Allocations, DirectIoChecker) {
  FakeTree dev("/var/tmp");
  FakeTree sys;
  dev.write("disk.img", std::string(8191, 'x'));
  int probe = ::open(dev.path("disk.img").c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (probe < 0) GTEST_SKIP() << "O_DIRECT refused on /var/tmp: " << std::strerror(errno);
  ::close(probe);
  sys.write("block/disk.img/device/state", "running");  // exercise the SCSI precheck too

  DirectIoChecker checker;
  core::Error err;
  if (!checker.init(4, err)) GTEST_SKIP() << "directio init: " << err.c_str();
  Completion out[4];
  AllocationCounter counter;
  for (PathIndex p = 0; p < 4; ++p) {
    PathIdentity id;
    id.dev = "disk.img";
    id.sysfs_fd = sys.fd();
    id.dev_fd = dev.fd();
    ASSERT_TRUE(checker.attach(p, id, err)) << err.c_str();
  }
  for (int round = 0; round < kRounds; ++round) {
    for (PathIndex p = 0; p < 4; ++p) {
      ASSERT_EQ(checker.start(p, core::MonoTime{}).kind, StartResult::Kind::InFlight);
    }
    size_t got = 0;
    while (got < 4) {
      ASSERT_TRUE(wait_ready(checker.completion_fd()));
      size_t n = checker.reap(out);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i].verdict, Verdict::Up);
      got += n;
    }
  }
  for (PathIndex p = 0; p < 4; ++p) checker.detach(p);
  EXPECT_EQ(counter.count(), 0u);
}

TEST(Allocations, TurChecker) {
  FakeTree sys;
  FakeTree dev;
  sys.write("block/sda/device/state", "running");
  sys.symlink("block/sda/device/generic", "scsi_generic/sg0");
  dev.mkfifo("sg0");  // echoes each request back as a good answer

  TurChecker checker;
  core::Error err;
  ASSERT_TRUE(checker.init(2, err)) << err.c_str();
  Completion out[2];
  AllocationCounter counter;
  PathIdentity id;
  id.dev = "sda";
  id.sysfs_fd = sys.fd();
  id.dev_fd = dev.fd();
  ASSERT_TRUE(checker.attach(1, id, err)) << err.c_str();
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_EQ(checker.start(1, core::MonoTime{}).kind, StartResult::Kind::InFlight);
    ASSERT_TRUE(wait_ready(checker.completion_fd()));
    ASSERT_EQ(checker.reap(out), 1u);
    ASSERT_EQ(out[0].verdict, Verdict::Up);
  }
  checker.detach(1);
  EXPECT_EQ(counter.count(), 0u);
}

}  // namespace
}  // namespace pk::checkers
