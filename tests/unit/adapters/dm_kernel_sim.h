// A device-mapper ioctl interface in user space, for unit tests of the DM
// adapter: it copies the request in and the answer out the way
// drivers/md/dm-ioctl.c does (ctl_ioctl, copy_params, list_devices,
// retrieve_status, target_message, dev_arm_poll), and lays answers out with
// raw offsets of struct dm_ioctl, independently of adapters/dm_codec.
// Once set up it allocates nothing per call (the allocation test relies on it).
#pragma once

#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace pk::test {

// struct dm_ioctl, by offset.
namespace dmoff {
constexpr size_t kVersion = 0, kDataSize = 12, kDataStart = 16, kTargetCount = 20, kOpenCount = 24,
                 kFlags = 28, kEventNr = 32, kDev = 40, kName = 48, kUuid = 176, kData = 305, kSize = 312;
// struct dm_target_spec
constexpr size_t kSpecStart = 0, kSpecLength = 8, kSpecStatus = 16, kSpecNext = 20, kSpecType = 24,
                 kSpecSize = 40;
}  // namespace dmoff

template <typename T>
inline T get(const std::byte* p, size_t off) {
  T v;
  std::memcpy(&v, p + off, sizeof v);
  return v;
}
template <typename T>
inline void put(std::byte* p, size_t off, T v) {
  std::memcpy(p + off, &v, sizeof v);
}

inline uint64_t kernel_encode_dev(uint32_t major, uint32_t minor) {
  return (minor & 0xff) | (uint64_t{major} << 8) | (uint64_t{minor & ~0xffu} << 12);
}
inline size_t align_val(size_t v) { return (v + 7) & ~size_t{7}; }

struct SimDevice {
  std::string name;
  std::string uuid;  // "" = none
  uint32_t major = 253, minor = 0;
  uint32_t event_nr = 0;
  int targets = 1;  // 0 = no live table
  std::string type = "multipath";
  uint64_t length = 32768;
  std::string status;  // info form
  std::string table;   // table form
  bool suspended = false;
  int32_t open_count = 0;          // mounted, held, or opened by its partitions
  bool vanish_after_list = false;  // removed right after a DM_LIST_DEVICES
  bool gone = false;
};

class DmKernelSim {
 public:
  uint32_t minor_version = 47;  // 4.47: Linux 6.1
  int fail_errno = 0;           // every ioctl fails with this when set
  std::vector<SimDevice> devices;

  // What the last call saw.
  unsigned calls = 0;
  unsigned cmd = 0;
  uint32_t data_size_in = 0;  // data_size of the last request
  uint32_t copied_in = 0;     // bytes the "kernel" copied in for it
  uint32_t data_size_history[16] = {};
  unsigned history = 0;
  unsigned arms = 0;
  unsigned by_cmd[32] = {};  // calls per command number
  char last_message[256] = {};
  char last_message_map[130] = {};
  uint64_t last_message_sector = ~0ull;

  explicit DmKernelSim(size_t max_bytes = 1 << 20) : scratch_(max_bytes) {}

  static int ioctl_fn(void* ctx, int /*fd*/, unsigned long request, void* arg) {
    return static_cast<DmKernelSim*>(ctx)->handle(request, static_cast<std::byte*>(arg));
  }

  SimDevice* find(const char* name) {
    for (auto& d : devices) {
      if (!d.gone && d.name == name) return &d;
    }
    return nullptr;
  }

 private:
  int error(int e) {
    errno = e;
    return -1;
  }

