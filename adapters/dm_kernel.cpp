// Device-mapper through the kernel: raw ioctls on one preallocated buffer for
// the data plane, libdevmapper for the control plane. See dm.h for the
// contract and the event protocol.
//
// Data plane and the kernel's copy. For every command with a payload the
// kernel allocates `data_size` bytes (kvmalloc, GFP_NOIO) and copies the
// request in. So each kind of call keeps its own window, the data_size it
// offers: it starts small (kInitialWindow), doubles when the kernel answers
// DM_BUFFER_FULL_FLAG and stays at the size that last sufficed, never beyond
// the buffer given to open(). A message offers exactly its own size;
// DM_DEV_ARM_POLL and DM_VERSION carry no payload (the kernel uses an on-stack
// copy).
//
// Control plane and udev. libdevmapper runs with udev synchronisation off
// (dm_udev_set_sync_support(0)): it never creates a cookie semaphore and never
// waits for udev. udev rules still get their flags: with sync support off,
// dm_task_set_cookie() only stores the flags in the ioctl's event_nr (the
// cookie itself stays 0; dm_udev_wait(0) returns at once), the kernel passes
// them in DM_COOKIE, and "dmsetup udevcomplete" in 95-dm-notify.rules returns
// at once for a cookie whose base is 0. libdevmapper itself adds
// DM_UDEV_PRIMARY_SOURCE_FLAG to every resume and remove, so udev treats the
// activation as genuine: 55-dm.rules makes /dev/mapper/<name>,
// 60-persistent-storage-dm makes /dev/disk/by-id/dm-uuid-mpath-<wwid>, and
// 56-dm-mpath.rules, kpartx and LVM see an mpath- UUID (seen in the lab with
// udevd 252: DM_COOKIE=0x600000 on create, 0x1600000 on reload).
//  - udev running (/run/udev/control exists): DM_UDEV_DISABLE_LIBRARY_FALLBACK,
//    so /dev/mapper/<name> is udev's alone (libdevmapper would otherwise race
//    udev and make a node of its own that the udev database does not know).
//    A reload also sets DM_SUBSYSTEM_UDEV_FLAG0, multipath's "reload" flag:
//    11-dm-mpath.rules then sets DM_ACTIVATION=0 and MPATH_UNCHANGED=1, so
//    LVM and kpartx above the map do not rescan on every path change.
//  - udev not running (initramfs, the lab guest without udevd): no flags and
//    no cookie; libdevmapper makes /dev/mapper/<name> itself.
// Removal is never deferred: a map that is open answers EBUSY and remove()
// says so; the caller decides (a deferred removal would make the map vanish
// later, at the last close, when the daemon may have moved on).
#include "adapters/dm_kernel.h"

#include <fcntl.h>
#include <libdevmapper.h>
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "adapters/dm_codec.h"

namespace pk::adapters {

namespace {

using dmio::Header;
using dmio::kHeaderBytes;
using dmio::TargetReply;

constexpr size_t kMinBuffer = 4096;
constexpr size_t kInitialWindow = 1024;      // status / table of a map with a few paths
constexpr size_t kInitialListWindow = 4096;  // a dozen devices with uuids

// Devices whose multipath-ness list() checks: an mpath- UUID (multipathd's
// and pathkeeper's maps) or none at all (made by hand). Other UUIDs belong to
// other owners (LVM-, CRYPT-, part1-mpath-... for kpartx partitions) and are
// never asked for their table, so the data plane never touches their targets.
bool may_be_multipath(const char* uuid) { return uuid[0] == '\0' || std::strncmp(uuid, "mpath-", 6) == 0; }

// strerror() may allocate (unknown errno) or translate; this never does.
const char* describe(int e) {
  const char* d = strerrordesc_np(e);
  return d ? d : "unknown error";
}

int int_len(std::string_view s) { return static_cast<int>(s.size()); }

// --- libdevmapper's log, captured into the caller's Error ------------------

// Levels of libdevmapper's log calls (lvm2 libdm/misc/dm-logging.h; not in the
// public header): the low bits are the syslog-like level, 128 and 256 are
// "to stderr" and "once" markers.
constexpr int kLibdmLogErr = 3;
constexpr int kLibdmLevelMask = ~(128 | 256);

struct LibdmLog {
  bool capturing = false;
  bool have = false;
  unsigned more = 0;
  char first[core::Error::kCapacity] = {};
};
LibdmLog g_libdm_log;

__attribute__((format(printf, 5, 6))) void libdm_log(int level, const char* /*file*/, int /*line*/,
                                                     int /*dm_errno_or_class*/, const char* f, ...) {
  // Warnings, notices and debug output are dropped: nothing goes to stderr.
  if (!g_libdm_log.capturing || (level & kLibdmLevelMask) > kLibdmLogErr) return;
  if (g_libdm_log.have) {
    ++g_libdm_log.more;
    return;
  }
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(g_libdm_log.first, sizeof g_libdm_log.first, f, ap);
  va_end(ap);
  g_libdm_log.have = true;
}

// Captures libdevmapper's first error message during one control-plane call.
class LibdmCapture {
 public:
  LibdmCapture() {
    g_libdm_log = LibdmLog{};
    g_libdm_log.capturing = true;
  }
  ~LibdmCapture() { g_libdm_log.capturing = false; }
  LibdmCapture(const LibdmCapture&) = delete;
  LibdmCapture& operator=(const LibdmCapture&) = delete;

