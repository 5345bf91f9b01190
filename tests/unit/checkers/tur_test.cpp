// The tur checker without SCSI hardware: a fake sysfs tree, and a FIFO in a
// fake /dev standing in for /dev/sgN. A FIFO echoes each request back, which
// reads as a good answer; or the test takes the request out and writes the
// answer itself, filling the sense buffer the request points to as the sg
// driver does on read(). The real sg path is exercised in the lab.
#include "checkers/tur.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <scsi/sg.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "checkers/scsi_sense.h"
#include "fake_tree.h"

namespace pk::checkers {
namespace {

using test::FakeTree;

class TurTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sys.write("block/sda/device/state", "running");
    sys.mkdirs("block/sda/device/scsi_generic/sg3");
    sys.symlink("block/sda/device/generic", "scsi_generic/sg3");
    dev.mkfifo("sg3");
    CheckerOptions options;
    options.io_timeout = core::Millis(2500);
    checker.configure(options);
    ASSERT_TRUE(checker.init(4, err)) << err.c_str();
    ASSERT_GE(checker.completion_fd(), 0);
  }
  void TearDown() override {
    if (wire >= 0) ::close(wire);
  }

  PathIdentity identity(std::string_view name = "sda") const {
    PathIdentity id;
    id.dev = name;
    id.transport = Transport::Scsi;
    id.sysfs_fd = sys.fd();
    id.dev_fd = dev.fd();
    return id;
  }

  // sdi, a disk below iSCSI session4 (sysfs as the kernel lays it out), with
  // /dev/sg7 for it; device and session in the given states.
  static inline const std::string kIscsiDevice = "devices/platform/host2/session4/target2:0:0/2:0:0:1";
  void make_iscsi_disk(const std::string& device_state, const std::string& session_state) const {
    sys.write(kIscsiDevice + "/state", device_state);
    sys.mkdirs(kIscsiDevice + "/scsi_generic/sg7");
    sys.mkdirs(kIscsiDevice + "/block/sdi");
    sys.symlink(kIscsiDevice + "/block/sdi/device", "../../../2:0:0:1");
    sys.symlink(kIscsiDevice + "/generic", "scsi_generic/sg7");
    sys.symlink("block/sdi", "../" + kIscsiDevice + "/block/sdi");
    sys.write("class/iscsi_session/session4/state", session_state);
    dev.mkfifo("sg7");
  }

