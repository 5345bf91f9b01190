// Paths and maps as the daemon tracks them, in preallocated slots.
// Threads: owned by the loop thread. Allocation: never (inline storage).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "core/config.h"
#include "core/devt.h"
#include "core/fixed_string.h"

namespace pk::core {

using PathId = uint32_t;
using MapId = uint32_t;

// What the last checks said of a path.
enum class PathState : uint8_t {
  Unchecked,  // not checked yet
  Up,
  Ghost,      // answers, in standby: usable as a last resort
  Pending,    // cannot tell yet (device blocked, ALUA transitioning)
  Down,
  Timeout,    // the check did not answer before its deadline
};
std::string_view path_state_name(PathState s);

// What the kernel's multipath target says of a path.
enum class DmState : uint8_t { Unknown, Active, Failed };
std::string_view dm_state_name(DmState s);

// The result of one check, as a checker reports it.
enum class CheckVerdict : uint8_t { Up, Ghost, Pending, Down };

inline bool usable(PathState s) { return s == PathState::Up || s == PathState::Ghost; }

struct Path {
  FixedString<32> dev;         // "sda"
  DevT devt;
  FixedString<256> wwid;
  MapId map = UINT32_MAX;      // kNoSlot when in no map
  uint16_t group = 0;          // 1-based group in its map's table, 0 when unknown
  uint8_t priority = 1;        // higher is preferred (ALUA: optimized 50, non-optimized 10, standby 1)
  CheckerKind checker = CheckerKind::Tur;
  PathState state = PathState::Unchecked;
  DmState dm_state = DmState::Unknown;
  bool admin_failed = false;   // failed by an operator: stays failed until reinstated by one

  bool check_in_flight = false;
  MonoTime check_started{0};
  MonoTime next_check{0};
  MonoTime state_since{0};
  MonoTime pending_since{0};
  MonoTime next_probe{0};      // next read of the transport's state (paths not usable)
  bool transport_down = false; // a probe saw the transport down since the last usable check

  uint64_t checks = 0;
  uint64_t failures = 0;       // transitions from usable to not usable
  uint64_t timeouts = 0;
};

struct Map {
  FixedString<128> name;
  FixedString<256> wwid;
  DevT devt;                   // the dm device, 0:0 until known
  MapSettings settings;
  uint64_t sectors = 0;
  bool in_kernel = false;      // the DM device exists
  bool queueing = false;       // the kernel queues I/O with no path (queue_if_no_path now)
  uint16_t current_group = 0;  // 1-based, from status
  uint16_t group_count = 0;
  uint32_t event_nr = 0;

  // All paths down
  bool all_down = false;
  MonoTime all_down_since{0};
  uint32_t down_rounds = 0;      // check rounds seen with no usable path
  MonoTime last_down_round{0};
  bool retry_exhausted = false;  // no_path_retry ran out: I/O fails until a path returns
  bool queueing_disabled_by_admin = false;

  // Failback
  MonoTime failback_due{0};
  bool failback_pending = false;

  uint64_t path_faults = 0;
  uint64_t queue_disables = 0;   // times no_path_retry stopped queueing
};

}  // namespace pk::core