  // libdevmapper's own words if it logged an error, else the errno's.
  const char* why(dm_task* t) const {
    if (g_libdm_log.have) return g_libdm_log.first;
    int e = t ? dm_task_get_errno(t) : 0;
    return e ? describe(e) : "libdevmapper gave no reason";
  }
};

bool udev_running() { return ::access("/run/udev/control", F_OK) == 0; }

// Runs a task that raises a uevent (create, resume, remove) with the udev
// flags described at the top of this file, and never waits for udev.
bool run_with_udev_flags(dm_task* t, uint16_t extra_flags) {
  uint32_t cookie = 0;
  if (udev_running() && !dm_task_set_cookie(t, &cookie, DM_UDEV_DISABLE_LIBRARY_FALLBACK | extra_flags)) {
    return false;
  }
  int ok = dm_task_run(t);
  // cookie is 0 (sync support is off): this only applies libdevmapper's queued
  // /dev/mapper node operations, without waiting.
  dm_udev_wait(cookie);
  return ok != 0;
}

struct TaskDeleter {
  void operator()(dm_task* t) const { dm_task_destroy(t); }
};
using Task = std::unique_ptr<dm_task, TaskDeleter>;

Task make_task(int type, const std::string& name, core::Error& err) {
  Task t(dm_task_create(type));
  if (!t) {
    err.set("libdevmapper: cannot create a task for %s (out of memory?)", name.c_str());
    return nullptr;
  }
  if (!dm_task_set_name(t.get(), name.c_str())) {
    err.set("libdevmapper: cannot set the map name %s", name.c_str());
    return nullptr;
  }
  return t;
}

// --- the adapter -----------------------------------------------------------

class KernelDm final : public Dm {
 public:
  explicit KernelDm(const KernelDmOptions& options) : opt_(options) {}
  ~KernelDm() override {
    if (fd_ >= 0) ::close(fd_);
  }
  KernelDm(const KernelDm&) = delete;
  KernelDm& operator=(const KernelDm&) = delete;

  bool open(size_t buffer_bytes, core::Error& err) override;
  bool message(std::string_view map, std::string_view text, core::Error& err) override;
  bool status(std::string_view map, std::string_view& params, uint32_t& event_nr, core::Error& err) override;
  bool table(std::string_view map, std::string_view& params, uint64_t& sectors, core::Error& err) override;
  bool open_count(std::string_view map, int32_t& count, core::Error& err) override;
  bool list(std::span<DmMapInfo> out, size_t& count, core::Error& err) override;
  int event_fd() const override { return fd_; }
  bool arm_events(core::Error& err) override;
  bool create(std::string_view name, std::string_view uuid, uint64_t sectors, std::string_view params,
              core::Error& err) override;
  bool reload(std::string_view name, uint64_t sectors, std::string_view params, core::Error& err) override;
  bool remove(std::string_view name, core::Error& err) override;
  bool rename(std::string_view name, std::string_view new_name, core::Error& err) override;

