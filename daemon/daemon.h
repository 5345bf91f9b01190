// The daemon: a composition root over one event loop. It owns the shared
// context and the parts that carry out decisions:
//   Actions       (daemon/actions.h)       the engine's actions, map status
//   TopologyExec  (daemon/topology_exec.h) the planner's decisions: paths, maps, ALUA
//   Publisher     (daemon/publisher.h)     the snapshot, STATUS=
//   HostGuard     (daemon/host_guard.h)    the maps' dirty-page caps, dm_multipath's backstop
//   Commands      (daemon/commands.h)      operator commands
// and the loop itself: epoll over check completions, DM events, udev, the
// tick timer, signals and commands from the service thread.
//
// Start-up (init) may allocate, block and create threads; it ends with the
// seal: memory locked, measurements taken, READY sent. After that the loop's
// data-plane work (checks, fail/reinstate, status, snapshot) allocates nothing;
// topology changes (devices added or removed, an ALUA order change,
// reconfigure) are control-plane work that allocates only from the heap
// reserved at start-up.
//
// Threads: init/run on the main thread, which becomes the loop.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "daemon/actions.h"
#include "daemon/commands.h"
#include "daemon/context.h"
#include "daemon/host_guard.h"
#include "daemon/publisher.h"
#include "daemon/topology_exec.h"
#include "ipc/commands.h"

namespace pk::ipc {
class Service;
}

namespace pk::daemon {

class Daemon {
 public:
  explicit Daemon(Platform platform = {});
  ~Daemon();

  bool init(const core::Config& config, const Options& options, core::Error& err);
  // Runs the loop until SIGTERM/SIGINT; returns the exit status.
  int run();
  // One turn of the loop: waits up to timeout_ms for events, handles them,
  // ticks the engine, carries out its actions, publishes. False once stopping.
  bool step(int timeout_ms);

  // For tests and status: the decisions' state (loop thread only).
  const core::Engine& engine() const { return ctx_.engine; }
  const SelfMeasure& measured_at_ready() const { return publisher_.measured_at_ready(); }
  const NameFiles& names() const { return ctx_.names; }
  // What the daemon started without, and why (core/startup.h).
  const core::StartupReport& startup() const { return ctx_.startup; }
  // After init failed: the rule that stopped it (what it could not do without, and why).
  const core::StartupRule* stopped_at() const { return stopped_at_; }

 private:
  // A start-up step failed and the daemon goes on without it: recorded,
  // logged now and again at READY.
  void degrade(core::StartupStep step, const core::Error& why);
  // A start-up step failed that the daemon cannot do without: init returns false.
  bool stop(core::StartupStep step);
  bool open_loop(core::Error& err);
  bool open_checkers(core::Error& err);
  void seal();

  void on_timer();
  void on_signal();
  void on_udev();
  void on_checker(checkers::Checker& c);
  void arm_timer();
  bool reconfigure(core::Error& err);

  Context ctx_;
  Actions actions_{ctx_};
  TopologyExec topology_{ctx_, actions_};
  Publisher publisher_{ctx_};
  HostGuard host_guard_{ctx_};
  ipc::CommandChannel commands_;
  Commands command_handler_{ctx_, actions_, topology_, commands_};
  std::unique_ptr<ipc::Service> service_;
  std::thread service_thread_;
  std::atomic<bool> stop_{false};

  std::unique_ptr<checkers::Completion[]> completions_;
  size_t completion_capacity_ = 0;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  int signal_fd_ = -1;
  bool running_ = true;
  core::MonoTime last_watchdog_{0};
  int64_t timer_armed_ns_ = -1;  // the deadline the timerfd holds: not set again unchanged
  core::MonoTime started_{0};
  const core::StartupRule* stopped_at_ = nullptr;
  // When each start-up phase ended, for the "ready in" log line.
  struct StartupPhases {
    core::MonoTime memory{0}, discovery{0}, maps{0};
  } phases_;
};

}  // namespace pk::daemon
