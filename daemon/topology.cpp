// Control-plane half of the daemon: which devices are paths, which paths form
// which map, and bringing the kernel's maps in line (create, adopt, reload).
// Runs on the loop thread at start-up, on device uevents and on reconfigure;
// it may allocate (from the reserved heap) and may block briefly in
// libdevmapper, never in the check round.
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/device_rules.h"
#include "core/grouping.h"
#include "daemon/config/config_loader.h"
#include "daemon/daemon.h"
#include "core/text.h"
#include "daemon/log.h"
#include "ipc/service.h"

namespace pk::daemon {

namespace {
constexpr std::string_view kUuidPrefix = "mpath-";
}

const core::MapConfig* Daemon::map_config_for_wwid(std::string_view wwid) const {
  for (const core::MapConfig& m : config_.maps)
    if (m.wwid == wwid) return &m;
  return nullptr;
}

const core::MapConfig* Daemon::map_config_for_devnode(std::string_view dev) const {
  for (const core::MapConfig& m : config_.maps)
    if (std::find(m.paths.begin(), m.paths.end(), dev) != m.paths.end()) return &m;
  return nullptr;
}

void Daemon::set_last_error(const core::Error& err) { last_error_ = err; }

// A restarted daemon takes over the maps it finds: their DM UUID says which
// WWID they serve. Their tables are compared (and reloaded only if they
// differ) once the paths are known, in sync_map.
void Daemon::adopt_existing_maps() {
  core::Error err;
  size_t count = 0;
  if (!dm_->list({dm_maps_.get(), dm_map_capacity_}, count, err)) {
    log_error("dm", "listing existing maps: %s", err.c_str());
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    const adapters::DmMapInfo& info = dm_maps_[i];
    std::string_view uuid = info.uuid;
    if (!info.multipath || uuid.substr(0, kUuidPrefix.size()) != kUuidPrefix) continue;
    std::string_view wwid = uuid.substr(kUuidPrefix.size());
    const core::MapConfig* mc = map_config_for_wwid(wwid);
    core::MapId id = engine_.add_map(info.name, wwid, mc ? mc->settings : config_.defaults, now());
    if (id == core::kNoSlot) {
      log_error("map", "cannot adopt %s: no free map slot (limits.max_maps %u)", info.name, config_.limits.max_maps);
      continue;
    }
    std::string_view params;
    uint64_t sectors = 0;
    dm_->table(info.name, params, sectors, err);
    engine_.set_map_in_kernel(id, sectors);
    engine_.set_map_devt(id, info.devt);
    log_info("map", "adopted %s (%s)", info.name, info.uuid);
  }
}

void Daemon::on_block_device(const adapters::BlockDevice& dev) {
  if (!dev.dm_name.empty()) {
    // One of the maps: the kernel failed or reinstated a path, or it changed.
    core::MapId m = engine_.find_map_by_name(dev.dm_name);
    if (m == core::kNoSlot) return;
    engine_.set_map_devt(m, dev.devt);
    core::DevT devt;
    if (!dev.dm_path.empty() && core::parse_devt(dev.dm_path, devt)) {
      core::PathId p = engine_.find_path(devt);
      if (p != core::kNoSlot) engine_.request_check(p, now());
      if (dev.dm_action == "PATH_FAILED") {
        const core::Map& mm = engine_.maps().at(m);
        std::string_view path_dev = p != core::kNoSlot ? engine_.paths().at(p).dev.view() : dev.dm_path;
        log_path(LogLevel::Notice, "path", mm.name.view(), path_dev, mm.wwid.view(),
                 "%.*s: the kernel failed path %.*s", static_cast<int>(dev.dm_name.size()), dev.dm_name.data(),
                 static_cast<int>(dev.dm_path.size()), dev.dm_path.data());
      }
    }
    read_map_status(m);
    return;
  }
  switch (dev.action) {
    case adapters::DeviceAction::Remove: remove_path(dev.name); break;
    case adapters::DeviceAction::Add:
    case adapters::DeviceAction::Change: {
      core::PathId p = engine_.find_path(dev.name);
      if (p != core::kNoSlot) {
        engine_.request_check(p, now());
      } else {
        add_path(dev);
      }
      break;
    }
  }
}

void Daemon::add_path(const adapters::BlockDevice& dev) {
  core::DeviceFacts facts{dev.name, dev.wwid, dev.vendor, dev.product, dev.property_names};
  const core::DeviceRule* why = nullptr;
  if (core::is_blacklisted(config_.blacklist, config_.blacklist_exceptions, facts, &why)) {
    log_debug("path", "%.*s ignored: blacklisted by %s", static_cast<int>(dev.name.size()), dev.name.data(),
              why->file_position.empty() ? "a built-in rule" : why->file_position.c_str());
    return;
  }
  const core::MapConfig* explicit_map = map_config_for_devnode(dev.name);
  std::string_view wwid = explicit_map ? std::string_view(explicit_map->wwid) : dev.wwid;
  if (wwid.empty()) {
    log_debug("path", "%.*s ignored: no WWID and in no configured map", static_cast<int>(dev.name.size()),
              dev.name.data());
    return;
  }
  // A disk of no size (an NBD device not connected, a LUN not yet mapped) is
  // no path yet: the change uevent that gives it a size brings it back here.
  char size_path[96], size_buf[32];
  std::string_view size_text;
  uint64_t sectors = 0;
  std::snprintf(size_path, sizeof size_path, "block/%.*s/size", static_cast<int>(dev.name.size()), dev.name.data());
  if (sysfs_.read(size_path, size_buf, size_text)) core::parse_uint(size_text, sectors);
  if (sectors == 0) {
    log_debug("path", "%.*s ignored for now: size 0", static_cast<int>(dev.name.size()), dev.name.data());
    return;
  }
  const core::MapConfig* mc = explicit_map ? explicit_map : map_config_for_wwid(wwid);
  core::CheckerKind checker = (mc ? mc->settings : config_.defaults).checker;
  const bool scsi = dev.transport == checkers::Transport::Scsi || dev.transport == checkers::Transport::Iscsi;
  if (checker == core::CheckerKind::Tur && !scsi) checker = core::CheckerKind::DirectIo;  // TUR needs SCSI

  core::PathId id = engine_.add_path(dev.name, dev.devt, wwid, checker, now());
  if (id == core::kNoSlot) {
    log_error("path", "%.*s not managed: no free path slot (limits.max_paths %u) or name too long",
              static_cast<int>(dev.name.size()), dev.name.data(), config_.limits.max_paths);
    return;
  }
  PathExtra& extra = path_extra_[id];
  extra = PathExtra{};
  extra.transport = dev.transport;
  extra.alua = dev.alua;
  extra.sectors = sectors;

  checkers::PathIdentity ident{dev.name, dev.devt, dev.transport, sysfs_.root_fd(), dev_fd_};
  core::Error err;
  if (!checkers_[static_cast<size_t>(checker)]->attach(id, ident, err))
    log_error("path", "%.*s: checker cannot attach: %s", static_cast<int>(dev.name.size()), dev.name.data(),
              err.c_str());
  log_info("path", "%.*s (%u:%u) added, wwid %.*s", static_cast<int>(dev.name.size()), dev.name.data(),
           dev.devt.major, dev.devt.minor, static_cast<int>(wwid.size()), wwid.data());
  dirty_ = true;
  if (ready_) resolve_maps();
}

void Daemon::remove_path(std::string_view name) {
  core::PathId id = engine_.find_path(name);
  if (id == core::kNoSlot) return;
  const core::Path& p = engine_.paths().at(id);
  checkers_[static_cast<size_t>(p.checker)]->detach(id);
  core::MapId map = p.map;
  engine_.remove_path(id);
  log_info("path", "%.*s removed", static_cast<int>(name.size()), name.data());
  if (map != core::kNoSlot) {
    if (engine_.members(map).empty()) {
      log_warning("map", "%s has no path left; it stays as it is", engine_.maps().at(map).name.c_str());
    } else {
      sync_map(map);
    }
  }
  dirty_ = true;
}

core::MapId Daemon::map_for_wwid(std::string_view wwid) {
  core::MapId id = engine_.find_map_by_wwid(wwid);
  if (id != core::kNoSlot) return id;
  const core::MapConfig* mc = map_config_for_wwid(wwid);
  std::string_view name = mc && !mc->alias.empty() ? std::string_view(mc->alias) : wwid;
  id = engine_.add_map(name, wwid, mc ? mc->settings : config_.defaults, now());
  if (id == core::kNoSlot)
    log_error("map", "no map for %.*s: no free map slot (limits.max_maps %u)", static_cast<int>(wwid.size()),
              wwid.data(), config_.limits.max_maps);
  return id;
}

// Puts every path that is in no map yet into its map, when the map is wanted:
// configured, or its WWID is seen on at least min_paths paths.
void Daemon::resolve_maps() {
  const uint32_t cap = engine_.paths().capacity();
  for (core::PathId i = 0; i < cap; ++i) {
    if (!engine_.paths().in_use(i) || engine_.paths().at(i).map != core::kNoSlot) continue;
    std::string_view wwid = engine_.paths().at(i).wwid.view();
    core::MapId existing = engine_.find_map_by_wwid(wwid);
    uint32_t seen = 0;
    engine_.paths().for_each([&](core::PathId, const core::Path& p) { seen += p.wwid == wwid ? 1 : 0; });
    if (existing == core::kNoSlot && !map_config_for_wwid(wwid) && seen < config_.min_paths_for_map) continue;
    core::MapId map = map_for_wwid(wwid);
    if (map == core::kNoSlot) continue;
    engine_.paths().for_each([&](core::PathId j, const core::Path& p) {
      if (p.map == core::kNoSlot && p.wwid == wwid && !engine_.set_path_map(j, map, 0, 1))
        log_error("map", "%s: path %s left out: limits.max_paths_per_map is %u", engine_.maps().at(map).name.c_str(),
                  p.dev.c_str(), config_.limits.max_paths_per_map);
    });
    sync_map(map);
  }
}

// Builds the table the map should have and makes the kernel's match it.
bool Daemon::sync_map(core::MapId id) {
  const core::Map& m = engine_.maps().at(id);
  auto members = engine_.members(id);
  if (members.empty()) return false;
  const size_t n = members.size();
  core::GroupInput* inputs = group_inputs_.get();
  uint16_t* path_group = path_groups_.get();
  uint64_t sectors = 0;
  for (size_t k = 0; k < n; ++k) {
    const core::Path& p = engine_.paths().at(members[k]);
    const PathExtra& extra = path_extra_[members[k]];
    std::string_view access;
    char path[96], buf[64];
    if (extra.alua) {
      std::snprintf(path, sizeof path, "block/%s/device/access_state", p.dev.c_str());
      sysfs_.read(path, buf, access);
    }
    inputs[k] = core::GroupInput{p.devt, extra.alua ? core::alua_priority(access) : uint8_t{1}, extra.alua};
    if (sectors == 0) sectors = extra.sectors;
  }
  core::MultipathTable want = core::build_table(m.settings, {inputs, n}, {table_groups_.get(), n},
                                                {table_paths_.get(), n}, {path_group, n});
  // Keep the kernel's current queueing choice: no_path_retry may have ended it.
  if (m.in_kernel) want.features.queue_if_no_path = m.queueing;
  char* params = table_text_.get();
  size_t len = core::format_multipath_table(want, {params, table_text_capacity_});
  if (len == 0) {
    log_error("map", "%s: table does not fit", m.name.c_str());
    return false;
  }
  std::string_view text(params, len);
  core::Error err;
  bool ok = true;
  if (!m.in_kernel) {
    char uuid[300];
    std::snprintf(uuid, sizeof uuid, "mpath-%s", m.wwid.c_str());
    ok = dm_->create(m.name.view(), uuid, sectors, text, err);
    if (ok)
      log_map(LogLevel::Notice, "map", m.name.view(), m.wwid.view(), "created %s: %.*s", m.name.c_str(),
              static_cast<int>(len), params);
  } else {
    std::string_view current;
    uint64_t current_sectors = 0;
    const uint32_t cap = config_.limits.max_paths_per_map;
    core::MultipathTable have;
    bool same = dm_->table(m.name.view(), current, current_sectors, err) &&
                core::parse_multipath_table(current, {current_groups_.get(), cap}, {current_paths_.get(), cap}, have) &&
                current_sectors == sectors;
    if (same) {
      want.features.queue_if_no_path = have.features.queue_if_no_path;
      same = core::same_topology(want, have);
    }
    if (same) {
      log_info("map", "%s already matches; not reloaded", m.name.c_str());
    } else {
      err.clear();
      ok = dm_->reload(m.name.view(), sectors, text, err);
      if (ok)
        log_map(LogLevel::Notice, "map", m.name.view(), m.wwid.view(), "reloaded %s: %.*s", m.name.c_str(),
                static_cast<int>(len), params);
    }
  }
  if (!ok) {
    ++dm_errors_;
    log_error("map", "%s: %s", m.name.c_str(), err.c_str());
    set_last_error(err);
    return false;
  }
  for (size_t k = 0; k < n; ++k) engine_.set_path_map(members[k], id, path_group[k], inputs[k].priority);
  engine_.set_map_in_kernel(id, sectors);
  read_map_status(id);
  dirty_ = true;
  return true;
}

bool Daemon::reconfigure(core::Error& err) {
  // With no --config, the standard file is read if it has appeared since the start.
  if (options_.config_path.empty() && ::access(default_config_path().c_str(), F_OK) == 0)
    options_.config_path = default_config_path();
  core::Config fresh = default_config();
  // Validated against the running limits (they change only at a restart);
  // a changed limit comes back as a warning naming its line.
  LoadOptions load_options;
  load_options.running_limits = &config_.limits;
  LoadResult r = options_.config_path.empty() ? LoadResult{true, {}, {}}
                                              : load_config_file(options_.config_path, fresh, load_options);
  for (const std::string& w : r.warnings) log_warning("config", "%s", w.c_str());
  if (!r.ok) {
    err.set("%s", r.error.c_str());
    set_last_error(err);
    return false;
  }
  fresh.limits = config_.limits;
  fresh.source = config_.source;
  config_ = std::move(fresh);
  engine_.set_timing(config_.timing);
  engine_.maps().for_each([&](core::MapId id, const core::Map& m) {
    const core::MapConfig* mc = map_config_for_wwid(m.wwid.view());
    const core::MapSettings& s = mc ? mc->settings : config_.defaults;
    if (!(s == m.settings)) {
      engine_.set_map_settings(id, s, now());
      sync_map(id);
    }
  });
  resolve_maps();
  ++reconfigures_;
  if (service_) service_->set_config_text(dump_config_yaml(config_));
  log_notice("config", "reconfigured from %s", options_.config_path.empty() ? "built-in defaults"
                                                                          : options_.config_path.c_str());
  return true;
}

// Copies the engine's state into the snapshot readers see. No allocation.
void Daemon::publish_snapshot(bool force) {
  core::MonoTime t = now();
  // A state change is published within kPublishInterval; checks that only
  // confirm a state (their counters) within a second.
  if (engine_.changes() != published_changes_) dirty_ = true;
  if (!force && !(dirty_ && t - last_publish_ >= kPublishInterval) && t - last_publish_ < std::chrono::seconds(1))
    return;
  core::Snapshot& s = snapshots_.back();
  s.generation += 3;  // each of the three buffers advances past the others
  core::DaemonStatus& st = s.status;
  if (force || t - last_measure_at_ >= std::chrono::seconds(1)) {
    last_measure_ = measure_self();
    last_measure_at_ = t;
  }
  const SelfMeasure& now_m = last_measure_;
  st.pid = ::getpid();
  st.ready = ready_;
  st.uptime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - started_).count();
  st.memory_locked_bytes = now_m.locked_bytes;
  st.heap_bytes = now_m.heap_bytes;
  st.heap_bytes_at_ready = at_ready_.heap_bytes;
  st.minor_faults_since_ready = ready_ ? now_m.minor_faults - at_ready_.minor_faults : 0;
  st.major_faults_since_ready = ready_ ? now_m.major_faults - at_ready_.major_faults : 0;
  st.threads = now_m.threads;
  st.threads_at_ready = at_ready_.threads;
  st.threads_io_flusher = now_m.threads_io_flusher;
  st.paths = {engine_.paths().used(), engine_.paths().capacity()};
  st.maps = {engine_.maps().used(), engine_.maps().capacity()};
  if (service_) {
    ipc::ServiceStats ss = service_->stats();
    st.clients = {ss.clients, ss.max_clients};
    st.requests = ss.requests;
    st.error_replies = ss.error_replies;
    st.refused_busy = ss.refused_busy;
  }
  LogCounters lc = log_counters();
  st.log_records = {lc.records_high_water, lc.records_limit};  // how close the ring came to full
  const core::EngineCounters& c = engine_.counters();
  st.paths_refused = c.paths_refused;
  st.maps_refused = c.maps_refused;
  st.actions_dropped = c.actions_dropped;
  st.late_results = c.late_results;
  st.dm_errors = dm_errors_;
  st.log_dropped = lc.dropped;
  st.log_write_errors = lc.write_errors;
  auto sink = [](const LogSinkStatus& x) {
    return core::LogSinkUse{x.active, x.written, x.dropped, x.write_errors, x.would_block};
  };
  st.log_file = sink(lc.file);
  st.log_journal = sink(lc.journal);
  st.log_stderr = sink(lc.stderr_sink);
  st.reconfigures = reconfigures_;
  st.config_source.assign(options_.config_path.empty() ? std::string_view("built-in defaults")
                                                       : std::string_view(options_.config_path));
  st.last_error.assign(last_error_.view().substr(0, 255));