 private:
  std::span<std::byte> buf() { return {reinterpret_cast<std::byte*>(storage_.get()), bytes_}; }
  // One ioctl on the control fd; 0 or the errno.
  int call(unsigned long request);
  bool ready(core::Error& err) const;
  bool header(Header& h, core::Error& err) { return dmio::decode_header(buf(), h, err); }
  // DM_TABLE_STATUS with window growth. On success `t` describes the first
  // target; on an ioctl failure `*ioctl_errno` (if given) is its errno.
  bool table_status(std::string_view map, bool table, Header& h, TargetReply& t, core::Error& err,
                    int* ioctl_errno = nullptr);
  bool first_multipath_target(std::string_view map, bool table, Header& h, TargetReply& t, core::Error& err);
  // Fills the uuid of `info` (DM_DEV_STATUS; for kernels whose list has
  // none); false with gone=true if the device vanished since the list.
  bool fetch_uuid(DmMapInfo& info, bool& gone, core::Error& err);
  // Whether `info` has a single multipath target; false with gone=true if
  // the device vanished since the list was taken.
  bool probe(DmMapInfo& info, bool& gone, core::Error& err);
  bool control_plane(core::Error& err) const;
  // DM_DEV_STATUS by name (header only: no kernel allocation).
  bool map_exists(std::string_view map);

  KernelDmOptions opt_;
  int fd_ = -1;
  std::unique_ptr<uint64_t[]> storage_;
  size_t bytes_ = 0;
  size_t status_window_ = kInitialWindow;
  size_t table_window_ = kInitialWindow;
  size_t list_window_ = kInitialListWindow;
  uint32_t version_[3] = {0, 0, 0};
};

int KernelDm::call(unsigned long request) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    int r = opt_.ioctl ? opt_.ioctl(opt_.ioctl_ctx, fd_, request, storage_.get())
                       : ::ioctl(fd_, request, storage_.get());
    if (r == 0) return 0;
    if (errno != EINTR) return errno;
  }
  return EINTR;
}

bool KernelDm::ready(core::Error& err) const {
  if (fd_ < 0) {
    err.set("DM adapter used before open()");
    return false;
  }
  return true;
}

