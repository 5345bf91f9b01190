#include "daemon/publisher.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/text.h"
#include "daemon/log.h"
#include "ipc/service.h"

namespace pk::daemon {

void Publisher::init(const core::Limits& lim, core::MonoTime started) {
  snapshots_.init(lim.max_paths, lim.max_maps);
  started_ = started;
}

void Publisher::seal() {
  at_ready_ = measure_self();
  last_measure_ = at_ready_;
}

core::MonoTime Publisher::next_due() const {
  return last_publish_ + (ctx_.dirty ? kInterval : std::chrono::seconds(1));
}

void Publisher::fill_status(core::DaemonStatus& st, core::MonoTime t) {
  const SelfMeasure& now_m = last_measure_;
  const core::Engine& engine = ctx_.engine;
  st.pid = ::getpid();
  st.ready = ctx_.ready;
  st.uptime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - started_).count();
  st.memory_locked_bytes = now_m.locked_bytes;
  st.heap_bytes = now_m.heap_bytes;
  st.heap_bytes_at_ready = at_ready_.heap_bytes;
  st.minor_faults_since_ready = ctx_.ready ? now_m.minor_faults - at_ready_.minor_faults : 0;
  st.major_faults_since_ready = ctx_.ready ? now_m.major_faults - at_ready_.major_faults : 0;
  st.threads = now_m.threads;
  st.threads_at_ready = at_ready_.threads;
  st.threads_io_flusher = now_m.threads_io_flusher;
  st.paths = {engine.paths().used(), engine.paths().capacity()};
  st.maps = {engine.maps().used(), engine.maps().capacity()};
  if (service_) {
    ipc::ServiceStats ss = service_->stats();
    st.clients = {ss.clients, ss.max_clients};
    st.requests = ss.requests;
    st.error_replies = ss.error_replies;
    st.refused_busy = ss.refused_busy;
  }
  LogCounters lc = log_counters();
  st.log_records = {lc.records_high_water, lc.records_limit};  // how close the ring came to full
  const core::EngineCounters& c = engine.counters();
  st.paths_refused = c.paths_refused;
  st.maps_refused = c.maps_refused;
  st.actions_dropped = c.actions_dropped;
  st.late_results = c.late_results;
  st.dm_errors = ctx_.dm_errors;
  st.log_dropped = lc.dropped;
  st.log_write_errors = lc.write_errors;
  auto sink = [](const LogSinkStatus& x) {
    return core::LogSinkUse{x.active, x.written, x.dropped, x.write_errors, x.would_block};
  };
  st.log_file = sink(lc.file);
  st.log_journal = sink(lc.journal);
  st.log_stderr = sink(lc.stderr_sink);
  st.reconfigures = ctx_.reconfigures;
  st.config_source.assign(ctx_.options.config_path.empty() ? std::string_view("built-in defaults")
                                                           : std::string_view(ctx_.options.config_path));
  st.last_error.assign(ctx_.last_error.view().substr(0, 255));
  ctx_.names.status(st.bindings_file, st.wwids_file);
  st.startup = ctx_.startup;
  st.backstop = ctx_.backstop;
}

