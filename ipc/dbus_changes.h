// What changed between two snapshots, for the D-Bus service's signals
// (PropertiesChanged, InterfacesAdded, InterfacesRemoved). The tracker keeps
// a copy of only the fields that are signalled, in arrays sized from the
// limits at init; comparing never allocates.
//
// Paths are matched by device name and maps by name, not by position: the
// snapshot lists them in slot order, which shifts when one goes away. When
// the names line up position by position (the usual case: nothing appeared
// or went away) comparing is one pass; otherwise both sides are sorted by
// name (std::sort of index arrays, in place) and merged.
//
// Threads: one (the service thread). Blocking: never.
// Allocation: init() only.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/fixed_string.h"
#include "core/model.h"
#include "core/snapshot.h"

namespace pk::ipc {

// Bits of the `what` argument of ChangeSink.
enum PathChange : uint8_t { kPathState = 1, kPathDmState = 2, kPathMarginal = 4 };
enum MapChange : uint8_t { kMapQueueing = 1, kMapPathsActive = 2, kMapAllPathsDown = 4 };
enum ManagerChange : uint8_t { kManagerReady = 1, kManagerPathCount = 2, kManagerMapCount = 4 };

// Told of each difference: paths in name order, then maps in name order,
// then the manager.
class ChangeSink {
 public:
  virtual void path_added(std::string_view dev) = 0;
  virtual void path_removed(std::string_view dev) = 0;
  virtual void path_changed(std::string_view dev, uint8_t what) = 0;  // PathChange bits
  virtual void map_added(std::string_view name) = 0;
  virtual void map_removed(std::string_view name) = 0;
  virtual void map_changed(std::string_view name, uint8_t what) = 0;  // MapChange bits
  virtual void manager_changed(uint8_t what) = 0;                     // ManagerChange bits

 protected:
  ~ChangeSink() = default;
};

class ChangeTracker {
 public:
  ChangeTracker();
  ~ChangeTracker();

  // Start-up: room for max_paths paths and max_maps maps (a snapshot never
  // holds more; extra records would be ignored).
  void init(uint32_t max_paths, uint32_t max_maps);

  // Forget what was seen: the next compare() only records (a new bus
  // connection starts from the state of that moment).
  void reset();

  // Tells `sink` how `s` differs from the snapshot compared last, then
  // remembers `s`. The first call after init() or reset() only remembers.
  void compare(const core::Snapshot& s, ChangeSink& sink);

  bool primed() const { return primed_; }
  uint64_t generation() const { return generation_; }  // of the snapshot compared last

  struct PathSeen {
    core::FixedString<32> dev;
    core::PathState state = core::PathState::Unchecked;
    core::DmState dm_state = core::DmState::Unknown;
    bool marginal = false;
  };
  struct MapSeen {
    core::FixedString<128> name;
    bool queueing = false;
    bool all_down = false;
    uint16_t paths_active = 0;
  };
  template <class Seen>
  struct Table {
    std::unique_ptr<Seen[]> seen, next;                  // last compared, being filled
    std::unique_ptr<uint32_t[]> seen_order, next_order;  // indexes sorted by name
    uint32_t capacity = 0;
    uint32_t seen_count = 0, next_count = 0;
    bool seen_sorted = false, next_sorted = false;
  };

 private:
  Table<PathSeen> paths_;
  Table<MapSeen> maps_;
  bool ready_ = false;
  uint32_t path_count_ = 0;
  uint32_t map_count_ = 0;
  bool primed_ = false;
  uint64_t generation_ = 0;
};

}  // namespace pk::ipc
