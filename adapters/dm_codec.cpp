#include "adapters/dm_codec.h"

#include <linux/dm-ioctl.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace pk::adapters::dmio {

static_assert(sizeof(struct dm_ioctl) == kHeaderBytes);
static_assert(align8(sizeof(struct dm_ioctl)) == kHeaderBytes);
static_assert(sizeof(struct dm_target_spec) == kTargetSpecBytes);
static_assert(sizeof(struct dm_target_msg) == kTargetMsgBytes);
static_assert(offsetof(struct dm_name_list, name) == 12);
static_assert(sizeof(dm_ioctl::name) == kNameMax + 1);
static_assert(sizeof(dm_ioctl::uuid) == kUuidMax + 1);

namespace {

template <typename T>
T load(std::span<const std::byte> buf, size_t offset) {
  T v;
  std::memcpy(&v, buf.data() + offset, sizeof v);
  return v;
}

// A header for a request addressed by `name` (empty: none). The interface
// version claimed is the minimum the adapter needs, so a newer kernel accepts
// it and an older one says so.
bool put_header(std::span<std::byte> buf, std::string_view name, uint32_t flags, size_t data_size,
                core::Error& err) {
  if (buf.size() < kHeaderBytes || data_size > buf.size() || data_size < kHeaderBytes) {
    err.set("DM ioctl buffer of %zu bytes cannot hold a %zu-byte request", buf.size(), data_size);
    return false;
  }
  if (name.size() > kNameMax) {
    err.set("DM device name '%.*s...' is longer than %zu bytes", 32, name.data(), kNameMax);
    return false;
  }
  struct dm_ioctl h;
  std::memset(&h, 0, sizeof h);
  h.version[0] = kMinMajor;
  h.version[1] = kMinMinor;
  h.version[2] = 0;
  h.data_size = static_cast<uint32_t>(data_size);
  h.data_start = static_cast<uint32_t>(kHeaderBytes);
  h.flags = flags;
  // An empty name may have no storage (nullptr): memcpy must not be given it.
  if (!name.empty()) std::memcpy(h.name, name.data(), name.size());
  std::memcpy(buf.data(), &h, sizeof h);
  return true;
}

std::string_view bounded_string(const char* p, size_t max) { return {p, strnlen(p, max)}; }

// Finds the NUL ending the string at `from`, before `end`; npos if none.
size_t find_nul(std::span<const std::byte> buf, size_t from, size_t end) {
  for (size_t i = from; i < end; ++i) {
    if (buf[i] == std::byte{0}) return i;
  }
  return std::string_view::npos;
}

std::string_view view_at(std::span<const std::byte> buf, size_t from, size_t to) {
  return {reinterpret_cast<const char*>(buf.data()) + from, to - from};
}

size_t clamp_window(std::span<std::byte> buf, size_t window) {
  return std::min(window, buf.size()) & ~size_t{7};
}

}  // namespace

uint64_t encode_dev(core::DevT d) {
  return (d.minor & 0xffu) | (uint64_t{d.major} << 8) | (uint64_t{d.minor & ~0xffu} << 12);
}

core::DevT decode_dev(uint64_t v) {
  core::DevT d;
  d.major = static_cast<uint32_t>((v >> 8) & 0xfffu);
  d.minor = static_cast<uint32_t>((v & 0xffu) | ((v >> 12) & 0xfff00u));
  return d;
}

size_t encode_version(std::span<std::byte> buf, uint32_t major, uint32_t minor) {
  core::Error ignored;
  if (!put_header(buf, {}, 0, kHeaderBytes, ignored)) return 0;
  uint32_t version[3] = {major, minor, 0};
  std::memcpy(buf.data(), version, sizeof version);
  return kHeaderBytes;
}

size_t encode_arm_poll(std::span<std::byte> buf) {
  core::Error ignored;
  return put_header(buf, {}, 0, kHeaderBytes, ignored) ? kHeaderBytes : 0;
}

