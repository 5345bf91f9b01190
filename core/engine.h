// The decision-making heart of the daemon: given check results, kernel status
// and the time, decides which paths to check, fail or reinstate, and when a
// map stops or resumes queueing. It performs no I/O: it emits Actions into a
// preallocated queue, which the daemon carries out through the adapters and
// reports back (on_check_started, on_check_result, on_status).
//
// Threads: the loop thread only. Blocking: never.
// Allocation: init() only. Every other call works in preallocated slots.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/clock.h"
#include "core/config.h"
#include "core/dm_status.h"
#include "core/model.h"
#include "core/slot_pool.h"

namespace pk::core {

struct Action {
  enum class Kind : uint8_t {
    StartCheck,      // path
    FailPath,        // map, path
    ReinstatePath,   // map, path
    QueueIfNoPath,   // map: keep I/O queued while no path is usable
    FailIfNoPath,    // map: fail I/O while no path is usable (and flush what is queued)
    SwitchGroup,     // map, group
    ProbeTransport,  // path: read its transport's state (no I/O) and report on_transport_state
    MarkMarginal,    // map, path, reason: log only (the hold is the engine's, by FailPath)
    LiftMarginal,    // map, path, reason: log only (a ReinstatePath follows when it is usable)
  };
  Kind kind = Kind::StartCheck;
  MapId map = kNoSlot;
  PathId path = kNoSlot;
  uint16_t group = 0;
  MarginalReason reason = MarginalReason::Flapping;  // Mark/LiftMarginal
};
std::string_view action_name(Action::Kind k);

// Counters of what the engine could not do, shown by `pathkeeperctl status`.
// How long a port may stay in ALUA transition before the path counts as
// timed out: the kernel's alua handler waits as long (ALUA_FAILOVER_TIMEOUT).
inline constexpr Seconds kAluaTransitionTimeout{60};

struct EngineCounters {
  uint64_t paths_refused = 0;    // no free path slot
  uint64_t maps_refused = 0;     // no free map slot
  uint64_t actions_dropped = 0;  // action queue full (then retried next round)
  uint64_t late_results = 0;     // a check answered after its deadline
};

class Engine {
 public:
  // Start-up: allocate every slot from the limits.
  void init(const Limits& limits, const Timing& timing);
  // Reconfigure: new timing applies from the next check of each path.
  void set_timing(const Timing& timing) { timing_ = timing; }

  // --- Topology (control plane: discovery and reconfigure) ---
  MapId add_map(std::string_view name, std::string_view wwid, const MapSettings& settings);
  void remove_map(MapId id);
  MapId find_map_by_name(std::string_view name) const;
  MapId find_map_by_wwid(std::string_view wwid) const;
  PathId add_path(std::string_view dev, DevT devt, std::string_view wwid, CheckerKind checker, MonoTime now);
  void remove_path(PathId id);
  PathId find_path(std::string_view dev) const;
  PathId find_path(DevT devt) const;
  // What discovery and sysfs know of a path beyond its identity.
  void set_path_facts(PathId id, Transport transport, uint64_t sectors);
  // A path's ALUA state as now known (core/topology's alua_after_check).
  // Counts a change; returns true when its priority for grouping changed, so
  // its map's table must be planned again.
  bool set_path_alua(PathId id, const Alua& alua);
  // Moves a path into a map (kNoSlot: out of any). False when the map is full.
  bool set_path_map(PathId id, MapId map, uint16_t group, uint8_t priority);
  std::span<const PathId> members(MapId id) const;
  // The map now exists in the kernel (created or adopted).
  void set_map_in_kernel(MapId id, uint64_t sectors);
  // A new device number is a new BDI: its dirty-page cap is written again.
  void set_map_devt(MapId map, DevT devt) {
    Map& m = maps_.at(map);
    if (!(m.devt == devt)) m.dirty_cap = DirtyCapState::Pending;
    m.devt = devt;
  }
  // The map was renamed in the kernel. False when the name does not fit.
  bool set_map_name(MapId map, std::string_view name) { return maps_.at(map).name.assign(name); }
  // The kernel's map is gone (removed by someone else): the map stays known,
  // without a kernel device, until its paths come again.
  void set_map_gone(MapId id);
  // A DM device with our UUID whose table cannot be understood: it is never
  // reloaded, and no path joins it.
  void set_map_left_alone(MapId map) { maps_.at(map).left_alone = true; }
  // Every path of the map was removed but the map stays (it is open):
  // `why` is shown in status, and no_path_retry runs as in an outage: the
  // map has no usable path. A path joining it again ends this.
  void set_map_kept(MapId id, std::string_view why, MonoTime now);
  // Why the last size its paths said was not applied ("" when none).
  // Why a path is in no map ("" clears it); true when the note changed.
  bool set_path_note(PathId id, std::string_view note);
  void set_map_resize_note(MapId map, std::string_view note) { maps_.at(map).resize_note.assign(note); }
  // What became of the map's dirty-page cap (core/host_guard.h), for status.
  void set_map_dirty_cap(MapId map, DirtyCapState state, std::string_view note) {
    maps_.at(map).dirty_cap = state;
    maps_.at(map).dirty_cap_note.assign(note);
  }
  // Reconfigure: new settings for a map (no_path_retry, failback, ...).
  void set_map_settings(MapId id, const MapSettings& settings, MonoTime now);

