// What the daemon does when a start-up step fails: stop, or start without the
// part that failed and say so. A host without its multipath daemon has no
// maps, and whatever sits on them does not come up at boot; so the daemon
// stops only when it could not build maps or could not keep them safely
// (device-mapper, device discovery, an explicit configuration that does not
// load, another daemon already running). Everything else (the log file,
// locked memory, the name files, the control socket) is given up, and the
// reason is said at READY, in `status` and in systemd's STATUS=.
//
// The table of rules (startup_rule) is the one place that decides; the
// daemon carries the verdict out (daemon/daemon.cpp).
//
// Threads: the main thread at start-up adds; readers get a copy in the
// snapshot. Blocking: never. Allocation: never.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/fixed_string.h"
#include "core/text.h"

namespace pk::core {

enum class StartupStep : uint8_t {
  // The daemon stops: without these it builds no map, or two daemons would
  // fight over the same maps.
  Configuration,    // an explicit configuration file that does not load
  DeviceMapper,     // the device-mapper control device
  DeviceDiscovery,  // udev: enumerating block devices, the uevent monitor
  SystemTrees,      // /sys or /dev cannot be opened
  Checkers,         // a path checker could not be set up
  EventLoop,        // epoll, timerfd, signalfd, the command channel
  AnotherDaemon,    // another daemon answers on the control socket
  // The daemon starts without the part, and says why.
  LogFile,          // no log file: journald, stderr and the ring only
  LogWriter,        // no log writer thread: records go straight to stderr
  MemoryLock,       // mlockall failed: memory may be paged out or reclaimed
  HeapReserve,      // the heap reserve could not be faulted in
  IoFlusher,        // PR_SET_IO_FLUSHER refused
  OomProtection,    // oom_score_adj could not be set to -1000
  BindingsFile,     // friendly names on, bindings file unreadable: maps named by WWID
  NameFilesWriter,  // no writer thread: the bindings and wwids files are not written
  ControlSocket,    // no control socket: pathkeeperctl cannot reach the daemon, D-Bus can
  ControlGroup,     // control.group is not a group here: only root may change state
};

enum class StartupVerdict : uint8_t { Stop, Degrade };

struct StartupRule {
  StartupStep step;
  StartupVerdict verdict;
  const char* key;     // for JSON: "log_file"
  const char* what;    // for people: "the log file"
  const char* effect;  // Degrade: what the daemon does without it; Stop: why it cannot go on
};

// Every step's rule, in StartupStep order.
std::span<const StartupRule> startup_rules();
const StartupRule& startup_rule(StartupStep step);

struct Degradation {
  StartupStep step = StartupStep::LogFile;
  FixedString<256> reason;  // the failure as the step saw it, cut to fit
};

// What the daemon started without. Fixed: one entry per degradable step.
class StartupReport {
 public:
  static constexpr size_t kCapacity = 16;

  // The verdict for `step`; a Degrade is recorded with its reason (a step
  // recorded twice keeps its first reason).
  StartupVerdict failed(StartupStep step, std::string_view reason);

  bool degraded() const { return count_ > 0; }
  size_t size() const { return count_; }
  const Degradation& operator[](size_t i) const { return items_[i]; }
  const Degradation* find(StartupStep step) const;

  // One line for READY's log and STATUS=: "started without the log file
  // (REASON); without locked memory (REASON)". Nothing when not degraded.
  void describe(FixedWriter& w) const;

 private:
  Degradation items_[kCapacity];
  size_t count_ = 0;
};

}  // namespace pk::core
