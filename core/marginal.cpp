#include "core/marginal.h"

namespace pk::core {

void FailureHistory::record(MonoTime at) {
  at_[next_] = at;
  next_ = static_cast<uint8_t>((next_ + 1) % kCapacity);
  if (count_ < kCapacity) ++count_;
}

uint32_t FailureHistory::count_since(MonoTime since) const {
  uint32_t n = 0;
  for (uint32_t i = 0; i < count_; ++i) n += at_[i] >= since ? 1 : 0;
  return n;
}

std::string_view marginal_reason_text(MarginalReason r) {
  switch (r) {
    case MarginalReason::Flapping:
      return "failing too often";
    case MarginalReason::Healthy:
      return "healthy long enough";
    case MarginalReason::LastPath:
      return "the only usable path of its map";
    case MarginalReason::Operator:
      return "cleared by an operator";
    case MarginalReason::Disabled:
      return "marginal_paths is off for its map";
  }
  return "?";
}

bool marks_marginal(const FailureHistory& h, const MarginalPaths& s, MonoTime now) {
  return s.enabled && h.count_since(now - Duration(s.within)) > s.failures;
}

bool marginal_recovered(MonoTime usable_since, const MarginalPaths& s, MonoTime now) {
  return now >= marginal_recovery_due(usable_since, s);
}

}  // namespace pk::core
