// The map lifecycle, carried out (the decisions are core/topology's
// plan_removal and plan_resize): a map whose last path went away is removed
// unless something holds it open; a LUN that grew grows its map; and the
// operator's remove map / remove path / add path / resize map.
//
// Threads: the loop thread. Blocking: briefly in libdevmapper (remove,
// reload). Allocation: none here; libdevmapper and libudev use the heap
// reserved at start-up.
#include <cstdio>

#include "core/text.h"
#include "daemon/log.h"
#include "daemon/topology_exec.h"

namespace pk::daemon {

namespace {

int len(std::string_view s) { return static_cast<int>(s.size()); }

// kpartx makes at most a few dozen partitions per disk; more are refused.
constexpr size_t kMaxPartitions = 128;
// How often a map kept open without paths is looked at again.
constexpr core::Duration kKeptRetry = std::chrono::seconds(5);

void put_holders(core::FixedWriter& w, const core::RemovalPlan& plan) {
  w.text(plan.reason);
  if (!plan.partition.empty())
    w.text(": ").text(plan.partition).text(" has open count ");
  else
    w.text("; open count ");
  w.number(static_cast<uint64_t>(plan.holders));
}

}  // namespace

// ---------------------------------------------------------------- removal

TopologyExec::Removal TopologyExec::remove_map(core::MapId id, core::FixedWriter& why) {
  core::Engine& engine = ctx_.engine;
  // The newest list of DM devices: partitions kpartx made since the last
  // event was read, and the map itself if it vanished meanwhile.
  on_dm_event();
  const core::Map& m = engine.maps().at(id);
  if (!m.in_kernel) {
    why.text(m.name.view()).text(" is not in the kernel");
    return Removal::Failed;
  }
  core::Error err;
  core::PartitionFacts parts[kMaxPartitions];
  size_t n = 0;
  for (const adapters::DmMapInfo& info : watcher_.maps()) {
    if (!core::is_partition_of(info.uuid, m.wwid.view())) continue;
    if (n == kMaxPartitions) {
      why.text(m.name.view()).text(" has more than ").number(kMaxPartitions).text(" partitions; not removed");
      return Removal::Failed;
    }
    parts[n].name = info.name;
    if (!ctx_.dm->open_count(info.name, parts[n].open_count, err)) {
      why.text(m.name.view()).text(": ").text(err.view());
      return Removal::Failed;
    }
    ++n;
  }
  int32_t open = 0;
  if (!ctx_.dm->open_count(m.name.view(), open, err)) {
    why.text(m.name.view()).text(": ").text(err.view());
    return Removal::Failed;
  }
  core::RemovalPlan plan = core::plan_removal(open, {parts, n});
  if (plan.kind == core::RemovalPlan::Kind::Keep) {
    put_holders(why, plan);
    return Removal::Kept;
  }
  // Queueing off first: I/O queued with no path would make the removal (its
  // flush) wait for a path that is not coming.
  if (!ctx_.dm->message(m.name.view(), "fail_if_no_path", err)) {
    ctx_.dm_failed(err);
    why.text("queueing could not be turned off, so it is not removed: ").text(err.view());
    return Removal::Failed;
  }
  auto undo = [&](const core::Error& e) {
    ctx_.dm_failed(e);
    core::Error again;
    // Give the map back its queueing: a failed removal must not turn an
    // outage into I/O errors.
    if (m.queueing && !ctx_.dm->message(m.name.view(), "queue_if_no_path", again))
      log_error("map", "%s: queueing could not be turned on again: %s", m.name.c_str(), again.c_str());
    why.text(e.view());
    return Removal::Failed;
  };
  for (size_t k = 0; k < n; ++k) {
    if (!ctx_.dm->remove(parts[k].name, err)) return undo(err);
    log_map(LogLevel::Info, "map", m.name.view(), m.wwid.view(), "%s: removed its partition %.*s",
            m.name.c_str(), len(parts[k].name), parts[k].name.data());
  }
  if (!ctx_.dm->remove(m.name.view(), err)) return undo(err);
  why.text("removed ").text(m.name.view());
  if (n > 0) why.text(" and ").number(n).text(" partition(s)");
  return Removal::Removed;
}

void TopologyExec::last_path_gone(core::MapId id, core::FixedWriter* out) {
  core::Engine& engine = ctx_.engine;
  const core::Map& m = engine.maps().at(id);
  if (m.left_alone) return;  // not ours to touch
  if (!m.in_kernel) {
    // Removed earlier (by an operator): with no path left, nothing brings it back.
    log_map(LogLevel::Info, "map", m.name.view(), m.wwid.view(), "%s: its last path is gone; forgotten",
            m.name.c_str());
    engine.remove_map(id);
    return;
  }
  char text[256];
  core::FixedWriter why(text);
  switch (remove_map(id, why)) {
    case Removal::Removed:
      log_map(LogLevel::Notice, "map", m.name.view(), m.wwid.view(),
              "%s: its last path is gone and nothing holds it open: %.*s", m.name.c_str(), len(why.view()),
              why.view().data());
      if (out) out->text("; its map ").text(m.name.view()).text(" was removed (its last path)");
      engine.remove_map(id);
      break;
    case Removal::Kept:
    case Removal::Failed:
      // It stays, queueing as no_path_retry says, and status says why
      // (said once: retry_kept_maps asks again while it stays).
      if (m.kept_because == why.view()) break;
      log_map(
          LogLevel::Warning, "map", m.name.view(), m.wwid.view(),
          "%s: its last path is gone, but the map stays: %.*s. It queues I/O per no_path_retry until a path "
          "returns; pathkeeperctl remove map %s once nothing uses it",
          m.name.c_str(), len(why.view()), why.view().data(), m.name.c_str());
      if (out) out->text("; its map ").text(m.name.view()).text(" stays: ").text(why.view());
      engine.set_map_kept(id, why.view(), ctx_.now());
      break;
  }
  ctx_.dirty = true;
}

core::MapId TopologyExec::live_map(std::string_view name, core::FixedWriter& out) const {
  const core::Engine& engine = ctx_.engine;
  core::MapId id = engine.find_map_by_name(name);
  if (id == core::kNoSlot) {
    out.text("no such map: ").text(name);
    return core::kNoSlot;
  }
  const core::Map& m = engine.maps().at(id);
  if (m.left_alone) {
    out.text(name).text(" is left alone (its table is not understood); use dmsetup");
    return core::kNoSlot;
  }
  if (!m.in_kernel) {
    out.text(name).text(
        " is not in the kernel (removed earlier); add path DEV of one of its paths brings it back");
    return core::kNoSlot;
  }
  return id;
}

void TopologyExec::retry_kept_maps() {
  const core::MonoTime t = ctx_.now();
  if (t < next_kept_retry_) return;
  next_kept_retry_ = t + kKeptRetry;
  core::Engine& engine = ctx_.engine;
  const uint32_t cap = engine.maps().capacity();
  for (core::MapId id = 0; id < cap; ++id) {
    if (!engine.maps().in_use(id)) continue;
    const core::Map& m = engine.maps().at(id);
    if (m.kept_because.empty() || !m.in_kernel || !engine.members(id).empty()) continue;
    // Its own openers first (no allocation); partitions are counted from
    // the last DM list, and their own open counts asked only when the map
    // looks free.
    int32_t open = 0;
    core::Error err;
    if (!ctx_.dm->open_count(m.name.view(), open, err)) continue;
    int32_t partitions = 0;
    for (const adapters::DmMapInfo& info : watcher_.maps())
      partitions += core::is_partition_of(info.uuid, m.wwid.view()) ? 1 : 0;
    if (open > partitions) continue;
    log_map(LogLevel::Info, "map", m.name.view(), m.wwid.view(), "%s: no longer held open; removing it",
            m.name.c_str());
    last_path_gone(id, nullptr);
  }
}

bool TopologyExec::remove_map_by_operator(std::string_view name, core::FixedWriter& out) {
  core::Engine& engine = ctx_.engine;
  core::MapId id = live_map(name, out);
  if (id == core::kNoSlot) return false;
  const core::Map& m = engine.maps().at(id);
  char text[256];
  core::FixedWriter why(text);
  Removal r = remove_map(id, why);
  if (r == Removal::Removed) {
    log_map(LogLevel::Notice, "admin", m.name.view(), m.wwid.view(), "%.*s by an operator", len(why.view()),
            why.view().data());
    out.text(why.view());
    if (engine.members(id).empty()) {
      engine.remove_map(id);  // kept after its last path went: nothing is left of it
    } else {
      // Known still, with its paths, but never made again behind the
      // operator's back: only `add path` or its paths coming again bring it back.
      engine.set_map_gone(id);
      engine.set_map_resize_note(id, {});
    }
  } else {
    log_map(LogLevel::Warning, "admin", m.name.view(), m.wwid.view(), "remove map %s refused: %.*s",
            m.name.c_str(), len(why.view()), why.view().data());
    out.text(name)
        .text(r == Removal::Kept ? " is not removed: " : " could not be removed: ")
        .text(why.view());
  }
  ctx_.dirty = true;
  return r == Removal::Removed;
}

bool TopologyExec::remove_all_maps(core::FixedWriter& out) {
  core::Engine& engine = ctx_.engine;
  unsigned removed = 0, refused = 0;
  char kept_text[400];
  core::FixedWriter kept(kept_text);
  const uint32_t cap = engine.maps().capacity();
  for (core::MapId id = 0; id < cap; ++id) {
    if (!engine.maps().in_use(id)) continue;
    const core::Map& m = engine.maps().at(id);
    if (!m.in_kernel || m.left_alone) continue;
    char text[256];
    core::FixedWriter one(text);
    if (remove_map_by_operator(m.name.view(), one)) {
      ++removed;
    } else {
      ++refused;
      kept.text(refused > 1 ? "; " : "").text(one.view());
    }
  }
  out.text("removed ").number(removed).text(" map(s)");
  if (refused > 0) out.text(", ").number(refused).text(" not: ").text(kept.view());
  return refused == 0;
}

// ---------------------------------------------------------------- paths

bool TopologyExec::removed_by_operator(std::string_view dev) const {
  for (const auto& d : removed_by_operator_)
    if (!d.empty() && d == dev) return true;
  return false;
}

void TopologyExec::forget_removed_by_operator(std::string_view dev) {
  for (auto& d : removed_by_operator_)
    if (d == dev) d.clear();
}

bool TopologyExec::remove_path_by_operator(std::string_view dev, core::FixedWriter& out) {
  core::Engine& engine = ctx_.engine;
  core::PathId id = engine.find_path(dev);
  if (id == core::kNoSlot) {
    out.text("no such path: ").text(dev);
    return false;
  }
  core::FixedString<32>* slot = nullptr;
  for (auto& d : removed_by_operator_)
    if (d.empty() && !slot) slot = &d;
  if (!slot) {
    out.text("no room to remember more than ")
        .number(kMaxRemovedByOperator)
        .text(" removed paths; add some back first");
    return false;
  }
  slot->assign(dev);
  const core::MapId map = engine.paths().at(id).map;
  out.text(dev).text(" is no longer a path");
  if (map != core::kNoSlot) out.text(" of ").text(engine.maps().at(map).name.view());
  log_notice("admin", "path %.*s removed by an operator", len(dev), dev.data());
  remove_path(dev, &out);
  return true;
}

bool TopologyExec::add_path_by_operator(std::string_view dev, core::FixedWriter& out) {
  core::Engine& engine = ctx_.engine;
  forget_removed_by_operator(dev);
  core::PathId id = engine.find_path(dev);
  if (id != core::kNoSlot) {
    core::MapId map = engine.paths().at(id).map;
    if (map != core::kNoSlot && !engine.maps().at(map).in_kernel && !engine.maps().at(map).left_alone) {
      // Its map was removed by an operator: this brings it back.
      if (!sync_map(map, true)) {
        out.text(engine.maps().at(map).name.view())
            .text(" could not be made again: ")
            .text(ctx_.last_error.view());
        return false;
      }
      log_notice("admin", "map %s made again: path %.*s added by an operator",
                 engine.maps().at(map).name.c_str(), len(dev), dev.data());
      out.text("made ").text(engine.maps().at(map).name.view()).text(" again with its paths");
      return true;
    }
    out.text(dev).text(" is a path already");
    if (map != core::kNoSlot) out.text(" of ").text(engine.maps().at(map).name.view());
    return false;
  }
  // Looked up as discovery does: udev's view of every block device. One
  // pointer captured, so the callback's std::function holds it inline.
  struct Lookup {
    TopologyExec* self;
    std::string_view dev;
    core::FixedWriter* out;
    bool found = false, added = false;
  } look{this, dev, &out};
  core::Error err;
  bool listed = ctx_.udev->enumerate(
      [&look](const adapters::BlockDevice& d) {
        if (look.found || d.name != look.dev || !d.dm_name.empty()) return;
        look.found = true;
        look.added = look.self->add_path(d, look.out);
      },
      err);
  if (!listed && !look.found) {
    out.text("udev could not list block devices: ").text(err.view());
    return false;
  }
  if (!look.found) {
    out.text("no block device named ").text(dev).text(" (udev knows none)");
    return false;
  }
  if (!look.added) return false;
  id = engine.find_path(dev);
  log_notice("admin", "path %.*s added by an operator", len(dev), dev.data());
  out.text("added ").text(dev);
  core::MapId map = id != core::kNoSlot ? engine.paths().at(id).map : core::kNoSlot;
  if (map != core::kNoSlot) {
    out.text(" to ").text(engine.maps().at(map).name.view());
  } else {
    out.text("; no map yet (discovery.find_multipaths)");
  }
  return true;
}

// ---------------------------------------------------------------- resize

bool TopologyExec::reread_size(core::PathId id) {
  core::Engine& engine = ctx_.engine;
  const core::Path& p = engine.paths().at(id);
  char size_path[96], size_buf[32];
  std::string_view size_text;
  uint64_t sectors = 0;
  std::snprintf(size_path, sizeof size_path, "block/%s/size", p.dev.c_str());
  if (!ctx_.sysfs.read(size_path, size_buf, size_text) || !core::parse_uint(size_text, sectors)) {
    log_warning("path",
                "%s: its size cannot be read from sysfs %s ('%.*s'); the last known one (%llu sectors) stays",
                p.dev.c_str(), size_path, len(size_text), size_text.data(),
                static_cast<unsigned long long>(p.sectors));
    return false;
  }
  if (sectors == p.sectors) return false;
  log_path(LogLevel::Info, "path", p.map != core::kNoSlot ? engine.maps().at(p.map).name.view() : "",
           p.dev.view(), p.wwid.view(), "%s: size now %llu sectors (was %llu)", p.dev.c_str(),
           static_cast<unsigned long long>(sectors), static_cast<unsigned long long>(p.sectors));
  engine.set_path_facts(id, p.transport, sectors);
  return true;
}

core::ResizeDecision TopologyExec::resize(core::MapId id, bool asked, core::FixedWriter& out) {
  using Kind = core::ResizeDecision::Kind;
  core::Engine& engine = ctx_.engine;
  const core::Map& m = engine.maps().at(id);
  const size_t n = gather_members(id);
  auto members = engine.members(id);
  const uint64_t before = m.sectors;
  core::ResizeDecision d = core::plan_resize(before, {members_.get(), n}, m.settings.auto_resize, asked);
  auto dev = [&](size_t k) { return engine.paths().at(members[k]).dev.view(); };
  char text[200];
  core::FixedWriter note(text);
  LogLevel level = LogLevel::Notice;
  switch (d.kind) {
    case Kind::Same:
      engine.set_map_resize_note(id, {});
      out.text(m.name.view()).text(" already has the size its paths say (").number(before).text(" sectors)");
      return d;
    case Kind::Grow:
      if (!sync_map(id, false, d.sectors)) {
        note.text("growing to ").number(d.sectors).text(" sectors failed: ").text(ctx_.last_error.view());
        level = LogLevel::Error;
        break;
      }
      engine.set_map_resize_note(id, {});
      log_map(LogLevel::Notice, "map", m.name.view(), m.wwid.view(), "%s grew from %llu to %llu sectors: %s",
              m.name.c_str(), static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(d.sectors), d.reason);
      out.text(m.name.view())
          .text(" grew from ")
          .number(before)
          .text(" to ")
          .number(d.sectors)
          .text(" sectors");
      return d;
    case Kind::Disagree:
      note.text(dev(d.first)).text(" says ").number(members_[d.first].sectors).text(" sectors, ");
      note.text(dev(d.other)).text(" ").number(members_[d.other].sectors).text(": ").text(d.reason);
      break;
    case Kind::TooSmall:
      note.text(dev(d.first))
          .text(" (not usable) says ")
          .number(members_[d.first].sectors)
          .text(" sectors, less than ");
      note.number(d.sectors).text(": ").text(d.reason);
      level = LogLevel::Warning;
      break;
    case Kind::Shrink:
      note.text("its paths say ").number(d.sectors).text(" sectors, the map has ").number(before).text(": ");
      note.text(d.reason);
      level = LogLevel::Warning;
      break;
    case Kind::Waits:
      note.text("its paths say ").number(d.sectors).text(" sectors, the map has ").number(before).text(": ");
      note.text(d.reason);
      break;
    case Kind::NoSize:
      note.text(d.reason);
      level = LogLevel::Info;
      break;
  }
  engine.set_map_resize_note(id, note.view());
  log_map(level, "map", m.name.view(), m.wwid.view(), "%s keeps %llu sectors: %.*s", m.name.c_str(),
          static_cast<unsigned long long>(before), len(note.view()), note.view().data());
  out.text(m.name.view()).text(" keeps ").number(before).text(" sectors: ").text(note.view());
  ctx_.dirty = true;
  return d;
}

bool TopologyExec::resize_by_operator(std::string_view name, core::FixedWriter& out) {
  core::Engine& engine = ctx_.engine;
  core::MapId id = live_map(name, out);
  if (id == core::kNoSlot) return false;
  const core::Map& m = engine.maps().at(id);
  for (core::PathId p : engine.members(id)) reread_size(p);
  log_notice("admin", "resize map %s asked by an operator", m.name.c_str());
  core::ResizeDecision d = resize(id, true, out);
  return d.kind == core::ResizeDecision::Kind::Grow || d.kind == core::ResizeDecision::Kind::Same;
}

}  // namespace pk::daemon
