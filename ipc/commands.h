// Commands that change state travel from the service thread (control socket,
// D-Bus) to the loop through a bounded queue, and their results come back
// through another; an eventfd on each side says "something waits". The loop
// never waits on a client and a client never touches the loop's state.
//
// Threads: submit/pop_result on the service thread; pop/reply on the loop.
// Blocking: never. Allocation: never (fixed slots; a full queue is an answer).
#pragma once

#include <cstdint>

#include "core/fixed_string.h"
#include "core/spsc_queue.h"

namespace pk::ipc {

struct Command {
  enum class Kind : uint8_t {
    FailPath,         // target: path dev
    ReinstatePath,    // target: path dev
    ClearMarginal,    // target: path dev; lift its marginal mark, forget its failures
    SwitchGroup,      // target: map name, group (1-based)
    DisableQueueing,  // target: map name, or all
    RestoreQueueing,  // target: map name, or all
    Reconfigure,      // reload the configuration file; a bad one changes nothing
    RemoveMap,        // target: map name, or all; refused while open
    RemovePath,       // target: path dev; no longer managed until added again
    AddPath,          // target: path dev (a block device udev knows)
    ResizeMap,        // target: map name; its paths' sizes read again
  };
  Kind kind = Kind::FailPath;
  uint32_t token = 0;  // chosen by the service thread to route the result back
  core::FixedString<128> target;
  bool all = false;
  uint16_t group = 0;
};

struct CommandResult {
  uint32_t token = 0;
  bool ok = false;
  core::FixedString<512> message;  // for people: what was done, or why not
};

class CommandChannel {
 public:
  static constexpr size_t kCapacity = 64;

  // Creates the two eventfds (start-up).
  bool open();
  void close();

  // Service thread.
  bool submit(const Command& c);  // false when the queue is full
  int results_fd() const { return results_fd_; }
  bool pop_result(CommandResult& out);  // drains results_fd when empty

  // Loop thread.
  int commands_fd() const { return commands_fd_; }
  bool pop(Command& out);  // drains commands_fd when empty
  bool reply(const CommandResult& r);

 private:
  core::SpscQueue<Command, kCapacity> commands_;
  core::SpscQueue<CommandResult, kCapacity> results_;
  int commands_fd_ = -1;
  int results_fd_ = -1;
};

}  // namespace pk::ipc