  // The test's own end of the FIFO, to take requests out and put answers in.
  void open_wire() {
    wire = ::open(dev.path("sg3").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(wire, 0);
  }

  bool take_request(sg_io_hdr_t& h) { return ::read(wire, &h, sizeof h) == static_cast<ssize_t>(sizeof h); }

  void answer(sg_io_hdr_t h, uint8_t status, uint16_t host, const std::vector<uint8_t>& sense) {
    h.status = status;
    h.masked_status = static_cast<unsigned char>((status >> 1) & 0x7f);
    h.host_status = host;
    h.driver_status = sense.empty() ? 0 : scsi::kDriverSense;
    h.sb_len_wr = static_cast<unsigned char>(sense.size());
    if (!sense.empty()) std::memcpy(h.sbp, sense.data(), sense.size());
    ASSERT_EQ(::write(wire, &h, sizeof h), static_cast<ssize_t>(sizeof h));
  }

  bool wait_ready(int timeout_ms = 2000) const {
    pollfd p{checker.completion_fd(), POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
  }

  std::vector<Completion> reap_all() {
    Completion out[8];
    size_t n = checker.reap(out);
    return {out, out + n};
  }

  FakeTree sys;
  FakeTree dev;
  TurChecker checker;
  core::Error err;
  int wire = -1;
};

std::vector<uint8_t> fixed_sense(uint8_t key, uint8_t asc, uint8_t ascq) {
  return {0x70, 0x00, key,  0x00, 0x00, 0x00, 0x00, 0x0a, 0x00,
          0x00, 0x00, 0x00, asc,  ascq, 0x00, 0x00, 0x00, 0x00};
}

TEST_F(TurTest, AttachFailsClearlyWithoutSgNode) {
  sys.write("block/sdb/device/state", "running");
  EXPECT_FALSE(checker.attach(1, identity("sdb"), err));
  EXPECT_NE(err.view().find("sdb has no SCSI generic node"), std::string_view::npos) << err.c_str();
  EXPECT_NE(err.view().find("sg module"), std::string_view::npos) << err.c_str();
  EXPECT_EQ(checker.start(1, core::MonoTime{}).kind, StartResult::Kind::Failed);
}

TEST_F(TurTest, AttachFailsClearlyWhenNodeMissingInDev) {
  sys.mkdirs("block/sdc/device/scsi_generic/sg9");
  EXPECT_FALSE(checker.attach(1, identity("sdc"), err));
  EXPECT_NE(err.view().find("open /dev/sg9"), std::string_view::npos) << err.c_str();
}

TEST_F(TurTest, AttachRejectsRegularFileAsNode) {
  sys.mkdirs("block/sdd/device/scsi_generic/sg5");
  dev.write("sg5", "not a device");
  EXPECT_FALSE(checker.attach(1, identity("sdd"), err));
  EXPECT_NE(err.view().find("not a character device"), std::string_view::npos) << err.c_str();
}

TEST_F(TurTest, BlockedDeviceIsPendingWithoutCommand) {
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  open_wire();
  sys.write("block/sda/device/state", "blocked");
  StartResult r = checker.start(0, core::MonoTime{});
  EXPECT_EQ(r.kind, StartResult::Kind::Done);
  EXPECT_EQ(r.verdict, Verdict::Pending);
  sg_io_hdr_t h;
  EXPECT_FALSE(take_request(h));  // nothing was written
  EXPECT_FALSE(wait_ready(0));
}

// A blocked device whose iSCSI session has failed lost its transport: down
// at once, so I/O moves to another path. Blocked with the session still
// logged in (e.g. being re-scanned) stays pending.
TEST_F(TurTest, BlockedDeviceOfAFailedIscsiSessionIsDown) {
  make_iscsi_disk("blocked", "FAILED");
  ASSERT_TRUE(checker.attach(2, identity("sdi"), err)) << err.c_str();

  StartResult r = checker.start(2, core::MonoTime{});
  EXPECT_EQ(r.kind, StartResult::Kind::Done);
  EXPECT_EQ(r.verdict, Verdict::Down);

  sys.write("class/iscsi_session/session4/state", "LOGGED_IN");
  r = checker.start(2, core::MonoTime{});
  EXPECT_EQ(r.verdict, Verdict::Pending);
}

// The transport's state, read from sysfs without a command: the device state
// and its iSCSI session's. Unknown for a path that is not attached.
TEST_F(TurTest, TransportStateFollowsTheDeviceAndItsSession) {
  EXPECT_EQ(checker.transport_state(3), TransportState::Unknown);
  make_iscsi_disk("running", "LOGGED_IN");
  ASSERT_TRUE(checker.attach(2, identity("sdi"), err)) << err.c_str();
  EXPECT_EQ(checker.transport_state(2), TransportState::Up);

  sys.write("class/iscsi_session/session4/state", "FAILED");
  sys.write(kIscsiDevice + "/state", "blocked");
  EXPECT_EQ(checker.transport_state(2), TransportState::Down);
  sys.write(kIscsiDevice + "/state", "transport-offline");
  EXPECT_EQ(checker.transport_state(2), TransportState::Down);

  // Back: the state file is re-read in place, not reopened.
  sys.write("class/iscsi_session/session4/state", "LOGGED_IN");
  sys.write(kIscsiDevice + "/state", "running");
  EXPECT_EQ(checker.transport_state(2), TransportState::Up);
  checker.detach(2);
  EXPECT_EQ(checker.transport_state(2), TransportState::Unknown);
}

TEST_F(TurTest, OfflineDevicesAreDownWithoutCommand) {
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  open_wire();
  for (const char* s : {"offline", "transport-offline", "quiesce", "deleted"}) {
    sys.write("block/sda/device/state", s);
    StartResult r = checker.start(0, core::MonoTime{});
    EXPECT_EQ(r.kind, StartResult::Kind::Done) << s;
    EXPECT_EQ(r.verdict, Verdict::Down) << s;
  }
  sg_io_hdr_t h;
  EXPECT_FALSE(take_request(h));
  sys.remove("block/sda/device/state");
  StartResult r = checker.start(0, core::MonoTime{});
  EXPECT_EQ(r.kind, StartResult::Kind::Done);
  EXPECT_EQ(r.verdict, Verdict::Down);
}

TEST_F(TurTest, RunningDeviceGetsTestUnitReady) {
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  open_wire();
  EXPECT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  sg_io_hdr_t h;
  ASSERT_TRUE(take_request(h));
  EXPECT_EQ(h.interface_id, 'S');
  EXPECT_EQ(h.dxfer_direction, SG_DXFER_NONE);
  EXPECT_EQ(h.cmd_len, 6);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(h.cmdp[i], 0) << i;
  EXPECT_EQ(h.dxfer_len, 0u);
  EXPECT_EQ(h.mx_sb_len, scsi::kSenseBufferSize);
  EXPECT_NE(h.sbp, nullptr);
  EXPECT_EQ(h.timeout, 2500u);
  EXPECT_NE(h.usr_ptr, nullptr);
  answer(h, scsi::kStatusGood, scsi::kDidOk, {});
  ASSERT_TRUE(wait_ready());
  auto done = reap_all();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].path, 0u);
  EXPECT_EQ(done[0].verdict, Verdict::Up);
}

