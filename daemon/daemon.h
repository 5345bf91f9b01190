// The daemon: wiring of engine, adapters, checkers and the service thread
// around one event loop (epoll over: check completions, DM events, udev,
// the tick timer, signals, commands from the service thread).
//
// Start-up (init) may allocate, block and create threads; it ends with the
// seal: memory locked, measurements taken, READY sent. After that the loop's
// data-plane work (checks, fail/reinstate, status, snapshot) allocates nothing;
// topology changes (devices added or removed, reconfigure) are control-plane
// work that allocates only from the heap reserved at start-up.
//
// Threads: init/run on the main thread, which becomes the loop.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.h"

#include "adapters/dm.h"
#include "adapters/sysfs.h"
#include "adapters/udev.h"
#include "checkers/checker.h"
#include "core/config.h"
#include "core/dm_status.h"
#include "core/dm_table.h"
#include "core/engine.h"
#include "core/grouping.h"
#include "core/error.h"
#include "core/snapshot.h"
#include "daemon/notify.h"
#include "daemon/process_memory.h"
#include "ipc/commands.h"

namespace pk::ipc {
class Service;
}

namespace pk::daemon {

struct Options {
  std::string config_path;         // "" = built-in defaults
  bool foreground = false;
  bool allow_unlocked_memory = false;  // start even if mlockall fails
  std::string sysfs_root = "/sys";
  std::string dev_root = "/dev";
};

// What the daemon knows of a path beyond the engine's record.
struct PathExtra {
  checkers::Transport transport = checkers::Transport::Unknown;
  bool alua = false;
  uint64_t sectors = 0;
};

// What the daemon is built from. The defaults are the real kernel and
// libraries; the steady-state tests hand in fakes and a manual clock.
struct Platform {
  std::function<std::unique_ptr<adapters::Dm>()> make_dm = adapters::make_kernel_dm;
  std::function<std::unique_ptr<adapters::DeviceSource>()> make_devices = adapters::make_udev_source;
  std::function<std::unique_ptr<checkers::Checker>(core::CheckerKind)> make_checker = checkers::make_checker;
  const core::Clock* clock = nullptr;  // nullptr: CLOCK_MONOTONIC
  bool process_setup = true;           // heap reserve, mlockall, IO_FLUSHER, oom_score_adj
  bool dbus = true;                    // org.pathkeeper.PathKeeper1 on the system bus
};

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
  const core::Engine& engine() const { return engine_; }
  const SelfMeasure& measured_at_ready() const { return at_ready_; }

 private:
  // Readers see a change at most this late; the loop publishes no more often.
  static constexpr core::Duration kPublishInterval = std::chrono::milliseconds(100);

  // Start-up
  bool open_loop(core::Error& err);
  bool open_checkers(core::Error& err);
  void seal();

  // Loop
  void on_timer();
  void on_signal();
  void on_dm_event();
  void on_udev();
  void on_checker(checkers::Checker& c);
  void on_commands();
  void execute_actions();
  void read_map_status(core::MapId map);
  void arm_timer();
  void publish_snapshot(bool force);
  void update_service_status(const core::Snapshot& s);
  core::MonoTime now() const;

  // Topology (daemon/topology.cpp): control plane.
  void adopt_existing_maps();
  void on_block_device(const adapters::BlockDevice& dev);
  void add_path(const adapters::BlockDevice& dev);
  void remove_path(std::string_view name);
  void resolve_maps();
  bool sync_map(core::MapId map);
  const core::MapConfig* map_config_for_wwid(std::string_view wwid) const;
  const core::MapConfig* map_config_for_devnode(std::string_view dev) const;
  core::MapId map_for_wwid(std::string_view wwid);
  bool reconfigure(core::Error& err);
  void set_last_error(const core::Error& err);

  Platform platform_;
  core::Config config_;
  Options options_;
  core::Engine engine_;
  std::unique_ptr<adapters::Dm> dm_;
  std::unique_ptr<adapters::DeviceSource> udev_;
  std::array<std::unique_ptr<checkers::Checker>, 4> checkers_;  // by CheckerKind
  std::unique_ptr<PathExtra[]> path_extra_;
  adapters::Sysfs sysfs_{-1};
  int dev_fd_ = -1;

  // Preallocated storage for parsing status and tables of one map.
  std::unique_ptr<core::StatusGroup[]> status_groups_;
  std::unique_ptr<core::StatusPath[]> status_paths_;
  std::unique_ptr<core::TableGroup[]> table_groups_;
  std::unique_ptr<core::DevT[]> table_paths_;
  // Storage for building a map's table (sync_map), so a reload allocates nothing.
  std::unique_ptr<core::GroupInput[]> group_inputs_;
  std::unique_ptr<uint16_t[]> path_groups_;
  std::unique_ptr<core::TableGroup[]> current_groups_;
  std::unique_ptr<core::DevT[]> current_paths_;
  std::unique_ptr<char[]> table_text_;
  size_t table_text_capacity_ = 0;
  std::unique_ptr<adapters::DmMapInfo[]> dm_maps_;
  size_t dm_map_capacity_ = 0;
  std::unique_ptr<checkers::Completion[]> completions_;
  size_t completion_capacity_ = 0;

  core::SnapshotExchange snapshots_;
  ipc::CommandChannel commands_;
  std::unique_ptr<ipc::Service> service_;
  std::thread service_thread_;
  std::atomic<bool> stop_{false};
  Notifier notify_;

  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  int signal_fd_ = -1;
  bool running_ = true;
  bool dirty_ = true;               // something to publish
  core::MonoTime last_publish_{0};
  uint64_t published_changes_ = 0;  // engine_.changes() in the last snapshot
  char service_status_[160] = {};   // the STATUS= last sent to systemd
  core::MonoTime last_watchdog_{0};
  int64_t timer_armed_ns_ = -1;  // the deadline the timerfd holds: not set again unchanged
  core::MonoTime started_{0};
  // When each start-up phase ended, for the "ready in" log line.
  struct StartupPhases {
    core::MonoTime memory{0}, discovery{0}, maps{0};
  } phases_;

  // Measurements at READY (design rule 1).
  SelfMeasure at_ready_;
  // /proc/self is read at most once a second: at a publish per 100 ms it was
  // a large share of the loop's CPU with many paths.
  SelfMeasure last_measure_;
  core::MonoTime last_measure_at_{0};
  bool ready_ = false;
  uint64_t dm_errors_ = 0;
  uint64_t reconfigures_ = 0;
  core::Error last_error_;
};

}  // namespace pk::daemon
