// DeviceSource over libudev. See udev.h for the contract.
//
// Which events. The monitor listens to:
//  - "block"/"disk": disks come and go, DM maps change (DM_ACTION=PATH_FAILED
//    and PATH_REINSTATED come from dm-multipath itself, with DM_PATH);
//    partitions are filtered out;
//  - "scsi"/"scsi_device": SCSI devices come and go, and report unit
//    attentions as change events (SDEV_UA=..., e.g. an ALUA state change);
//  - "iscsi_session" and "iscsi_connection": sessions and connections are
//    created and destroyed (login, logout, a target that goes away);
//  - "nvme": controllers come and go and report NVME_EVENT=connected after
//    a reconnect.
// An iSCSI session's state (LOGGED_IN, FAILED, FREE) is NOT announced by any
// uevent: the kernel tells only iscsid, over its own netlink family. Paths
// learn it from sysfs (/sys/class/iscsi_session/sessionN/state), which the
// checkers read; these events only say "recheck the paths below this".
//
// Which socket. With udevd running (/run/udev/control exists) the monitor
// takes udevd's events, after the rules ran (ID_WWN, ID_SERIAL, DM_NAME are
// set, /dev nodes exist). Without udevd (initramfs, a bare lab guest) libudev
// would silently deliver nothing from that socket, so the monitor takes the
// kernel's uevents instead, and the few properties rules would have added are
// read from sysfs (device/wwid, dm/name, dm/uuid).
#include <fcntl.h>
#include <libudev.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "adapters/udev.h"
#include "adapters/udev_parse.h"

namespace pk::adapters {

namespace {

using core::Transport;

constexpr size_t kMaxPropertyNames = 256;
// Room for a burst of uevents (a storage array dropping hundreds of LUNs at
// once) before the kernel has to drop some (ENOBUFS).
constexpr int kReceiveBufferBytes = 16 * 1024 * 1024;

std::string_view sv(const char* s) { return s ? std::string_view(s) : std::string_view(); }

const char* describe(int e) {
  const char* d = strerrordesc_np(e);
  return d ? d : "unknown error";
}

bool udev_running() { return ::access("/run/udev/control", F_OK) == 0; }

DeviceAction action_of(const char* action) {
  std::string_view a = sv(action);
  if (a == "add") return DeviceAction::Add;
  if (a == "remove") return DeviceAction::Remove;
  return DeviceAction::Change;  // change, move, online, offline, bind, ...
}

class UdevSource final : public DeviceSource {
 public:
  UdevSource() = default;
  ~UdevSource() override {
    if (monitor_) udev_monitor_unref(monitor_);
    if (udev_) udev_unref(udev_);
  }
  UdevSource(const UdevSource&) = delete;
  UdevSource& operator=(const UdevSource&) = delete;

  bool open(core::Error& err) override;
  bool enumerate(const BlockFn& fn, core::Error& err) override;
  int monitor_fd() const override { return fd_; }
  size_t receive(const BlockFn& on_block, const TransportFn& on_transport) override;

 private:
  void fill(udev_device* dev, DeviceAction action, BlockDevice& out);
  const char* attr(udev_device* dev, const char* name) { return udev_device_get_sysattr_value(dev, name); }
  const char* prop(udev_device* dev, const char* name) { return udev_device_get_property_value(dev, name); }

