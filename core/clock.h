// Monotonic time as the core sees it. The daemon reads CLOCK_MONOTONIC; tests
// use ManualClock and advance it, so timing logic is deterministic.
// Threads: any. Blocking: never. Allocation: never.
#pragma once

#include <chrono>
#include <cstdint>

namespace pk::core {

using Duration = std::chrono::nanoseconds;
using MonoTime = std::chrono::nanoseconds;  // since an arbitrary start, never goes back

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now() const = 0;
};

class ManualClock final : public Clock {
 public:
  MonoTime now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(MonoTime t) { now_ = t; }

 private:
  MonoTime now_{std::chrono::seconds(1000)};
};

}  // namespace pk::core
