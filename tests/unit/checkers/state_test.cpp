// The state checker and the sysfs lookups it shares, against fake sysfs trees
// laid out as the kernel lays out /sys.
#include "checkers/state.h"

#include <gtest/gtest.h>

#include <string>

#include "checkers/device_sysfs.h"
#include "fake_tree.h"

namespace pk::checkers {
namespace {

using test::FakeTree;

PathIdentity identity(const FakeTree& sys, std::string_view dev, Transport t) {
  PathIdentity id;
  id.dev = dev;
  id.transport = t;
  id.sysfs_fd = sys.fd();
  return id;
}

Verdict check(StateChecker& c, PathIndex path) {
  StartResult r = c.start(path, core::MonoTime{});
  EXPECT_EQ(r.kind, StartResult::Kind::Done);
  return r.verdict;
}

// An iSCSI disk as /sys shows it:
//   block/<dev> -> ../devices/platform/host2/session1/target2:0:0/2:0:0:1/block/<dev>
//   that dir's device -> ../../../2:0:0:1 (the SCSI device, with its state)
//   class/iscsi_session/session1/state
void make_iscsi_disk(const FakeTree& sys, const std::string& dev, const std::string& session) {
  std::string sdev = "devices/platform/host2/" + session + "/target2:0:0/2:0:0:1";
  sys.write(sdev + "/state", "running");
  sys.mkdirs(sdev + "/block/" + dev);
  sys.symlink(sdev + "/block/" + dev + "/device", "../../../2:0:0:1");
  sys.symlink("block/" + dev, "../" + sdev + "/block/" + dev);
  sys.write("class/iscsi_session/" + session + "/state", "LOGGED_IN");
}

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(checker.init(8, err)) << err.c_str(); }
  FakeTree sys;
  StateChecker checker;
  core::Error err;
};

TEST_F(StateTest, AnswersInStartWithoutFd) {
  EXPECT_EQ(checker.completion_fd(), -1);
  Completion out[4];
  EXPECT_EQ(checker.reap(out), 0u);
  EXPECT_EQ(checker.kind(), core::CheckerKind::State);
  EXPECT_EQ(checker.name(), "state");
}

TEST_F(StateTest, ScsiDeviceStates) {
  sys.write("block/sda/device/state", "running");
  ASSERT_TRUE(checker.attach(0, identity(sys, "sda", Transport::Scsi), err)) << err.c_str();
  EXPECT_EQ(checker.primary_path(0), "block/sda/device/state");
  EXPECT_EQ(checker.secondary_path(0), "");
  EXPECT_EQ(check(checker, 0), Verdict::Up);
  sys.write("block/sda/device/state", "blocked");
  EXPECT_EQ(check(checker, 0), Verdict::Pending);
  for (const char* s :
       {"offline", "transport-offline", "quiesce", "created", "cancel", "deleted", "nonsense"}) {
    sys.write("block/sda/device/state", s);
    EXPECT_EQ(check(checker, 0), Verdict::Down) << s;
  }
  sys.write("block/sda/device/state", "running");
  EXPECT_EQ(check(checker, 0), Verdict::Up);
  sys.remove("block/sda");  // device removed under us
  EXPECT_EQ(check(checker, 0), Verdict::Down);
}

TEST_F(StateTest, ScsiWithoutStateFailsAttach) {
  sys.mkdirs("block/sdz");
  EXPECT_FALSE(checker.attach(0, identity(sys, "sdz", Transport::Scsi), err));
  EXPECT_NE(err.view().find("block/sdz/device/state"), std::string_view::npos) << err.c_str();
}

TEST_F(StateTest, IscsiSessionStates) {
  make_iscsi_disk(sys, "sdb", "session1");
  ASSERT_TRUE(checker.attach(1, identity(sys, "sdb", Transport::Iscsi), err)) << err.c_str();
  EXPECT_EQ(checker.secondary_path(1), "class/iscsi_session/session1/state");
  EXPECT_EQ(check(checker, 1), Verdict::Up);

  const std::string sdev_state = "devices/platform/host2/session1/target2:0:0/2:0:0:1/state";
  // Session recovering: the device is blocked, the session FAILED.
  sys.write(sdev_state, "blocked");
  sys.write("class/iscsi_session/session1/state", "FAILED");
  EXPECT_EQ(check(checker, 1), Verdict::Down);
  sys.write("class/iscsi_session/session1/state", "FREE");
  EXPECT_EQ(check(checker, 1), Verdict::Down);
  // Session logged in again, device still blocked: pending.
  sys.write("class/iscsi_session/session1/state", "LOGGED_IN");
  EXPECT_EQ(check(checker, 1), Verdict::Pending);
  sys.write(sdev_state, "running");
  EXPECT_EQ(check(checker, 1), Verdict::Up);
  // Session gone.
  sys.remove("class/iscsi_session/session1");
  EXPECT_EQ(check(checker, 1), Verdict::Down);
}

