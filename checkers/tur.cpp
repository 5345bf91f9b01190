#include "checkers/tur.h"

#include <fcntl.h>
#include <scsi/sg.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "adapters/sysfs.h"
#include "checkers/device_sysfs.h"
#include "checkers/scsi_sense.h"

namespace pk::checkers {

// Per-path state: plain data, allocated and zeroed for every path in init().
struct TurChecker::Slot {
  int sg_fd;
  int state_fd;    // block/<dev>/device/state, kept open: re-read with pread at 0
  int session_fd;  // its iSCSI session's state, kept open likewise (-1: none)
  int sysfs_fd;
  bool attached;
  bool in_flight;
  bool dead;          // the sg node hung up (device being removed)
  bool alua_changed;  // this check met a unit attention 2a/06 (then retried)
  uint8_t retries_left;
  int pack_id;  // id of the command last written
  int last_errno;
  const char* last_reason;
  char dev[kDevNameMax];
  char state_path[kSysfsPathMax];
  char session_state_path[kSysfsPathMax];  // "" unless the disk is below an iSCSI session
  unsigned char cdb[6];                    // TEST UNIT READY: opcode 0x00, all zero
  unsigned char sense[scsi::kSenseBufferSize];
  sg_io_hdr_t request;
  sg_io_hdr_t reply;
};

namespace {

constexpr size_t kStateBuf = 64;

// glibc's strerror may translate (and allocate); the plain description does not.
const char* errno_text(int e) {
  const char* text = ::strerrordesc_np(e);
  return text != nullptr ? text : "unknown error";
}

unsigned int timeout_ms(core::Millis t) {
  auto ms = t.count();
  if (ms <= 0) return 10000;
  if (ms >= static_cast<decltype(ms)>(UINT_MAX)) return UINT_MAX - 1;  // UINT_MAX = never
  return static_cast<unsigned int>(ms);
}

// A state attribute (the device's, its session's). sysfs answers a read at
// offset 0 with a fresh value, so the file stays open; one removed meanwhile
// fails the read. Without an open fd, the file is opened by path.
bool read_state(int state_fd, int sysfs_fd, const char* state_path, std::span<char> buf,
                std::string_view& state) {
  if (state_fd < 0) return adapters::Sysfs(sysfs_fd).read(state_path, buf, state);
  return adapters::Sysfs::reread(state_fd, buf, state);
}

}  // namespace

TurChecker::TurChecker() = default;

TurChecker::~TurChecker() {
  if (slots_) {
    for (uint32_t i = 0; i < capacity_; ++i) {
      if (slots_[i].sg_fd >= 0) ::close(slots_[i].sg_fd);
      if (slots_[i].state_fd >= 0) ::close(slots_[i].state_fd);
      if (slots_[i].session_fd >= 0) ::close(slots_[i].session_fd);
    }
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void TurChecker::configure(const CheckerOptions& options) { options_ = options; }

bool TurChecker::init(uint32_t capacity, core::Error& err) {
  if (slots_) {
    err.set("tur: already initialised");
    return false;
  }
  if (capacity == 0 || capacity > static_cast<uint32_t>(INT_MAX)) {
    err.set("tur: capacity %u out of range", capacity);
    return false;
  }
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    err.set("tur: epoll_create1: %s", errno_text(errno));
    return false;
  }
  // Value-initialised: every byte written now, so the pages are present.
  slots_ = std::make_unique<Slot[]>(capacity);
  events_ = std::make_unique<epoll_event[]>(capacity);
  std::memset(static_cast<void*>(slots_.get()), 0, sizeof(Slot) * capacity);
  std::memset(static_cast<void*>(events_.get()), 0, sizeof(epoll_event) * capacity);
  for (uint32_t i = 0; i < capacity; ++i) {
    slots_[i].sg_fd = -1;
    slots_[i].state_fd = -1;
    slots_[i].session_fd = -1;
    slots_[i].sysfs_fd = -1;
    slots_[i].last_reason = "";
  }
  capacity_ = capacity;
  return true;
}

bool TurChecker::attach(PathIndex path, const PathIdentity& id, core::Error& err) {
  if (!slots_) {
    err.set("tur: attach before init");
    return false;
  }
  if (path >= capacity_) {
    err.set("tur: path index %u beyond capacity %u", path, capacity_);
    return false;
  }
  Slot& slot = slots_[path];
  if (slot.attached) {
    err.set("tur: path index %u is already attached (%s)", path, slot.dev);
    return false;
  }
  if (!valid_dev_name(id.dev)) {
    err.set("tur: invalid device name \"%.*s\"", static_cast<int>(std::min<size_t>(id.dev.size(), 64)),
            id.dev.data());
    return false;
  }
  const int dev_len = static_cast<int>(id.dev.size());
  const char* dev = id.dev.data();
  if (id.sysfs_fd < 0 || id.dev_fd < 0) {
    err.set("tur: %.*s: no sysfs or /dev directory fd", dev_len, dev);
    return false;
  }
  char sg_buf[kDevNameMax];
  std::string_view sg_name;
  if (!find_sg_node(id.sysfs_fd, id.dev, sg_buf, sg_name)) {
    err.set(
        "tur: %.*s has no SCSI generic node (no block/%.*s/device/generic, no "
        "block/%.*s/device/scsi_generic/sg*): load the sg module, or use the state "
        "or directio checker for this path",
        dev_len, dev, dev_len, dev, dev_len, dev);
    return false;
  }
  if (!format_path(slot.state_path, "block/%.*s/device/state", dev_len, dev) ||
      !format_path(slot.dev, "%.*s", dev_len, dev)) {
    err.set("tur: %.*s: sysfs path too long", dev_len, dev);
    return false;
  }
  slot.session_state_path[0] = '\0';
  char session_buf[kDevNameMax];
  std::string_view session;
  if (find_iscsi_session(id.sysfs_fd, id.dev, session_buf, session) &&
      !format_path(slot.session_state_path, "class/iscsi_session/%.*s/state",
                   static_cast<int>(session.size()), session.data()))
    slot.session_state_path[0] = '\0';
  int fd = ::openat(id.dev_fd, sg_buf, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    err.set("tur: %.*s: open /dev/%s: %s", dev_len, dev, sg_buf, errno_text(errno));
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    err.set("tur: %.*s: fstat /dev/%s: %s", dev_len, dev, sg_buf, errno_text(errno));
    ::close(fd);
    return false;
  }
  if (S_ISCHR(st.st_mode)) {
    int version = 0;
    if (::ioctl(fd, SG_GET_VERSION_NUM, &version) != 0 || version < 30000) {
      err.set("tur: %.*s: /dev/%s is not an sg v3 device", dev_len, dev, sg_buf);
      ::close(fd);
      return false;
    }
    // TEST UNIT READY moves no data: shrink the per-fd reserve buffer the
    // driver allocated at open (32 KiB by default) to its minimum.
    int reserve = 0;
    (void)::ioctl(fd, SG_SET_RESERVED_SIZE, &reserve);
  } else if (!S_ISFIFO(st.st_mode)) {
    // A FIFO stands in for the sg node in tests: it echoes each request back
    // as its own (good) answer, or carries an answer the test wrote.
    err.set("tur: %.*s: /dev/%s is not a character device", dev_len, dev, sg_buf);
    ::close(fd);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = path;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    err.set("tur: %.*s: epoll_ctl /dev/%s: %s", dev_len, dev, sg_buf, errno_text(errno));
    ::close(fd);
    return false;
  }
  slot.sg_fd = fd;
  // Read at every check: one pread instead of open, read and close. Without
  // it (out of descriptors) the path is still checked, by opening the file.
  slot.state_fd = ::openat(id.sysfs_fd, slot.state_path, O_RDONLY | O_CLOEXEC);
  slot.session_fd = slot.session_state_path[0] != '\0'
                        ? ::openat(id.sysfs_fd, slot.session_state_path, O_RDONLY | O_CLOEXEC)
                        : -1;
  slot.sysfs_fd = id.sysfs_fd;
  slot.attached = true;
  slot.in_flight = false;
  slot.dead = false;
  slot.last_errno = 0;
  slot.last_reason = "";
  return true;
}

void TurChecker::drop_fd(PathIndex /*path*/, Slot& slot) {
  if (slot.sg_fd < 0) return;
  (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, slot.sg_fd, nullptr);
  // A command still in flight is orphaned: the driver frees it when it
  // completes. Its sense data is only copied out by read(), so nothing is
  // written into this slot afterwards.
  ::close(slot.sg_fd);
  slot.sg_fd = -1;
  if (slot.state_fd >= 0) ::close(slot.state_fd);
  slot.state_fd = -1;
  if (slot.session_fd >= 0) ::close(slot.session_fd);
  slot.session_fd = -1;
}

void TurChecker::detach(PathIndex path) {
  if (!slots_ || path >= capacity_) return;
  Slot& slot = slots_[path];
  if (!slot.attached) return;
  drop_fd(path, slot);
  slot.attached = false;
  slot.in_flight = false;
  slot.dead = false;
  slot.sysfs_fd = -1;
}

TurChecker::Issue TurChecker::issue(PathIndex /*path*/, Slot& slot) {
  if (slot.sg_fd < 0) return Issue::Down;
  sg_io_hdr_t& h = slot.request;
  std::memset(&h, 0, sizeof h);
  std::memset(slot.sense, 0, sizeof slot.sense);
  std::memset(slot.cdb, 0, sizeof slot.cdb);  // TEST UNIT READY
  h.interface_id = 'S';
  h.dxfer_direction = SG_DXFER_NONE;
  h.cmd_len = sizeof slot.cdb;
  h.mx_sb_len = sizeof slot.sense;
  h.cmdp = slot.cdb;
  h.sbp = slot.sense;
  h.timeout = timeout_ms(options_.io_timeout);
  slot.pack_id = slot.pack_id == INT_MAX ? 1 : slot.pack_id + 1;
  h.pack_id = slot.pack_id;
  h.usr_ptr = &slot;
  ssize_t n;
  do {
    n = ::write(slot.sg_fd, &h, sizeof h);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof h)) {
    slot.in_flight = true;
    return Issue::Sent;
  }
  slot.last_errno = n < 0 ? errno : EIO;
  switch (slot.last_errno) {
    case ENODEV:  // device detaching
    case ENXIO:   // device gone, or in error recovery
    case EIO:
    case EBUSY:
      slot.last_reason = "command not accepted by the device";
      return Issue::Down;
    default:  // EPERM (credentials changed), EDOM, EFAULT, ...: our fault, not the path's
      slot.last_reason = "command could not be written";
      return Issue::Failed;
  }
}

StartResult TurChecker::start(PathIndex path, core::MonoTime /*now*/) {
  if (!slots_ || path >= capacity_ || !slots_[path].attached) return {StartResult::Kind::Failed};
  Slot& slot = slots_[path];
  if (slot.in_flight) return {StartResult::Kind::Busy};
  if (slot.dead || slot.sg_fd < 0) {
    slot.last_reason = "device removed";
    return {StartResult::Kind::Done, Verdict::Down};
  }
  char buf[kStateBuf];
  std::string_view state;
  if (!read_state(slot.state_fd, slot.sysfs_fd, slot.state_path, buf, state)) {
    slot.last_errno = errno;
    slot.last_reason = "device state unreadable (device removed?)";
    return {StartResult::Kind::Done, Verdict::Down};
  }
  Verdict v = scsi_device_state_verdict(state);
  // A device blocked because its iSCSI session failed has lost its transport:
  // it is down now, not "pending", so I/O moves to another path at once
  // instead of waiting out the session's recovery.
  if (v == Verdict::Pending && slot.session_state_path[0] != '\0' &&
      read_state(slot.session_fd, slot.sysfs_fd, slot.session_state_path, buf, state) &&
      iscsi_session_state_verdict(state) == Verdict::Down) {
    slot.last_reason = "iSCSI session failed";
    return {StartResult::Kind::Done, Verdict::Down};
  }
  if (v != Verdict::Up) {
    slot.last_reason = v == Verdict::Pending ? "device blocked" : "device not running";
    return {StartResult::Kind::Done, v};
  }
  slot.retries_left = options_.retries;
  slot.alua_changed = false;
  switch (issue(path, slot)) {
    case Issue::Sent:
      return {StartResult::Kind::InFlight};
    case Issue::Down:
      return {StartResult::Kind::Done, Verdict::Down};
    case Issue::Failed:
      break;
  }
  return {StartResult::Kind::Failed};
}

TransportState TurChecker::transport_state(PathIndex path) {
  if (!slots_ || path >= capacity_ || !slots_[path].attached) return TransportState::Unknown;
  const Slot& slot = slots_[path];
  if (slot.dead || slot.sg_fd < 0) return TransportState::Down;
  char buf[kStateBuf];
  std::string_view state;
  if (!read_state(slot.state_fd, slot.sysfs_fd, slot.state_path, buf, state)) return TransportState::Down;
  if (scsi_device_state_verdict(state) != Verdict::Up) return TransportState::Down;
  if (slot.session_state_path[0] != '\0' &&
      (!read_state(slot.session_fd, slot.sysfs_fd, slot.session_state_path, buf, state) ||
       iscsi_session_state_verdict(state) != Verdict::Up))
    return TransportState::Down;
  return TransportState::Up;
}

size_t TurChecker::reap(std::span<Completion> out) {
  if (epoll_fd_ < 0 || out.empty()) return 0;
  size_t max = std::min<size_t>({out.size(), capacity_, static_cast<size_t>(INT_MAX)});
  int n;
  do {
    n = ::epoll_wait(epoll_fd_, events_.get(), static_cast<int>(max), 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return 0;
  size_t count = 0;
  auto complete = [&](PathIndex path, Verdict v, core::AluaReport alua = {}, bool lun_gone = false) {
    if (count < out.size()) out[count++] = Completion{path, v, alua, lun_gone};
  };
  for (int i = 0; i < n; ++i) {
    PathIndex path = events_[static_cast<size_t>(i)].data.u32;
    uint32_t flags = events_[static_cast<size_t>(i)].events;
    if (path >= capacity_) continue;
    Slot& slot = slots_[path];
    if (!slot.attached || slot.sg_fd < 0) continue;
    // One command per fd at most: stop at its answer (one read, not a second
    // one for EAGAIN: under emulation every system call counts). A stale
    // answer is skipped; anything still queued keeps the fd readable, and
    // the level-triggered epoll reports it again.
    for (;;) {
      ssize_t r = ::read(slot.sg_fd, &slot.reply, sizeof slot.reply);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        slot.last_errno = errno;
        slot.last_reason = "read of the answer failed";
        if (slot.in_flight) {
          slot.in_flight = false;
          complete(path, Verdict::Down);
        }
        if (errno == ENODEV) flags |= EPOLLHUP;
        break;
      }
      if (r != static_cast<ssize_t>(sizeof slot.reply)) continue;           // not an sg v3 answer
      if (!slot.in_flight || slot.reply.pack_id != slot.pack_id) continue;  // stale
      slot.in_flight = false;
      size_t sense_len = std::min<size_t>(slot.reply.sb_len_wr, sizeof slot.sense);
      scsi::Result result;
      result.status = slot.reply.status;
      result.host_status = slot.reply.host_status;
      result.driver_status = slot.reply.driver_status;
      result.sense = std::span<const uint8_t>(slot.sense, sense_len);
      scsi::Decision d = scsi::decode_tur(result);
      slot.last_reason = d.reason;
      slot.alua_changed = slot.alua_changed || d.alua_changed;
      if (d.retry && slot.retries_left > 0) {
        --slot.retries_left;
        Issue again = issue(path, slot);
        if (again == Issue::Sent) continue;
        complete(path, Verdict::Down);
        break;
      }
      complete(path, d.verdict, core::AluaReport{d.alua, slot.alua_changed, d.garbled_sense}, d.lun_gone);
      break;
    }
    if ((flags & (EPOLLHUP | EPOLLERR)) != 0 && slot.sg_fd >= 0) {
      // The device is going away: answer now rather than wait for an orphan,
      // and stop polling the fd (hang-up is level-triggered). Closed at detach.
      if (slot.in_flight) {
        slot.in_flight = false;
        slot.last_reason = "device removed";
        complete(path, Verdict::Down);
      }
      slot.dead = true;
      (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, slot.sg_fd, nullptr);
    }
  }
  return count;
}

int TurChecker::last_errno(PathIndex path) const {
  return slots_ && path < capacity_ ? slots_[path].last_errno : 0;
}

const char* TurChecker::last_reason(PathIndex path) const {
  return slots_ && path < capacity_ ? slots_[path].last_reason : "";
}

}  // namespace pk::checkers
