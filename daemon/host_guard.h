// Carries out core/host_guard.h: each map's dirty-page cap, written to its
// BDI once its device is known and one of its paths has been checked usable
// (never during an outage), and dm_multipath's backstop for a dead daemon.
//
// Threads: the loop thread. Blocking: sysfs stores that take a spinlock at
// most (adapters/host_knobs.h). Allocation: never.
#pragma once

#include "daemon/context.h"

namespace pk::daemon {

class HostGuard {
 public:
  explicit HostGuard(Context& ctx) : ctx_(ctx) {}

  // Every loop turn: each map whose cap waits (a new device, a changed
  // dirty_limit, an outage that deferred it) and that has a usable path now
  // gets its cap. A scan of the map slots; sysfs only when a cap is due.
  void apply_caps();
  // Start-up and reconfigure: dm_multipath's queue_if_no_path_timeout_secs
  // planned from the configuration, written when the kernel's differs. Also
  // when a cap is written while the parameter was missing: the module loads
  // with the first multipath map.
  void apply_backstop();

 private:
  void apply_cap(core::MapId id);

  Context& ctx_;
};

}  // namespace pk::daemon