TEST_F(StateTest, ScsiTransportFindsSessionToo) {
  make_iscsi_disk(sys, "sdc", "session17");
  ASSERT_TRUE(checker.attach(2, identity(sys, "sdc", Transport::Scsi), err)) << err.c_str();
  EXPECT_EQ(checker.secondary_path(2), "class/iscsi_session/session17/state");
  sys.write("class/iscsi_session/session17/state", "FAILED");
  EXPECT_EQ(check(checker, 2), Verdict::Down);
}

TEST_F(StateTest, IscsiWithoutSessionFailsAttach) {
  sys.write("block/sdd/device/state", "running");
  EXPECT_FALSE(checker.attach(0, identity(sys, "sdd", Transport::Iscsi), err));
  EXPECT_NE(err.view().find("no iSCSI session"), std::string_view::npos) << err.c_str();
}

TEST_F(StateTest, NvmeControllerStates) {
  sys.mkdirs("block/nvme0n1");
  sys.symlink("block/nvme0n1/device", "../../nvme0");
  sys.write("class/nvme/nvme0/state", "live");
  ASSERT_TRUE(checker.attach(3, identity(sys, "nvme0n1", Transport::Nvme), err)) << err.c_str();
  EXPECT_EQ(checker.primary_path(3), "class/nvme/nvme0/state");
  EXPECT_EQ(check(checker, 3), Verdict::Up);
  for (const char* s : {"connecting", "resetting"}) {
    sys.write("class/nvme/nvme0/state", s);
    EXPECT_EQ(check(checker, 3), Verdict::Pending) << s;
  }
  for (const char* s : {"new", "deleting", "deleting (no IO)", "dead"}) {
    sys.write("class/nvme/nvme0/state", s);
    EXPECT_EQ(check(checker, 3), Verdict::Down) << s;
  }
}

TEST_F(StateTest, NvmeControllerFromNameWhenNoLink) {
  sys.write("class/nvme/nvme2/state", "live");
  ASSERT_TRUE(checker.attach(0, identity(sys, "nvme1c2n1", Transport::Nvme), err)) << err.c_str();
  EXPECT_EQ(checker.primary_path(0), "class/nvme/nvme2/state");
  EXPECT_EQ(check(checker, 0), Verdict::Up);
  sys.write("class/nvme/nvme4/state", "connecting");
  ASSERT_TRUE(checker.attach(1, identity(sys, "nvme4n3", Transport::Unknown), err)) << err.c_str();
  EXPECT_EQ(check(checker, 1), Verdict::Pending);
}

TEST_F(StateTest, NvmeWithoutControllerFailsAttach) {
  EXPECT_FALSE(checker.attach(0, identity(sys, "nvme9n1", Transport::Nvme), err));
  EXPECT_NE(err.view().find("class/nvme/nvme9/state"), std::string_view::npos) << err.c_str();
}

TEST_F(StateTest, NbdPid) {
  sys.mkdirs("block/nbd0");
  ASSERT_TRUE(checker.attach(4, identity(sys, "nbd0", Transport::Nbd), err)) << err.c_str();
  EXPECT_EQ(check(checker, 4), Verdict::Down);  // no client connected
  sys.write("block/nbd0/pid", "4242");
  EXPECT_EQ(check(checker, 4), Verdict::Up);
  sys.remove("block/nbd0/pid");
  EXPECT_EQ(check(checker, 4), Verdict::Down);
}

TEST_F(StateTest, UnknownTransportGuessesFromName) {
  sys.write("block/nbd3/pid", "1");
  ASSERT_TRUE(checker.attach(0, identity(sys, "nbd3", Transport::Unknown), err)) << err.c_str();
  EXPECT_EQ(checker.primary_path(0), "block/nbd3/pid");
  EXPECT_EQ(check(checker, 0), Verdict::Up);
  sys.write("block/sde/device/state", "blocked");
  ASSERT_TRUE(checker.attach(1, identity(sys, "sde", Transport::Unknown), err)) << err.c_str();
  EXPECT_EQ(check(checker, 1), Verdict::Pending);
}

TEST_F(StateTest, RejectsBadNamesAndIndexes) {
  EXPECT_FALSE(checker.attach(0, identity(sys, "", Transport::Scsi), err));
  EXPECT_FALSE(checker.attach(0, identity(sys, "..", Transport::Scsi), err));
  EXPECT_FALSE(checker.attach(0, identity(sys, "../../etc", Transport::Scsi), err));
  EXPECT_NE(err.view().find("invalid device name"), std::string_view::npos) << err.c_str();
  sys.write("block/sda/device/state", "running");
  EXPECT_FALSE(checker.attach(8, identity(sys, "sda", Transport::Scsi), err));
  EXPECT_NE(err.view().find("beyond capacity"), std::string_view::npos) << err.c_str();
  PathIdentity no_fd = identity(sys, "sda", Transport::Scsi);
  no_fd.sysfs_fd = -1;
  EXPECT_FALSE(checker.attach(0, no_fd, err));
}