  int handle(unsigned long request, std::byte* user) {
    ++calls;
    cmd = _IOC_NR(request);
    if (fail_errno) return error(fail_errno);
    // check_version: the kernel version is written back in every case.
    uint32_t v[3];
    std::memcpy(v, user, sizeof v);
    bool bad = v[0] != 4 || v[1] > minor_version;
    uint32_t kv[3] = {4, minor_version, 0};
    std::memcpy(user, kv, sizeof kv);
    if (bad) return error(EINVAL);

    uint32_t data_size = get<uint32_t>(user, dmoff::kDataSize);
    data_size_in = data_size;
    if (history < 16) data_size_history[history++] = data_size;
    if (data_size < dmoff::kData || data_size > scratch_.size()) return error(EINVAL);
    bool no_params = cmd == DM_VERSION_CMD || cmd == DM_DEV_STATUS_CMD || cmd == DM_DEV_ARM_POLL_CMD;
    std::byte* p = scratch_.data();
    if (no_params) {
      std::memcpy(p, user, dmoff::kData);
      put<uint32_t>(p, dmoff::kDataSize, dmoff::kData);
      copied_in = 0;
    } else {
      std::memcpy(p, user, data_size);
      copied_in = data_size;
    }
    // validate_params
    uint32_t flags = get<uint32_t>(p, dmoff::kFlags);
    flags &= ~(DM_BUFFER_FULL_FLAG | DM_UEVENT_GENERATED_FLAG | DM_SECURE_DATA_FLAG | DM_DATA_OUT_FLAG);
    put<uint32_t>(p, dmoff::kFlags, flags);

    // ctl_ioctl: "param->data_size = offsetof(struct dm_ioctl, data)" before
    // the command runs; only a command that fits its answer sets it again,
    // so a DM_BUFFER_FULL_FLAG answer copies back the header alone.
    put<uint32_t>(p, dmoff::kDataSize, dmoff::kData);
    ++by_cmd[cmd & 31];
    int r = 0;
    switch (cmd) {
      case DM_VERSION_CMD:
        break;
      case DM_DEV_ARM_POLL_CMD:
        ++arms;
        break;
      case DM_LIST_DEVICES_CMD:
        r = list_devices(p, data_size);
        break;
      case DM_DEV_STATUS_CMD:
        r = dev_status(p);
        break;
      case DM_TABLE_STATUS_CMD:
        r = table_status(p, data_size);
        break;
      case DM_TARGET_MSG_CMD:
        r = target_message(p, data_size);
        break;
      default:
        r = -ENOTTY;
    }
    if (r < 0) return error(-r);
    std::memcpy(user, p, get<uint32_t>(p, dmoff::kDataSize));
    return 0;
  }

  SimDevice* find_device(std::byte* p) {
    char name[129] = {};
    std::memcpy(name, p + dmoff::kName, 128);
    SimDevice* d = find(name);
    if (!d) return nullptr;
    // "Sneakily write in both the name and the uuid while we have the cell."
    std::memset(p + dmoff::kUuid, 0, 129);
    std::memcpy(p + dmoff::kUuid, d->uuid.data(), d->uuid.size());
    return d;
  }

  void dev_status_fields(std::byte* p, const SimDevice& d) {
    uint32_t flags = get<uint32_t>(p, dmoff::kFlags);
    flags &= ~(DM_SUSPEND_FLAG | DM_READONLY_FLAG | DM_ACTIVE_PRESENT_FLAG);
    if (d.suspended) flags |= DM_SUSPEND_FLAG;
    if (d.targets) flags |= DM_ACTIVE_PRESENT_FLAG;
    put<uint32_t>(p, dmoff::kFlags, flags);
    put<int32_t>(p, dmoff::kOpenCount, d.open_count);
    put<uint32_t>(p, dmoff::kEventNr, d.event_nr);
    put<uint64_t>(p, dmoff::kDev, kernel_encode_dev(d.major, d.minor));
    put<uint32_t>(p, dmoff::kTargetCount, static_cast<uint32_t>(d.targets));
  }

  int dev_status(std::byte* p) {
    SimDevice* d = find_device(p);
    if (!d) return -ENXIO;
    dev_status_fields(p, *d);
    return 0;
  }

  int list_devices(std::byte* p, size_t param_size) {
    bool with_uuid = minor_version >= 45 && (get<uint32_t>(p, dmoff::kFlags) & DM_UUID_FLAG);
    size_t needed = 0;
    for (auto& d : devices) {
      if (d.gone) continue;
      needed += align_val(12 + d.name.size() + 1);
      needed += align_val(minor_version >= 45 ? 8 : 4);
      if (with_uuid && !d.uuid.empty()) needed += align_val(d.uuid.size() + 1);
    }
    put<uint32_t>(p, dmoff::kDataStart, dmoff::kSize);
    size_t len = param_size - dmoff::kSize;
    std::byte* out = p + dmoff::kSize;
    if (len < needed || len < 8) {
      put<uint32_t>(p, dmoff::kFlags, get<uint32_t>(p, dmoff::kFlags) | DM_BUFFER_FULL_FLAG);
      return 0;
    }
    put<uint32_t>(p, dmoff::kDataSize, static_cast<uint32_t>(dmoff::kSize + needed));
    put<uint64_t>(out, 0, 0);  // "Flags no data"
    size_t at = 0, old = SIZE_MAX;
    for (auto& d : devices) {
      if (d.gone) continue;
      if (old != SIZE_MAX) put<uint32_t>(out, old + 8, static_cast<uint32_t>(at - old));
      put<uint64_t>(out, at, kernel_encode_dev(d.major, d.minor));
      put<uint32_t>(out, at + 8, 0);
      std::memcpy(out + at + 12, d.name.c_str(), d.name.size() + 1);
      old = at;
      size_t ev = align_val(at + 12 + d.name.size() + 1);
      put<uint32_t>(out, ev, d.event_nr);
      size_t next;
      if (minor_version >= 45) {
        uint32_t f = 0;
        next = align_val(ev + 8);
        if (with_uuid) {
          if (!d.uuid.empty()) {
            f |= DM_NAME_LIST_FLAG_HAS_UUID;
            std::memcpy(out + next, d.uuid.c_str(), d.uuid.size() + 1);
            next = align_val(next + d.uuid.size() + 1);
          } else {
            f |= DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID;
          }
        }
        put<uint32_t>(out, ev + 4, f);
      } else {
        next = align_val(ev + 4);  // 4.37-4.44: the flags word is padding, left as it was
      }
      at = next;
    }
    for (auto& d : devices) {
      if (d.vanish_after_list) d.gone = true;
    }
    return 0;
  }

