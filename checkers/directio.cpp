#include "checkers/directio.h"

#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "adapters/sysfs.h"
#include "checkers/device_sysfs.h"

namespace pk::checkers {

// Per-path state: plain data, allocated and zeroed for every path in init().
struct DirectIoChecker::Slot {
  int fd;
  int sysfs_fd;
  bool attached;
  bool in_flight;       // a read owns this slot's buffer until its completion is reaped
  bool scsi;            // has block/<dev>/device/state: precheck it
  uint32_t generation;  // bumped at detach: completions of an earlier attach are dropped
  uint32_t read_len;    // one logical block
  uint32_t last_len;    // bytes of the last completed read
  int last_errno;
  char dev[kDevNameMax];
  char state_path[kSysfsPathMax];
};

namespace {

// The largest rings the kernel allows (IORING_MAX_ENTRIES, IORING_MAX_CQ_ENTRIES).
constexpr uint32_t kMaxSqEntries = 256;  // each start submits at once: a few suffice
constexpr uint32_t kMaxCqEntries = 65536;
constexpr size_t kStateBuf = 64;

const char* errno_text(int e) {
  const char* text = ::strerrordesc_np(e);
  return text != nullptr ? text : "unknown error";
}

uint64_t pack(uint32_t generation, PathIndex path) {
  return (static_cast<uint64_t>(generation) << 32) | path;
}

bool power_of_two(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

DirectIoChecker::DirectIoChecker() = default;

DirectIoChecker::~DirectIoChecker() {
  // Closing the ring cancels what it can and lets the kernel finish the rest
  // in the background; the pages of registered buffers stay pinned by the
  // kernel until then, so freeing them here is safe.
  if (ring_ready_) io_uring_queue_exit(ring_.get());
  if (slots_) {
    for (uint32_t i = 0; i < capacity_; ++i) {
      if (slots_[i].fd >= 0) ::close(slots_[i].fd);
    }
  }
  if (event_fd_ >= 0) ::close(event_fd_);
  std::free(buffers_);
}

bool DirectIoChecker::init(uint32_t capacity, core::Error& err) {
  if (ring_ready_) {
    err.set("directio: already initialised");
    return false;
  }
  if (capacity == 0 || capacity > kMaxCqEntries) {
    err.set("directio: capacity %u out of range (1..%u reads in flight on one ring)", capacity,
            kMaxCqEntries);
    return false;
  }
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) {
    err.set("directio: eventfd: %s", errno_text(errno));
    return false;
  }
  ring_ = std::make_unique<io_uring>();
  std::memset(ring_.get(), 0, sizeof(io_uring));
  io_uring_params params;
  std::memset(&params, 0, sizeof params);
  // Every path may have one read in flight: the completion queue holds them
  // all, so it never overflows (an overflow makes the kernel allocate).
  uint32_t sq_entries = std::min(capacity, kMaxSqEntries);
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
  params.cq_entries = std::max(capacity, sq_entries);
  int rc = io_uring_queue_init_params(sq_entries, ring_.get(), &params);
  if (rc < 0) {
    err.set("directio: io_uring_queue_init (%u entries): %s", sq_entries, errno_text(-rc));
    return false;
  }
  ring_ready_ = true;
  if (params.cq_entries < capacity) {
    err.set("directio: completion queue of %u entries, %u needed", params.cq_entries, capacity);
    return false;
  }

  // One block for every read: a check only asks whether the read succeeds,
  // its data is never looked at, so concurrent reads may land in the same
  // memory. A buffer per path would cost 4 KiB of locked memory each.
  size_t bytes = kBlockBufferSize;
  buffers_ = static_cast<std::byte*>(std::aligned_alloc(kBlockBufferSize, bytes));
  if (buffers_ == nullptr) {
    err.set("directio: cannot allocate %zu bytes of read buffers", bytes);
    return false;
  }
  std::memset(buffers_, 0, bytes);  // touch every page now
  iovec iov{buffers_, bytes};
  rc = io_uring_register_buffers(ring_.get(), &iov, 1);
  if (rc < 0) {
    err.set(
        "directio: io_uring_register_buffers (%zu bytes): %s (RLIMIT_MEMLOCK too low "
        "without CAP_IPC_LOCK?)",
        bytes, errno_text(-rc));
    return false;
  }
  rc = io_uring_register_eventfd(ring_.get(), event_fd_);
  if (rc < 0) {
    err.set("directio: io_uring_register_eventfd: %s", errno_text(-rc));
    return false;
  }
  // Bound the kernel worker threads that take reads which cannot be issued
  // without blocking. Older kernels lack it: not fatal.
  unsigned workers[2] = {kMaxIoWorkers, 0};
  (void)io_uring_register_iowq_max_workers(ring_.get(), workers);

  slots_ = std::make_unique<Slot[]>(capacity);
  std::memset(static_cast<void*>(slots_.get()), 0, sizeof(Slot) * capacity);
  for (uint32_t i = 0; i < capacity; ++i) {
    slots_[i].fd = -1;
    slots_[i].sysfs_fd = -1;
  }
  capacity_ = capacity;
  return true;
}

bool DirectIoChecker::attach(PathIndex path, const PathIdentity& id, core::Error& err) {
  if (!slots_) {
    err.set("directio: attach before init");
    return false;
  }
  if (path >= capacity_) {
    err.set("directio: path index %u beyond capacity %u", path, capacity_);
    return false;
  }
  Slot& slot = slots_[path];
  if (slot.attached) {
    err.set("directio: path index %u is already attached (%s)", path, slot.dev);
    return false;
  }
  if (!valid_dev_name(id.dev)) {
    err.set("directio: invalid device name \"%.*s\"", static_cast<int>(std::min<size_t>(id.dev.size(), 64)),
            id.dev.data());
    return false;
  }
  const int dev_len = static_cast<int>(id.dev.size());
  const char* dev = id.dev.data();
  if (id.dev_fd < 0) {
    err.set("directio: %.*s: no /dev directory fd", dev_len, dev);
    return false;
  }
  char name[kDevNameMax];
  if (!format_path(name, "%.*s", dev_len, dev) ||
      !format_path(slot.state_path, "block/%.*s/device/state", dev_len, dev)) {
    err.set("directio: %.*s: name too long", dev_len, dev);
    return false;
  }
  // No O_NONBLOCK: io_uring already issues without blocking and hands what
  // would block to a worker; on older kernels an O_NONBLOCK file made it
  // return -EAGAIN instead (a false Down whenever the queue is short of tags).
  int fd = ::openat(id.dev_fd, name, O_RDONLY | O_DIRECT | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    err.set("directio: open %s with O_DIRECT: %s%s", name, errno_text(e),
            e == EINVAL ? " (the file system does not support direct I/O)" : "");
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    err.set("directio: fstat %s: %s", name, errno_text(errno));
    ::close(fd);
    return false;
  }
  uint32_t block = 0;
  if (S_ISBLK(st.st_mode)) {
    int size = 0;
    if (::ioctl(fd, BLKSSZGET, &size) != 0 || size <= 0) {
      err.set("directio: %s: BLKSSZGET: %s", name, errno_text(errno));
      ::close(fd);
      return false;
    }
    block = static_cast<uint32_t>(size);
  } else if (S_ISREG(st.st_mode)) {
    // A regular file (tests, file-backed setups): its direct I/O alignment.
    struct statx sx;
    std::memset(&sx, 0, sizeof sx);
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN) != 0 &&
        sx.stx_dio_offset_align != 0) {
      block = std::max(sx.stx_dio_offset_align, sx.stx_dio_mem_align);
    } else {
      block = static_cast<uint32_t>(kBlockBufferSize);
    }
  } else {
    err.set("directio: %s is neither a block device nor a regular file", name);
    ::close(fd);
    return false;
  }
  if (!power_of_two(block) || block > kBlockBufferSize) {
    err.set("directio: %s: logical block of %u bytes does not fit the %zu-byte buffer", name, block,
            kBlockBufferSize);
    ::close(fd);
    return false;
  }
  // SCSI disks get the device-state precheck; others (NBD, NVMe, files) do not.
  bool scsi = false;
  if (id.sysfs_fd >= 0) {
    char buf[kStateBuf];
    std::string_view state;
    scsi = adapters::Sysfs(id.sysfs_fd).read(slot.state_path, buf, state);
  }
  slot.fd = fd;
  slot.sysfs_fd = id.sysfs_fd;
  slot.scsi = scsi;
  slot.read_len = block;
  slot.last_errno = 0;
  slot.last_len = 0;
  std::memcpy(slot.dev, name, sizeof name);
  slot.attached = true;
  return true;
}