size_t encode_dev_status(std::span<std::byte> buf, std::string_view name, core::Error& err) {
  if (name.empty()) {
    err.set("DM device name is empty");
    return 0;
  }
  return put_header(buf, name, 0, kHeaderBytes, err) ? kHeaderBytes : 0;
}

size_t encode_table_status(std::span<std::byte> buf, std::string_view name, bool table, size_t window,
                           core::Error& err) {
  if (name.empty()) {
    err.set("DM map name is empty");
    return 0;
  }
  size_t size = clamp_window(buf, window);
  // The kernel writes a target spec only if more than its size is left.
  if (size < kHeaderBytes + kTargetSpecBytes + 8) {
    err.set("DM status window of %zu bytes is too small", size);
    return 0;
  }
  uint32_t flags = DM_NOFLUSH_FLAG | (table ? DM_STATUS_TABLE_FLAG : 0u);
  return put_header(buf, name, flags, size, err) ? size : 0;
}

size_t encode_target_msg(std::span<std::byte> buf, std::string_view name, std::string_view text,
                         core::Error& err) {
  if (name.empty()) {
    err.set("DM map name is empty");
    return 0;
  }
  if (text.empty() || text.find('\0') != std::string_view::npos) {
    err.set("DM message to %.*s is empty or holds a NUL", static_cast<int>(name.size()), name.data());
    return 0;
  }
  size_t size = align8(kHeaderBytes + kTargetMsgBytes + text.size() + 1);
  if (size > buf.size()) {
    err.set("DM message of %zu bytes does not fit the %zu-byte DM buffer", text.size(), buf.size());
    return 0;
  }
  if (!put_header(buf, name, 0, size, err)) return 0;
  std::byte* msg = buf.data() + kHeaderBytes;
  std::memset(msg, 0, size - kHeaderBytes);  // sector 0, the NUL and the padding
  std::memcpy(msg + kTargetMsgBytes, text.data(), text.size());
  return size;
}

size_t encode_list_devices(std::span<std::byte> buf, size_t window, bool with_uuid) {
  size_t size = clamp_window(buf, window);
  core::Error ignored;
  if (size < kHeaderBytes + 16) return 0;
  if (!put_header(buf, {}, with_uuid ? DM_UUID_FLAG : 0u, size, ignored)) return 0;
  std::memset(buf.data() + kHeaderBytes, 0, size - kHeaderBytes);
  return size;
}

bool Header::buffer_full() const { return (flags & DM_BUFFER_FULL_FLAG) != 0; }
bool Header::suspended() const { return (flags & DM_SUSPEND_FLAG) != 0; }

bool decode_header(std::span<const std::byte> buf, Header& out, core::Error& err) {
  if (buf.size() < kHeaderBytes) {
    err.set("DM answer of %zu bytes is shorter than its header", buf.size());
    return false;
  }
  const char* raw = reinterpret_cast<const char*>(buf.data());
  out.version[0] = load<uint32_t>(buf, offsetof(struct dm_ioctl, version));
  out.version[1] = load<uint32_t>(buf, offsetof(struct dm_ioctl, version) + 4);
  out.version[2] = load<uint32_t>(buf, offsetof(struct dm_ioctl, version) + 8);
  out.data_size = load<uint32_t>(buf, offsetof(struct dm_ioctl, data_size));
  out.data_start = load<uint32_t>(buf, offsetof(struct dm_ioctl, data_start));
  out.target_count = load<uint32_t>(buf, offsetof(struct dm_ioctl, target_count));
  out.open_count = load<int32_t>(buf, offsetof(struct dm_ioctl, open_count));
  out.flags = load<uint32_t>(buf, offsetof(struct dm_ioctl, flags));
  out.event_nr = load<uint32_t>(buf, offsetof(struct dm_ioctl, event_nr));
  out.dev = decode_dev(load<uint64_t>(buf, offsetof(struct dm_ioctl, dev)));
  out.name = bounded_string(raw + offsetof(struct dm_ioctl, name), kNameMax + 1);
  out.uuid = bounded_string(raw + offsetof(struct dm_ioctl, uuid), kUuidMax + 1);
  if (out.data_size > buf.size()) {
    err.set("DM answer claims %u bytes, more than the %zu-byte buffer", out.data_size, buf.size());
    return false;
  }
  if (out.data_start > buf.size()) {
    err.set("DM answer's payload offset %u lies outside the %zu-byte buffer", out.data_start, buf.size());
    return false;
  }
  return true;
}

