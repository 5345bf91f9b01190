#include "daemon/topology_exec.h"

#include <cstdio>
#include <cstring>

#include "core/text.h"
#include "daemon/log.h"

namespace pk::daemon {

namespace {
int len(std::string_view s) { return static_cast<int>(s.size()); }
}  // namespace

bool TopologyExec::init(core::Error& err) {
  const core::Limits& lim = ctx_.config.limits;
  const size_t n = lim.max_paths_per_map;
  members_ = std::make_unique<core::MemberFacts[]>(n);
  inputs_ = std::make_unique<core::GroupInput[]>(n);
  groups_ = std::make_unique<core::TableGroup[]>(n);
  paths_ = std::make_unique<core::DevT[]>(n);
  path_group_ = std::make_unique<uint16_t[]>(n);
  current_groups_ = std::make_unique<core::TableGroup[]>(n);
  current_paths_ = std::make_unique<core::DevT[]>(n);
  text_capacity_ = 256 + n * 48;  // "maj:min a b " per path, generously
  text_ = std::make_unique<char[]>(text_capacity_);
  replan_ = std::make_unique<bool[]>(lim.max_maps);
  held_.init(lim.max_maps);
  alua_unreadable_ = std::make_unique<bool[]>(lim.max_paths);
  // Room for every DM device the host may have, not only multipath maps.
  return watcher_.init(size_t{lim.max_maps} + 256, err);
}

// ---------------------------------------------------------------- DM devices

void TopologyExec::adopt(const adapters::DmMapInfo& info, bool at_start) {
  core::DmOwnership own = core::dm_ownership(info.uuid, info.multipath);
  if (!own.ours) {
    // Reported once: at start-up, or when it appears.
    log_info("dm", "%s left alone: %s", info.name, own.reason);
    return;
  }
  core::Engine& engine = ctx_.engine;
  core::MapId id = engine.find_map_by_wwid(own.wwid);
  if (id != core::kNoSlot) {
    const core::Map& m = engine.maps().at(id);
    if (m.in_kernel && m.name != std::string_view(info.name))
      log_warning("map", "%s also serves WWID %.*s, which %s serves: left alone", info.name, len(own.wwid),
                  own.wwid.data(), m.name.c_str());
    if (m.in_kernel || m.name != std::string_view(info.name)) return;
  } else {
    id = engine.add_map(info.name, own.wwid, core::settings_for(ctx_.config, own.wwid));
    if (id == core::kNoSlot) {
      log_error("map", "cannot adopt %s: no free map slot (limits.max_maps %u)", info.name,
                ctx_.config.limits.max_maps);
      return;
    }
  }
  core::Error err;
  std::string_view params;
  uint64_t sectors = 0;
  core::MultipathTable table;
  const uint32_t cap = ctx_.config.limits.max_paths_per_map;
  if (!ctx_.dm->table(info.name, params, sectors, err) ||
      !core::parse_multipath_table(params, {current_groups_.get(), cap}, {current_paths_.get(), cap},
                                   table)) {
    // Not a table this daemon can keep in line: never reloaded, its paths
    // stay out of it.
    engine.set_map_left_alone(id);
    log_warning("map", "%s left alone: its table is not understood%s%s", info.name, err.empty() ? "" : ": ",
                err.c_str());
    return;
  }
  engine.set_map_in_kernel(id, sectors);
  engine.set_map_devt(id, info.devt);
  log_info("map", "%s %s (%s)", at_start ? "adopted" : "found", info.name, info.uuid);
  ctx_.names.map_made(own.wwid);
  keep_adopted_name(info.name, own.wwid);
  if (!at_start) actions_.read_map_status(id);
  ctx_.dirty = true;
}

void TopologyExec::adopt_existing_maps() {
  core::Error err;
  if (!watcher_.start(*ctx_.dm, err)) {
    log_error("dm", "listing existing maps: %s", err.c_str());
    return;
  }
  for (const adapters::DmMapInfo& info : watcher_.maps()) adopt(info, true);
}

void TopologyExec::on_dm_event() {
  core::Error err;
  if (!watcher_.update(*ctx_.dm, err)) {
    log_error("dm", "reading DM events: %s", err.c_str());
    return;
  }
  core::Engine& engine = ctx_.engine;
  for (const adapters::DmEventWatcher::Change& c : watcher_.changes()) {
    const adapters::DmMapInfo& info = *c.map;
    core::MapId id = engine.find_map_by_name(info.name);
    switch (c.kind) {
      case adapters::DmEventWatcher::Kind::Changed:
        if (id != core::kNoSlot) actions_.read_map_status(id);
        break;
      case adapters::DmEventWatcher::Kind::Appeared:
        if (id != core::kNoSlot && engine.maps().at(id).in_kernel) {
          engine.set_map_devt(id, info.devt);  // one this daemon made
        } else {
          adopt(info, false);
        }
        break;
      case adapters::DmEventWatcher::Kind::Vanished:
        if (id != core::kNoSlot && engine.maps().at(id).in_kernel) {
          const core::Map& m = engine.maps().at(id);
          log_map(LogLevel::Warning, "map", m.name.view(), m.wwid.view(),
                  "%s was removed outside pathkeeperd; it is made again only when its paths come again",
                  m.name.c_str());
          engine.set_map_gone(id);
          ctx_.dirty = true;
        }
        break;
    }
  }
}

// ---------------------------------------------------------------- devices

void TopologyExec::on_block_device(const adapters::BlockDevice& dev) {
  core::Engine& engine = ctx_.engine;
  if (!dev.dm_name.empty()) {
    // One of the maps: the kernel failed or reinstated a path, or it changed.
    core::MapId m = engine.find_map_by_name(dev.dm_name);
    if (m == core::kNoSlot) return;
    engine.set_map_devt(m, dev.devt);
    core::DevT devt;
    if (!dev.dm_path.empty() && core::parse_devt(dev.dm_path, devt)) {
      core::PathId p = engine.find_path(devt);
      if (p != core::kNoSlot) engine.request_check(p, ctx_.now());
      if (dev.dm_action == "PATH_FAILED") {
        const core::Map& mm = engine.maps().at(m);
        std::string_view path_dev = p != core::kNoSlot ? engine.paths().at(p).dev.view() : dev.dm_path;
        log_path(LogLevel::Notice, "path", mm.name.view(), path_dev, mm.wwid.view(),
                 "%.*s: the kernel failed path %.*s", len(dev.dm_name), dev.dm_name.data(), len(dev.dm_path),
                 dev.dm_path.data());
      }
    }
    actions_.read_map_status(m);
    return;
  }
  switch (dev.action) {
    case adapters::DeviceAction::Remove:
      forget_removed_by_operator(dev.name);  // gone: a device of that name later is another one
      remove_path(dev.name);
      break;
    case adapters::DeviceAction::Add:
    case adapters::DeviceAction::Change: {
      if (removed_by_operator(dev.name)) {
        log_debug("path", "%.*s: uevent ignored, removed by an operator (add path takes it back)",
                  len(dev.name), dev.name.data());
        break;
      }
      core::PathId p = engine.find_path(dev.name);
      if (p == core::kNoSlot) {
        add_path(dev);
      } else if (dev.action == adapters::DeviceAction::Change && lun_replaced(p, dev)) {
        remove_path(dev.name);
        add_path(dev);
      } else {
        // A change of the disk (ALUA state, size, ...): read what sysfs says now, and check it.
        refresh_alua(p);
        core::MapId map = engine.paths().at(p).map;
        const bool size_changed = reread_size(p);
        if (size_changed && map != core::kNoSlot && engine.maps().at(map).in_kernel) {
          char text[256];
          core::FixedWriter out(text);
          resize(map, false, out);
        }
        // A path refused for its size, or a map that grew: ask again.
        if (size_changed && ctx_.ready) resolve_maps();
        engine.request_check(p, ctx_.now());
      }
      break;
    }
  }
}

void TopologyExec::on_transport_event(const adapters::TransportEvent& e) {
  if (e.devpath.empty()) {
    // The uevent socket overflowed: what was lost is found by looking again.
    core::Error err;
    log_warning("udev", "uevents were lost; enumerating devices again");
    ctx_.udev->enumerate([this](const adapters::BlockDevice& d) { on_block_device(d); }, err);
  }
  // A session or a SCSI device changed (a unit attention, such as an ALUA
  // state change, comes as SDEV_UA): every iSCSI or ALUA path may be
  // concerned, and checking is cheap.
  core::MonoTime t = ctx_.now();
  ctx_.engine.paths().for_each([&](core::PathId id, const core::Path& p) {
    const bool alua = p.alua.state != core::AluaState::None;
    if (alua) refresh_alua(id);
    if (alua || p.transport == core::Transport::Iscsi) ctx_.engine.request_check(id, t);
  });
}

core::DeviceDecision TopologyExec::plan_device(const adapters::BlockDevice& dev, uint64_t& sectors) {
  // A disk of no size is no path yet; its size is read here, once per add.
  char size_path[96], size_buf[32];
  std::string_view size_text;
  sectors = 0;
  std::snprintf(size_path, sizeof size_path, "block/%.*s/size", len(dev.name), dev.name.data());
  if (ctx_.sysfs.read(size_path, size_buf, size_text)) core::parse_uint(size_text, sectors);
  core::DiscoveredDevice facts{
      {dev.name, dev.wwid, dev.vendor, dev.product, dev.property_names}, dev.devt, dev.transport, sectors};
  return core::plan_device(facts, ctx_.config);
}

// The LUN behind a path was replaced: I/O for the map must not reach it a
// moment longer. The kernel fails it at once (a message, before the reload
// that takes it out), then the path joins the map of its new WWID.
bool TopologyExec::lun_replaced(core::PathId id, const adapters::BlockDevice& dev) {
  uint64_t sectors = 0;
  const core::Path& p = ctx_.engine.paths().at(id);
  if (!core::lun_replaced(p.wwid.view(), plan_device(dev, sectors))) return false;
  const core::MapId map = p.map;
  const char* map_name = map != core::kNoSlot ? ctx_.engine.maps().at(map).name.c_str() : "no map";
  log_path(LogLevel::Error, "path", map_name, p.dev.view(), p.wwid.view(),
           "%s: the LUN behind it changed: WWID %.*s, was %s; it leaves %s now", p.dev.c_str(), len(dev.wwid),
           dev.wwid.data(), p.wwid.c_str(), map_name);
  fail_in_kernel(p);
  return true;
}

void TopologyExec::fail_in_kernel(const core::Path& p) {
  if (p.map == core::kNoSlot || !ctx_.engine.maps().at(p.map).in_kernel) return;
  const core::Map& m = ctx_.engine.maps().at(p.map);
  char message[48];
  std::snprintf(message, sizeof message, "fail_path %u:%u", p.devt.major, p.devt.minor);
  core::Error err;
  if (!ctx_.dm->message(m.name.view(), message, err)) {
    ctx_.dm_failed(err);
    log_error("map", "%s: %s", m.name.c_str(), err.c_str());
  }
}

bool TopologyExec::identity_changed(core::PathId id) {
  core::Engine& engine = ctx_.engine;
  if (!engine.paths().in_use(id)) return false;
  char buf[adapters::IdentitySysfs::kTextMax + 1];
  std::string_view now;
  if (!ctx_.identity.changed(id, buf, now)) return false;
  const core::Path& p = engine.paths().at(id);
  const char* map_name = p.map != core::kNoSlot ? engine.maps().at(p.map).name.c_str() : "no map";
  const std::string_view was = ctx_.identity.known(id);
  log_path(
      LogLevel::Error, "path", map_name, p.dev.view(), p.wwid.view(),
      "%s: the LUN behind it changed (seen at a check): the kernel says %.*s, was %.*s; it leaves %s now",
      p.dev.c_str(), len(now), now.data(), len(was), was.data(), map_name);
  fail_in_kernel(p);
  // Its name outlives the path record that remove_path frees.
  core::FixedString<32> dev = p.dev;
  remove_path(dev.view());
  // udev reads the new identity (its WWID, as every map names it) and the
  // change event that follows makes the device a path of its new LUN.
  char rel[64];
  std::snprintf(rel, sizeof rel, "block/%s/uevent", dev.c_str());
  if (int e = ctx_.sysfs.write(rel, "change"); e != 0)
    log_warning("path",
                "%s: cannot ask udev for its new identity (%s): it stays out of every map until a uevent "
                "or `pathkeeperctl add path %s`",
                dev.c_str(), std::strerror(e), dev.c_str());
  return true;
}

bool TopologyExec::add_path(const adapters::BlockDevice& dev, core::FixedWriter* why) {
  uint64_t sectors = 0;
  core::DeviceDecision d = plan_device(dev, sectors);
  if (d.kind != core::DeviceDecision::Kind::Accept) {
    const char* where = d.rule == nullptr               ? ""
                        : d.rule->file_position.empty() ? " by a built-in rule"
                                                        : " by the rule at ";
    log_debug("path", "%.*s ignored%s: %s%s%s", len(dev.name), dev.name.data(),
              d.kind == core::DeviceDecision::Kind::NotYet ? " for now" : "", d.reason, where,
              d.rule ? d.rule->file_position.c_str() : "");
    if (why)
      why->text(dev.name)
          .text(" is no path: ")
          .text(d.reason)
          .text(where)
          .text(d.rule ? std::string_view(d.rule->file_position) : std::string_view());
    return false;
  }
  core::Engine& engine = ctx_.engine;
  core::PathId id = engine.add_path(dev.name, dev.devt, d.wwid, d.checker, ctx_.now());
  if (id == core::kNoSlot) {
    log_error("path", "%.*s not managed: no free path slot (limits.max_paths %u) or name too long",
              len(dev.name), dev.name.data(), ctx_.config.limits.max_paths);
    if (why) why->text(dev.name).text(" not managed: no free path slot (limits.max_paths) or name too long");
    return false;
  }
  engine.set_path_facts(id, dev.transport, sectors);
  if (dev.alua) engine.set_path_alua(id, ctx_.alua.attach(id, dev.name));
  ctx_.identity.attach(id, dev.name);

  checkers::PathIdentity ident{dev.name, dev.devt, dev.transport, ctx_.sysfs.root_fd(), ctx_.dev_fd};
  core::Error err;
  if (!ctx_.checker(d.checker).attach(id, ident, err))
    log_error("path", "%.*s: checker cannot attach: %s", len(dev.name), dev.name.data(), err.c_str());
  const core::Alua& alua = engine.paths().at(id).alua;
  if (alua.state != core::AluaState::None) {
    log_info("path", "%.*s (%u:%u) added, wwid %.*s, ALUA %.*s, port group %u%s", len(dev.name),
             dev.name.data(), dev.devt.major, dev.devt.minor, len(d.wwid), d.wwid.data(),
             len(core::alua_state_name(alua.state)), core::alua_state_name(alua.state).data(), alua.group_id,
             alua.group_id_known ? "" : " (not known)");
  } else {
    log_info("path", "%.*s (%u:%u) added, wwid %.*s", len(dev.name), dev.name.data(), dev.devt.major,
             dev.devt.minor, len(d.wwid), d.wwid.data());
  }
  ctx_.dirty = true;
  if (ctx_.ready) resolve_maps();
  return true;
}

void TopologyExec::remove_path(std::string_view name, core::FixedWriter* out) {
  core::Engine& engine = ctx_.engine;
  core::PathId id = engine.find_path(name);
  if (id == core::kNoSlot) return;
  const core::Path& p = engine.paths().at(id);
  ctx_.checker(p.checker).detach(id);
  ctx_.alua.detach(id);
  ctx_.identity.detach(id);
  alua_unreadable_[id] = false;
  core::MapId map = p.map;
  core::FixedString<256> wwid;
  wwid.assign(p.wwid.view());
  engine.remove_path(id);
  log_info("path", "%.*s removed", len(name), name.data());
  bool other = false;
  engine.paths().for_each([&](core::PathId, const core::Path& q) { other = other || q.wwid == wwid.view(); });
  if (!other) held_.forget(wwid.view());  // a LUN presented again is waited for anew
  if (map != core::kNoSlot) {
    if (engine.members(map).empty()) {
      last_path_gone(map, out);
    } else {
      sync_map(map, false);
    }
  }
  ctx_.dirty = true;
}

// ---------------------------------------------------------------- ALUA

void TopologyExec::note_replan(core::MapId map) {
  if (map == core::kNoSlot) return;
  replan_[map] = true;
  any_replan_ = true;
}

// sysfs access_state answers only while the alua handler is attached: an
// unreadable state is said once, and the last known one stays.
void TopologyExec::note_readable(core::PathId id, bool readable) {
  if (readable == !alua_unreadable_[id]) return;
  alua_unreadable_[id] = !readable;
  const core::Path& p = ctx_.engine.paths().at(id);
  if (readable) {
    log_info("alua", "%s: access_state readable again", p.dev.c_str());
  } else {
    log_warning("alua", "%s: access_state cannot be read; the last known ALUA state (%.*s) stays",
                p.dev.c_str(), len(core::alua_state_name(p.alua.state)),
                core::alua_state_name(p.alua.state).data());
  }
}

void TopologyExec::refresh_alua(core::PathId id) {
  core::Engine& engine = ctx_.engine;
  const core::Path& p = engine.paths().at(id);
  if (p.alua.state == core::AluaState::None) return;
  bool preferred = false;
  core::AluaState sysfs = ctx_.alua.read(id, preferred);
  note_readable(id, sysfs != core::AluaState::Unknown);
  core::Alua next = core::alua_from_sysfs(p.alua, sysfs, preferred);
  const core::AluaState before = p.alua.state;
  if (engine.set_path_alua(id, next)) note_replan(p.map);
  if (before != next.state)
    log_path(LogLevel::Notice, "alua", p.map != core::kNoSlot ? engine.maps().at(p.map).name.view() : "",
             p.dev.view(), p.wwid.view(), "%s: ALUA state %.*s (was %.*s), from sysfs", p.dev.c_str(),
             len(core::alua_state_name(next.state)), core::alua_state_name(next.state).data(),
             len(core::alua_state_name(before)), core::alua_state_name(before).data());
}

void TopologyExec::after_check(core::PathId id, core::CheckVerdict verdict, core::AluaReport said) {
  core::Engine& engine = ctx_.engine;
  if (!engine.paths().in_use(id)) return;
  const core::Path& p = engine.paths().at(id);
  if (p.alua.state == core::AluaState::None) return;
  if (said.garbled) {
    // Counted and said, never taken for a state change (the check is down).
    ++garbled_sense_;
    if (garbled_sense_ == 1 || garbled_sense_ % 100 == 0)
      log_warning("alua", "%s: an answer's sense data made no sense (%llu so far); its ALUA state stays %.*s",
                  p.dev.c_str(), static_cast<unsigned long long>(garbled_sense_),
                  len(core::alua_state_name(p.alua.state)), core::alua_state_name(p.alua.state).data());
  }
  bool preferred = false;
  core::AluaState sysfs = ctx_.alua.read(id, preferred);
  note_readable(id, sysfs != core::AluaState::Unknown);
  core::Alua next = core::alua_after_check(p.alua, verdict, said, sysfs, preferred);
  const core::AluaState before = p.alua.state;
  if (engine.set_path_alua(id, next)) note_replan(p.map);
  std::string_view map = p.map != core::kNoSlot ? engine.maps().at(p.map).name.view() : std::string_view();
  if (before != next.state)
    log_path(LogLevel::Notice, "alua", map, p.dev.view(), p.wwid.view(), "%s: ALUA state %.*s (was %.*s)",
             p.dev.c_str(), len(core::alua_state_name(next.state)), core::alua_state_name(next.state).data(),
             len(core::alua_state_name(before)), core::alua_state_name(before).data());
  // The array says states changed, or this port's did: the other ports of
  // the LUN may have too. sysfs has their new states once the kernel's alua
  // handler has asked the array (one REPORT TARGET PORT GROUPS updates every
  // port), and their checks confirm them.
  if ((said.changed || before != next.state) && p.map != core::kNoSlot) {
    log_path(LogLevel::Info, "alua", map, p.dev.view(), p.wwid.view(), "%s: %s; checking every path of %.*s",
             p.dev.c_str(),
             said.changed ? "the array reports an access state change" : "its access state changed", len(map),
             map.data());
    core::MonoTime t = ctx_.now();
    for (core::PathId other : engine.members(p.map)) {
      if (other == id) continue;
      refresh_alua(other);
      engine.request_check(other, t);
    }
  }
}

void TopologyExec::replan_changed() {
  if (!any_replan_) return;
  any_replan_ = false;
  const uint32_t cap = ctx_.engine.maps().capacity();
  for (core::MapId id = 0; id < cap; ++id) {
    if (!replan_[id]) continue;
    replan_[id] = false;
    if (!ctx_.engine.maps().in_use(id)) continue;
    const size_t n = gather_members(id);
    if (!core::alua_reorder_worthwhile({members_.get(), n})) {
      log_info("alua", "%s: no port can serve I/O now; the map is reordered once one can",
               ctx_.engine.maps().at(id).name.c_str());
      continue;
    }
    sync_map(id, false);
  }
}

// ---------------------------------------------------------------- maps

bool TopologyExec::name_taken(std::string_view name, std::string_view wwid) const {
  core::MapId id = ctx_.engine.find_map_by_name(name);
  if (id != core::kNoSlot) return ctx_.engine.maps().at(id).wwid != wwid;
  for (const adapters::DmMapInfo& info : watcher_.maps()) {
    if (std::string_view(info.name) != name) continue;
    std::string_view uuid(info.uuid);
    return !(uuid.starts_with(core::kUuidPrefix) && uuid.substr(core::kUuidPrefix.size()) == wwid);
  }
  return false;
}

std::string_view TopologyExec::take_name(const core::NameChoice& choice, std::string_view wwid) {
  using Source = core::NameChoice::Source;
  if (choice.source == Source::Wwid && *choice.why) {
    ctx_.names.note_unnamed();
    log_map(LogLevel::Warning, "names", wwid, wwid, "the map of %.*s is named by its WWID: %s", len(wwid),
            wwid.data(), choice.why);
  }
  if (choice.source != Source::NewBinding) return choice.name;
  if (choice.gave_way) {
    log_map(LogLevel::Warning, "names", choice.name, wwid,
            "%s, bound to %.*s, is the alias of another map in maps:; "
            "%.*s is named %.*s instead",
            choice.gave_way->alias.c_str(), len(wwid), wwid.data(), len(wwid), wwid.data(), len(choice.name),
            choice.name.data());
    ctx_.names.unbind(wwid);
  }
  core::BindingTable::AddResult r = ctx_.names.bind(choice.name, wwid);
  if (r.outcome != core::BindingTable::Outcome::Added) {
    ctx_.names.note_unnamed();
    log_map(LogLevel::Error, "names", wwid, wwid,
            "the map of %.*s is named by its WWID: %.*s cannot be bound", len(wwid), wwid.data(),
            len(choice.name), choice.name.data());
    return wwid;
  }
  log_map(LogLevel::Notice, "names", choice.name, wwid,
          "%.*s is named %.*s (the lowest free name), bound in %s", len(wwid), wwid.data(), len(choice.name),
          choice.name.data(), ctx_.config.bindings_file.c_str());
  return choice.name;
}

void TopologyExec::keep_adopted_name(std::string_view name, std::string_view wwid) {
  const core::Config& c = ctx_.config;
  if (!c.user_friendly_names || core::friendly_id(name, c.alias_prefix) == 0 ||
      ctx_.names.bindings().find_wwid(wwid) != nullptr)
    return;
  core::BindingTable::AddResult r = ctx_.names.bind(name, wwid);
  if (r.outcome == core::BindingTable::Outcome::Added) {
    log_map(LogLevel::Info, "names", name, wwid, "%.*s keeps its name %.*s, now bound", len(wwid),
            wwid.data(), len(name), name.data());
  } else if (r.outcome == core::BindingTable::Outcome::AliasTaken) {
    log_map(LogLevel::Warning, "names", name, wwid,
            "map %.*s serves WWID %.*s, but the bindings give %.*s to WWID %s; the map keeps its name",
            len(name), name.data(), len(wwid), wwid.data(), len(name), name.data(), r.other->wwid.c_str());
  }
}

core::MapId TopologyExec::map_for_wwid(std::string_view wwid) {
  core::Engine& engine = ctx_.engine;
  core::MapId id = engine.find_map_by_wwid(wwid);
  if (id != core::kNoSlot) return id;
  core::NameChoice choice = core::choose_map_name(
      ctx_.config, ctx_.names.bindings(), wwid, [&](std::string_view n) { return name_taken(n, wwid); },
      name_scratch_);
  id = engine.add_map(take_name(choice, wwid), wwid, core::settings_for(ctx_.config, wwid));
  if (id == core::kNoSlot)
    log_error("map", "no map for %.*s: no free map slot (limits.max_maps %u)", len(wwid), wwid.data(),
              ctx_.config.limits.max_maps);
  return id;
}

void TopologyExec::resolve_maps() {
  core::Engine& engine = ctx_.engine;
  const uint32_t cap = engine.paths().capacity();
  for (core::PathId i = 0; i < cap; ++i) {
    if (!engine.paths().in_use(i) || engine.paths().at(i).map != core::kNoSlot) continue;
    std::string_view wwid = engine.paths().at(i).wwid.view();
    core::MapId existing = engine.find_map_by_wwid(wwid);
    if (existing != core::kNoSlot && engine.maps().at(existing).left_alone) continue;
    if (existing == core::kNoSlot && !wanted(wwid)) continue;
    held_.forget(wwid);
    core::MapId map = map_for_wwid(wwid);
    if (map == core::kNoSlot) continue;
    bool joined = false;
    engine.paths().for_each([&](core::PathId j, const core::Path& p) {
      if (p.map != core::kNoSlot || p.wwid != wwid || !size_fits(j, map)) return;
      if (engine.set_path_map(j, map, 0, 1)) {
        joined = true;
      } else {
        log_error("map", "%s: path %s left out: limits.max_paths_per_map is %u",
                  engine.maps().at(map).name.c_str(), p.dev.c_str(), ctx_.config.limits.max_paths_per_map);
      }
    });
    if (joined) sync_map(map, true);
  }
}

// plan_join for a path of the map's WWID; a refusal is said once, loudly, and
// kept in the path's record for status and show paths.
bool TopologyExec::size_fits(core::PathId id, core::MapId map) {
  core::Engine& engine = ctx_.engine;
  const core::Path& p = engine.paths().at(id);
  const core::Map& m = engine.maps().at(map);
  const uint64_t map_sectors = m.in_kernel ? m.sectors : 0;
  const core::JoinDecision d = core::plan_join(map_sectors, p.sectors);
  if (d.join) {
    if (engine.set_path_note(id, {})) ctx_.dirty = true;
    return true;
  }
  char note[200];
  core::FixedWriter w(note);
  w.text(p.dev.view()).text(" says ").number(p.sectors).text(" sectors, ").text(m.name.view()).text(" has ");
  w.number(map_sectors).text(": ").text(d.reason);
  if (engine.set_path_note(id, w.view())) {
    log_path(LogLevel::Error, "map", m.name.view(), p.dev.view(), p.wwid.view(), "%s refused by %s: %.*s",
             p.dev.c_str(), m.name.c_str(), len(w.view()), w.view().data());
    ctx_.dirty = true;
  }
  return false;
}

bool TopologyExec::wanted(std::string_view wwid) {
  using Kind = core::MapWish::Kind;
  core::Engine& engine = ctx_.engine;
  uint32_t seen = 0;
  engine.paths().for_each([&](core::PathId, const core::Path& p) { seen += p.wwid == wwid ? 1 : 0; });
  const bool released = held_.state(wwid) == core::HeldWwids::State::Released;
  core::MapWish wish = core::wants_map(ctx_.config, wwid, seen, ctx_.names.known(wwid), released);
  if (wish.kind != Kind::Hold) return wish.kind == Kind::Map;
  const auto timeout = ctx_.config.find_multipaths_timeout;
  switch (held_.hold(wwid, ctx_.now(), timeout)) {
    case core::HeldWwids::Hold::Started:
      log_map(LogLevel::Notice, "map", wwid, wwid,
              "%.*s held: seen on %u path(s); find_multipaths smart waits up to %llds for more", len(wwid),
              wwid.data(), seen, static_cast<long long>(timeout.count()));
      break;
    case core::HeldWwids::Hold::Full:
      log_map(LogLevel::Warning, "map", wwid, wwid,
              "%.*s released at once: no room to hold more WWIDs (limits.max_maps %u); no map", len(wwid),
              wwid.data(), ctx_.config.limits.max_maps);
      break;
    case core::HeldWwids::Hold::Waiting:
    case core::HeldWwids::Hold::Released:
      break;
  }
  return false;
}

void TopologyExec::release_held() {
  held_.release_due(ctx_.now(), [&](std::string_view wwid, core::Duration waited) {
    log_map(LogLevel::Notice, "map", wwid, wwid,
            "%.*s released after %lld ms: no other path came within find_multipaths_timeout; no map",
            len(wwid), wwid.data(),
            static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));
    ctx_.dirty = true;
  });
}

