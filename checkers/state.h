// state: no I/O to the device at all, only the kernel's own view of the path
// in sysfs, answered at once in start() (Done); completion_fd() is -1.
//
//   SCSI   block/<dev>/device/state: running -> Up, blocked -> Pending,
//          offline/transport-offline/quiesce/... -> Down.
//   iSCSI  the SCSI device state and class/iscsi_session/sessionN/state
//          (the session found from the disk's sysfs device path):
//          LOGGED_IN -> Up, FAILED/FREE -> Down. The worse of the two counts.
//   NVMe   class/nvme/nvmeX/state of the namespace's controller: live -> Up,
//          connecting/resetting -> Pending, others -> Down.
//   NBD    block/nbdX/pid exists (a client is connected) -> Up, else Down.
//   Unknown transport: nbd* and nvme* names as above; else a SCSI device
//          state (plus a session when the disk is below one) when it has one.
//
// The files to read are resolved at attach() and kept as relative paths in
// fixed per-path buffers, so start() is openat + read + close per file.
// PathIdentity::sysfs_fd must stay open while the path is attached.
//
// Threads: the loop thread. Blocking: never (sysfs attributes).
// Allocation: init only.
#pragma once

#include <memory>

#include "checkers/checker.h"

namespace pk::checkers {

class StateChecker final : public Checker {
 public:
  StateChecker();
  ~StateChecker() override;
  StateChecker(const StateChecker&) = delete;
  StateChecker& operator=(const StateChecker&) = delete;

  core::CheckerKind kind() const override { return core::CheckerKind::State; }
  std::string_view name() const override { return "state"; }
  bool init(uint32_t capacity, core::Error& err) override;
  int completion_fd() const override { return -1; }
  bool attach(PathIndex path, const PathIdentity& id, core::Error& err) override;
  void detach(PathIndex path) override;
  StartResult start(PathIndex path, core::MonoTime now) override;
  TransportState transport_state(PathIndex path) override;
  size_t reap(std::span<Completion> out) override;

  // Diagnostics and tests: what attach resolved for `path`.
  std::string_view primary_path(PathIndex path) const;
  std::string_view secondary_path(PathIndex path) const;

 private:
  struct Slot;
  uint32_t capacity_ = 0;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace pk::checkers
