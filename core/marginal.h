// The flaky-path rule: when a path is marked marginal and when the mark is
// lifted (settings in core/config.h MarginalPaths). Pure functions over a
// fixed-size history of each path's last failures; the engine keeps one
// history per path slot and asks these.
//
// Threads: the loop thread (through the engine). Blocking: never.
// Allocation: never (the history is inline in the path's slot).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "core/config.h"

namespace pk::core {

// The times of a path's last failures, oldest overwritten first. It holds one
// more than the largest threshold: "more than N within T" needs N + 1 times.
class FailureHistory {
 public:
  static constexpr uint32_t kCapacity = kMaxMarginalFailures + 1;

  void record(MonoTime at);
  // Failures at or after `since` (only the last kCapacity are remembered).
  uint32_t count_since(MonoTime since) const;
  void clear() { count_ = 0; }

 private:
  std::array<MonoTime, kCapacity> at_{};
  uint8_t next_ = 0;   // where the next failure is written
  uint8_t count_ = 0;  // how many slots hold a failure
};

// Why a mark was set or lifted; the log says it in words.
enum class MarginalReason : uint8_t {
  Flapping,  // set: more than `failures` failures within `within`
  Healthy,   // lifted: up for `healthy_for` without a break
  LastPath,  // lifted: every other path of the map is unusable
  Operator,  // lifted: `pathkeeperctl clear marginal`
  Disabled,  // lifted: the map's marginal_paths turned off by reconfigure
};
std::string_view marginal_reason_text(MarginalReason r);

// A failure just recorded at `now` makes the path marginal.
bool marks_marginal(const FailureHistory& h, const MarginalPaths& s, MonoTime now);
// A marginal path usable since `usable_since` may be reinstated at `now`.
bool marginal_recovered(MonoTime usable_since, const MarginalPaths& s, MonoTime now);
// When a marginal path usable since `usable_since` will have recovered.
inline MonoTime marginal_recovery_due(MonoTime usable_since, const MarginalPaths& s) {
  return usable_since + Duration(s.healthy_for);
}

}  // namespace pk::core