size_t TopologyExec::gather_members(core::MapId id) {
  const core::Engine& engine = ctx_.engine;
  auto members = engine.members(id);
  for (size_t k = 0; k < members.size(); ++k) {
    const core::Path& p = engine.paths().at(members[k]);
    members_[k] = core::MemberFacts{p.devt, p.alua, p.sectors, core::usable(p.state) && !p.admin_failed};
  }
  return members.size();
}

bool TopologyExec::sync_map(core::MapId id, bool may_create, uint64_t resize_to) {
  core::Engine& engine = ctx_.engine;
  const core::Map& m = engine.maps().at(id);
  if (m.left_alone) return false;
  if (!m.in_kernel && !may_create) return false;
  auto members = engine.members(id);
  const size_t n = gather_members(id);
  core::KernelMap kernel;
  kernel.in_kernel = m.in_kernel;
  kernel.queueing = m.queueing;
  core::Error err;
  if (m.in_kernel && !ctx_.dm->table(m.name.view(), kernel.table, kernel.sectors, err)) {
    log_warning("map", "%s: reading its table: %s", m.name.c_str(), err.c_str());
    kernel.table = {};
    err.clear();
  }
  const size_t cap = ctx_.config.limits.max_paths_per_map;
  core::MapPlanStorage storage{{inputs_.get(), cap},         {groups_.get(), cap},
                               {paths_.get(), cap},          {path_group_.get(), cap},
                               {current_groups_.get(), cap}, {current_paths_.get(), cap},
                               {text_.get(), text_capacity_}};
  core::MapPlan plan = core::plan_map(m.settings, {members_.get(), n}, kernel, storage, resize_to);
  bool ok = true;
  switch (plan.kind) {
    case core::MapPlan::Kind::None:
      if (n > 0) log_error("map", "%s: no table: %s", m.name.c_str(), plan.reason);
      return false;
    case core::MapPlan::Kind::Create: {
      char uuid[300];
      std::snprintf(uuid, sizeof uuid, "%.*s%s", len(core::kUuidPrefix), core::kUuidPrefix.data(),
                    m.wwid.c_str());
      ok = ctx_.dm->create(m.name.view(), uuid, plan.sectors, plan.table, err);
      if (ok) ctx_.names.map_made(m.wwid.view());
      if (ok)
        log_map(LogLevel::Notice, "map", m.name.view(), m.wwid.view(), "created %s: %.*s", m.name.c_str(),
                len(plan.table), plan.table.data());
      break;
    }
    case core::MapPlan::Kind::Reload:
      ok = ctx_.dm->reload(m.name.view(), plan.sectors, plan.table, err);
      if (ok)
        log_map(LogLevel::Notice, "map", m.name.view(), m.wwid.view(), "reloaded %s (%s): %.*s",
                m.name.c_str(), plan.reason, len(plan.table), plan.table.data());
      break;
    case core::MapPlan::Kind::Keep:
      log_debug("map", "%s already matches; not reloaded", m.name.c_str());
      break;
  }
  if (!ok) {
    ctx_.dm_failed(err);
    log_error("map", "%s: %s", m.name.c_str(), err.c_str());
    return false;
  }
  for (size_t k = 0; k < n; ++k) engine.set_path_map(members[k], id, path_group_[k], inputs_[k].priority);
  engine.set_map_in_kernel(id, plan.sectors);
  actions_.read_map_status(id);
  ctx_.dirty = true;
  return true;
}

