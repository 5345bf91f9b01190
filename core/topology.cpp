#include "core/topology.h"

#include <algorithm>

namespace pk::core {

// ---------------------------------------------------------------- devices

const MapConfig* map_config_for_wwid(const Config& config, std::string_view wwid) {
  for (const MapConfig& m : config.maps)
    if (m.wwid == wwid) return &m;
  return nullptr;
}

const MapConfig* map_config_for_devnode(const Config& config, std::string_view dev) {
  for (const MapConfig& m : config.maps)
    if (std::find(m.paths.begin(), m.paths.end(), dev) != m.paths.end()) return &m;
  return nullptr;
}

const MapSettings& settings_for(const Config& config, std::string_view wwid) {
  const MapConfig* mc = map_config_for_wwid(config, wwid);
  return mc ? mc->settings : config.defaults;
}

namespace {

// An alias maps: gives to a WWID other than `wwid`.
bool configured_for_another(const Config& config, std::string_view name, std::string_view wwid) {
  for (const MapConfig& m : config.maps)
    if (m.alias == name && m.wwid != wwid) return true;
  return false;
}

}  // namespace

std::string_view map_name_for(const Config& config, const BindingTable& bindings, std::string_view wwid) {
  const MapConfig* mc = map_config_for_wwid(config, wwid);
  if (mc && !mc->alias.empty()) return mc->alias;
  if (!config.user_friendly_names) return wwid;
  const Binding* b = bindings.find_wwid(wwid);
  return b && !configured_for_another(config, b->alias.view(), wwid) ? b->alias.view() : wwid;
}

NameChoice choose_map_name(const Config& config, const BindingTable& bindings, std::string_view wwid,
                           FunctionRef<bool(std::string_view)> taken, std::span<char> scratch) {
  using Source = NameChoice::Source;
  NameChoice c;
  const MapConfig* mc = map_config_for_wwid(config, wwid);
  if (mc && !mc->alias.empty()) return {Source::Alias, mc->alias, "", nullptr};
  c.name = wwid;
  if (!config.user_friendly_names) return c;
  if (const Binding* b = bindings.find_wwid(wwid)) {
    if (!configured_for_another(config, b->alias.view(), wwid)) {
      if (taken(b->alias.view())) {
        c.why = "its bound name is taken by another device";
        return c;
      }
      return {Source::Binding, b->alias.view(), "", nullptr};
    }
    c.gave_way = b;
    c.why = "its bound name is the alias of another map in maps:";
  } else if (bindings.size() == bindings.capacity()) {
    c.why = "the bindings table is full (limits.max_maps new names per run)";
    return c;
  }
  std::string_view name = bindings.free_name(
      config.alias_prefix,
      [&](std::string_view n) { return configured_for_another(config, n, wwid) || taken(n); }, scratch);
  if (name.empty()) {
    c.gave_way = nullptr;
    c.why = "no friendly name is left";
    return c;
  }
  c.source = Source::NewBinding;
  c.name = name;
  return c;
}

NameChoice plan_rename(const Config& before, const Config& after, const BindingTable& bindings,
                       std::string_view wwid, std::string_view current_name,
                       FunctionRef<bool(std::string_view)> taken, std::span<char> scratch) {
  if (current_name != map_name_for(before, bindings, wwid)) return {};
  NameChoice now = choose_map_name(after, bindings, wwid, taken, scratch);
  if (now.name == current_name) return {};
  return now;
}

DeviceDecision plan_device(const DiscoveredDevice& dev, const Config& config) {
  DeviceDecision d;
  if (is_blacklisted(config.blacklist, config.blacklist_exceptions, dev.id, &d.rule)) {
    d.reason = "blacklisted";
    return d;
  }
  d.rule = nullptr;
  const MapConfig* explicit_map = map_config_for_devnode(config, dev.id.devnode);
  d.wwid = explicit_map ? std::string_view(explicit_map->wwid) : dev.id.wwid;
  if (d.wwid.empty()) {
    d.reason = "no WWID and in no configured map";
    return d;
  }
  // A disk of no size (an NBD device not connected, a LUN not yet mapped) is
  // no path yet: the change uevent that gives it a size brings it back.
  if (dev.sectors == 0) {
    d.kind = DeviceDecision::Kind::NotYet;
    d.reason = "size 0";
    return d;
  }
  d.map_config = explicit_map ? explicit_map : map_config_for_wwid(config, d.wwid);
  d.checker = (d.map_config ? d.map_config->settings : config.defaults).checker;
  if (d.checker == CheckerKind::Tur && !is_scsi(dev.transport))
    d.checker = CheckerKind::DirectIo;  // TUR needs SCSI
  d.kind = DeviceDecision::Kind::Accept;
  d.reason = d.map_config ? "in a configured map" : "has a WWID";
  return d;
}

bool lun_replaced(std::string_view known_wwid, const DeviceDecision& now) {
  return now.kind == DeviceDecision::Kind::Accept && !now.wwid.empty() && now.wwid != known_wwid;
}

JoinDecision plan_join(uint64_t map_sectors, uint64_t path_sectors) {
  JoinDecision d;
  if (map_sectors == 0 || path_sectors == 0 || map_sectors == path_sectors) return d;
  d.join = false;
  d.reason = path_sectors < map_sectors
                 ? "smaller than its map: the kernel would refuse the table"
                 : "larger than its map: another LUN, or one that grew (it joins once the map is resized)";
  return d;
}

MapWish wants_map(const Config& config, std::string_view wwid, uint32_t paths_seen, bool known,
                  bool released) {
  using Kind = MapWish::Kind;
  if (map_config_for_wwid(config, wwid) != nullptr) return {Kind::Map, "configured in maps:"};
  if (known) return {Kind::Map, "a known WWID (made into a map before)"};
  switch (config.find_multipaths) {
    case FindMultipaths::Strict:
      return {Kind::NoMap, "find_multipaths strict: neither configured nor known"};
    case FindMultipaths::Greedy:
      return {Kind::Map, "find_multipaths greedy"};
    case FindMultipaths::On:
    case FindMultipaths::Smart:
      break;
  }
  // Released, the disk may be in use as a plain one by now: a late path makes no map.
  if (config.find_multipaths == FindMultipaths::Smart && released)
    return {Kind::NoMap,
            "released by find_multipaths smart: no other path came within find_multipaths_timeout"};
  if (paths_seen >= config.min_paths_for_map) return {Kind::Map, "seen on min_paths paths"};
  if (config.find_multipaths == FindMultipaths::On) return {Kind::NoMap, "fewer paths than min_paths"};
  return {Kind::Hold, "find_multipaths smart: waiting for more paths"};
}

// ---------------------------------------------------------------- DM devices

DmOwnership dm_ownership(std::string_view uuid, bool multipath_target) {
  DmOwnership o;
  if (!multipath_target) {
    o.reason = "not a multipath target";
  } else if (!uuid.starts_with(kUuidPrefix)) {
    o.reason = uuid.empty() ? "no DM UUID" : "its DM UUID does not start with mpath-";
  } else if (uuid.size() == kUuidPrefix.size()) {
    o.reason = "its DM UUID names no WWID";
  } else {
    o.ours = true;
    o.wwid = uuid.substr(kUuidPrefix.size());
  }
  return o;
}

// ---------------------------------------------------------------- ALUA

namespace {

Alua settle(Alua a, AluaState now) {
  a.state = now;
  if (now != AluaState::Transitioning && now != AluaState::Unknown) a.settled = now;
  return a;
}

}  // namespace

Alua alua_from_sysfs(const Alua& before, AluaState sysfs, bool sysfs_preferred) {
  if (before.state == AluaState::None) return before;
  if (sysfs == AluaState::Unknown) return before;  // unreadable: the last known state stays
  Alua a = settle(before, sysfs);
  a.preferred = sysfs_preferred;
  return a;
}

Alua alua_after_check(const Alua& before, CheckVerdict verdict, AluaReport said, AluaState sysfs,
                      bool sysfs_preferred) {
  if (before.state == AluaState::None) return before;
  Alua a = before;
  if (sysfs != AluaState::Unknown) a.preferred = sysfs_preferred;
  // The answer itself names the state: it is the newest word from the array.
  if (said.said == AluaState::Standby || said.said == AluaState::Unavailable ||
      said.said == AluaState::Transitioning)
    return settle(a, said.said);
  if (verdict == CheckVerdict::Up) {
    if (alua_active(sysfs)) return settle(a, sysfs);
    // GOOD through a port sysfs does not call active: sysfs is behind (the
    // alua handler reads the new states after the unit attention).
    if (alua_active(a.state)) return a;
    return settle(a, AluaState::NonOptimized);
  }
  // Down, or Pending for another reason: the port's state is not known anew.
  if (sysfs != AluaState::Unknown && verdict != CheckVerdict::Down) return settle(a, sysfs);
  return a;
}

bool tpg_from_vpd83(std::span<const uint8_t> page, uint16_t& tpg) {
  if (page.size() < 4 || page[1] != 0x83) return false;
  size_t length = (size_t{page[2]} << 8) | page[3];
  size_t end = std::min(page.size(), 4 + length);
  for (size_t at = 4; at + 4 <= end;) {
    const uint8_t type = page[at + 1] & 0x0f;
    const uint8_t association = (page[at + 1] >> 4) & 0x3;
    const size_t len = page[at + 3];
    if (at + 4 + len > end) return false;
    // Type 5, associated with the target port: 2 reserved bytes, then the id.
    if (type == 0x5 && association == 0x1 && len >= 4) {
      tpg = static_cast<uint16_t>((page[at + 6] << 8) | page[at + 7]);
      return true;
    }
    at += 4 + len;
  }
  return false;
}

// ---------------------------------------------------------------- maps

bool alua_reorder_worthwhile(std::span<const MemberFacts> members) {
  for (const MemberFacts& m : members)
    if (m.alua.state == AluaState::None || alua_active(m.alua.state)) return true;
  return false;
}

const char* table_difference(const MultipathTable& want, const MultipathTable& have) {
  if (!(want.features == have.features)) return "features differ";
  if (want.hw_handler != have.hw_handler) return "hardware handler differs";
  auto sorted_equal = [](std::span<const DevT> a, std::span<const DevT> b) {
    if (a.size() != b.size()) return false;
    for (DevT x : a)
      if (std::find(b.begin(), b.end(), x) == b.end()) return false;
    return true;
  };
  if (!sorted_equal(want.paths, have.paths)) return "paths differ";
  if (std::equal(want.groups.begin(), want.groups.end(), have.groups.begin(), have.groups.end()) &&
      std::equal(want.paths.begin(), want.paths.end(), have.paths.begin(), have.paths.end()))
    return nullptr;
  // Same paths: the same groups in another order?
  if (want.groups.size() == have.groups.size()) {
    bool same_sets = true;
    for (const TableGroup& w : want.groups) {
      auto wp = want.paths.subspan(w.first_path, w.path_count);
      bool found = false;
      for (const TableGroup& h : have.groups) {
        if (h.path_count != w.path_count || h.selector != w.selector) continue;
        if (sorted_equal(wp, have.paths.subspan(h.first_path, h.path_count))) found = true;
      }
      same_sets = same_sets && found;
    }
    if (same_sets) return "group order changed";
  }
  return "path groups differ";
}

MapPlan plan_map(const MapSettings& settings, std::span<const MemberFacts> members, const KernelMap& kernel,
                 const MapPlanStorage& st, uint64_t resize_to) {
  MapPlan plan;
  const size_t n = members.size();
  if (n == 0 || st.inputs.size() < n || st.path_group.size() < n) {
    plan.reason = n == 0 ? "no path" : "more paths than limits.max_paths_per_map";
    return plan;
  }
  for (size_t k = 0; k < n; ++k) {
    const MemberFacts& m = members[k];
    const bool alua = m.alua.state != AluaState::None;
    st.inputs[k] = GroupInput{m.devt, path_priority(m.alua), alua, m.alua.group_id, m.alua.group_id_known};
    if (plan.sectors == 0) plan.sectors = m.sectors;
  }
  MultipathTable want = build_table(settings, st.inputs.first(n), st.groups, st.paths, st.path_group);
  // Keep the kernel's current queueing choice: no_path_retry may have ended it.
  if (kernel.in_kernel) want.features.queue_if_no_path = kernel.queueing;
  size_t len = format_multipath_table(want, st.text);
  if (len == 0) {
    plan.reason = "the table does not fit";
    return plan;
  }
  plan.table = std::string_view(st.text.data(), len);
  plan.best_group = want.groups.empty() ? 0 : 1;
  if (!kernel.in_kernel) {
    plan.kind = MapPlan::Kind::Create;
    plan.reason = "new map";
    return plan;
  }
  // A live map keeps its size: only plan_resize's decision changes it.
  if (resize_to != 0) {
    plan.sectors = resize_to;
  } else if (kernel.sectors != 0) {
    plan.sectors = kernel.sectors;
  }
  MultipathTable have;
  if (kernel.table.empty() ||
      !parse_multipath_table(kernel.table, st.current_groups, st.current_paths, have)) {
    plan.kind = MapPlan::Kind::Reload;
    plan.reason =
        kernel.table.empty() ? "the kernel's map has no table" : "the kernel's table is not understood";
    return plan;
  }
  if (plan.sectors != kernel.sectors) {
    plan.kind = MapPlan::Kind::Reload;
    plan.reason = plan.sectors > kernel.sectors ? "the LUN grew" : "size changed";
    return plan;
  }
  // The queueing choice is the kernel's to keep (compared apart, above).
  want.features.queue_if_no_path = have.features.queue_if_no_path;
  const char* diff = table_difference(want, have);
  plan.kind = diff ? MapPlan::Kind::Reload : MapPlan::Kind::Keep;
  plan.reason = diff ? diff : "already matches";
  return plan;
}

// ---------------------------------------------------------------- resize

ResizeDecision plan_resize(uint64_t map_sectors, std::span<const MemberFacts> members, AutoResize policy,
                           bool asked) {
  using Kind = ResizeDecision::Kind;
  ResizeDecision d;
  size_t said = SIZE_MAX;  // the first usable member with a known size
  for (size_t k = 0; k < members.size(); ++k) {
    const MemberFacts& m = members[k];
    if (!m.usable || m.sectors == 0) continue;
    if (said == SIZE_MAX) {
      said = k;
    } else if (m.sectors != members[said].sectors) {
      d.kind = Kind::Disagree;
      d.reason = "its usable paths say different sizes; nothing changes until they agree";
      d.first = said;
      d.other = k;
      return d;
    }
  }
  if (said == SIZE_MAX) {
    d.reason = "no usable path with a known size";
    return d;
  }
  d.sectors = members[said].sectors;
  if (d.sectors == map_sectors) {
    d.kind = Kind::Same;
    d.reason = "every usable path says the map's size";
    return d;
  }
  if (d.sectors < map_sectors) {
    d.kind = Kind::Shrink;
    d.reason =
        "the LUN is smaller than the map; shrinking is never applied (data beyond the new end would be lost)";
    return d;
  }
  for (size_t k = 0; k < members.size(); ++k) {
    const MemberFacts& m = members[k];
    if (m.usable || m.sectors == 0 || m.sectors >= d.sectors) continue;
    d.kind = Kind::TooSmall;
    d.reason =
        "a path that is not usable still says a smaller size, and the kernel refuses a map larger than any "
        "of its paths";
    d.first = k;
    return d;
  }
  if (!asked && policy == AutoResize::Off) {
    d.kind = Kind::Waits;
    d.reason = "the LUN grew; auto_resize is off, so the map grows when an operator runs resize map";
    return d;
  }
  d.kind = Kind::Grow;
  d.reason = asked ? "the LUN grew; resized as asked" : "the LUN grew (auto_resize: grow)";
  return d;
}

// ---------------------------------------------------------------- removal

bool is_partition_of(std::string_view uuid, std::string_view wwid) {
  // "part" digits "-" "mpath-" wwid
  if (!uuid.starts_with("part")) return false;
  size_t at = 4;
  while (at < uuid.size() && uuid[at] >= '0' && uuid[at] <= '9') ++at;
  if (at == 4 || at >= uuid.size() || uuid[at] != '-') return false;
  std::string_view rest = uuid.substr(at + 1);
  return rest.starts_with(kUuidPrefix) && rest.substr(kUuidPrefix.size()) == wwid && !wwid.empty();
}

RemovalPlan plan_removal(int32_t map_open_count, std::span<const PartitionFacts> partitions) {
  RemovalPlan r;
  for (const PartitionFacts& p : partitions) {
    if (p.open_count > 0) {
      r.reason = "a partition on it is open (mounted, or held by LVM or another device)";
      r.partition = p.name;
      r.holders = p.open_count;
      return r;
    }
  }
  const int32_t others = map_open_count - static_cast<int32_t>(partitions.size());
  if (others > 0) {
    r.reason = "it is open (mounted, or held by LVM or another device)";
    r.holders = others;
    return r;
  }
  r.kind = RemovalPlan::Kind::Remove;
  r.reason = "nothing holds it open";
  return r;
}

}  // namespace pk::core
