#include "core/log_ring.h"

#include <algorithm>

namespace pk::core {

void LogRing::init(uint32_t capacity) {
  capacity_ = std::max<uint32_t>(capacity, 2);
  slots_ = std::make_unique<Slot[]>(capacity_);  // value-initialised: every page touched now
  for (uint32_t i = 0; i < capacity_; ++i) slots_[i].turn.store(i, std::memory_order_relaxed);
  head_.store(0, std::memory_order_relaxed);
  tail_.store(0, std::memory_order_relaxed);
  accepted_.store(0, std::memory_order_relaxed);
  dropped_.store(0, std::memory_order_relaxed);
  high_water_.store(0, std::memory_order_relaxed);
}

LogRing::Claim LogRing::try_claim() {
  uint64_t pos = head_.load(std::memory_order_relaxed);
  for (;;) {
    Slot& s = slots_[pos % capacity_];
    uint64_t turn = s.turn.load(std::memory_order_acquire);
    if (turn == pos) {
      if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      // pos now holds the head another producer moved to; try that slot.
    } else if (turn < pos) {
      // The consumer has not released this slot from the previous lap: full.
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return {};
    } else {
      pos = head_.load(std::memory_order_relaxed);  // another producer took it
    }
  }
  accepted_.fetch_add(1, std::memory_order_relaxed);
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  // The tail may lag the slot's release by a moment: never more than the capacity.
  uint32_t used = pos + 1 > tail ? static_cast<uint32_t>(std::min<uint64_t>(pos + 1 - tail, capacity_)) : 0;
  uint32_t hw = high_water_.load(std::memory_order_relaxed);
  while (used > hw && !high_water_.compare_exchange_weak(hw, used, std::memory_order_relaxed)) {
  }
  return {&slots_[pos % capacity_].record, pos};
}

void LogRing::commit(const Claim& c) {
  slots_[c.position % capacity_].turn.store(c.position + 1, std::memory_order_release);
}

const LogRecord* LogRing::front() const {
  uint64_t pos = tail_.load(std::memory_order_relaxed);
  const Slot& s = slots_[pos % capacity_];
  if (s.turn.load(std::memory_order_acquire) != pos + 1) return nullptr;
  return &s.record;
}

void LogRing::pop() {
  uint64_t pos = tail_.load(std::memory_order_relaxed);
  slots_[pos % capacity_].turn.store(pos + capacity_, std::memory_order_release);
  tail_.store(pos + 1, std::memory_order_relaxed);
}

uint32_t LogRing::used() const {
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  uint64_t head = head_.load(std::memory_order_relaxed);
  return head > tail ? static_cast<uint32_t>(std::min<uint64_t>(head - tail, capacity_)) : 0;
}

}  // namespace pk::core
