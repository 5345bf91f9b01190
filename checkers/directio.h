// directio: an O_DIRECT read of one logical block at offset 0 of the path's
// block device, asynchronous through ONE io_uring shared by every path.
//
// init: creates the ring (completion queue sized for `capacity` reads in
//   flight, so it never overflows), one 4096-byte aligned buffer per path in
//   one region registered with io_uring_register_buffers, and an eventfd
//   registered with io_uring_register_eventfd: completion_fd().
// attach: opens the device relative to PathIdentity::dev_fd
//   (O_RDONLY|O_DIRECT|O_CLOEXEC), learns the logical block size
//   (BLKSSZGET; STATX_DIOALIGN for a regular file) and whether it is a SCSI
//   device (block/<dev>/device/state exists).
// start: SCSI devices get the same precheck as tur (offline/... -> Done Down,
//   blocked -> Done Pending); then one READ_FIXED is submitted -> InFlight.
//   A read still in flight -> Busy.
// reap: drains the completion queue: the full block read -> Up; a short read
//   or an error -> Down.
//
// Known limits:
// - io_uring cannot recall a read that reached the block layer (cancel only
//   works before issue). A read on a hung path stays in flight until the
//   device answers or the SCSI/NVMe timeout and error handling end it; until
//   then start() answers Busy and the slot and its buffer stay reserved,
//   even across detach/attach (the stale completion is dropped).
// - A read the kernel cannot issue without blocking (e.g. no free request
//   tag) is handed to an io-wq worker: a kernel thread created on demand in
//   this process. init caps bounded workers at kMaxIoWorkers.
// - The ring reuses cached requests but may allocate in the kernel when its
//   cache is empty.
// - PathIdentity::sysfs_fd must stay open while the path is attached.
//
// Threads: the loop thread. Blocking: attach (open); start/reap never.
// Allocation: init only.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "checkers/checker.h"

struct io_uring;

namespace pk::checkers {

class DirectIoChecker final : public Checker {
 public:
  static constexpr size_t kBlockBufferSize = 4096;  // the largest logical block read
  static constexpr unsigned kMaxIoWorkers = 4;

  DirectIoChecker();
  ~DirectIoChecker() override;
  DirectIoChecker(const DirectIoChecker&) = delete;
  DirectIoChecker& operator=(const DirectIoChecker&) = delete;

  core::CheckerKind kind() const override { return core::CheckerKind::DirectIo; }
  std::string_view name() const override { return "directio"; }
  bool init(uint32_t capacity, core::Error& err) override;
  int completion_fd() const override { return event_fd_; }
  bool attach(PathIndex path, const PathIdentity& id, core::Error& err) override;
  void detach(PathIndex path) override;
  StartResult start(PathIndex path, core::MonoTime now) override;
  size_t reap(std::span<Completion> out) override;

  // Diagnostics and tests: the bytes the last read of `path` returned (all
  // reads share one buffer: valid while no other read completed since), and
  // the errno of its last failure (0 if none).
  std::span<const std::byte> last_block(PathIndex path) const;
  int last_errno(PathIndex path) const;

 private:
  struct Slot;

  uint32_t capacity_ = 0;
  int event_fd_ = -1;
  std::unique_ptr<io_uring> ring_;
  bool ring_ready_ = false;
  std::byte* buffers_ = nullptr;  // kBlockBufferSize, page aligned, shared by every read
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace pk::checkers
