// What the daemon's parts share: the configuration, the engine (the decisions
// of the data plane), the kernel and device adapters, the checkers, and the
// counters the parts report in `status`. Daemon owns one; each part (actions,
// topology, publisher, commands) holds a reference.
//
// Threads: the loop thread only. Allocation: at start-up, and on reconfigure
// (the configuration) from the reserved heap.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "adapters/alua_sysfs.h"
#include "adapters/dm.h"
#include "adapters/identity_sysfs.h"
#include "adapters/sysfs.h"
#include "adapters/udev.h"
#include "checkers/checker.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/engine.h"
#include "core/error.h"
#include "core/host_guard.h"
#include "core/startup.h"
#include "daemon/name_files.h"
#include "daemon/notify.h"

namespace pk::daemon {

struct Options {
  std::string config_path;  // "" = built-in defaults
  bool foreground = false;
  bool allow_unlocked_memory = false;  // kept for scripts: the daemon starts unlocked anyway, and says so
  std::string sysfs_root = "/sys";
  std::string dev_root = "/dev";
  NameFilesOptions name_files;  // where multipath-tools' bindings are; retry pace
};

// What the daemon is built from. The defaults are the real kernel and
// libraries; the steady-state and behaviour tests hand in fakes and a manual
// clock.
struct Platform {
  std::function<std::unique_ptr<adapters::Dm>()> make_dm = [] { return adapters::make_kernel_dm(); };
  std::function<std::unique_ptr<adapters::DeviceSource>()> make_devices = adapters::make_udev_source;
  std::function<std::unique_ptr<checkers::Checker>(core::CheckerKind)> make_checker = checkers::make_checker;
  const core::Clock* clock = nullptr;  // nullptr: CLOCK_MONOTONIC
  bool process_setup = true;           // heap reserve, mlockall, IO_FLUSHER, oom_score_adj
  bool dbus = true;                    // org.pathkeeper.PathKeeper1 on the system bus
  // Tests: an mlockall that fails. Empty: the real one (with process_setup).
  std::function<bool(core::Error&)> lock_memory;
};

struct Context {
  Platform platform;
  Options options;
  core::Config config;
  core::Engine engine;
  std::unique_ptr<adapters::Dm> dm;
  std::unique_ptr<adapters::DeviceSource> udev;
  std::array<std::unique_ptr<checkers::Checker>, 4> checkers;  // by CheckerKind
  adapters::Sysfs sysfs{-1};
  adapters::AluaSysfs alua;
  adapters::IdentitySysfs identity;  // each path's identity as the kernel has it, read at each check
  int dev_fd = -1;
  Notifier notify;
  NameFiles names;  // friendly names (bindings) and the wwids file

  bool ready = false;             // READY sent: from here on, the memory rule holds
  core::StartupReport startup;    // what the daemon started without, and why
  core::BackstopStatus backstop;  // dm_multipath's queue_if_no_path timeout (daemon/host_guard.cpp)
  bool dirty = true;              // something changed that readers should see
  uint64_t dm_errors = 0;
  uint64_t reconfigures = 0;
  core::Error last_error;

  core::MonoTime now() const;
  checkers::Checker& checker(core::CheckerKind kind) { return *checkers[static_cast<size_t>(kind)]; }
  // A DM call failed: counted in status, and the last error shown there.
  void dm_failed(const core::Error& err) {
    ++dm_errors;
    last_error = err;
  }
};

}  // namespace pk::daemon