  udev* udev_ = nullptr;
  udev_monitor* monitor_ = nullptr;
  int fd_ = -1;
  std::array<char, udevparse::kWwidMax> wwid_{};
  std::array<std::string_view, kMaxPropertyNames> property_names_{};
};

bool UdevSource::open(core::Error& err) {
  if (udev_) {
    err.set("udev source opened twice");
    return false;
  }
  udev_ = udev_new();
  if (!udev_) {
    err.set("udev_new failed: %s", describe(errno));
    return false;
  }
  const char* source = udev_running() ? "udev" : "kernel";
  monitor_ = udev_monitor_new_from_netlink(udev_, source);
  if (!monitor_) {
    err.set("cannot create a udev monitor on the %s socket: %s", source, describe(errno));
    return false;
  }
  struct Match {
    const char* subsystem;
    const char* devtype;
  };
  constexpr Match kMatches[] = {
      {"block", "disk"}, {"scsi", "scsi_device"}, {"iscsi_session", nullptr}, {"iscsi_connection", nullptr},
      {"nvme", nullptr},
  };
  for (const Match& m : kMatches) {
    if (udev_monitor_filter_add_match_subsystem_devtype(monitor_, m.subsystem, m.devtype) < 0) {
      err.set("cannot filter udev events on subsystem %s", m.subsystem);
      return false;
    }
  }
  // Best effort: needs CAP_NET_ADMIN beyond net.core.rmem_max.
  udev_monitor_set_receive_buffer_size(monitor_, kReceiveBufferBytes);
  if (int r = udev_monitor_enable_receiving(monitor_); r < 0) {
    err.set("cannot listen to %s uevents: %s", source, describe(-r));
    return false;
  }
  fd_ = udev_monitor_get_fd(monitor_);
  int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0) {
    err.set("cannot make the udev monitor non-blocking: %s", describe(errno));
    return false;
  }
  return true;
}

void UdevSource::fill(udev_device* dev, DeviceAction action, BlockDevice& out) {
  out = BlockDevice{};
  out.action = action;
  out.name = sv(udev_device_get_sysname(dev));
  dev_t d = udev_device_get_devnum(dev);
  out.devt = core::DevT{major(d), minor(d)};

  bool scsi = udev_device_get_parent_with_subsystem_devtype(dev, "scsi", "scsi_device") != nullptr;
  out.transport = udevparse::detect_transport(sv(udev_device_get_devpath(dev)), out.name, scsi);

  // After a remove the sysfs directory is gone: only the event's properties
  // are left, and the attributes read as absent.
  // SCSI: udev's ID_SERIAL (scsi_id: "3" + the NAA identifier, ...) first,
  // the identity multipathd and every multipath.conf use, so maps made by
  // multipathd (DM UUID mpath-<ID_SERIAL>) are adopted as they are; the
  // kernel's device/wwid when udev has not named the disk.
  const char* wwid = nullptr;
  if (out.transport != Transport::Nbd) {  // NBD has no identity of its own
    if (scsi) wwid = prop(dev, "ID_SERIAL");
    if (!wwid && scsi) wwid = attr(dev, "device/wwid");
    if (!wwid && out.transport == Transport::Nvme) wwid = attr(dev, "wwid");
    if (!wwid) wwid = prop(dev, "ID_WWN");
    if (!wwid) wwid = prop(dev, "ID_SERIAL");
  }
  out.wwid = udevparse::normalise_wwid(sv(wwid), wwid_);

  const char* vendor = attr(dev, "device/vendor");
  const char* product = attr(dev, "device/model");
  out.vendor = udevparse::trim(sv(vendor ? vendor : prop(dev, "ID_VENDOR")));
  out.product = udevparse::trim(sv(product ? product : prop(dev, "ID_MODEL")));
  out.alua = scsi && attr(dev, "device/access_state") != nullptr;

  if (udevparse::is_dm_name(out.name)) {
    const char* name = prop(dev, "DM_NAME");
    const char* uuid = prop(dev, "DM_UUID");
    out.dm_name = sv(name ? name : attr(dev, "dm/name"));
    out.dm_uuid = sv(uuid ? uuid : attr(dev, "dm/uuid"));
  }
  out.dm_action = sv(prop(dev, "DM_ACTION"));
  out.dm_path = sv(prop(dev, "DM_PATH"));

  size_t n = 0;
  for (udev_list_entry* e = udev_device_get_properties_list_entry(dev); e && n < property_names_.size();
       e = udev_list_entry_get_next(e)) {
    property_names_[n++] = sv(udev_list_entry_get_name(e));
  }
  out.property_names = std::span<const std::string_view>(property_names_.data(), n);
}

bool UdevSource::enumerate(const BlockFn& fn, core::Error& err) {
  if (!udev_) {
    err.set("udev source used before open()");
    return false;
  }
  udev_enumerate* e = udev_enumerate_new(udev_);
  if (!e) {
    err.set("udev_enumerate_new failed");
    return false;
  }
  int r = udev_enumerate_add_match_subsystem(e, "block");
  if (r >= 0) r = udev_enumerate_add_match_property(e, "DEVTYPE", "disk");
  if (r >= 0) r = udev_enumerate_scan_devices(e);
  if (r < 0) {
    err.set("udev enumeration of block devices failed: %s", describe(-r));
    udev_enumerate_unref(e);
    return false;
  }
  BlockDevice bd;
  for (udev_list_entry* i = udev_enumerate_get_list_entry(e); i; i = udev_list_entry_get_next(i)) {
    udev_device* dev = udev_device_new_from_syspath(udev_, udev_list_entry_get_name(i));
    if (!dev) continue;  // removed since the scan
    if (sv(udev_device_get_devtype(dev)) == "disk") {
      fill(dev, DeviceAction::Add, bd);
      fn(bd);
    }
    udev_device_unref(dev);
  }
  udev_enumerate_unref(e);
  return true;
}

size_t UdevSource::receive(const BlockFn& on_block, const TransportFn& on_transport) {
  if (!monitor_) return 0;
  size_t handled = 0;
  BlockDevice bd;
  bool loss_reported = false;
  for (;;) {
    errno = 0;
    udev_device* dev = udev_monitor_receive_device(monitor_);
    if (!dev) {
      if (errno == ENOBUFS && !loss_reported) {
        // The kernel dropped uevents: say so, then read on.
        loss_reported = true;
        on_transport(TransportEvent{});
        ++handled;
        continue;
      }
      break;  // EAGAIN: nothing left
    }
    ++handled;
    std::string_view subsystem = sv(udev_device_get_subsystem(dev));
    if (subsystem == "block") {
      if (sv(udev_device_get_devtype(dev)) == "disk") {
        fill(dev, action_of(udev_device_get_action(dev)), bd);
        on_block(bd);
      }
    } else {
      on_transport(TransportEvent{sv(udev_device_get_devpath(dev))});
    }
    udev_device_unref(dev);
  }
  return handled;
}

}  // namespace

std::unique_ptr<DeviceSource> make_udev_source() { return std::make_unique<UdevSource>(); }

}  // namespace pk::adapters