  // --- Data plane ---
  // Decides what is due at `now`: checks to start, deadlines passed,
  // no_path_retry and failback timers. Appends actions to the queue.
  void tick(MonoTime now);
  // When tick() next has something to do.
  MonoTime next_wakeup() const;

  void on_check_started(PathId id, MonoTime now);
  void on_check_busy(PathId id, MonoTime now);  // previous command still in flight
  // `lun_gone`: the answer was "no such LUN" (a Down verdict); see LostLun.
  void on_check_result(PathId id, CheckVerdict verdict, MonoTime now, bool lun_gone = false);
  // The kernel's view of a map (after a DM event or an action). `queueing` is
  // whether the table currently has queue_if_no_path.
  void on_status(MapId id, const MultipathStatus& status, bool queueing, MonoTime now);
  // Something says the path changed (uevent, PATH_FAILED): check it now.
  void request_check(PathId id, MonoTime now);
  // The outcome of a ProbeTransport. A transport seen down and now up again
  // means the path may be back: it is checked at once.
  void on_transport_state(PathId id, bool up, MonoTime now);
  // The map's DM event counter as last read, to tell which maps an event concerns.
  void record_event_nr(MapId map, uint32_t event_nr) { maps_.at(map).event_nr = event_nr; }
  // A carried-out action failed (e.g. EBUSY on a suspended map): retry later.
  void on_action_failed(const Action& action, MonoTime now);

  // Operator commands.
  bool admin_fail(PathId id, MonoTime now);
  bool admin_reinstate(PathId id, MonoTime now);
  bool set_queueing_disabled(MapId id, bool disabled, MonoTime now);
  // An operator's switch to `group` (1-based): a SwitchGroup action. False
  // when the map has no such group. The failback policy may switch back.
  bool admin_switch_group(MapId id, uint16_t group);
  // Lifts a path's marginal mark and forgets its failures (reinstated at
  // once when its checks say it works). False when there is no such path.
  bool admin_clear_marginal(PathId id, MonoTime now);

  // The actions decided so far; the daemon carries them out, then clears.
  std::span<const Action> actions() const { return {actions_.get(), action_count_}; }
  void clear_actions() { action_count_ = 0; }

  const SlotPool<Path>& paths() const { return paths_; }
  const SlotPool<Map>& maps() const { return maps_; }
  const EngineCounters& counters() const { return counters_; }
  // Counts path state changes: readers need a fresh snapshot when it moved,
  // while a check that only confirms a state can wait for the next second.
  uint64_t changes() const { return changes_; }
  const Timing& timing() const { return timing_; }

 private:
  bool emit(Action a);
  void set_state(PathId id, Path& p, PathState s, MonoTime now);
  // The start of an outage (a check, or the kernel failing the path): counted
  // once, and the path marked marginal when it fails too often.
  void note_failure(PathId id, Path& p, MonoTime now);
  void lift_marginal(PathId id, Path& p, MarginalReason why);
  // A marginal path whose map has no other usable path is not held back.
  void release_last_paths(MapId id);
  void reconcile_path(PathId id, Path& p);
  void update_map(MapId id, MonoTime now, PathId became_usable);
  // The group that should carry I/O: the first with an up path, else, when
  // every usable path is a ghost, the current group if it has one (see .cpp).
  uint16_t best_group(MapId id) const;
  Duration queue_limit(const NoPathRetry& retry) const;
  Duration interval_for(const Path& p) const;
  bool probes_transport(const Path& p) const;

  SlotPool<Path> paths_;
  SlotPool<Map> maps_;
  std::unique_ptr<PathId[]> members_;  // max_maps x max_paths_per_map
  std::unique_ptr<uint32_t[]> member_count_;
  uint32_t max_members_ = 0;
  std::unique_ptr<Action[]> actions_;
  uint32_t action_capacity_ = 0;
  uint32_t action_count_ = 0;
  Timing timing_;
  EngineCounters counters_;
  uint64_t changes_ = 0;
};

}  // namespace pk::core