void DirectIoChecker::detach(PathIndex path) {
  if (!slots_ || path >= capacity_) return;
  Slot& slot = slots_[path];
  if (!slot.attached) return;
  // The ring holds its own reference to the file of a read in flight: closing
  // is safe. in_flight stays set until that read completes (its buffer is
  // still the kernel's); the new generation makes its completion stale.
  ::close(slot.fd);
  slot.fd = -1;
  slot.sysfs_fd = -1;
  slot.attached = false;
  ++slot.generation;
}

StartResult DirectIoChecker::start(PathIndex path, core::MonoTime /*now*/) {
  if (!slots_ || path >= capacity_ || !slots_[path].attached) return {StartResult::Kind::Failed};
  Slot& slot = slots_[path];
  if (slot.in_flight) return {StartResult::Kind::Busy};
  if (slot.scsi) {
    char buf[kStateBuf];
    std::string_view state;
    if (!adapters::Sysfs(slot.sysfs_fd).read(slot.state_path, buf, state)) {
      slot.last_errno = errno;
      return {StartResult::Kind::Done, Verdict::Down};  // device removed
    }
    Verdict v = scsi_device_state_verdict(state);
    if (v != Verdict::Up) return {StartResult::Kind::Done, v};
  }
  io_uring* ring = ring_.get();
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) {
    (void)io_uring_submit(ring);  // entries left by a failed submit: push them out
    sqe = io_uring_get_sqe(ring);
    if (sqe == nullptr) {
      slot.last_errno = EAGAIN;
      return {StartResult::Kind::Failed};
    }
  }
  io_uring_prep_read_fixed(sqe, slot.fd, buffers_, slot.read_len, 0, 0);
  io_uring_sqe_set_data64(sqe, pack(slot.generation, path));
  slot.in_flight = true;
  int rc = io_uring_submit(ring);
  if (rc < 0) {
    // The entry stays queued in the submission ring and goes out with the
    // next submit (reap retries): the read is in flight either way.
    slot.last_errno = -rc;
  }
  return {StartResult::Kind::InFlight};
}

