#include "checkers/state.h"

#include <algorithm>
#include <cstring>

#include "adapters/sysfs.h"
#include "checkers/device_sysfs.h"

namespace pk::checkers {

namespace {

// How to read one resolved file.
enum class Source : uint8_t {
  None,
  ScsiDevice,    // block/<dev>/device/state
  IscsiSession,  // class/iscsi_session/sessionN/state
  NvmeCtrl,      // class/nvme/nvmeX/state
  NbdPid,        // block/nbdX/pid: exists -> Up
};

constexpr size_t kStateBuf = 64;

bool has_prefix(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

}  // namespace

// Per-path state: plain data, allocated and zeroed for every path in init().
struct StateChecker::Slot {
  bool attached;
  int sysfs_fd;
  Source primary;
  Source secondary;
  char primary_path[kSysfsPathMax];
  char secondary_path[kSysfsPathMax];
};

StateChecker::StateChecker() = default;
StateChecker::~StateChecker() = default;

bool StateChecker::init(uint32_t capacity, core::Error& err) {
  if (slots_) {
    err.set("state: already initialised");
    return false;
  }
  if (capacity == 0) {
    err.set("state: capacity 0");
    return false;
  }
  slots_ = std::make_unique<Slot[]>(capacity);
  std::memset(static_cast<void*>(slots_.get()), 0, sizeof(Slot) * capacity);
  for (uint32_t i = 0; i < capacity; ++i) slots_[i].sysfs_fd = -1;
  capacity_ = capacity;
  return true;
}

bool StateChecker::attach(PathIndex path, const PathIdentity& id, core::Error& err) {
  if (!slots_) {
    err.set("state: attach before init");
    return false;
  }
  if (path >= capacity_) {
    err.set("state: path index %u beyond capacity %u", path, capacity_);
    return false;
  }
  Slot& slot = slots_[path];
  if (slot.attached) {
    err.set("state: path index %u is already attached", path);
    return false;
  }
  if (!valid_dev_name(id.dev)) {
    err.set("state: invalid device name \"%.*s\"", static_cast<int>(std::min<size_t>(id.dev.size(), 64)),
            id.dev.data());
    return false;
  }
  const int dev_len = static_cast<int>(id.dev.size());
  const char* dev = id.dev.data();
  if (id.sysfs_fd < 0) {
    err.set("state: %.*s: no sysfs directory fd", dev_len, dev);
    return false;
  }
  adapters::Sysfs sysfs(id.sysfs_fd);
  char buf[kStateBuf];
  std::string_view value;
  char name_buf[kDevNameMax];
  std::string_view name;

  Transport transport = id.transport;
  if (transport == Transport::Unknown) {
    if (has_prefix(id.dev, "nbd")) {
      transport = Transport::Nbd;
    } else if (has_prefix(id.dev, "nvme")) {
      transport = Transport::Nvme;
    } else {
      transport = Transport::Scsi;
    }
  }

  Source primary = Source::None;
  Source secondary = Source::None;
  char primary_path[kSysfsPathMax] = {};
  char secondary_path[kSysfsPathMax] = {};
  switch (transport) {
    case Transport::Nbd:
      // pid appears while a client is connected: its absence now is no error.
      primary = Source::NbdPid;
      if (!format_path(primary_path, "block/%.*s/pid", dev_len, dev)) {
        err.set("state: %.*s: sysfs path too long", dev_len, dev);
        return false;
      }
      break;
    case Transport::Nvme:
      if (!find_nvme_controller(id.sysfs_fd, id.dev, name_buf, name)) {
        err.set("state: %.*s: no NVMe controller found (block/%.*s/device)", dev_len, dev, dev_len, dev);
        return false;
      }
      primary = Source::NvmeCtrl;
      if (!format_path(primary_path, "class/nvme/%.*s/state", static_cast<int>(name.size()), name.data()) ||
          !sysfs.read(primary_path, buf, value)) {
        err.set("state: %.*s: cannot read %s", dev_len, dev, primary_path);
        return false;
      }
      break;
    case Transport::Scsi:
    case Transport::Iscsi:
    case Transport::Unknown:
      primary = Source::ScsiDevice;
      if (!format_path(primary_path, "block/%.*s/device/state", dev_len, dev) ||
          !sysfs.read(primary_path, buf, value)) {
        err.set("state: %.*s: cannot read block/%.*s/device/state: not a SCSI device?", dev_len, dev, dev_len,
                dev);
        return false;
      }
      if (find_iscsi_session(id.sysfs_fd, id.dev, name_buf, name)) {
        secondary = Source::IscsiSession;
        if (!format_path(secondary_path, "class/iscsi_session/%.*s/state", static_cast<int>(name.size()),
                         name.data()) ||
            !sysfs.read(secondary_path, buf, value)) {
          err.set("state: %.*s: cannot read %s", dev_len, dev, secondary_path);
          return false;
        }
      } else if (transport == Transport::Iscsi) {
        err.set("state: %.*s: no iSCSI session found in the sysfs path of block/%.*s", dev_len, dev, dev_len,
                dev);
        return false;
      }
      break;
  }
  std::memcpy(slot.primary_path, primary_path, sizeof primary_path);
  std::memcpy(slot.secondary_path, secondary_path, sizeof secondary_path);
  slot.primary = primary;
  slot.secondary = secondary;
  slot.sysfs_fd = id.sysfs_fd;
  slot.attached = true;
  return true;
}

void StateChecker::detach(PathIndex path) {
  if (!slots_ || path >= capacity_) return;
  Slot& slot = slots_[path];
  slot.attached = false;
  slot.sysfs_fd = -1;
  slot.primary = Source::None;
  slot.secondary = Source::None;
  slot.primary_path[0] = '\0';
  slot.secondary_path[0] = '\0';
}

namespace {

Verdict read_source(const adapters::Sysfs& sysfs, Source source, const char* path) {
  char buf[kStateBuf];
  std::string_view value;
  bool ok = sysfs.read(path, buf, value);
  switch (source) {
    case Source::None:
      return Verdict::Up;
    case Source::NbdPid:
      return ok ? Verdict::Up : Verdict::Down;
    case Source::ScsiDevice:
      return ok ? scsi_device_state_verdict(value) : Verdict::Down;
    case Source::IscsiSession:
      return ok ? iscsi_session_state_verdict(value) : Verdict::Down;
    case Source::NvmeCtrl:
      return ok ? nvme_ctrl_state_verdict(value) : Verdict::Down;
  }
  return Verdict::Down;
}

}  // namespace

StartResult StateChecker::start(PathIndex path, core::MonoTime /*now*/) {
  if (!slots_ || path >= capacity_ || !slots_[path].attached) return {StartResult::Kind::Failed};
  const Slot& slot = slots_[path];
  adapters::Sysfs sysfs(slot.sysfs_fd);
  Verdict v = read_source(sysfs, slot.primary, slot.primary_path);
  if (slot.secondary != Source::None) {
    v = worse(v, read_source(sysfs, slot.secondary, slot.secondary_path));
  }
  return {StartResult::Kind::Done, v};
}

// The check itself reads only sysfs: the transport state is its verdict.
TransportState StateChecker::transport_state(PathIndex path) {
  StartResult r = start(path, core::MonoTime{});
  if (r.kind != StartResult::Kind::Done) return TransportState::Unknown;
  return r.verdict == Verdict::Up ? TransportState::Up : TransportState::Down;
}

size_t StateChecker::reap(std::span<Completion> /*out*/) { return 0; }

std::string_view StateChecker::primary_path(PathIndex path) const {
  if (!slots_ || path >= capacity_) return {};
  return slots_[path].primary_path;
}

std::string_view StateChecker::secondary_path(PathIndex path) const {
  if (!slots_ || path >= capacity_) return {};
  return slots_[path].secondary_path;
}

}  // namespace pk::checkers
