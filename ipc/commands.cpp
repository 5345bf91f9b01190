#include "ipc/commands.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace pk::ipc {

namespace {
void signal_fd(int fd) {
  uint64_t one = 1;
  ssize_t n = ::write(fd, &one, sizeof one);  // EAGAIN: already signalled
  (void)n;
}
void drain_fd(int fd) {
  uint64_t value;
  ssize_t n = ::read(fd, &value, sizeof value);
  (void)n;
}
}  // namespace

bool CommandChannel::open() {
  commands_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  results_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return commands_fd_ >= 0 && results_fd_ >= 0;
}

void CommandChannel::close() {
  if (commands_fd_ >= 0) ::close(commands_fd_);
  if (results_fd_ >= 0) ::close(results_fd_);
  commands_fd_ = results_fd_ = -1;
}

bool CommandChannel::submit(const Command& c) {
  if (!commands_.push(c)) return false;
  signal_fd(commands_fd_);
  return true;
}

bool CommandChannel::pop(Command& out) {
  if (commands_.pop(out)) return true;
  drain_fd(commands_fd_);
  return commands_.pop(out);  // a push between the pop and the drain is not lost
}

bool CommandChannel::reply(const CommandResult& r) {
  if (!results_.push(r)) return false;
  signal_fd(results_fd_);
  return true;
}

bool CommandChannel::pop_result(CommandResult& out) {
  if (results_.pop(out)) return true;
  drain_fd(results_fd_);
  return results_.pop(out);
}

}  // namespace pk::ipc
