#include "ipc/dbus_changes.h"

#include <algorithm>
#include <utility>

namespace pk::ipc {

namespace {

using PathSeen = ChangeTracker::PathSeen;
using MapSeen = ChangeTracker::MapSeen;

std::string_view key(const PathSeen& p) { return p.dev.view(); }
std::string_view key(const MapSeen& m) { return m.name.view(); }

void take(PathSeen& out, const core::PathRecord& r) {
  out.dev = r.dev;
  out.state = r.state;
  out.dm_state = r.dm_state;
  out.marginal = r.marginal;
}
void take(MapSeen& out, const core::MapRecord& r) {
  out.name = r.name;
  out.queueing = r.queueing;
  out.all_down = r.all_down;
  out.paths_active = r.paths_active;
}

uint8_t difference(const PathSeen& a, const PathSeen& b) {
  return static_cast<uint8_t>((a.state != b.state ? kPathState : 0) |
                              (a.dm_state != b.dm_state ? kPathDmState : 0) |
                              (a.marginal != b.marginal ? kPathMarginal : 0));
}
uint8_t difference(const MapSeen& a, const MapSeen& b) {
  return static_cast<uint8_t>((a.queueing != b.queueing ? kMapQueueing : 0) |
                              (a.paths_active != b.paths_active ? kMapPathsActive : 0) |
                              (a.all_down != b.all_down ? kMapAllPathsDown : 0));
}

template <class Seen>
void allocate(ChangeTracker::Table<Seen>& t, uint32_t capacity) {
  t.capacity = capacity;
  t.seen = std::make_unique<Seen[]>(capacity);
  t.next = std::make_unique<Seen[]>(capacity);
  t.seen_order = std::make_unique<uint32_t[]>(capacity);
  t.next_order = std::make_unique<uint32_t[]>(capacity);
  t.seen_count = t.next_count = 0;
  t.seen_sorted = t.next_sorted = false;
}

template <class Seen>
void sort_by_name(const Seen* items, uint32_t* order, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) order[i] = i;
  std::sort(order, order + count, [items](uint32_t a, uint32_t b) { return key(items[a]) < key(items[b]); });
}

// Compares t.next (just filled) with t.seen, tells the sink, then makes
// t.next the new t.seen.
template <class Seen, class Added, class Removed, class Changed>
void compare_table(ChangeTracker::Table<Seen>& t, bool report, Added added, Removed removed,
                   Changed changed) {
  const Seen* seen = t.seen.get();
  const Seen* next = t.next.get();
  bool aligned = report && t.seen_count == t.next_count;
  for (uint32_t i = 0; aligned && i < t.next_count; ++i) aligned = key(seen[i]) == key(next[i]);
  if (aligned) {
    for (uint32_t i = 0; i < t.next_count; ++i)
      if (uint8_t what = difference(seen[i], next[i])) changed(key(next[i]), what);
    t.next_sorted = false;
  } else if (report) {
    if (!t.seen_sorted) sort_by_name(seen, t.seen_order.get(), t.seen_count);
    sort_by_name(next, t.next_order.get(), t.next_count);
    t.next_sorted = true;
    uint32_t a = 0, b = 0;
    while (a < t.seen_count && b < t.next_count) {
      const Seen& old_item = seen[t.seen_order[a]];
      const Seen& new_item = next[t.next_order[b]];
      if (key(old_item) < key(new_item)) {
        removed(key(old_item));
        ++a;
      } else if (key(new_item) < key(old_item)) {
        added(key(new_item));
        ++b;
      } else {
        if (uint8_t what = difference(old_item, new_item)) changed(key(new_item), what);
        ++a;
        ++b;
      }
    }
    for (; a < t.seen_count; ++a) removed(key(seen[t.seen_order[a]]));
    for (; b < t.next_count; ++b) added(key(next[t.next_order[b]]));
  } else {
    t.next_sorted = false;
  }
  std::swap(t.seen, t.next);
  std::swap(t.seen_order, t.next_order);
  t.seen_count = t.next_count;
  t.seen_sorted = t.next_sorted;
}

}  // namespace

ChangeTracker::ChangeTracker() = default;
ChangeTracker::~ChangeTracker() = default;

void ChangeTracker::init(uint32_t max_paths, uint32_t max_maps) {
  allocate(paths_, max_paths);
  allocate(maps_, max_maps);
  reset();
}

void ChangeTracker::reset() {
  primed_ = false;
  generation_ = 0;
}

void ChangeTracker::compare(const core::Snapshot& s, ChangeSink& sink) {
  paths_.next_count = std::min(s.path_count, paths_.capacity);
  for (uint32_t i = 0; i < paths_.next_count; ++i) take(paths_.next[i], s.paths[i]);
  maps_.next_count = std::min(s.map_count, maps_.capacity);
  for (uint32_t i = 0; i < maps_.next_count; ++i) take(maps_.next[i], s.maps[i]);

  bool report = primed_;
  compare_table(
      paths_, report, [&](std::string_view dev) { sink.path_added(dev); },
      [&](std::string_view dev) { sink.path_removed(dev); },
      [&](std::string_view dev, uint8_t what) { sink.path_changed(dev, what); });
  compare_table(
      maps_, report, [&](std::string_view name) { sink.map_added(name); },
      [&](std::string_view name) { sink.map_removed(name); },
      [&](std::string_view name, uint8_t what) { sink.map_changed(name, what); });

  uint8_t what = static_cast<uint8_t>((s.status.ready != ready_ ? kManagerReady : 0) |
                                      (s.path_count != path_count_ ? kManagerPathCount : 0) |
                                      (s.map_count != map_count_ ? kManagerMapCount : 0));
  if (report && what) sink.manager_changed(what);
  ready_ = s.status.ready;
  path_count_ = s.path_count;
  map_count_ = s.map_count;
  generation_ = s.generation;
  primed_ = true;
}

}  // namespace pk::ipc
