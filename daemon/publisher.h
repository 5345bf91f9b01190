// Publishing what the daemon knows to its readers: the snapshot that the
// service thread answers `show` and D-Bus from, and the STATUS= line systemd
// shows. Measures the process itself (faults, heap, threads) at most once a
// second.
//
// Threads: the loop thread (the service thread reads the exchange). Blocking:
// never. Allocation: init() only.
#pragma once

#include "core/snapshot.h"
#include "daemon/context.h"
#include "daemon/process_memory.h"

namespace pk::ipc {
class Service;
}

namespace pk::daemon {

class Publisher {
 public:
  explicit Publisher(Context& ctx) : ctx_(ctx) {}

  void init(const core::Limits& limits, core::MonoTime started);
  core::SnapshotExchange& exchange() { return snapshots_; }
  void set_service(const ipc::Service* service) { service_ = service; }

  // READY: the measurements every later one is compared with.
  void seal();
  const SelfMeasure& measured_at_ready() const { return at_ready_; }

  // Copies the engine's state into the snapshot readers see, when a change
  // waits longer than kInterval or a second has passed (or `force`).
  void publish(bool force);
  // When publish() next has something to do.
  core::MonoTime next_due() const;

 private:
  // Readers see a change at most this late; the loop publishes no more often.
  static constexpr core::Duration kInterval = std::chrono::milliseconds(100);

  void fill_status(core::DaemonStatus& st, core::MonoTime t);
  void update_service_status(const core::Snapshot& s);

  Context& ctx_;
  const ipc::Service* service_ = nullptr;
  core::SnapshotExchange snapshots_;
  core::MonoTime started_{0};
  core::MonoTime last_publish_{0};
  uint64_t published_changes_ = 0;  // engine.changes() in the last snapshot
  char service_status_[160] = {};   // the STATUS= last sent to systemd
  SelfMeasure at_ready_;
  // /proc/self is read at most once a second: at a publish per 100 ms it was
  // a large share of the loop's CPU with many paths.
  SelfMeasure last_measure_;
  core::MonoTime last_measure_at_{0};
};

}  // namespace pk::daemon
