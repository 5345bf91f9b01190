// The systemd notification protocol (sd_notify), spoken directly: one datagram
// socket opened at start-up, messages sent without waiting and without
// allocating. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
// Threads: the loop thread. Blocking: never (MSG_DONTWAIT). Allocation: never.
#pragma once

#include <cstdint>
#include <string_view>

namespace pk::daemon {

class Notifier {
 public:
  // Start-up: reads NOTIFY_SOCKET and WATCHDOG_USEC.
  void open();
  bool active() const { return fd_ >= 0; }
  // Watchdog period asked by systemd, 0 when none.
  uint64_t watchdog_usec() const { return watchdog_usec_; }

  void send(std::string_view message);  // e.g. "READY=1\nSTATUS=..."
  void ready(std::string_view text);
  void status(std::string_view text);
  void watchdog() { send("WATCHDOG=1"); }

 private:
  int fd_ = -1;
  uint64_t watchdog_usec_ = 0;
};

}  // namespace pk::daemon
