// The bytes of device-mapper ioctls (linux/dm-ioctl.h), built and read without
// the ioctl() call, so that tests can check them against buffers laid out the
// way drivers/md/dm-ioctl.c lays them out.
//
// One buffer holds a request and then its answer: a struct dm_ioctl header
// (312 bytes), then the payload from data_start. The kernel copies `data_size`
// bytes in (a kvmalloc with GFP_NOIO for every command that takes a payload)
// and writes the answer back over the same buffer, header included, so a
// request must be encoded again before it is retried.
// An answer that does not fit comes back with DM_BUFFER_FULL_FLAG and the
// header alone: ctl_ioctl sets data_size to offsetof(struct dm_ioctl, data)
// (305) before the command runs, and only a command whose answer fits sets it
// again, so nothing past the header is copied back (not even the first target
// spec). Seen on Linux 6.1; the test simulator does the same.
//
// Threads: any (pure functions over caller-owned bytes). Blocking: never.
// Allocation: never.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/devt.h"
#include "core/error.h"

namespace pk::adapters::dmio {

// sizeof(struct dm_ioctl) and the offset at which every answer's payload starts
// (the kernel's align_val(sizeof(struct dm_ioctl))).
inline constexpr size_t kHeaderBytes = 312;
inline constexpr size_t kTargetSpecBytes = 40;  // struct dm_target_spec
inline constexpr size_t kTargetMsgBytes = 8;    // struct dm_target_msg before the text
inline constexpr size_t kNameMax = 127;         // DM_NAME_LEN - 1
inline constexpr size_t kUuidMax = 128;         // DM_UUID_LEN - 1

// DM_DEV_ARM_POLL appeared in ioctl interface 4.37 (Linux 4.14); so did the
// event counter in DM_LIST_DEVICES answers. Below that the adapter refuses to run.
inline constexpr uint32_t kMinMajor = 4;
inline constexpr uint32_t kMinMinor = 37;

// Rounds up to the kernel's 8-byte alignment of payload records.
constexpr size_t align8(size_t n) { return (n + 7) & ~size_t{7}; }

// huge_encode_dev()/new_encode_dev() as the kernel fills dm_ioctl.dev and
// dm_name_list.dev, and its inverse.
uint64_t encode_dev(core::DevT d);
core::DevT decode_dev(uint64_t v);

// Request builders. Each writes a complete request at the start of `buf` and
// returns its data_size (the number of bytes the ioctl passes in), or 0 with
// `err` set when a name or text is too long or `buf` is too small.
// `window` is the data_size to offer for the answer; it is clamped to buf.size().

// DM_VERSION: major.minor is the interface the caller claims to need; the
// kernel answers with its own version (also when it refuses the claim).
size_t encode_version(std::span<std::byte> buf, uint32_t major, uint32_t minor);
// DM_DEV_ARM_POLL: header only, no payload, no name.
size_t encode_arm_poll(std::span<std::byte> buf);
// DM_DEV_STATUS by name: header only; the answer's header carries the uuid.
size_t encode_dev_status(std::span<std::byte> buf, std::string_view name, core::Error& err);
// DM_TABLE_STATUS by name: status (info) form, or the table with `table` set
// (DM_STATUS_TABLE_FLAG). DM_NOFLUSH_FLAG is always set so no target flushes
// metadata to answer. The answer's header also carries the map's uuid.
size_t encode_table_status(std::span<std::byte> buf, std::string_view name, bool table, size_t window,
                           core::Error& err);
// DM_TARGET_MSG by name, sector 0. data_size is exactly what the message needs
// (multipath messages answer nothing).
size_t encode_target_msg(std::span<std::byte> buf, std::string_view name, std::string_view text,
                         core::Error& err);
// DM_LIST_DEVICES; `with_uuid` sets DM_UUID_FLAG (honoured from ioctl 4.45 on,
// ignored before). The payload area is zeroed first: older kernels leave the
// per-record flags word untouched, so zero there means "uuid not reported".
size_t encode_list_devices(std::span<std::byte> buf, size_t window, bool with_uuid);

// The fields of an answer's struct dm_ioctl.
struct Header {
  uint32_t version[3] = {0, 0, 0};
  uint32_t data_size = 0;
  uint32_t data_start = 0;
  uint32_t target_count = 0;
  int32_t open_count = 0;
  uint32_t flags = 0;
  uint32_t event_nr = 0;
  core::DevT dev;
  std::string_view name;  // into the buffer
  std::string_view uuid;  // into the buffer

  bool buffer_full() const;
  bool suspended() const;
};

// Reads the header at the start of `buf`. False (with `err`) when data_start /
// data_size point outside `buf` or before the payload.
bool decode_header(std::span<const std::byte> buf, Header& out, core::Error& err);

// The first target of a DM_TABLE_STATUS answer.
struct TargetReply {
  uint32_t target_count = 0;  // how many targets the table has (0: no live table)
  uint64_t start = 0;         // first target's start sector
  uint64_t length = 0;        // first target's length in sectors
  std::string_view type;      // "multipath", "linear", ...
  std::string_view params;    // its status or table text, into the buffer
};

// Reads the first target of a TABLE_STATUS answer whose header is `h`. With
// target_count 0 it succeeds with an empty reply. The caller checks
// DM_BUFFER_FULL_FLAG first: a full answer has a cut (or no) params string.
bool decode_first_target(std::span<const std::byte> buf, const Header& h, TargetReply& out, core::Error& err);

// One record of a DM_LIST_DEVICES answer.
struct NameEntry {
  std::string_view name;
  core::DevT devt;
  uint32_t event_nr = 0;
  uint32_t flags = 0;       // DM_NAME_LIST_FLAG_*
  bool uuid_known = false;  // the kernel said whether there is a uuid
  std::string_view uuid;    // valid when uuid_known ("" = the device has none)
};

// Walks the records of a DM_LIST_DEVICES answer, checking every offset against
// the answer's size.
class NameListReader {
 public:
  NameListReader(std::span<const std::byte> buf, const Header& h);
  // The next record; false at the end or on a malformed answer (see failed()).
  bool next(NameEntry& out);
  bool failed() const { return failed_; }
  const char* why() const { return why_; }

 private:
  bool fail(const char* why);
  std::span<const std::byte> buf_;
  size_t pos_ = 0;  // offset of the next record in buf_
  size_t end_ = 0;  // end of the answer in buf_
  bool done_ = false;
  bool failed_ = false;
  const char* why_ = "";
};

}  // namespace pk::adapters::dmio
