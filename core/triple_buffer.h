// A triple buffer: one writer thread hands the newest of its values to one
// reader thread, and neither ever waits for the other (design rule 7: reading
// state never waits for writing it). The writer fills back() and publishes
// it; the reader takes latest(). Of the three buffers, one is the writer's,
// one the reader's and one, the middle, is swapped between them with one
// atomic exchange; a flag in the middle index says it holds a value the
// reader has not taken yet.
//
// The writer must write back() whole before each publish(): after a publish
// it gets back the buffer the reader left, which holds an older value.
//
// Threads: back/publish on the writer's thread only, latest on the reader's
// only; buffers() at start-up, before both run. Blocking: never.
// Allocation: never (the three T are members).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>

namespace pk::core {

template <typename T>
class TripleBuffer {
 public:
  // Start-up: the three buffers, to size them before either thread runs.
  std::span<T, 3> buffers() { return buffers_; }

  // Writer: the buffer to fill.
  T& back() { return buffers_[back_]; }
  // Writer: hands back() over as the newest value; back() is another buffer afterwards.
  void publish() {
    uint8_t old = middle_.exchange(static_cast<uint8_t>(back_ | kFresh), std::memory_order_acq_rel);
    back_ = old & kIndex;
  }

  // Reader: the newest published value (a default T before the first
  // publish); stays valid and unchanged until the reader's next call.
  const T& latest() {
    if (middle_.load(std::memory_order_acquire) & kFresh) {
      uint8_t old = middle_.exchange(front_, std::memory_order_acq_rel);
      front_ = old & kIndex;
    }
    return buffers_[front_];
  }

 private:
  static constexpr uint8_t kIndex = 3;  // the buffer index in middle_
  static constexpr uint8_t kFresh = 4;  // flag in middle_: published, not taken yet

  std::array<T, 3> buffers_{};
  uint8_t back_ = 0;                // the writer's
  std::atomic<uint8_t> middle_{1};  // swapped between them
  uint8_t front_ = 2;               // the reader's
};

}  // namespace pk::core
