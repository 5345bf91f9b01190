#include "adapters/dm_events.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

namespace pk::adapters {

bool DmEventWatcher::init(size_t capacity, core::Error& err) {
  if (capacity == 0) {
    err.set("DM event watcher needs a capacity of at least one device");
    return false;
  }
  cur_.reset(new (std::nothrow) DmMapInfo[capacity]);
  next_.reset(new (std::nothrow) DmMapInfo[capacity]);
  cur_order_.reset(new (std::nothrow) uint32_t[capacity]);
  next_order_.reset(new (std::nothrow) uint32_t[capacity]);
  changes_.reset(new (std::nothrow) Change[2 * capacity]);
  if (!cur_ || !next_ || !cur_order_ || !next_order_ || !changes_) {
    err.set("cannot allocate the DM event watcher for %zu devices", capacity);
    return false;
  }
  capacity_ = capacity;
  cur_count_ = next_count_ = change_count_ = 0;
  return true;
}

void DmEventWatcher::sort(DmMapInfo* maps, uint32_t* order, size_t count) {
  for (size_t i = 0; i < count; ++i) order[i] = static_cast<uint32_t>(i);
  auto by_name = [maps](uint32_t a, uint32_t b) { return std::strcmp(maps[a].name, maps[b].name) < 0; };
  // The kernel lists by name already (its name tree is ordered by strcmp).
  if (!std::is_sorted(order, order + count, by_name)) std::sort(order, order + count, by_name);
}

bool DmEventWatcher::take(Dm& dm, core::Error& err) {
  if (capacity_ == 0) {
    err.set("DM event watcher used before init()");
    return false;
  }
  // Arm first: an event during the list then makes the fd readable again.
  if (!dm.arm_events(err)) return false;
  size_t count = 0;
  if (!dm.list(std::span<DmMapInfo>(next_.get(), capacity_), count, err)) return false;
  next_count_ = count;
  sort(next_.get(), next_order_.get(), next_count_);
  return true;
}

bool DmEventWatcher::start(Dm& dm, core::Error& err) {
  change_count_ = 0;
  if (!take(dm, err)) return false;
  std::swap(cur_, next_);
  std::swap(cur_order_, next_order_);
  cur_count_ = next_count_;
  return true;
}

bool DmEventWatcher::update(Dm& dm, core::Error& err) {
  change_count_ = 0;
  if (!take(dm, err)) return false;

  auto add = [this](Kind kind, const DmMapInfo* map, uint32_t previous) {
    changes_[change_count_++] = Change{kind, map, previous};
  };
  size_t i = 0, j = 0;
  while (i < cur_count_ || j < next_count_) {
    const DmMapInfo* old_map = i < cur_count_ ? &cur_[cur_order_[i]] : nullptr;
    const DmMapInfo* new_map = j < next_count_ ? &next_[next_order_[j]] : nullptr;
    int cmp = !old_map ? 1 : !new_map ? -1 : std::strcmp(old_map->name, new_map->name);
    if (cmp < 0) {
      add(Kind::Vanished, old_map, old_map->event_nr);
      ++i;
    } else if (cmp > 0) {
      add(Kind::Appeared, new_map, 0);
      ++j;
    } else {
      if (!(old_map->devt == new_map->devt)) {
        // Removed and created again under the same name between two looks.
        add(Kind::Vanished, old_map, old_map->event_nr);
        add(Kind::Appeared, new_map, 0);
      } else if (old_map->event_nr != new_map->event_nr) {
        add(Kind::Changed, new_map, old_map->event_nr);
      }
      ++i;
      ++j;
    }
  }
  std::swap(cur_, next_);
  std::swap(cur_order_, next_order_);
  cur_count_ = next_count_;
  return true;
}

}  // namespace pk::adapters
