// Which DM maps changed since the last look, from one fd for all maps.
//
// The protocol (DM_DEV_ARM_POLL, ioctl 4.37+). The kernel keeps one global
// event counter and, per open control fd, the value it had when the fd was
// last armed; poll() reports POLLIN while they differ. A map's own event_nr
// moves when its target raises an event (dm-multipath: a path failed or was
// reinstated, by the kernel or by a message, a path group switched); the
// global counter also moves on create, remove and rename.
//   start():  arm, then list -> the baseline.
//   the fd polls readable -> update(): arm first, then list, then compare
//             with the previous list. Arming before listing means an event
//             that lands during the list makes the fd readable again, so
//             nothing is lost; at worst the next update() finds no change.
// A map is reported Changed when its event_nr moved, Appeared / Vanished when
// its name came or went (a rename is one of each).
//
// Threads: the loop thread. Blocking: never (list() and arming do not wait).
// Allocation: init() only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "adapters/dm.h"
#include "core/error.h"

namespace pk::adapters {

class DmEventWatcher {
 public:
  enum class Kind : uint8_t { Appeared, Changed, Vanished };
  struct Change {
    Kind kind = Kind::Changed;
    const DmMapInfo* map = nullptr;  // the current entry; the last one seen when Vanished
    uint32_t previous_event_nr = 0;  // Changed / Vanished: the event_nr seen before
  };

  // Start-up: room for `capacity` DM devices (every DM device on the host
  // counts, not only multipath maps).
  bool init(size_t capacity, core::Error& err);
  // Arms the fd and takes the baseline list; no change is reported for it.
  bool start(Dm& dm, core::Error& err);
  // Arms, lists and compares. On failure the previous list stays the
  // baseline, so a retry reports the same changes.
  bool update(Dm& dm, core::Error& err);

  // The changes found by the last update(); valid until the next update().
  std::span<const Change> changes() const { return {changes_.get(), change_count_}; }
  // The current list of every DM device, as of the last start() or update().
  std::span<const DmMapInfo> maps() const { return {cur_.get(), cur_count_}; }

 private:
  bool take(Dm& dm, core::Error& err);  // arm + list into next_
  void sort(DmMapInfo* maps, uint32_t* order, size_t count);

  size_t capacity_ = 0;
  std::unique_ptr<DmMapInfo[]> cur_, next_;
  std::unique_ptr<uint32_t[]> cur_order_, next_order_;  // indices sorted by name
  size_t cur_count_ = 0, next_count_ = 0;
  std::unique_ptr<Change[]> changes_;
  size_t change_count_ = 0;
};

}  // namespace pk::adapters
