// Carrying out the engine's actions (start a check, probe a transport, a DM
// message) and reading a map's state back from the kernel (table, status).
//
// Threads: the loop thread. Blocking: never (DM messages and status are
// ioctls that do not wait on devices). Allocation: init() only.
#pragma once

#include <memory>

#include "core/dm_status.h"
#include "core/dm_table.h"
#include "daemon/context.h"

namespace pk::daemon {

class Actions {
 public:
  explicit Actions(Context& ctx) : ctx_(ctx) {}

  // Start-up: storage for parsing the largest map's table and status.
  void init(const core::Limits& limits);
  // Carries out every queued action, then clears the queue.
  void run();
  // Reads the map's table (queueing now) and status into the engine.
  void read_map_status(core::MapId id);

 private:
  void log_marginal(const core::Action& a, core::MonoTime t);
  Context& ctx_;
  std::unique_ptr<core::StatusGroup[]> status_groups_;
  std::unique_ptr<core::StatusPath[]> status_paths_;
  std::unique_ptr<core::TableGroup[]> table_groups_;
  std::unique_ptr<core::DevT[]> table_paths_;
};

}  // namespace pk::daemon