bool decode_first_target(std::span<const std::byte> buf, const Header& h, TargetReply& out,
                         core::Error& err) {
  out = TargetReply{};
  out.target_count = h.target_count;
  if (h.target_count == 0) return true;
  size_t start = h.data_start;
  size_t end = std::min<size_t>(h.data_size, buf.size());
  if (start < kHeaderBytes || start + kTargetSpecBytes > end) {
    err.set("DM status answer too short for a target (payload %u..%u)", h.data_start, h.data_size);
    return false;
  }
  out.start = load<uint64_t>(buf, start + offsetof(struct dm_target_spec, sector_start));
  out.length = load<uint64_t>(buf, start + offsetof(struct dm_target_spec, length));
  size_t type_at = start + offsetof(struct dm_target_spec, target_type);
  size_t type_end = find_nul(buf, type_at, type_at + DM_MAX_TYPE_NAME);
  if (type_end == std::string_view::npos) type_end = type_at + DM_MAX_TYPE_NAME;
  out.type = view_at(buf, type_at, type_end);
  size_t params_at = start + kTargetSpecBytes;
  size_t params_end = find_nul(buf, params_at, end);
  if (params_end == std::string_view::npos) {
    err.set("DM status answer's parameters are not NUL-terminated within %u bytes", h.data_size);
    return false;
  }
  out.params = view_at(buf, params_at, params_end);
  return true;
}

NameListReader::NameListReader(std::span<const std::byte> buf, const Header& h) : buf_(buf) {
  pos_ = h.data_start;
  end_ = std::min<size_t>(h.data_size, buf.size());
  // An empty list answers data_size == data_start (or a first record with dev 0).
  if (pos_ < kHeaderBytes || pos_ + 8 > end_ || load<uint64_t>(buf_, pos_) == 0) done_ = true;
}

bool NameListReader::fail(const char* why) {
  failed_ = true;
  done_ = true;
  why_ = why;
  return false;
}

bool NameListReader::next(NameEntry& out) {
  if (done_) return false;
  constexpr size_t kNameAt = offsetof(struct dm_name_list, name);
  if (pos_ + kNameAt > end_) return fail("a device record runs past the answer");
  uint64_t dev = load<uint64_t>(buf_, pos_);
  uint32_t next = load<uint32_t>(buf_, pos_ + offsetof(struct dm_name_list, next));
  size_t name_at = pos_ + kNameAt;
  size_t name_end = find_nul(buf_, name_at, end_);
  if (name_end == std::string_view::npos) return fail("a device name is not NUL-terminated");
  size_t extra = align8(name_end + 1);  // event_nr, flags (ioctl 4.37+)
  if (extra + 8 > end_) return fail("a device record has no event counter");
  out = NameEntry{};
  out.name = view_at(buf_, name_at, name_end);
  out.devt = decode_dev(dev);
  out.event_nr = load<uint32_t>(buf_, extra);
  out.flags = load<uint32_t>(buf_, extra + 4);
  if (out.flags & DM_NAME_LIST_FLAG_HAS_UUID) {
    size_t uuid_at = extra + 8;
    size_t uuid_end = find_nul(buf_, uuid_at, end_);
    if (uuid_end == std::string_view::npos) return fail("a device uuid is not NUL-terminated");
    out.uuid = view_at(buf_, uuid_at, uuid_end);
    out.uuid_known = true;
  } else if (out.flags & DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID) {
    out.uuid_known = true;
  }
  if (next == 0) {
    done_ = true;
  } else {
    if (next < kNameAt + 1 || pos_ + next >= end_)
      return fail("a device record's next offset is out of range");
    pos_ += next;
  }
  return true;
}

}  // namespace pk::adapters::dmio