bool KernelDm::open(size_t buffer_bytes, core::Error& err) {
  if (fd_ >= 0) {
    err.set("DM adapter opened twice");
    return false;
  }
  size_t bytes = dmio::align8(std::max(buffer_bytes, kMinBuffer));
  storage_.reset(new (std::nothrow) uint64_t[bytes / 8]);
  if (!storage_) {
    err.set("cannot allocate the %zu-byte DM ioctl buffer", bytes);
    return false;
  }
  bytes_ = bytes;
  std::memset(storage_.get(), 0, bytes_);  // touch every page now, not on first use
  status_window_ = std::min(kInitialWindow, bytes_);
  table_window_ = std::min(kInitialWindow, bytes_);
  list_window_ = std::min(kInitialListWindow, bytes_);

  int fd = ::open(opt_.control_path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT || e == ENODEV || e == ENXIO) {
      err.set("no device-mapper control device %s (%s): load the dm_mod module", opt_.control_path,
              describe(e));
    } else {
      err.set("cannot open %s: %s", opt_.control_path, describe(e));
    }
    return false;
  }
  fd_ = fd;

  // Ask for 4.0 so any 4.x kernel answers with its version instead of refusing.
  dmio::encode_version(buf(), 4, 0);
  if (int e = call(DM_VERSION)) {
    err.set("DM_VERSION on %s failed: %s%s", opt_.control_path, describe(e),
            e == EPERM || e == EACCES ? " (device-mapper ioctls need CAP_SYS_ADMIN)" : "");
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  Header h;
  if (!header(h, err)) {
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  std::copy(h.version, h.version + 3, version_);
  if (version_[0] != dmio::kMinMajor || version_[1] < dmio::kMinMinor) {
    err.set(
        "kernel device-mapper ioctl interface %u.%u.%u is too old: pathkeeper needs "
        "%u.%u (Linux 4.14) for DM_DEV_ARM_POLL and event counters in device lists",
        version_[0], version_[1], version_[2], dmio::kMinMajor, dmio::kMinMinor);
    ::close(fd_);
    fd_ = -1;
    return false;
  }

  if (opt_.control_plane) {
    dm_log_with_errno_init(libdm_log);
    dm_udev_set_sync_support(0);
  }
  return true;
}

bool KernelDm::message(std::string_view map, std::string_view text, core::Error& err) {
  if (!ready(err)) return false;
  if (dmio::encode_target_msg(buf(), map, text, err) == 0) return false;
  int e = call(DM_TARGET_MSG);
  if (e == 0) return true;
  int n = int_len(map), tl = int_len(text);
  switch (e) {
    case EBUSY:
      err.set("DM message '%.*s' to %.*s refused: the map is suspended (EBUSY); retry", tl, text.data(), n,
              map.data());
      break;
    case ENXIO:
      // The map is missing, or the message names a path device that is.
      if (map_exists(map)) {
        err.set("DM message '%.*s' to %.*s rejected (ENXIO): no such path device", tl, text.data(), n,
                map.data());
      } else {
        err.set("DM message '%.*s': no DM device %.*s", tl, text.data(), n, map.data());
      }
      break;
    case EINVAL:
      err.set(
          "DM message '%.*s' to %.*s rejected (EINVAL): unknown path or argument, "
          "see the kernel log",
          tl, text.data(), n, map.data());
      break;
    default:
      err.set("DM message '%.*s' to %.*s failed: %s", tl, text.data(), n, map.data(), describe(e));
  }
  return false;
}

bool KernelDm::map_exists(std::string_view map) {
  core::Error ignored;
  if (dmio::encode_dev_status(buf(), map, ignored) == 0) return false;
  return call(DM_DEV_STATUS) == 0;
}

bool KernelDm::table_status(std::string_view map, bool table, Header& h, TargetReply& t, core::Error& err,
                            int* ioctl_errno) {
  if (!ready(err)) return false;
  size_t& window = table ? table_window_ : status_window_;
  const char* what = table ? "table" : "status";
  for (;;) {
    if (dmio::encode_table_status(buf(), map, table, window, err) == 0) return false;
    if (int e = call(DM_TABLE_STATUS)) {
      if (ioctl_errno) *ioctl_errno = e;
      if (e == ENXIO) {
        err.set("DM %s: no DM device %.*s", what, int_len(map), map.data());
      } else {
        err.set("DM %s of %.*s failed: %s", what, int_len(map), map.data(), describe(e));
      }
      return false;
    }
    if (!header(h, err)) return false;
    if (!h.buffer_full()) break;
    if (window >= bytes_) {
      err.set(
          "DM %s of %.*s does not fit the %zu-byte DM buffer (DM_BUFFER_FULL_FLAG): "
          "raise the DM buffer capacity",
          what, int_len(map), map.data(), bytes_);
      return false;
    }
    window = std::min(bytes_, window * 2);
  }
  return dmio::decode_first_target(buf(), h, t, err);
}

bool KernelDm::first_multipath_target(std::string_view map, bool table, Header& h, TargetReply& t,
                                      core::Error& err) {
  if (!table_status(map, table, h, t, err)) return false;
  if (t.target_count == 0) {
    err.set("DM device %.*s has no live table", int_len(map), map.data());
    return false;
  }
  if (t.target_count != 1 || t.type != "multipath") {
    err.set("DM device %.*s is not a multipath map (%u targets, first '%.*s')", int_len(map), map.data(),
            t.target_count, int_len(t.type), t.type.data());
    return false;
  }
  return true;
}

bool KernelDm::status(std::string_view map, std::string_view& params, uint32_t& event_nr, core::Error& err) {
  Header h;
  TargetReply t;
  if (!first_multipath_target(map, false, h, t, err)) return false;
  params = t.params;
  event_nr = h.event_nr;
  return true;
}

bool KernelDm::table(std::string_view map, std::string_view& params, uint64_t& sectors, core::Error& err) {
  Header h;
  TargetReply t;
  if (!first_multipath_target(map, true, h, t, err)) return false;
  params = t.params;
  sectors = t.start + t.length;
  return true;
}

bool KernelDm::open_count(std::string_view map, int32_t& count, core::Error& err) {
  if (!ready(err)) return false;
  if (dmio::encode_dev_status(buf(), map, err) == 0) return false;
  if (int e = call(DM_DEV_STATUS)) {
    if (e == ENXIO) {
      err.set("no DM device %.*s", int_len(map), map.data());
    } else {
      err.set("DM_DEV_STATUS of %.*s failed: %s", int_len(map), map.data(), describe(e));
    }
    return false;
  }
  Header h;
  if (!header(h, err)) return false;
  if (h.open_count < 0) {
    err.set("DM_DEV_STATUS of %.*s: the kernel says open count %d", int_len(map), map.data(), h.open_count);
    return false;
  }
  count = h.open_count;
  return true;
}

bool KernelDm::fetch_uuid(DmMapInfo& info, bool& gone, core::Error& err) {
  gone = false;
  if (dmio::encode_dev_status(buf(), info.name, err) == 0) return false;
  if (int e = call(DM_DEV_STATUS)) {
    gone = e == ENXIO;  // removed since the list was taken
    if (!gone) err.set("DM_DEV_STATUS of %s failed: %s", info.name, describe(e));
    return false;
  }
  Header h;
  if (!header(h, err)) return false;
  size_t n = std::min(h.uuid.size(), sizeof info.uuid - 1);
  std::memcpy(info.uuid, h.uuid.data(), n);
  info.uuid[n] = '\0';
  return true;
}

bool KernelDm::probe(DmMapInfo& info, bool& gone, core::Error& err) {
  gone = false;
  // The whole answer is needed: when it does not fit, the kernel copies back
  // the header alone (ctl_ioctl resets data_size before the command runs), so
  // even the target type would be missing. The table form is used because it
  // only prints constructor arguments.
  Header h;
  TargetReply t;
  int e = 0;
  if (!table_status(info.name, true, h, t, err, &e)) {
    gone = e == ENXIO;  // removed since the list was taken
    return false;
  }
  info.multipath = t.target_count == 1 && t.type == "multipath";
  return true;
}

bool KernelDm::list(std::span<DmMapInfo> out, size_t& count, core::Error& err) {
  count = 0;
  if (!ready(err)) return false;
  Header h;
  for (;;) {
    if (dmio::encode_list_devices(buf(), list_window_, true) == 0) {
      err.set("DM buffer of %zu bytes is too small for a device list", bytes_);
      return false;
    }
    if (int e = call(DM_LIST_DEVICES)) {
      err.set("DM_LIST_DEVICES failed: %s", describe(e));
      return false;
    }
    if (!header(h, err)) return false;
    if (!h.buffer_full()) break;
    if (list_window_ >= bytes_) {
      err.set(
          "DM device list does not fit the %zu-byte DM buffer (DM_BUFFER_FULL_FLAG): "
          "raise the DM buffer capacity",
          bytes_);
      return false;
    }
    list_window_ = std::min(bytes_, list_window_ * 2);
  }

  // Pass 1: copy the records out of the buffer, which the probes reuse.
  dmio::NameListReader reader(buf(), h);
  dmio::NameEntry e;
  size_t n = 0;
  bool uuids_listed = false;  // ioctl 4.45+ answers with every device's uuid
  while (reader.next(e)) {
    uuids_listed = uuids_listed || e.uuid_known;
    if (n == out.size()) {
      err.set("more DM devices than the capacity of %zu (every DM device counts)", out.size());
      return false;
    }
    DmMapInfo& info = out[n++];
    info = DmMapInfo{};
    // An empty name or UUID may have no storage (nullptr): not for memcpy.
    size_t nl = std::min(e.name.size(), sizeof info.name - 1);
    if (nl > 0) std::memcpy(info.name, e.name.data(), nl);
    size_t ul = std::min(e.uuid.size(), sizeof info.uuid - 1);
    if (ul > 0) std::memcpy(info.uuid, e.uuid.data(), ul);
    info.devt = e.devt;
    info.event_nr = e.event_nr;
  }
  if (reader.failed()) {
    err.set("malformed DM_LIST_DEVICES answer: %s", reader.why());
    return false;
  }

  // Pass 2: the uuid on kernels that do not list it, then which devices are
  // multipath maps. Devices removed in between are dropped.
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    DmMapInfo info = out[i];
    bool gone = false;
    if (!uuids_listed && !fetch_uuid(info, gone, err)) {
      if (gone) continue;
      return false;
    }
    if (may_be_multipath(info.uuid) && !probe(info, gone, err)) {
      if (gone) continue;
      return false;
    }
    out[kept++] = info;
  }
  count = kept;
  return true;
}

