// A fixed number of slots allocated once, at start-up; after that, slots are
// only taken and given back. Running out is an explicit answer (kNoSlot),
// which the caller counts and reports: never a crash, never a silent drop.
// Threads: one owner (the loop). Blocking: never.
// Allocation: init() only; acquire/release/at never.
#pragma once

#include <cstdint>
#include <memory>

namespace pk::core {

inline constexpr uint32_t kNoSlot = UINT32_MAX;

template <typename T>
class SlotPool {
 public:
  void init(uint32_t capacity) {
    capacity_ = capacity;
    items_ = std::make_unique<T[]>(capacity);
    used_ = std::make_unique<bool[]>(capacity);
    free_ = std::make_unique<uint32_t[]>(capacity);
    for (uint32_t i = 0; i < capacity; ++i) {
      used_[i] = false;
      free_[i] = capacity - 1 - i;  // hand out low indexes first
    }
    free_count_ = capacity;
  }

  uint32_t acquire() {
    if (free_count_ == 0) return kNoSlot;
    uint32_t i = free_[--free_count_];
    used_[i] = true;
    items_[i] = T{};
    return i;
  }
  void release(uint32_t i) {
    if (i >= capacity_ || !used_[i]) return;
    used_[i] = false;
    free_[free_count_++] = i;
  }

  bool in_use(uint32_t i) const { return i < capacity_ && used_[i]; }
  T& at(uint32_t i) { return items_[i]; }
  const T& at(uint32_t i) const { return items_[i]; }
  uint32_t capacity() const { return capacity_; }
  uint32_t used() const { return capacity_ - free_count_; }

  // Calls fn(index, item) for every slot in use, in index order.
  template <typename Fn>
  void for_each(Fn&& fn) {
    for (uint32_t i = 0; i < capacity_; ++i)
      if (used_[i]) fn(i, items_[i]);
  }
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (uint32_t i = 0; i < capacity_; ++i)
      if (used_[i]) fn(i, items_[i]);
  }

 private:
  std::unique_ptr<T[]> items_;
  std::unique_ptr<bool[]> used_;
  std::unique_ptr<uint32_t[]> free_;
  uint32_t capacity_ = 0;
  uint32_t free_count_ = 0;
};

}  // namespace pk::core