size_t DirectIoChecker::reap(std::span<Completion> out) {
  if (!ring_ready_ || !slots_ || out.empty()) return 0;
  io_uring* ring = ring_.get();
  // Reset the eventfd first: a completion posted after the drain below
  // signals it again.
  eventfd_t ignored;
  (void)::eventfd_read(event_fd_, &ignored);
  if (io_uring_sq_ready(ring) > 0) (void)io_uring_submit(ring);
  size_t count = 0;
  while (count < out.size()) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(ring, &cqe) != 0 || cqe == nullptr) break;
    uint64_t data = io_uring_cqe_get_data64(cqe);
    int res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    PathIndex path = static_cast<PathIndex>(data & 0xffffffffu);
    uint32_t generation = static_cast<uint32_t>(data >> 32);
    if (path >= capacity_) continue;
    Slot& slot = slots_[path];
    if (!slot.in_flight) continue;
    slot.in_flight = false;                                         // the buffer is free again
    if (!slot.attached || generation != slot.generation) continue;  // detached meanwhile
    Verdict v;
    if (res < 0) {
      slot.last_errno = -res;
      slot.last_len = 0;
      v = Verdict::Down;
    } else {
      slot.last_len = static_cast<uint32_t>(res);
      bool full = static_cast<uint32_t>(res) == slot.read_len;
      slot.last_errno = full ? 0 : EIO;  // short read: device gone or shrunk to nothing
      v = full ? Verdict::Up : Verdict::Down;
    }
    out[count++] = Completion{path, v};
  }
  // `out` was full with completions left: make the loop come back for them.
  if (count == out.size() && io_uring_cq_ready(ring) > 0) (void)::eventfd_write(event_fd_, 1);
  return count;
}

std::span<const std::byte> DirectIoChecker::last_block(PathIndex path) const {
  if (!slots_ || path >= capacity_) return {};
  const Slot& slot = slots_[path];
  if (slot.in_flight) return {};  // the kernel's until reaped
  return {buffers_, slot.last_len};
}

int DirectIoChecker::last_errno(PathIndex path) const {
  return slots_ && path < capacity_ ? slots_[path].last_errno : 0;
}

}  // namespace pk::checkers
