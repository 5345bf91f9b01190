// Operator commands from the service thread (CLI and D-Bus): fail and
// reinstate paths, switch groups, disable and restore queueing, reconfigure;
// and the map lifecycle (remove map, remove / add path, resize map), which
// the topology executor carries out.
// Each goes through the engine, which decides; the actions it queues are
// carried out before the reply is sent.
//
// Threads: the loop thread (commands arrive through ipc::CommandChannel).
// Blocking: never, but for libdevmapper's remove and reload. Allocation:
// none, except reconfigure, libdevmapper and libudev (reserved heap).
#pragma once

#include <functional>

#include "daemon/actions.h"
#include "daemon/context.h"
#include "daemon/topology_exec.h"
#include "ipc/commands.h"

namespace pk::daemon {

class Commands {
 public:
  using Reconfigure = std::function<bool(core::Error&)>;
  Commands(Context& ctx, Actions& actions, TopologyExec& topology, ipc::CommandChannel& channel)
      : ctx_(ctx), actions_(actions), topology_(topology), channel_(channel) {}
  void set_reconfigure(Reconfigure fn) { reconfigure_ = std::move(fn); }

  // Handles every waiting command and replies to each.
  void handle();

 private:
  ipc::CommandResult run(const ipc::Command& c);

  Context& ctx_;
  Actions& actions_;
  TopologyExec& topology_;
  ipc::CommandChannel& channel_;
  Reconfigure reconfigure_;
};

}  // namespace pk::daemon
