// Paths and maps as the daemon tracks them, in preallocated slots.
// Threads: owned by the loop thread. Allocation: never (inline storage).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "core/config.h"
#include "core/devt.h"
#include "core/fixed_string.h"
#include "core/marginal.h"

namespace pk::core {

using PathId = uint32_t;
using MapId = uint32_t;

// What the last checks said of a path.
enum class PathState : uint8_t {
  Unchecked,  // not checked yet
  Up,
  Ghost,    // answers, in standby: usable as a last resort
  Pending,  // cannot tell yet (device blocked, ALUA transitioning)
  Down,
  Timeout,  // the check did not answer before its deadline
};
std::string_view path_state_name(PathState s);

// What became of a map's dirty-page cap (core/host_guard.h), for status:
// Pending until its device is known; Partial: written, but the kernel has no
// strict_limit (before 6.2), so the cap is not strict.
enum class DirtyCapState : uint8_t { Off, Pending, Applied, Partial, Deferred, Unsupported, Failed };
std::string_view dirty_cap_state_name(DirtyCapState s);

// What the kernel's multipath target says of a path.
enum class DmState : uint8_t { Unknown, Active, Failed };
std::string_view dm_state_name(DmState s);
// The checker's name as the configuration file, the JSON and D-Bus write it
// ("tur", "directio", "state", "none"); a literal, so NUL-terminated.
std::string_view checker_kind_name(CheckerKind k);
// discovery.find_multipaths as the configuration file writes it ("strict",
// "on", "greedy", "smart"); a literal, so NUL-terminated.
std::string_view find_multipaths_name(FindMultipaths f);

// The result of one check, as a checker reports it.
enum class CheckVerdict : uint8_t {
  Up,       // usable
  Ghost,    // answers but is in standby (ALUA standby/unavailable): usable as a last resort
  Pending,  // cannot tell yet (device blocked while its session recovers, ALUA transitioning)
  Down,     // not usable: fail it in DM
};

// How a block device reaches its LUN.
enum class Transport : uint8_t { Unknown, Scsi, Iscsi, Nbd, Nvme };
std::string_view transport_name(Transport t);  // "scsi", "iscsi", "nbd", "nvme", "unknown"
inline bool is_scsi(Transport t) { return t == Transport::Scsi || t == Transport::Iscsi; }

// The asymmetric access state of a path's target port group (SPC-4 ALUA), as
// the array last told it: by a check's sense data, by sysfs access_state (kept
// by the kernel's alua handler) or by a REPORT TARGET PORT GROUPS answer.
enum class AluaState : uint8_t {
  None,          // the LUN does not report ALUA
  Unknown,       // it does, but no state has been read yet
  Optimized,     // active/optimized
  NonOptimized,  // active/non-optimized
  LbaDependent,
  Standby,
  Unavailable,
  Transitioning,
  Offline,
};
std::string_view alua_state_name(AluaState s);                 // sysfs spelling: "active/optimized", ...
bool parse_alua_state(std::string_view text, AluaState& out);  // sysfs access_state text
// I/O can be served through a port in this state.
inline bool alua_active(AluaState s) {
  return s == AluaState::Optimized || s == AluaState::NonOptimized || s == AluaState::LbaDependent;
}

// What one check's answer said of its port's ALUA state (tur: the sense data).
struct AluaReport {
  AluaState said = AluaState::Unknown;  // Standby, Unavailable or Transitioning when the answer says so
  bool changed = false;  // a unit attention "asymmetric access state changed" (06/2a/06) came with it
  bool garbled = false;  // the answer's sense data could not be decoded: counted, never a state change
};

// What is known of a path's target port group.
struct Alua {
  AluaState state = AluaState::None;    // now (may be Transitioning)
  AluaState settled = AluaState::None;  // the last state that was not Transitioning: what grouping uses
  uint16_t group_id = 0;                // target port group id (VPD page 0x83)
  bool group_id_known = false;
  bool preferred = false;  // the PREF bit: the array prefers this port group
  friend bool operator==(const Alua&, const Alua&) = default;
};

inline bool usable(PathState s) { return s == PathState::Up || s == PathState::Ghost; }

struct Path {
  FixedString<32> dev;  // "sda"
  DevT devt;
  FixedString<256> wwid;
  Transport transport = Transport::Unknown;
  uint64_t sectors = 0;  // size of the LUN seen through this path
  Alua alua;
  MapId map = UINT32_MAX;  // kNoSlot when in no map
  uint16_t group = 0;      // 1-based group in its map's table, 0 when unknown
  uint8_t priority = 1;    // higher is preferred (ALUA: optimized 50, non-optimized 10, standby 1)
  CheckerKind checker = CheckerKind::Tur;
  PathState state = PathState::Unchecked;
  DmState dm_state = DmState::Unknown;
  bool admin_failed = false;  // failed by an operator: stays failed until reinstated by one
  // The kernel failed it (an I/O error) since its last check. A reload makes
  // every path active in the new table, so dm_state alone forgets this; no
  // I/O is sent its way by a group switch until a check has run.
  bool kernel_failed = false;
  // Its last check was answered "no such LUN" (ILLEGAL REQUEST 25/00);
  // cleared by any other answer, a timeout included.
  bool lun_gone = false;

