// The daemon: a composition root over one event loop. It owns the shared
// context and the parts that carry out decisions:
//   Actions       (daemon/actions.h)       the engine's actions, map status
//   TopologyExec  (daemon/topology_exec.h) the planner's decisions: paths, maps, ALUA
//   Publisher     (daemon/publisher.h)     the snapshot, STATUS=
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

 private:
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
  ipc::CommandChannel commands_;
  Commands command_handler_{ctx_, actions_, commands_};
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
  // When each start-up phase ended, for the "ready in" log line.
  struct StartupPhases {
    core::MonoTime memory{0}, discovery{0}, maps{0};
  } phases_;
};

}  // namespace pk::daemon
