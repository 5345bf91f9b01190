// Device-mapper, as the daemon needs it, behind one interface so tests can
// use a fake. The kernel implementation splits the work:
//  - data plane (messages, status, table, events): raw DM ioctls on
//    /dev/mapper/control over one buffer allocated at start-up; nothing is
//    allocated per call in user space (the kernel copies data_size bytes with
//    GFP_NOIO, so the buffer is kept as small as the largest map needs);
//  - control plane (create, reload, remove): libdevmapper, with udev
//    synchronisation off so no call waits on udev (no cookies).
//
// Threads: the loop thread only (libdevmapper keeps global state).
// Blocking: message/status/table/list/arm_events never wait on a path; create/
// reload may (TABLE_LOAD opens every path). Allocation: open() and the control-
// plane calls only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/devt.h"
#include "core/error.h"

namespace pk::adapters {

struct DmMapInfo {
  char name[128] = {};
  char uuid[129] = {};
  core::DevT devt;
  uint32_t event_nr = 0;
  bool multipath = false;  // has a single multipath target
};

class Dm {
 public:
  virtual ~Dm() = default;

  // Start-up. `buffer_bytes` bounds the largest status/table answer.
  virtual bool open(size_t buffer_bytes, core::Error& err) = 0;

  // Sends a multipath target message ("fail_path 8:16", "queue_if_no_path", ...).
  // EBUSY while the map is suspended is reported as an error; the caller retries.
  virtual bool message(std::string_view map, std::string_view text, core::Error& err) = 0;
  // The multipath target's status (info) parameters; `params` points into the
  // adapter's buffer and is valid until the next call.
  virtual bool status(std::string_view map, std::string_view& params, uint32_t& event_nr,
                      core::Error& err) = 0;
  // The table parameters as the kernel reports them now, and the map length.
  virtual bool table(std::string_view map, std::string_view& params, uint64_t& sectors, core::Error& err) = 0;
  // How many openers the DM device has now (mounted file systems, LVM,
  // kpartx partitions, processes): DM_DEV_STATUS, header only. Data plane:
  // no allocation, never waits on a device.
  virtual bool open_count(std::string_view map, int32_t& count, core::Error& err) = 0;
  // Every DM device, with its UUID and event counter. Fills `out`, sets `count`;
  // more devices than `out` holds is an error that names the capacity.
  virtual bool list(std::span<DmMapInfo> out, size_t& count, core::Error& err) = 0;

  // One fd for the events of every map (DM_DEV_ARM_POLL): readable after any
  // map's event counter moved. Re-arm, then compare counters from list().
  // Protocol: when the fd polls readable, call arm_events() FIRST, then
  // list(), then compare each map's event_nr with the previous list (an
  // event during the list re-arms the fd, so none is lost). The global
  // counter also moves on create/remove/rename, so compare names too.
  // DmEventWatcher (adapters/dm_events.h) does exactly this.
  // list() costs one DM_LIST_DEVICES, then per device: a DM_DEV_STATUS for
  // its uuid on kernels before ioctl 4.45 (whose list has none), and a
  // DM_TABLE_STATUS (table form) to fill `multipath` for devices whose uuid
  // is empty or starts with "mpath-". Devices with other uuids (LVM-, CRYPT-,
  // partN-mpath- ...) report multipath=false unasked, so the data plane never
  // touches other owners' targets.
  virtual int event_fd() const = 0;
  virtual bool arm_events(core::Error& err) = 0;

  // Control plane.
  virtual bool create(std::string_view name, std::string_view uuid, uint64_t sectors, std::string_view params,
                      core::Error& err) = 0;
  // Loads a new table and swaps it in with a noflush suspend, so queued I/O
  // stays queued.
  virtual bool reload(std::string_view name, uint64_t sectors, std::string_view params, core::Error& err) = 0;
  virtual bool remove(std::string_view name, core::Error& err) = 0;
  // Renames a map; its table, device number and queued I/O are untouched.
  virtual bool rename(std::string_view name, std::string_view new_name, core::Error& err) = 0;
};

std::unique_ptr<Dm> make_kernel_dm();

}  // namespace pk::adapters