  int table_status(std::byte* p, size_t param_size) {
    SimDevice* d = find_device(p);
    if (!d) return -ENXIO;
    dev_status_fields(p, *d);
    if (d->targets == 0) return 0;
    uint32_t flags = get<uint32_t>(p, dmoff::kFlags);
    const std::string& text = (flags & DM_STATUS_TABLE_FLAG) ? d->table : d->status;
    // retrieve_status
    put<uint32_t>(p, dmoff::kDataStart, dmoff::kSize);
    size_t len = param_size - dmoff::kSize;
    std::byte* outbuf = p + dmoff::kSize;
    size_t outptr = 0, used = 0;
    for (int i = 0; i < d->targets; ++i) {
      size_t remaining = len - outptr;
      if (remaining <= dmoff::kSpecSize) {
        flags |= DM_BUFFER_FULL_FLAG;
        break;
      }
      std::byte* spec = outbuf + outptr;
      put<int32_t>(spec, dmoff::kSpecStatus, 0);
      put<uint64_t>(spec, dmoff::kSpecStart, d->length * static_cast<uint64_t>(i));
      put<uint64_t>(spec, dmoff::kSpecLength, d->length);
      std::memset(spec + dmoff::kSpecType, 0, 16);
      std::memcpy(spec + dmoff::kSpecType, d->type.data(), std::min<size_t>(d->type.size(), 15));
      outptr += dmoff::kSpecSize;
      remaining = len - outptr;
      // DMEMIT: at most remaining - 1 characters and a NUL.
      size_t n = std::min(text.size(), remaining - 1);
      std::memcpy(outbuf + outptr, text.data(), n);
      outbuf[outptr + n] = std::byte{0};
      size_t l = n + 1;
      if (l == remaining) {
        flags |= DM_BUFFER_FULL_FLAG;
        break;
      }
      outptr += l;
      used = dmoff::kSize + outptr;
      outptr = align_val(outptr);
      put<uint32_t>(spec, dmoff::kSpecNext, static_cast<uint32_t>(outptr));
    }
    put<uint32_t>(p, dmoff::kFlags, flags);
    if (used) put<uint32_t>(p, dmoff::kDataSize, static_cast<uint32_t>(used));
    put<uint32_t>(p, dmoff::kTargetCount, static_cast<uint32_t>(d->targets));
    return 0;
  }

  int target_message(std::byte* p, size_t param_size) {
    SimDevice* d = find_device(p);
    if (!d) return -ENXIO;
    uint32_t start = get<uint32_t>(p, dmoff::kDataStart);
    if (start < dmoff::kData || start + 8 >= param_size) return -EINVAL;
    const std::byte* msg = p + start + 8;
    const std::byte* end = p + param_size;
    const std::byte* nul = std::find(msg, end, std::byte{0});
    if (nul == end) return -EINVAL;  // invalid_str
    if (d->suspended) return -EBUSY;
    if (std::strstr(reinterpret_cast<const char*>(msg), "9:99")) return -ENXIO;  // no such path
    last_message_sector = get<uint64_t>(p, start);
    std::snprintf(last_message, sizeof last_message, "%s", reinterpret_cast<const char*>(msg));
    std::snprintf(last_message_map, sizeof last_message_map, "%s", d->name.c_str());
    if (std::string_view(last_message).starts_with("fail_path")) d->event_nr++;
    dev_status_fields(p, *d);
    put<uint32_t>(p, dmoff::kDataStart, dmoff::kSize);
    return 0;
  }

  std::vector<std::byte> scratch_;
};

}  // namespace pk::test
