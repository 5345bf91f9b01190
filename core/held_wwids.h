// find_multipaths smart's wait: a WWID seen on fewer than min_paths paths is
// held for find_multipaths_timeout, in case more paths come (the paths of a
// LUN appear one by one at boot), then released: it gets no map, and stays
// released while any of its paths is known. A table driven by the loop's
// clock: the loop asks what is due (release_due) and when to wake next
// (next_deadline); nothing here sleeps, so a manual clock drives it in tests.
//
// Threads: the loop thread. Blocking: never. Allocation: init() only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/clock.h"
#include "core/fixed_string.h"
#include "core/function_ref.h"

namespace pk::core {

class HeldWwids {
 public:
  enum class State : uint8_t { None, Held, Released };

  void init(size_t capacity);  // allocates

  // Holds `wwid` from `now` for `timeout`, unless it is held or released
  // already (its state is returned then). Started: the wait begins now.
  // Full: no room to wait, the WWID is released at once (no map rather than
  // one made without waiting).
  enum class Hold : uint8_t { Started, Waiting, Released, Full };
  Hold hold(std::string_view wwid, MonoTime now, Duration timeout);
  State state(std::string_view wwid) const;
  // Each held WWID whose wait has ended by `now` is released and passed to
  // `released` with how long it waited; returns how many.
  size_t release_due(MonoTime now, FunctionRef<void(std::string_view wwid, Duration waited)> released);
  // When the next wait ends; MonoTime::max() when none is held.
  MonoTime next_deadline() const;
  // The WWID got a map, or its last path went (a LUN presented again is
  // waited for anew).
  void forget(std::string_view wwid);
  void clear() { size_ = 0; }
  size_t size() const { return size_; }

 private:
  struct Entry {
    FixedString<256> wwid;
    MonoTime since{0};
    MonoTime deadline{0};
    bool released = false;
  };
  const Entry* find(std::string_view wwid) const;

  std::unique_ptr<Entry[]> entries_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace pk::core
