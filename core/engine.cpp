#include "core/engine.h"

#include <algorithm>

#include "core/host_guard.h"

namespace pk::core {

std::string_view action_name(Action::Kind k) {
  switch (k) {
    case Action::Kind::StartCheck:
      return "start_check";
    case Action::Kind::FailPath:
      return "fail_path";
    case Action::Kind::ReinstatePath:
      return "reinstate_path";
    case Action::Kind::QueueIfNoPath:
      return "queue_if_no_path";
    case Action::Kind::FailIfNoPath:
      return "fail_if_no_path";
    case Action::Kind::SwitchGroup:
      return "switch_group";
    case Action::Kind::ProbeTransport:
      return "probe_transport";
    case Action::Kind::MarkMarginal:
      return "mark_marginal";
    case Action::Kind::LiftMarginal:
      return "lift_marginal";
  }
  return "?";
}

void Engine::init(const Limits& limits, const Timing& timing) {
  timing_ = timing;
  paths_.init(limits.max_paths);
  maps_.init(limits.max_maps);
  max_members_ = limits.max_paths_per_map;
  members_ = std::make_unique<PathId[]>(size_t{limits.max_maps} * max_members_);
  member_count_ = std::make_unique<uint32_t[]>(limits.max_maps);
  // Enough for every path and map to need an action in the same round.
  action_capacity_ = 2 * limits.max_paths + 2 * limits.max_maps + 16;
  actions_ = std::make_unique<Action[]>(action_capacity_);
}

// ---------------------------------------------------------------- topology

MapId Engine::add_map(std::string_view name, std::string_view wwid, const MapSettings& settings) {
  MapId id = maps_.acquire();
  if (id == kNoSlot) {
    ++counters_.maps_refused;
    return kNoSlot;
  }
  Map& m = maps_.at(id);
  if (!m.name.assign(name) || !m.wwid.assign(wwid)) {
    maps_.release(id);
    ++counters_.maps_refused;
    return kNoSlot;
  }
  m.settings = settings;
  m.queueing = settings.no_path_retry.kind != NoPathRetry::Kind::Fail;
  member_count_[id] = 0;
  return id;
}

void Engine::remove_map(MapId id) {
  if (!maps_.in_use(id)) return;
  for (PathId p : members(id)) paths_.at(p).map = kNoSlot;
  member_count_[id] = 0;
  maps_.release(id);
}

MapId Engine::find_map_by_name(std::string_view name) const {
  for (uint32_t i = 0; i < maps_.capacity(); ++i)
    if (maps_.in_use(i) && maps_.at(i).name == name) return i;
  return kNoSlot;
}

MapId Engine::find_map_by_wwid(std::string_view wwid) const {
  for (uint32_t i = 0; i < maps_.capacity(); ++i)
    if (maps_.in_use(i) && maps_.at(i).wwid == wwid) return i;
  return kNoSlot;
}

PathId Engine::add_path(std::string_view dev, DevT devt, std::string_view wwid, CheckerKind checker,
                        MonoTime now) {
  PathId id = paths_.acquire();
  if (id == kNoSlot) {
    ++counters_.paths_refused;
    return kNoSlot;
  }
  Path& p = paths_.at(id);
  if (!p.dev.assign(dev) || !p.wwid.assign(wwid)) {
    paths_.release(id);
    ++counters_.paths_refused;
    return kNoSlot;
  }
  p.devt = devt;
  p.checker = checker;
  p.map = kNoSlot;
  p.state_since = now;
  p.next_check = now;  // check a new path at once
  return id;
}

void Engine::set_path_facts(PathId id, Transport transport, uint64_t sectors) {
  Path& p = paths_.at(id);
  p.transport = transport;
  p.sectors = sectors;
}

bool Engine::set_path_alua(PathId id, const Alua& alua) {
  Path& p = paths_.at(id);
  if (p.alua == alua) return false;
  const bool regroup = !(p.alua.settled == alua.settled && p.alua.preferred == alua.preferred &&
                         p.alua.group_id == alua.group_id && p.alua.group_id_known == alua.group_id_known);
  if (p.alua.state != alua.state) {
    ++p.alua_changes;
    ++changes_;
  }
  p.alua = alua;
  return regroup;
}

void Engine::set_map_gone(MapId id) {
  Map& m = maps_.at(id);
  m.in_kernel = false;
  m.devt = DevT{};
  m.current_group = 0;
  m.group_count = 0;
  m.event_nr = 0;
  for (PathId pid : members(id)) paths_.at(pid).dm_state = DmState::Unknown;
  ++changes_;
}

void Engine::remove_path(PathId id) {
  if (!paths_.in_use(id)) return;
  set_path_map(id, kNoSlot, 0, 1);
  paths_.release(id);
}

PathId Engine::find_path(std::string_view dev) const {
  for (uint32_t i = 0; i < paths_.capacity(); ++i)
    if (paths_.in_use(i) && paths_.at(i).dev == dev) return i;
  return kNoSlot;
}

PathId Engine::find_path(DevT devt) const {
  for (uint32_t i = 0; i < paths_.capacity(); ++i)
    if (paths_.in_use(i) && paths_.at(i).devt == devt) return i;
  return kNoSlot;
}

std::span<const PathId> Engine::members(MapId id) const {
  if (!maps_.in_use(id)) return {};
  return {members_.get() + size_t{id} * max_members_, member_count_[id]};
}

bool Engine::set_path_note(PathId id, std::string_view note) {
  Path& p = paths_.at(id);
  if (p.no_map_because.view() == note) return false;
  p.no_map_because.assign(note);
  return true;
}

bool Engine::set_path_map(PathId id, MapId map, uint16_t group, uint8_t priority) {
  Path& p = paths_.at(id);
  if (p.map != kNoSlot && p.map != map) {
    PathId* list = members_.get() + size_t{p.map} * max_members_;
    uint32_t& n = member_count_[p.map];
    auto end = std::remove(list, list + n, id);
    n = static_cast<uint32_t>(end - list);
  }
  if (map != kNoSlot && p.map != map) {
    uint32_t& n = member_count_[map];
    if (n >= max_members_) {
      ++counters_.paths_refused;
      p.map = kNoSlot;
      return false;
    }
    members_[size_t{map} * max_members_ + n++] = id;
    maps_.at(map).kept_because.clear();  // a path again: no longer a map kept without one
    p.no_map_because.clear();
  }
  p.map = map;
  p.group = group;
  p.priority = priority;
  return true;
}

void Engine::set_map_in_kernel(MapId id, uint64_t sectors) {
  Map& m = maps_.at(id);
  m.in_kernel = true;
  m.sectors = sectors;
}

void Engine::set_map_kept(MapId id, std::string_view why, MonoTime now) {
  maps_.at(id).kept_because.assign(why);
  ++changes_;
  update_map(id, now, kNoSlot);
}

void Engine::set_map_settings(MapId id, const MapSettings& settings, MonoTime now) {
  Map& m = maps_.at(id);
  if (!(settings.dirty_limit == m.settings.dirty_limit))
    m.dirty_cap = DirtyCapState::Pending;  // written again
  m.settings = settings;
  if (!settings.marginal.enabled) {
    for (PathId pid : members(id)) {
      Path& p = paths_.at(pid);
      if (!p.marginal) continue;
      lift_marginal(pid, p, MarginalReason::Disabled);
      reconcile_path(pid, p);
    }
  }
  update_map(id, now, kNoSlot);
}

// -------------------------------------------------------------- data plane

bool Engine::emit(Action a) {
  if (action_count_ >= action_capacity_) {
    ++counters_.actions_dropped;
    return false;
  }
  actions_[action_count_++] = a;
  return true;
}

Duration Engine::interval_for(const Path& p) const {
  return p.state == PathState::Up || p.state == PathState::Ghost ? Duration(timing_.polling_interval)
                                                                 : Duration(timing_.failed_polling_interval);
}

void Engine::set_state(PathId id, Path& p, PathState s, MonoTime now) {
  if (s == p.state) return;
  ++changes_;
  if (usable(p.state) && !usable(s)) {
    ++p.failures;
    if (p.map != kNoSlot) ++maps_.at(p.map).path_faults;
    note_failure(id, p, now);
  }
  if (!usable(p.state) && usable(s)) {
    p.usable_since = now;
    p.failing = false;
  }
  if (s == PathState::Pending) p.pending_since = now;
  p.state = s;
  p.state_since = now;
}

void Engine::note_failure(PathId id, Path& p, MonoTime now) {
  if (p.failing) return;
  p.failing = true;
  p.failure_history.record(now);
  if (p.marginal || p.map == kNoSlot ||
      !marks_marginal(p.failure_history, maps_.at(p.map).settings.marginal, now))
    return;
  p.marginal = true;
  p.marginal_since = now;
  ++changes_;
  emit({Action::Kind::MarkMarginal, p.map, id, 0, MarginalReason::Flapping});
}

void Engine::lift_marginal(PathId id, Path& p, MarginalReason why) {
  if (!p.marginal) return;
  p.marginal = false;
  ++changes_;
  emit({Action::Kind::LiftMarginal, p.map, id, 0, why});
}

// Holding a flaky path back must never leave its map without a path: when no
// other path is usable, the marginal ones carry I/O again at once.
void Engine::release_last_paths(MapId id) {
  auto list = members(id);
  auto carries = [&](const Path& p) { return usable(p.state) && !p.admin_failed; };
  bool held = false;
  for (PathId pid : list) {
    const Path& p = paths_.at(pid);
    if (!carries(p)) continue;
    if (!p.marginal) return;  // another path carries I/O: the hold stands
    held = true;
  }
  if (!held) return;
  for (PathId pid : list) {
    Path& p = paths_.at(pid);
    if (!p.marginal || !carries(p)) continue;
    lift_marginal(pid, p, MarginalReason::LastPath);
    reconcile_path(pid, p);
  }
}

// Brings the kernel's view of one path in line with what the checks say.
void Engine::reconcile_path(PathId id, Path& p) {
  if (p.map == kNoSlot || !maps_.at(p.map).in_kernel) return;
  DmState want;
  if (p.admin_failed || p.marginal || p.state == PathState::Down || p.state == PathState::Timeout) {
    want = DmState::Failed;
  } else if (usable(p.state)) {
    want = DmState::Active;
  } else {
    return;  // unchecked or briefly pending: leave the kernel's choice alone
  }
  if (p.dm_state == want) return;
  Action a{want == DmState::Failed ? Action::Kind::FailPath : Action::Kind::ReinstatePath, p.map, id, 0};
  if (emit(a)) p.dm_state = want;
}

void Engine::tick(MonoTime now) {
  const Duration timeout = timing_.checker_timeout;
  paths_.for_each([&](PathId id, Path& p) {
    if (p.marginal && usable(p.state) && p.map != kNoSlot &&
        marginal_recovered(p.usable_since, maps_.at(p.map).settings.marginal, now)) {
      lift_marginal(id, p, MarginalReason::Healthy);
      reconcile_path(id, p);
    }
    if (p.check_in_flight) {
      if (now - p.check_started < timeout) return;
      // The command stays with the checker, which answers Busy until it returns.
      p.check_in_flight = false;
      ++p.timeouts;
      set_state(id, p, PathState::Timeout, now);
      p.next_check = now + Duration(timing_.failed_polling_interval);
      reconcile_path(id, p);
      if (p.map != kNoSlot) update_map(p.map, now, kNoSlot);
      return;
    }
    if (now >= p.next_check) {
      if (emit({Action::Kind::StartCheck, p.map, id, 0})) {
        p.check_in_flight = true;  // until the daemon reports the outcome
        p.check_started = now;
      }
      return;
    }
    if (probes_transport(p) && now >= p.next_probe && emit({Action::Kind::ProbeTransport, p.map, id, 0}))
      p.next_probe = now + timing_.transport_probe_interval;
  });
  maps_.for_each([&](MapId id, Map&) { update_map(id, now, kNoSlot); });
}

// How long a map with no usable path queues. N checks means what it means
// in multipath-tools (N times polling_interval, whatever the failed paths'
// own check interval), so a migrated configuration keeps its meaning.
Duration Engine::queue_limit(const NoPathRetry& retry) const {
  if (retry.kind == NoPathRetry::Kind::Queue) return Duration::max();
  return queue_bound(retry, timing_);  // one meaning for the engine and the kernel's backstop
}

MonoTime Engine::next_wakeup() const {
  MonoTime next = MonoTime::max();
  const Duration timeout = timing_.checker_timeout;
  paths_.for_each([&](PathId, const Path& p) {
    next = std::min(next, p.check_in_flight ? p.check_started + timeout : p.next_check);
    if (!p.check_in_flight && probes_transport(p)) next = std::min(next, p.next_probe);
    if (p.marginal && usable(p.state) && p.map != kNoSlot)
      next = std::min(next, marginal_recovery_due(p.usable_since, maps_.at(p.map).settings.marginal));
  });
  maps_.for_each([&](MapId, const Map& m) {
    if (m.all_down && m.queueing && m.settings.no_path_retry.kind != NoPathRetry::Kind::Queue)
      next = std::min(next, m.all_down_since + queue_limit(m.settings.no_path_retry));
    if (m.failback_pending) next = std::min(next, m.failback_due);
  });
  return next;
}

void Engine::on_check_started(PathId id, MonoTime now) {
  Path& p = paths_.at(id);
  p.check_in_flight = true;
  p.check_started = now;
  ++p.checks;
}

void Engine::on_check_busy(PathId id, MonoTime now) {
  Path& p = paths_.at(id);
  p.check_in_flight = false;
  set_state(id, p, PathState::Timeout, now);
  p.next_check = now + Duration(timing_.failed_polling_interval);
  reconcile_path(id, p);
  if (p.map != kNoSlot) update_map(p.map, now, kNoSlot);
}

void Engine::on_check_result(PathId id, CheckVerdict verdict, MonoTime now, bool lun_gone) {
  if (!paths_.in_use(id)) return;
  Path& p = paths_.at(id);
  if (!p.check_in_flight) ++counters_.late_results;
  p.check_in_flight = false;
  p.kernel_failed = false;  // the check's verdict stands for the path now
  p.lun_gone = lun_gone && verdict == CheckVerdict::Down;
  const bool was_usable = usable(p.state);

  switch (verdict) {
    case CheckVerdict::Up:
      set_state(id, p, PathState::Up, now);
      break;
    case CheckVerdict::Ghost:
      set_state(id, p, PathState::Ghost, now);
      break;
    case CheckVerdict::Down:
      set_state(id, p, PathState::Down, now);
      break;
    case CheckVerdict::Pending:
      if (p.state != PathState::Pending && p.state != PathState::Timeout)
        set_state(id, p, PathState::Pending, now);
      // Blocked for longer than a check may take: as good as a timeout, so
      // I/O moves to another path instead of waiting in this one. A port in
      // ALUA transition is the array at work, not a failure: it gets as long
      // as the kernel's alua handler gives it.
      if (p.state == PathState::Pending && now - p.pending_since >= (p.alua.state == AluaState::Transitioning
                                                                         ? Duration(kAluaTransitionTimeout)
                                                                         : Duration(timing_.checker_timeout)))
        set_state(id, p, PathState::Timeout, now);
      break;
  }
  p.next_check = now + interval_for(p);
  if (usable(p.state)) {
    p.transport_down = false;
    // The outage is over (also one the kernel saw while the checks did not):
    // a marginal path's healthy time counts from here.
    if (p.failing) p.usable_since = now;
    p.failing = false;
  }
  reconcile_path(id, p);
  if (p.map != kNoSlot) update_map(p.map, now, !was_usable && usable(p.state) ? id : kNoSlot);
}

void Engine::on_status(MapId id, const MultipathStatus& status, bool queueing, MonoTime now) {
  if (!maps_.in_use(id)) return;
  Map& m = maps_.at(id);
  m.in_kernel = true;
  m.queueing = queueing;
  m.current_group = status.next_group;
  m.group_count = static_cast<uint16_t>(status.groups.size());
  for (const StatusPath& sp : status.paths) {
    for (PathId pid : members(id)) {
      Path& p = paths_.at(pid);
      if (!(p.devt == sp.devt)) continue;
      p.dm_state = sp.active ? DmState::Active : DmState::Failed;
      p.group = static_cast<uint16_t>(sp.group + 1);
      // The kernel failed a path the checks think usable (an I/O error):
      // check it now; only a good check reinstates it.
      if (!sp.active && usable(p.state) && !p.admin_failed && !p.marginal) {
        p.kernel_failed = true;
        note_failure(pid, p, now);
        request_check(pid, now);
        continue;
      }
      reconcile_path(pid, p);
    }
  }
  update_map(id, now, kNoSlot);
}

void Engine::request_check(PathId id, MonoTime now) {
  if (!paths_.in_use(id)) return;
  Path& p = paths_.at(id);
  if (!p.check_in_flight) p.next_check = now;
}

// Only paths a check found unusable: a healthy path's transport is read by
// its checks, and an unchecked one is checked at once anyway.
bool Engine::probes_transport(const Path& p) const {
  return timing_.transport_probe_interval.count() > 0 && p.state != PathState::Unchecked && !usable(p.state);
}

void Engine::on_transport_state(PathId id, bool up, MonoTime now) {
  if (!paths_.in_use(id)) return;
  Path& p = paths_.at(id);
  if (!up) {
    p.transport_down = true;
    return;
  }
  // Up all along (a hung command on a running device) says nothing new:
  // only a return is worth a check before the next failed_polling_interval.
  if (p.transport_down && !usable(p.state)) {
    p.transport_down = false;
    request_check(id, now);
  }
}

void Engine::on_action_failed(const Action& a, MonoTime now) {
  switch (a.kind) {
    case Action::Kind::StartCheck:
      if (paths_.in_use(a.path)) {
        Path& p = paths_.at(a.path);
        p.check_in_flight = false;
        p.next_check = now + Duration(timing_.failed_polling_interval);
      }
      break;
    case Action::Kind::FailPath:
    case Action::Kind::ReinstatePath:
      if (paths_.in_use(a.path)) paths_.at(a.path).dm_state = DmState::Unknown;  // retried next round
      break;
    case Action::Kind::QueueIfNoPath:
      if (maps_.in_use(a.map)) maps_.at(a.map).queueing = false;
      break;
    case Action::Kind::FailIfNoPath:
      if (maps_.in_use(a.map)) maps_.at(a.map).queueing = true;
      break;
    case Action::Kind::SwitchGroup:
      if (maps_.in_use(a.map)) maps_.at(a.map).current_group = 0;
      break;
    case Action::Kind::ProbeTransport:  // probed again at the next interval
    case Action::Kind::MarkMarginal:    // a log line only
    case Action::Kind::LiftMarginal:
      break;
  }
}

// The first group with a path that is up; only when none is, the first with
// a ghost (standby) path: a standby port never carries I/O while an active one
// could. A path the kernel has failed counts only once a check has run,
// even when a reload has made it active again: switching to its group would
// send I/O where the kernel just saw it fail (an array that moved the port
// to standby, say).
uint16_t Engine::best_group(MapId id) const {
  const uint16_t current = maps_.at(id).current_group;
  uint16_t best_up = 0, best_ghost = 0;
  bool current_has_ghost = false;
  for (PathId pid : members(id)) {
    const Path& p = paths_.at(pid);
    if (!usable(p.state) || p.admin_failed || p.marginal || p.group == 0 || p.dm_state == DmState::Failed ||
        p.kernel_failed)
      continue;
    uint16_t& best = p.state == PathState::Up ? best_up : best_ghost;
    if (best == 0 || p.group < best) best = p.group;
    if (p.state == PathState::Ghost && p.group == current) current_has_ghost = true;
  }
  if (best_up != 0) return best_up;
  // Only ghosts (ALUA standby) are usable: no group is better than another,
  // their order dates from before the array's change, and a switch would
  // move I/O to a port the array may be about to activate last (arrays move
  // their ports one after the other). I/O stays where it is until a check
  // shows an active port.
  return current_has_ghost ? current : best_ghost;
}

void Engine::update_map(MapId id, MonoTime now, PathId became_usable) {
  Map& m = maps_.at(id);
  if (!m.in_kernel) return;
  release_last_paths(id);
  auto list = members(id);
  const bool any_usable = std::any_of(list.begin(), list.end(), [&](PathId pid) {
    const Path& p = paths_.at(pid);
    return usable(p.state) && !p.admin_failed;
  });
  const NoPathRetry& retry = m.settings.no_path_retry;
  const bool may_queue = retry.kind != NoPathRetry::Kind::Fail && !m.queueing_disabled_by_admin;

  // A map kept after its last path was removed is in an outage too.
  if ((!list.empty() || !m.kept_because.empty()) && !any_usable) {
    if (!m.all_down) {
      m.all_down = true;
      m.all_down_since = now;
    }
    // Every path answered that the LUN is gone: waiting cannot bring it
    // back, so I/O fails now. A path that times out or cannot be reached
    // says nothing of the LUN and keeps the map queueing (a transient outage).
    const bool lun_lost =
        m.settings.lost_lun == LostLun::Fail && !list.empty() &&
        std::all_of(list.begin(), list.end(), [&](PathId pid) { return paths_.at(pid).lun_gone; });
    bool exhausted = !may_queue || lun_lost ||
                     (retry.kind != NoPathRetry::Kind::Queue && now - m.all_down_since >= queue_limit(retry));
    if (exhausted && m.queueing && emit({Action::Kind::FailIfNoPath, id, kNoSlot, 0})) {
      m.queueing = false;
      m.retry_exhausted = !lun_lost;
      m.lun_lost = lun_lost;
      ++m.queue_disables;
    } else if (!exhausted && !m.queueing && emit({Action::Kind::QueueIfNoPath, id, kNoSlot, 0})) {
      m.queueing = true;
      m.lun_lost = false;  // a path no longer says so: an outage like any other
    }
  } else {
    m.all_down = false;
    // A path is back: queue again, so the next outage is ridden out too.
    if (may_queue && !m.queueing && emit({Action::Kind::QueueIfNoPath, id, kNoSlot, 0})) {
      m.queueing = true;
      m.retry_exhausted = false;
      m.lun_lost = false;
    } else if (!may_queue && m.queueing && emit({Action::Kind::FailIfNoPath, id, kNoSlot, 0})) {
      m.queueing = false;
    }
  }

  // Failback: return to the best group that has a usable path.
  if (m.group_count < 2) return;
  uint16_t best = best_group(id);
  if (best == 0 || best == m.current_group) {
    m.failback_pending = false;
    return;
  }
  bool now_due = false;
  switch (m.settings.failback) {
    case Failback::Manual:
      return;
    case Failback::Immediate:
      now_due = true;
      break;
    case Failback::Followover:
      now_due = became_usable != kNoSlot && paths_.at(became_usable).group == best &&
                std::count_if(list.begin(), list.end(), [&](PathId pid) {
                  const Path& p = paths_.at(pid);
                  return p.group == best && usable(p.state) && !p.admin_failed;
                }) == 1;
      break;
    case Failback::Delayed:
      if (!m.failback_pending) {
        m.failback_pending = true;
        m.failback_due = now + Duration(m.settings.failback_delay);
      }
      now_due = now >= m.failback_due;
      break;
  }
  if (now_due && emit({Action::Kind::SwitchGroup, id, kNoSlot, best})) {
    m.current_group = best;
    m.failback_pending = false;
  }
}

// --------------------------------------------------------------- operators

bool Engine::admin_fail(PathId id, MonoTime now) {
  if (!paths_.in_use(id)) return false;
  Path& p = paths_.at(id);
  p.admin_failed = true;
  reconcile_path(id, p);
  if (p.map != kNoSlot) update_map(p.map, now, kNoSlot);
  return true;
}

bool Engine::admin_reinstate(PathId id, MonoTime now) {
  if (!paths_.in_use(id)) return false;
  Path& p = paths_.at(id);
  p.admin_failed = false;
  if (usable(p.state)) {
    reconcile_path(id, p);
  } else {
    request_check(id, now);  // reinstated once a check says it works
  }
  if (p.map != kNoSlot) update_map(p.map, now, kNoSlot);
  return true;
}

bool Engine::admin_clear_marginal(PathId id, MonoTime now) {
  if (!paths_.in_use(id)) return false;
  Path& p = paths_.at(id);
  p.failure_history.clear();
  lift_marginal(id, p, MarginalReason::Operator);
  reconcile_path(id, p);
  if (p.map != kNoSlot) update_map(p.map, now, usable(p.state) ? id : kNoSlot);
  return true;
}

bool Engine::admin_switch_group(MapId id, uint16_t group) {
  if (!maps_.in_use(id)) return false;
  Map& m = maps_.at(id);
  if (!m.in_kernel || group == 0 || group > m.group_count) return false;
  if (!emit({Action::Kind::SwitchGroup, id, kNoSlot, group})) return false;
  m.current_group = group;
  return true;
}

bool Engine::set_queueing_disabled(MapId id, bool disabled, MonoTime now) {
  if (!maps_.in_use(id)) return false;
  maps_.at(id).queueing_disabled_by_admin = disabled;
  update_map(id, now, kNoSlot);
  return true;
}

}  // namespace pk::core