  uint64_t checks = 0;
  uint32_t np = 0;
  engine_.paths().for_each([&](core::PathId, const core::Path& p) {
    core::PathRecord& r = s.paths[np++];
    r.dev = p.dev;
    r.devt = p.devt;
    r.wwid = p.wwid;
    if (p.map != core::kNoSlot) {
      r.map = engine_.maps().at(p.map).name;
    } else {
      r.map.clear();
    }
    r.checker = p.checker;
    r.state = p.state;
    r.dm_state = p.dm_state;
    r.group = p.group;
    r.priority = p.priority;
    r.admin_failed = p.admin_failed;
    r.state_age_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - p.state_since).count();
    r.checks = p.checks;
    r.failures = p.failures;
    r.timeouts = p.timeouts;
    checks += p.checks;
  });
  s.path_count = np;
  st.checks_total = checks;

  uint32_t nm = 0;
  engine_.maps().for_each([&](core::MapId id, const core::Map& m) {
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
    r.queueing_disabled_by_admin = m.queueing_disabled_by_admin;
    r.all_down_ms = m.all_down ? std::chrono::duration_cast<std::chrono::milliseconds>(t - m.all_down_since).count() : 0;
    r.current_group = m.current_group;
    r.group_count = m.group_count;
    r.path_faults = m.path_faults;
    r.queue_disables = m.queue_disables;
    r.paths_total = r.paths_active = r.paths_usable = 0;
    for (core::PathId pid : engine_.members(id)) {
      const core::Path& p = engine_.paths().at(pid);
      ++r.paths_total;
      r.paths_active += p.dm_state == core::DmState::Active ? 1 : 0;
      r.paths_usable += core::usable(p.state) && !p.admin_failed ? 1 : 0;
    }
  });
  s.map_count = nm;
  snapshots_.publish();
  published_changes_ = engine_.changes();
  last_publish_ = t;
  dirty_ = false;
  if (ready_) update_service_status(s);
}