bool KernelDm::arm_events(core::Error& err) {
  if (!ready(err)) return false;
  dmio::encode_arm_poll(buf());
  if (int e = call(DM_DEV_ARM_POLL)) {
    err.set("DM_DEV_ARM_POLL failed: %s", describe(e));
    return false;
  }
  return true;
}

// --- control plane ---------------------------------------------------------

bool KernelDm::control_plane(core::Error& err) const {
  if (!ready(err)) return false;
  if (!opt_.control_plane) {
    err.set("DM control plane is disabled in this adapter");
    return false;
  }
  return true;
}

bool check_names(std::string_view name, std::string_view params, core::Error& err) {
  if (name.empty() || name.size() > dmio::kNameMax ||
      name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos) {
    err.set("invalid DM map name '%.*s' (1-%zu bytes, no '/')", int_len(name), name.data(), dmio::kNameMax);
    return false;
  }
  if (params.empty() || params.find('\0') != std::string_view::npos) {
    err.set("empty or invalid multipath table for %.*s", int_len(name), name.data());
    return false;
  }
  return true;
}

bool KernelDm::create(std::string_view name, std::string_view uuid, uint64_t sectors, std::string_view params,
                      core::Error& err) {
  if (!control_plane(err) || !check_names(name, params, err)) return false;
  if (uuid.size() > dmio::kUuidMax) {
    err.set("DM uuid of %.*s is longer than %zu bytes", int_len(name), name.data(), dmio::kUuidMax);
    return false;
  }
  std::string n(name), u(uuid), p(params);
  LibdmCapture log;
  Task t = make_task(DM_DEVICE_CREATE, n, err);
  if (!t) return false;
  if ((!u.empty() && !dm_task_set_uuid(t.get(), u.c_str())) ||
      !dm_task_add_target(t.get(), 0, sectors, "multipath", p.c_str())) {
    err.set("create of map %s: libdevmapper refused the request: %s", n.c_str(), log.why(t.get()));
    return false;
  }
  // With a table, DM_DEVICE_CREATE is create + load + resume; libdevmapper
  // removes the new device again if the load or the resume fails.
  if (!run_with_udev_flags(t.get(), 0)) {
    err.set("create of map %s failed: %s", n.c_str(), log.why(t.get()));
    return false;
  }
  return true;
}