TEST_F(StateTest, DetachAndReattach) {
  sys.write("block/sda/device/state", "running");
  ASSERT_TRUE(checker.attach(0, identity(sys, "sda", Transport::Scsi), err)) << err.c_str();
  EXPECT_FALSE(checker.attach(0, identity(sys, "sda", Transport::Scsi), err));  // twice
  checker.detach(0);
  EXPECT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::Failed);
  EXPECT_EQ(checker.start(7, core::MonoTime{}).kind, StartResult::Kind::Failed);  // never attached
  EXPECT_EQ(checker.start(100, core::MonoTime{}).kind, StartResult::Kind::Failed);
  sys.write("block/nbd0/pid", "1");
  ASSERT_TRUE(checker.attach(0, identity(sys, "nbd0", Transport::Nbd), err)) << err.c_str();
  EXPECT_EQ(check(checker, 0), Verdict::Up);
}

TEST(StateInit, RejectsZeroAndSecondInit) {
  StateChecker c;
  core::Error err;
  EXPECT_FALSE(c.init(0, err));
  ASSERT_TRUE(c.init(2, err));
  EXPECT_FALSE(c.init(2, err));
  EXPECT_NE(err.view().find("already"), std::string_view::npos);
}

TEST(DeviceSysfs, FindsSgNodeFromLinkOrDirectory) {
  FakeTree sys;
  char buf[kDevNameMax];
  std::string_view name;
  EXPECT_FALSE(find_sg_node(sys.fd(), "sda", buf, name));
  sys.mkdirs("block/sda/device/scsi_generic/sg7");
  ASSERT_TRUE(find_sg_node(sys.fd(), "sda", buf, name));
  EXPECT_EQ(name, "sg7");
  sys.symlink("block/sda/device/generic", "scsi_generic/sg12");
  ASSERT_TRUE(find_sg_node(sys.fd(), "sda", buf, name));
  EXPECT_EQ(name, "sg12");
}

TEST(DeviceSysfs, SessionNeedsDigitsAndWholeComponent) {
  FakeTree sys;
  char buf[kDevNameMax];
  std::string_view name;
  sys.symlink("block/sdx", "../devices/platform/host2/sessionX/target/block/sdx");
  EXPECT_FALSE(find_iscsi_session(sys.fd(), "sdx", buf, name));
  sys.symlink("block/sdy", "../devices/platform/host2/session12abc/block/sdy");
  EXPECT_FALSE(find_iscsi_session(sys.fd(), "sdy", buf, name));
  sys.symlink("class/block/sdw", "../../devices/platform/host9/session9/target9:0:0/9:0:0:0/block/sdw");
  ASSERT_TRUE(find_iscsi_session(sys.fd(), "sdw", buf, name));
  EXPECT_EQ(name, "session9");
}

TEST(DeviceSysfs, WorseOrdersVerdicts) {
  EXPECT_EQ(worse(Verdict::Up, Verdict::Pending), Verdict::Pending);
  EXPECT_EQ(worse(Verdict::Down, Verdict::Pending), Verdict::Down);
  EXPECT_EQ(worse(Verdict::Ghost, Verdict::Up), Verdict::Ghost);
  EXPECT_EQ(worse(Verdict::Up, Verdict::Up), Verdict::Up);
}

TEST(Registry, MakesEveryKind) {
  struct {
    core::CheckerKind kind;
    std::string_view name;
    int fd_when_new;
  } expected[] = {{core::CheckerKind::Tur, "tur", -1},
                  {core::CheckerKind::DirectIo, "directio", -1},
                  {core::CheckerKind::State, "state", -1},
                  {core::CheckerKind::None, "none", -1}};
  for (const auto& e : expected) {
    auto c = make_checker(e.kind);
    ASSERT_NE(c, nullptr) << e.name;
    EXPECT_EQ(c->kind(), e.kind);
    EXPECT_EQ(c->name(), e.name);
    EXPECT_EQ(c->completion_fd(), e.fd_when_new);
  }
}

TEST(NoneChecker, AlwaysUp) {
  auto c = make_checker(core::CheckerKind::None);
  core::Error err;
  ASSERT_TRUE(c->init(4, err));
  PathIdentity id;
  id.dev = "whatever";
  ASSERT_TRUE(c->attach(3, id, err));
  StartResult r = c->start(3, core::MonoTime{});
  EXPECT_EQ(r.kind, StartResult::Kind::Done);
  EXPECT_EQ(r.verdict, Verdict::Up);
  EXPECT_FALSE(c->attach(4, id, err));
}

}  // namespace
}  // namespace pk::checkers
