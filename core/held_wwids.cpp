#include "core/held_wwids.h"

#include <algorithm>

namespace pk::core {

void HeldWwids::init(size_t capacity) {
  entries_ = std::make_unique<Entry[]>(capacity);
  capacity_ = capacity;
  size_ = 0;
}

const HeldWwids::Entry* HeldWwids::find(std::string_view wwid) const {
  for (size_t i = 0; i < size_; ++i)
    if (entries_[i].wwid == wwid) return &entries_[i];
  return nullptr;
}

HeldWwids::State HeldWwids::state(std::string_view wwid) const {
  const Entry* e = find(wwid);
  if (!e) return State::None;
  return e->released ? State::Released : State::Held;
}

HeldWwids::Hold HeldWwids::hold(std::string_view wwid, MonoTime now, Duration timeout) {
  if (const Entry* e = find(wwid)) return e->released ? Hold::Released : Hold::Waiting;
  if (size_ == capacity_ || wwid.size() > FixedString<256>::kCapacity) return Hold::Full;
  Entry& e = entries_[size_++];
  e.wwid.assign(wwid);
  e.since = now;
  e.deadline = now + timeout;
  e.released = false;
  return Hold::Started;
}

size_t HeldWwids::release_due(MonoTime now,
                              FunctionRef<void(std::string_view wwid, Duration waited)> released) {
  size_t n = 0;
  for (size_t i = 0; i < size_; ++i) {
    Entry& e = entries_[i];
    if (e.released || e.deadline > now) continue;
    e.released = true;
    ++n;
    released(e.wwid.view(), now - e.since);
  }
  return n;
}

MonoTime HeldWwids::next_deadline() const {
  MonoTime next = MonoTime::max();
  for (size_t i = 0; i < size_; ++i)
    if (!entries_[i].released) next = std::min(next, entries_[i].deadline);
  return next;
}

void HeldWwids::forget(std::string_view wwid) {
  for (size_t i = 0; i < size_; ++i) {
    if (!(entries_[i].wwid == wwid)) continue;
    entries_[i] = entries_[size_ - 1];
    --size_;
    return;
  }
}

}  // namespace pk::core