bool KernelDm::reload(std::string_view name, uint64_t sectors, std::string_view params, core::Error& err) {
  if (!control_plane(err) || !check_names(name, params, err)) return false;
  std::string n(name), p(params);
  LibdmCapture log;

  // 1. Load the new table as the inactive one. On failure nothing changed.
  {
    Task t = make_task(DM_DEVICE_RELOAD, n, err);
    if (!t) return false;
    if (!dm_task_add_target(t.get(), 0, sectors, "multipath", p.c_str()) || !dm_task_run(t.get())) {
      err.set("reload of map %s failed, the old table stays: %s", n.c_str(), log.why(t.get()));
      return false;
    }
  }
  // 2. Suspend without flushing: queued I/O stays queued (a flushing suspend
  //    would turn queue_if_no_path off and fail it), and no filesystem freeze.
  {
    Task t = make_task(DM_DEVICE_SUSPEND, n, err);
    if (!t) return false;
    if (!dm_task_no_flush(t.get()) || !dm_task_skip_lockfs(t.get()) || !dm_task_run(t.get())) {
      char why[core::Error::kCapacity];
      std::snprintf(why, sizeof why, "%s", log.why(t.get()));
      // Drop the loaded table so a later resume cannot swap it in by surprise.
      Task c = make_task(DM_DEVICE_CLEAR, n, err);
      bool cleared = c && dm_task_run(c.get());
      err.set("reload of map %s: noflush suspend failed (%s); the old table stays%s", n.c_str(), why,
              cleared ? "" : ", and the loaded table could not be cleared");
      return false;
    }
  }
  // 3. Resume: swaps the new table in.
  Task t = make_task(DM_DEVICE_RESUME, n, err);
  if (!t) return false;
  dm_task_no_flush(t.get());
  dm_task_skip_lockfs(t.get());
  if (run_with_udev_flags(t.get(), DM_SUBSYSTEM_UDEV_FLAG0)) return true;

  // A failed swap leaves the map suspended and drops the new table: resume
  // again to bring the old table back.
  char why[core::Error::kCapacity];
  std::snprintf(why, sizeof why, "%s", log.why(t.get()));
  Task again = make_task(DM_DEVICE_RESUME, n, err);
  bool resumed = again && dm_task_no_flush(again.get()) && dm_task_skip_lockfs(again.get()) &&
                 run_with_udev_flags(again.get(), DM_SUBSYSTEM_UDEV_FLAG0);
  err.set("reload of map %s: resume failed (%s); %s", n.c_str(), why,
          resumed ? "resumed again with the old table"
                  : "THE MAP IS STILL SUSPENDED: resume it by hand (dmsetup resume)");
  return false;
}