// No allocation.
void Publisher::publish(bool force) {
  const core::Engine& engine = ctx_.engine;
  core::MonoTime t = ctx_.now();
  // A state change is published within kInterval; checks that only confirm
  // a state (their counters) within a second.
  if (engine.changes() != published_changes_) ctx_.dirty = true;
  if (!force && !(ctx_.dirty && t - last_publish_ >= kInterval) &&
      t - last_publish_ < std::chrono::seconds(1))
    return;
  core::Snapshot& s = snapshots_.back();
  s.generation += 3;  // each of the three buffers advances past the others
  if (force || t - last_measure_at_ >= std::chrono::seconds(1)) {
    last_measure_ = measure_self();
    last_measure_at_ = t;
  }
  fill_status(s.status, t);

  uint64_t checks = 0;
  uint32_t np = 0;
  engine.paths().for_each([&](core::PathId, const core::Path& p) {
    core::PathRecord& r = s.paths[np++];
    r.dev = p.dev;
    r.devt = p.devt;
    r.wwid = p.wwid;
    if (p.map != core::kNoSlot) {
      r.map = engine.maps().at(p.map).name;
    } else {
      r.map.clear();
    }
    r.checker = p.checker;
    r.state = p.state;
    r.dm_state = p.dm_state;
    r.group = p.group;
    r.priority = p.priority;
    r.alua = p.alua;
    r.admin_failed = p.admin_failed;
    r.marginal = p.marginal;
    r.marginal_age_ms =
        p.marginal ? std::chrono::duration_cast<std::chrono::milliseconds>(t - p.marginal_since).count() : 0;
    r.recent_failures = p.map != core::kNoSlot
                            ? p.failure_history.count_since(
                                  t - core::Duration(engine.maps().at(p.map).settings.marginal.within))
                            : 0;
    r.state_age_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - p.state_since).count();
    r.checks = p.checks;
    r.failures = p.failures;
    r.timeouts = p.timeouts;
    r.no_map_because = p.no_map_because;
    checks += p.checks;
  });
  s.path_count = np;
  s.status.checks_total = checks;

  uint32_t nm = 0;
  engine.maps().for_each([&](core::MapId id, const core::Map& m) {
    core::MapRecord& r = s.maps[nm++];
    r.name = m.name;
    r.wwid = m.wwid;
    r.devt = m.devt;
    r.sectors = m.sectors;
    r.settings = m.settings;
    r.in_kernel = m.in_kernel;
    r.queueing = m.queueing;
    r.all_down = m.all_down;
    r.retry_exhausted = m.retry_exhausted;
    r.lun_lost = m.lun_lost;
    r.queueing_disabled_by_admin = m.queueing_disabled_by_admin;
    r.all_down_ms =
        m.all_down ? std::chrono::duration_cast<std::chrono::milliseconds>(t - m.all_down_since).count() : 0;
    r.current_group = m.current_group;
    r.group_count = m.group_count;
    r.path_faults = m.path_faults;
    r.queue_disables = m.queue_disables;
    r.kept_because = m.kept_because;
    r.resize_note = m.resize_note;
    r.dirty_cap = m.dirty_cap;
    r.dirty_cap_note = m.dirty_cap_note;
    r.paths_total = r.paths_active = r.paths_usable = 0;
    for (core::PathId pid : engine.members(id)) {
      const core::Path& p = engine.paths().at(pid);
      ++r.paths_total;
      r.paths_active += p.dm_state == core::DmState::Active ? 1 : 0;
      r.paths_usable += core::usable(p.state) && !p.admin_failed ? 1 : 0;
    }
  });
  s.map_count = nm;
  snapshots_.publish();
  published_changes_ = engine.changes();
  last_publish_ = t;
  ctx_.dirty = false;
  if (ctx_.ready) update_service_status(s);
}

// systemctl status shows it: paths up and down, maps queueing with no path.
// Sent only when the text changes. No allocation.
void Publisher::update_service_status(const core::Snapshot& s) {
  if (!ctx_.notify.active()) return;
  uint32_t up = 0, down = 0, unchecked = 0, stranded = 0;
  for (uint32_t i = 0; i < s.path_count; ++i) {
    const core::PathRecord& p = s.paths[i];
    if (p.state == core::PathState::Unchecked)
      ++unchecked;
    else if (core::usable(p.state) && !p.admin_failed)
      ++up;
    else
      ++down;
  }
  for (uint32_t i = 0; i < s.map_count; ++i) stranded += s.maps[i].all_down && s.maps[i].queueing ? 1 : 0;
  char text[sizeof service_status_];
  core::FixedWriter w(text);
  w.number(s.path_count).text(s.path_count == 1 ? " path in " : " paths in ").number(s.map_count);
  w.text(s.map_count == 1 ? " map: " : " maps: ").number(up).text(" up, ");
  w.number(down).text(" down");
  if (unchecked) w.text(", ").number(unchecked).text(" not checked yet");
  if (stranded)
    w.text("; ").number(stranded).text(stranded == 1 ? " map" : " maps").text(" queueing I/O with no path");
  if (ctx_.startup.degraded()) {
    // Kept in view for as long as the daemon runs without the part.
    w.text("; ");
    ctx_.startup.describe(w);
  }
  text[std::min(w.size(), sizeof text - 1)] = '\0';  // even if the writer ran out of room
  if (std::strcmp(text, service_status_) == 0) return;
  std::memcpy(service_status_, text, sizeof text);
  ctx_.notify.status(std::string_view(text));
}

}  // namespace pk::daemon
