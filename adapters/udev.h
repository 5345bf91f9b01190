// Block devices as udev sees them: an enumeration at start-up, then a monitor.
// Control plane: libudev allocates on every call, so this runs only on
// add/remove/change of devices, never in the check round.
// Threads: the loop thread only (libudev is not thread-safe).
// Blocking: never (the monitor socket is non-blocking).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "core/devt.h"
#include "core/error.h"
#include "core/model.h"

namespace pk::adapters {

enum class DeviceAction : uint8_t { Add, Change, Remove };

struct BlockDevice {
  DeviceAction action = DeviceAction::Add;
  std::string_view name;  // "sda"
  core::DevT devt;
  std::string_view wwid;    // SCSI: ID_SERIAL, else device/wwid; NVMe: wwid; else ID_WWN / ID_SERIAL; NBD ""
  std::string_view vendor;  // SCSI vendor/model, "" when unknown
  std::string_view product;
  core::Transport transport = core::Transport::Unknown;
  bool alua = false;  // the LUN reports ALUA (sysfs access_state exists)
  // dm devices only
  std::string_view dm_name;
  std::string_view dm_uuid;
  std::string_view dm_action;  // DM_ACTION of a change uevent, e.g. "PATH_FAILED"
  std::string_view dm_path;    // DM_PATH, "maj:min"
  // Every udev property name, for blacklist rules on properties.
  std::span<const std::string_view> property_names;
};

// Something happened to a session or other non-block device that may concern
// paths (e.g. an iSCSI session changed state): recheck the paths below it.
// Sources: iscsi_session / iscsi_connection add and remove, scsi_device
// change (SDEV_UA=...), nvme controller events. An iSCSI session's state
// changes (LOGGED_IN/FAILED) raise no uevent: read them from sysfs.
// An empty devpath means uevents were lost (the monitor socket overflowed):
// enumerate again and recheck every path.
struct TransportEvent {
  std::string_view devpath;
};

class DeviceSource {
 public:
  virtual ~DeviceSource() = default;
  using BlockFn = std::function<void(const BlockDevice&)>;
  using TransportFn = std::function<void(const TransportEvent&)>;

  virtual bool open(core::Error& err) = 0;
  // Every block device present now (action Add), disks only, no partitions.
  virtual bool enumerate(const BlockFn& fn, core::Error& err) = 0;
  // The monitor's fd; readable when uevents wait.
  virtual int monitor_fd() const = 0;
  // Handles every waiting uevent; returns how many.
  virtual size_t receive(const BlockFn& on_block, const TransportFn& on_transport) = 0;
};

std::unique_ptr<DeviceSource> make_udev_source();

}  // namespace pk::adapters