bool KernelDm::remove(std::string_view name, core::Error& err) {
  if (!control_plane(err)) return false;
  if (name.empty() || name.size() > dmio::kNameMax) {
    err.set("invalid DM map name '%.*s'", int_len(name), name.data());
    return false;
  }
  std::string n(name);
  LibdmCapture log;
  Task t = make_task(DM_DEVICE_REMOVE, n, err);
  if (!t) return false;
  if (run_with_udev_flags(t.get(), 0)) return true;
  int e = dm_task_get_errno(t.get());
  if (e == EBUSY) {
    err.set("map %s is in use (open), not removed: %s", n.c_str(), log.why(t.get()));
  } else if (e == ENXIO) {
    err.set("remove: no DM device %s", n.c_str());
  } else {
    err.set("remove of map %s failed: %s", n.c_str(), log.why(t.get()));
  }
  return false;
}

bool KernelDm::rename(std::string_view name, std::string_view new_name, core::Error& err) {
  if (!control_plane(err)) return false;
  for (std::string_view v : {name, new_name}) {
    if (v.empty() || v.size() > dmio::kNameMax) {
      err.set("invalid DM map name '%.*s'", int_len(v), v.data());
      return false;
    }
  }
  std::string n(name), to(new_name);
  LibdmCapture log;
  Task t = make_task(DM_DEVICE_RENAME, n, err);
  if (!t) return false;
  if (!dm_task_set_newname(t.get(), to.c_str())) {
    err.set("rename of map %s: cannot set the new name %s", n.c_str(), to.c_str());
    return false;
  }
  if (run_with_udev_flags(t.get(), 0)) return true;
  int e = dm_task_get_errno(t.get());
  if (e == EBUSY || e == EEXIST) {
    err.set("rename of map %s: the name %s is taken", n.c_str(), to.c_str());
  } else {
    err.set("rename of map %s to %s failed: %s", n.c_str(), to.c_str(), log.why(t.get()));
  }
  return false;
}

}  // namespace

std::unique_ptr<Dm> make_kernel_dm(const KernelDmOptions& options) {
  return std::make_unique<KernelDm>(options);
}

std::unique_ptr<Dm> make_kernel_dm() { return make_kernel_dm(KernelDmOptions{}); }

size_t dm_buffer_bytes(uint32_t dm_devices, uint32_t paths_per_map) {
  // A DM_LIST_DEVICES record at its largest: name (127 + NUL) after the
  // 12-byte head, event_nr and flags, uuid (128 + NUL), each 8-aligned.
  constexpr size_t kListRecord = dmio::align8(12 + 128) + 8 + dmio::align8(129);
  // A path in a status or table line: "major:minor" (up to 21 characters),
  // state, fail count and selector arguments, generously; plus its group's
  // words in the worst case of one group per path.
  constexpr size_t kPerPath = 80 + 48;
  constexpr size_t kMapHead = 512;  // features, hardware handler, counts
  size_t list = kHeaderBytes + size_t{dm_devices} * kListRecord;
  size_t map = kHeaderBytes + dmio::kTargetSpecBytes + kMapHead + size_t{paths_per_map} * kPerPath;
  size_t bytes = std::max({list, map, kMinBuffer});
  return (bytes + 4095) & ~size_t{4095};
}

}  // namespace pk::adapters