// systemctl status shows it: paths up and down, maps queueing with no path.
// Sent only when the text changes. No allocation.
void Daemon::update_service_status(const core::Snapshot& s) {
  if (!notify_.active()) return;
  uint32_t up = 0, down = 0, unchecked = 0, stranded = 0;
  for (uint32_t i = 0; i < s.path_count; ++i) {
    const core::PathRecord& p = s.paths[i];
    if (p.state == core::PathState::Unchecked) ++unchecked;
    else if (core::usable(p.state) && !p.admin_failed) ++up;
    else ++down;
  }
  for (uint32_t i = 0; i < s.map_count; ++i) stranded += s.maps[i].all_down && s.maps[i].queueing ? 1 : 0;
  char text[sizeof service_status_];
  core::FixedWriter w(text);
  w.number(s.path_count).text(s.path_count == 1 ? " path in " : " paths in ").number(s.map_count);
  w.text(s.map_count == 1 ? " map: " : " maps: ").number(up).text(" up, ");
  w.number(down).text(" down");
  if (unchecked) w.text(", ").number(unchecked).text(" not checked yet");
  if (stranded) w.text("; ").number(stranded).text(stranded == 1 ? " map" : " maps").text(" queueing I/O with no path");
  w.ch('\0');
  text[sizeof text - 1] = '\0';  // even if the writer ran out of room
  if (std::strcmp(text, service_status_) == 0) return;
  std::memcpy(service_status_, text, sizeof text);
  notify_.status(std::string_view(text));
}

}  // namespace pk::daemon