  bool check_in_flight = false;
  MonoTime check_started{0};
  MonoTime next_check{0};
  MonoTime state_since{0};
  MonoTime pending_since{0};
  MonoTime next_probe{0};       // next read of the transport's state (paths not usable)
  bool transport_down = false;  // a probe saw the transport down since the last usable check

  // Flaky paths (core/marginal.h). A failure is counted once per outage:
  // from the first sign (a check, or the kernel failing it) until a check
  // says it is usable again.
  FailureHistory failure_history;
  bool failing = false;   // in an outage already counted
  bool marginal = false;  // held failed in the kernel until healthy for long enough
  MonoTime marginal_since{0};
  MonoTime usable_since{0};  // when the checks last found it usable after not usable

  uint64_t checks = 0;
  uint64_t failures = 0;  // transitions from usable to not usable
  uint64_t timeouts = 0;
  uint64_t alua_changes = 0;  // ALUA state changes seen (Transitioning included)
  // Why it is in no map though its WWID has one (its size disagrees); "" otherwise.
  FixedString<200> no_map_because;
};

struct Map {
  FixedString<128> name;
  FixedString<256> wwid;
  DevT devt;  // the dm device, 0:0 until known
  MapSettings settings;
  uint64_t sectors = 0;
  bool in_kernel = false;      // the DM device exists
  bool left_alone = false;     // a DM device with our UUID whose table is not understood: never touched
  bool queueing = false;       // the kernel queues I/O with no path (queue_if_no_path now)
  uint16_t current_group = 0;  // 1-based, from status
  uint16_t group_count = 0;
  uint32_t event_nr = 0;

  // All paths down
  bool all_down = false;
  MonoTime all_down_since{0};
  bool retry_exhausted = false;  // no_path_retry ran out: I/O fails until a path returns
  bool lun_lost = false;         // every path says the LUN is gone (lost_lun: fail): I/O fails
  bool queueing_disabled_by_admin = false;

  // Failback
  MonoTime failback_due{0};
  bool failback_pending = false;

  uint64_t path_faults = 0;
  uint64_t queue_disables = 0;  // times no_path_retry stopped queueing

  // Lifecycle, for operators (status): why a map whose every path was
  // removed is still there (it is open), and why a size its paths say was
  // not applied. "" when there is nothing to say.
  FixedString<160> kept_because;
  FixedString<200> resize_note;
  // The dirty-page cap: what was done and the detail (values written, or why not).
  DirtyCapState dirty_cap = DirtyCapState::Pending;
  FixedString<200> dirty_cap_note;
};

}  // namespace pk::core
