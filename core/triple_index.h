// The indices of a single-producer, single-consumer triple buffer: the
// producer fills buffer back(), publish() hands it over; the consumer's take()
// makes the newest published buffer its front(), which stays its own until
// the next take(). Neither side ever waits for the other.
// Threads: one producer, one consumer. Blocking: never. Allocation: never.
#pragma once

#include <atomic>
#include <cstdint>

namespace pk::core {

class TripleIndex {
 public:
  uint8_t back() const { return back_; }
  uint8_t front() const { return front_; }

  // Producer: back() becomes the fresh middle; the old middle is the new back.
  void publish() {
    uint8_t old = middle_.exchange(static_cast<uint8_t>(back_ | kFresh), std::memory_order_acq_rel);
    back_ = old & ~kFresh & 3;
  }
  // Consumer: true when a newer buffer was published (it is front() now).
  bool take() {
    if (!(middle_.load(std::memory_order_acquire) & kFresh)) return false;
    uint8_t old = middle_.exchange(front_, std::memory_order_acq_rel);
    front_ = old & 3;
    return true;
  }

 private:
  static constexpr uint8_t kFresh = 4;  // flag bit in middle_: a new buffer waits
  uint8_t back_ = 0;                    // producer's
  std::atomic<uint8_t> middle_{1};
  uint8_t front_ = 2;                   // consumer's
};

}  // namespace pk::core
