// Operator commands from the service thread (CLI and D-Bus): fail and
// reinstate paths, switch groups, disable and restore queueing, reconfigure.
// Each goes through the engine, which decides; the actions it queues are
// carried out before the reply is sent.
//
// Threads: the loop thread (commands arrive through ipc::CommandChannel).
// Blocking: never. Allocation: none, except reconfigure (reserved heap).
#pragma once

#include <functional>

#include "daemon/actions.h"
#include "daemon/context.h"
#include "ipc/commands.h"

namespace pk::daemon {

class Commands {
 public:
  using Reconfigure = std::function<bool(core::Error&)>;
  Commands(Context& ctx, Actions& actions, ipc::CommandChannel& channel)
      : ctx_(ctx), actions_(actions), channel_(channel) {}
  void set_reconfigure(Reconfigure fn) { reconfigure_ = std::move(fn); }

  // Handles every waiting command and replies to each.
  void handle();

 private:
  ipc::CommandResult run(const ipc::Command& c);

  Context& ctx_;
  Actions& actions_;
  ipc::CommandChannel& channel_;
  Reconfigure reconfigure_;
};

}  // namespace pk::daemon