TEST_F(TurTest, BusyWhileInFlightThenUp) {
  ASSERT_TRUE(checker.attach(2, identity(), err)) << err.c_str();
  open_wire();
  ASSERT_EQ(checker.start(2, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  sg_io_hdr_t h;
  ASSERT_TRUE(take_request(h));  // the device holds the command
  EXPECT_EQ(checker.start(2, core::MonoTime{}).kind, StartResult::Kind::Busy);
  EXPECT_EQ(checker.start(2, core::MonoTime{}).kind, StartResult::Kind::Busy);
  EXPECT_TRUE(reap_all().empty());
  EXPECT_FALSE(take_request(h));  // and nothing piled up behind it
  answer(h, scsi::kStatusGood, scsi::kDidOk, {});
  ASSERT_TRUE(wait_ready());
  auto done = reap_all();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].path, 2u);
  EXPECT_EQ(done[0].verdict, Verdict::Up);
  EXPECT_EQ(checker.start(2, core::MonoTime{}).kind, StartResult::Kind::InFlight);
}

TEST_F(TurTest, EchoReadsAsGood) {
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
    ASSERT_TRUE(wait_ready());
    auto done = reap_all();
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].verdict, Verdict::Up);
  }
}

TEST_F(TurTest, UnitAttentionIsRetriedTransparently) {
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  open_wire();
  ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  sg_io_hdr_t h;
  ASSERT_TRUE(take_request(h));
  int first_id = h.pack_id;
  answer(h, scsi::kStatusCheckCondition, scsi::kDidOk, fixed_sense(0x06, 0x29, 0x00));
  ASSERT_TRUE(wait_ready());
  // The retry goes out inside reap; the FIFO echoes it back as good at once.
  auto done = reap_all();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].verdict, Verdict::Up);
  EXPECT_STREQ(checker.last_reason(0), "good");
  // The next check uses a new command id.
  ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  ASSERT_TRUE(take_request(h));
  EXPECT_EQ(h.pack_id, first_id + 2);
}

TEST_F(TurTest, UnitAttentionWithoutRetriesLeftIsDown) {
  CheckerOptions options;
  options.retries = 0;
  checker.configure(options);
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  open_wire();
  ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  sg_io_hdr_t h;
  ASSERT_TRUE(take_request(h));
  answer(h, scsi::kStatusCheckCondition, scsi::kDidOk, fixed_sense(0x06, 0x2a, 0x06));
  ASSERT_TRUE(wait_ready());
  auto done = reap_all();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].verdict, Verdict::Down);
  EXPECT_STREQ(checker.last_reason(0), "unit attention: asymmetric access state changed");
  EXPECT_TRUE(done[0].alua.changed);
}

