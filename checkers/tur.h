// tur: SCSI TEST UNIT READY through the sg driver's asynchronous interface
// (sg v3: write() an sg_io_hdr to /dev/sgN, poll, read() the answer), in
// process, with no thread per check and no fork.
//
// attach: finds the disk's sg node (block/<dev>/device/generic or
//   block/<dev>/device/scsi_generic/sgN), opens /dev/sgN relative to
//   PathIdentity::dev_fd (O_RDWR|O_NONBLOCK|O_CLOEXEC) and registers it in the
//   checker's own epoll fd, which completion_fd() returns.
// start: reads block/<dev>/device/state first and never sends a command into a
//   device that cannot answer: offline/transport-offline/quiesce/... -> Done
//   Down, blocked -> Done Pending; running -> write() the command -> InFlight.
//   A check still in flight -> Busy: nothing piles up behind a hung command;
//   the caller's deadline marks the path timed out.
// reap: epoll_wait(0) on the inner fd, read() each ready sg fd until EAGAIN,
//   decode (scsi::decode_tur); transient answers (unit attention, busy, ...)
//   are re-issued transparently up to CheckerOptions::retries times.
//
// Known limits (kernel drivers/scsi/sg.c):
// - write() allocates the SCSI request without BLK_MQ_REQ_NOWAIT (on
//   purpose, says sg.c): when every request tag of the device's queue is in
//   use, write() sleeps in start() until a command completes, which on a
//   stuck path can take up to the SCSI command timeout plus error handling.
//   O_NONBLOCK does not change that. The sysfs precheck keeps commands away
//   from blocked devices, but a running device whose queue is full of stuck
//   requests can still make start() wait for a tag.
// - The command's own timeout (CheckerOptions::io_timeout) ends in SCSI error
//   handling (abort, then possibly LUN/target/host reset), as for any SCSI
//   command; the read() then reports it (host or driver timeout -> Down).
// - sg refuses read()/write() (EPERM) when the caller's credentials are not
//   those the fd was opened with (sg_check_file_access): attach and start
//   must run under the same credentials; do not change credentials
//   (setuid, capset) after attaching paths.
// - PathIdentity::sysfs_fd must stay open while the path is attached.
//
// Threads: the loop thread. Blocking: attach (open); start only as above.
// Allocation: init only.
#pragma once

#include <memory>

#include "checkers/checker.h"

struct epoll_event;

namespace pk::checkers {

class TurChecker final : public Checker {
 public:
  TurChecker();
  ~TurChecker() override;
  TurChecker(const TurChecker&) = delete;
  TurChecker& operator=(const TurChecker&) = delete;

  core::CheckerKind kind() const override { return core::CheckerKind::Tur; }
  std::string_view name() const override { return "tur"; }
  void configure(const CheckerOptions& options) override;
  bool init(uint32_t capacity, core::Error& err) override;
  int completion_fd() const override { return epoll_fd_; }
  bool attach(PathIndex path, const PathIdentity& id, core::Error& err) override;
  void detach(PathIndex path) override;
  StartResult start(PathIndex path, core::MonoTime now) override;
  TransportState transport_state(PathIndex path) override;
  size_t reap(std::span<Completion> out) override;

  // Diagnostics: errno of the last failed write/read of `path` (0 if none)
  // and the reason of its last decoded answer (static text).
  int last_errno(PathIndex path) const;
  const char* last_reason(PathIndex path) const;

 private:
  struct Slot;
  enum class Issue : uint8_t { Sent, Down, Failed };
  Issue issue(PathIndex path, Slot& slot);
  void drop_fd(PathIndex path, Slot& slot);

  CheckerOptions options_;
  uint32_t capacity_ = 0;
  int epoll_fd_ = -1;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<epoll_event[]> events_;
};

}  // namespace pk::checkers
