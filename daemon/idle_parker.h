// The hand-off between a thread that sleeps when it has nothing to do and the
// threads that give it work, so that giving work costs no system call while
// the thread is busy: the sleeper says it is idle and looks for work once more
// before it sleeps on an eventfd; a giver, after making work visible, writes
// the eventfd only when the sleeper said it is idle. A fence on each side
// makes sure one of them sees the other: either the sleeper finds the work,
// or the giver finds it idle and wakes it. Used by the log writer, the log
// file's I/O thread and the name files' writer.
//
// Threads: wake_if_idle and wake from any thread; park and sleep on the one
// parked thread. Blocking: park and sleep (at most kMaxSleepNs). Allocation:
// never (open makes the eventfd).
#pragma once

#include <atomic>
#include <cstdint>

#include "core/error.h"

namespace pk::daemon {

class IdleParker {
 public:
  // The longest sleep, even when nothing is due: a lost wake-up costs at most this.
  static constexpr int64_t kMaxSleepNs = 1'000'000'000;

  IdleParker() = default;
  ~IdleParker();
  IdleParker(const IdleParker&) = delete;
  IdleParker& operator=(const IdleParker&) = delete;

  bool open(core::Error& err);

  // A giver, after making work visible: wakes the thread if it said it is idle.
  void wake_if_idle();
  // Wakes the thread whatever it said (to stop it).
  void wake();

  // The parked thread: says it is idle, and unless has_work() (asked after
  // saying so) finds work, sleeps up to `ns` (< 0: kMaxSleepNs) or until woken.
  template <typename HasWork>
  void park(int64_t ns, HasWork has_work) {
    announce_idle();
    if (has_work()) {
      idle_.store(false, std::memory_order_relaxed);
      return;
    }
    sleep(ns);
  }
  // The parked thread: sleeps up to `ns` (< 0: kMaxSleepNs) or until woken,
  // without saying it is idle (it has a deadline of its own: givers need not
  // wake it).
  void sleep(int64_t ns);

 private:
  void announce_idle();

  std::atomic<bool> idle_{false};
  int fd_ = -1;
};

}  // namespace pk::daemon