void TopologyExec::rescan_devices() {
  core::Engine& engine = ctx_.engine;
  core::Error err;
  bool listed = ctx_.udev->enumerate(
      [&](const adapters::BlockDevice& dev) {
        if (!dev.dm_name.empty() || removed_by_operator(dev.name)) return;
        core::PathId id = engine.find_path(dev.name);
        if (id == core::kNoSlot) {
          // Allowed now (or a device the last uevent did not bring): a path
          // without waiting for its next uevent.
          if (add_path(dev))
            log_notice("path", "%.*s is a path now (reconfigure)", len(dev.name), dev.name.data());
          return;
        }
        uint64_t sectors = 0;
        core::DeviceDecision d = plan_device(dev, sectors);
        if (d.kind != core::DeviceDecision::Kind::Ignore) return;
        const core::Path& p = engine.paths().at(id);
        const char* map = p.map != core::kNoSlot ? engine.maps().at(p.map).name.c_str() : "";
        log_path(LogLevel::Notice, "path", map, p.dev.view(), p.wwid.view(),
                 "%s is no path now (reconfigure: %s%s%s)%s%s", p.dev.c_str(), d.reason,
                 d.rule && !d.rule->file_position.empty() ? " by the rule at " : "",
                 d.rule ? d.rule->file_position.c_str() : "", *map ? "; it leaves " : "", map);
        remove_path(dev.name);
      },
      err);
  if (!listed) log_error("config", "reconfigure: udev could not list block devices: %s", err.c_str());
}