// An array moves its port groups: the first answer is the unit attention
// 2a/06; the re-issued command (echoed as good by the wire) succeeds. The
// daemon still learns that the array changed states, to look at every port.
TEST_F(TurTest, AnAluaChangeIsReportedAfterTheRetry) {
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  open_wire();
  ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  sg_io_hdr_t h;
  ASSERT_TRUE(take_request(h));
  answer(h, scsi::kStatusCheckCondition, scsi::kDidOk, fixed_sense(0x06, 0x2a, 0x06));
  ASSERT_TRUE(wait_ready());
  auto done = reap_all();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].verdict, Verdict::Up);
  EXPECT_EQ(done[0].alua.said, core::AluaState::Unknown);
  EXPECT_TRUE(done[0].alua.changed);
  // The next check starts afresh.
  ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  ASSERT_TRUE(wait_ready());
  done = reap_all();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_FALSE(done[0].alua.changed);
}

TEST_F(TurTest, DecodesAnswers) {
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  open_wire();
  struct Case {
    uint8_t status;
    uint16_t host;
    std::vector<uint8_t> sense;
    Verdict expected;
  } cases[] = {
      {scsi::kStatusCheckCondition, scsi::kDidOk, fixed_sense(0x02, 0x04, 0x0b), Verdict::Ghost},
      {scsi::kStatusCheckCondition, scsi::kDidOk, {0x72, 0x02, 0x04, 0x0a, 0, 0, 0, 0}, Verdict::Pending},
      {scsi::kStatusReservationConflict, scsi::kDidOk, {}, Verdict::Up},
      {scsi::kStatusGood, scsi::kDidNoConnect, {}, Verdict::Down},
      {scsi::kStatusGood, scsi::kDidTransportFailfast, {}, Verdict::Down},
      {scsi::kStatusCheckCondition, scsi::kDidOk, fixed_sense(0x05, 0x25, 0x00), Verdict::Down},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
    sg_io_hdr_t h;
    ASSERT_TRUE(take_request(h));
    answer(h, c.status, c.host, c.sense);
    ASSERT_TRUE(wait_ready());
    auto done = reap_all();
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].verdict, c.expected) << checker.last_reason(0);
  }
}

TEST_F(TurTest, StaleAnswerIsIgnored) {
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  open_wire();
  ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  sg_io_hdr_t h;
  ASSERT_TRUE(take_request(h));
  sg_io_hdr_t stale = h;
  stale.pack_id = h.pack_id - 1;
  answer(stale, scsi::kStatusGood, scsi::kDidOk, {});
  ASSERT_TRUE(wait_ready());
  EXPECT_TRUE(reap_all().empty());
  EXPECT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::Busy);
  answer(h, scsi::kStatusGood, scsi::kDidOk, {});
  ASSERT_TRUE(wait_ready());
  EXPECT_EQ(reap_all().size(), 1u);
}

TEST_F(TurTest, DetachWhileInFlight) {
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  open_wire();
  ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  checker.detach(0);
  EXPECT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::Failed);
  EXPECT_TRUE(reap_all().empty());
  ASSERT_TRUE(checker.attach(0, identity(), err)) << err.c_str();
  sg_io_hdr_t h;
  ASSERT_TRUE(take_request(h));  // the orphan, drained by the "device"
  EXPECT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  ASSERT_TRUE(wait_ready());
  auto done = reap_all();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].verdict, Verdict::Up);
}

TEST_F(TurTest, TwoPathsCompleteIndependently) {
  sys.write("block/sdb/device/state", "running");
  sys.symlink("block/sdb/device/generic", "scsi_generic/sg4");
  dev.mkfifo("sg4");
  ASSERT_TRUE(checker.attach(0, identity("sda"), err)) << err.c_str();
  ASSERT_TRUE(checker.attach(3, identity("sdb"), err)) << err.c_str();
  ASSERT_EQ(checker.start(0, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  ASSERT_EQ(checker.start(3, core::MonoTime{}).kind, StartResult::Kind::InFlight);
  ASSERT_TRUE(wait_ready());
  std::vector<Completion> all;
  for (int i = 0; i < 10 && all.size() < 2; ++i) {
    Completion one[1];
    size_t n = checker.reap(one);  // one at a time: the rest stays ready
    if (n == 1) all.push_back(one[0]);
  }
  ASSERT_EQ(all.size(), 2u);
  EXPECT_NE(all[0].path, all[1].path);
  EXPECT_EQ(all[0].verdict, Verdict::Up);
  EXPECT_EQ(all[1].verdict, Verdict::Up);
}

}  // namespace
}  // namespace pk::checkers