void TopologyExec::apply_config(const core::Config& before) {
  core::Engine& engine = ctx_.engine;
  engine.set_timing(ctx_.config.timing);
  // Another mode decides anew: a WWID smart released may be wanted now.
  if (before.find_multipaths != ctx_.config.find_multipaths) held_.clear();
  // Blacklist, exceptions and maps: paths decided again from what udev knows now.
  rescan_devices();
  ctx_.names.set_friendly(ctx_.config.user_friendly_names);
  engine.maps().for_each([&](core::MapId id, const core::Map& m) {
    std::string_view wwid = m.wwid.view();
    core::NameChoice choice = core::plan_rename(
        before, ctx_.config, ctx_.names.bindings(), wwid, m.name.view(),
        [&](std::string_view n) { return name_taken(n, wwid); }, name_scratch_);
    if (choice.name.empty()) return;
    std::string_view to = take_name(choice, wwid);
    if (to == m.name.view()) return;
    core::Error err;
    // A rename touches neither the table nor queued I/O.
    if (m.in_kernel && !ctx_.dm->rename(m.name.view(), to, err)) {
      ctx_.dm_failed(err);
      log_error("map", "%s: %s", m.name.c_str(), err.c_str());
      return;
    }
    log_map(LogLevel::Notice, "map", to, m.wwid.view(), "renamed %s to %.*s", m.name.c_str(), len(to),
            to.data());
    engine.set_map_name(id, to);
    ctx_.dirty = true;
  });
  engine.maps().for_each([&](core::MapId id, const core::Map& m) {
    const core::MapSettings& s = core::settings_for(ctx_.config, m.wwid.view());
    if (!(s == m.settings)) {
      engine.set_map_settings(id, s, ctx_.now());
      sync_map(id, false);
      // A growth that waited for an operator (auto_resize was off) is
      // decided again under the new settings.
      if (m.in_kernel && !m.resize_note.empty()) {
        char text[256];
        core::FixedWriter out(text);
        resize(id, false, out);
      }
    }
  });
  resolve_maps();
}

}  // namespace pk::daemon
