#include "tests/steady/fakes.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>

#include "core/text.h"

namespace pk::steady {

namespace {
void signal_fd(int fd) {
  uint64_t one = 1;
  ssize_t n = ::write(fd, &one, sizeof one);
  (void)n;
}
void drain_fd(int fd) {
  uint64_t v;
  ssize_t n = ::read(fd, &v, sizeof v);
  (void)n;
}
// As dm-multipath: I/O stays on the current group while it has an active
// path, else moves to the first group that has one.
void choose_group(FakeMap& m) {
  auto has_active = [&](size_t g) {
    const core::TableGroup& group = m.table.groups[g];
    for (size_t k = group.first_path; k < size_t{group.first_path} + group.path_count; ++k)
      if (m.active[k]) return true;
    return false;
  };
  if (m.active_group >= 1 && m.active_group <= m.table.groups.size() && has_active(m.active_group - 1))
    return;
  for (size_t g = 0; g < m.table.groups.size(); ++g) {
    if (has_active(g)) {
      m.active_group = static_cast<uint16_t>(g + 1);
      return;
    }
  }
}

}  // namespace

FakeStorage::FakeStorage() {
  dm_event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  uevent_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  completion_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

FakeStorage::~FakeStorage() {
  for (int fd : {dm_event_fd, uevent_fd, completion_fd}) ::close(fd);
}

void FakeStorage::add_path(std::string_view dev, core::DevT devt, std::string_view wwid) {
  FakePath& p = paths[path_count++];
  p.dev.assign(dev);
  p.devt = devt;
  p.wwid.assign(wwid);
}

void FakeStorage::set_behaviour(std::string_view dev, Behaviour b) {
  for (uint32_t i = 0; i < path_count; ++i) {
    FakePath& p = paths[i];
    if (p.dev.view() != dev) continue;
    // A hung command comes back once the storage answers again.
    if (p.behaviour == Behaviour::Hang && b != Behaviour::Hang && p.in_flight) {
      p.in_flight = false;
      completions[completion_head++ % completions.size()] = {
          p.daemon_index, b == Behaviour::Up ? checkers::Verdict::Up : checkers::Verdict::Down};
      signal_fd(completion_fd);
    }
    p.behaviour = b;
    // An answering path that fails I/O: the kernel fails it and says so. A
    // hung one produces no error; only the daemon's checks can notice it.
    if (b == Behaviour::Down) kernel_fails(dev);
  }
}

void FakeStorage::kernel_fails(std::string_view dev) {
  const FakePath* p = path(dev);
  if (!p) return;
  for (FakeMap& m : maps) {
    if (!m.used) continue;
    for (size_t k = 0; k < m.table.paths.size(); ++k) {
      if (!(m.paths[k] == p->devt) || !m.active[k]) continue;
      m.active[k] = false;
      ++m.fail_count[k];
      choose_group(m);
      ++m.event_nr;
      FakeEvent& e = events[event_head++ % events.size()];
      e.dm = true;
      e.name = m.name;
      char devt[16];
      e.dm_path.assign({devt, core::format_devt(p->devt, devt)});
      signal_fd(uevent_fd);
      signal_fd(dm_event_fd);
    }
  }
}

void FakeStorage::storm(uint32_t n) {
  for (uint32_t i = 0; i < n && path_count > 0; ++i) {
    FakeEvent& e = events[event_head++ % events.size()];
    e.dm = false;
    e.action = adapters::DeviceAction::Change;
    e.name.assign(paths[i % path_count].dev.view());
    e.dm_path.clear();
  }
  signal_fd(uevent_fd);
}

bool FakeStorage::path_active_in_dm(std::string_view dev) const {
  for (uint32_t i = 0; i < path_count; ++i) {
    if (paths[i].dev.view() != dev) continue;
    for (const FakeMap& m : maps)
      for (size_t k = 0; m.used && k < m.table.paths.size(); ++k)
        if (m.paths[k] == paths[i].devt) return m.active[k];
  }
  return false;
}

bool FakeStorage::map_queueing(size_t map) const { return queueing[map]; }

FakeMap* FakeStorage::map(std::string_view name) {
  for (FakeMap& m : maps)
    if (m.used && m.name.view() == name) return &m;
  return nullptr;
}

FakePath* FakeStorage::path(std::string_view dev) {
  for (uint32_t i = 0; i < path_count; ++i)
    if (paths[i].dev.view() == dev) return &paths[i];
  return nullptr;
}

void FakeStorage::set_alua(std::string_view dev, core::AluaState state) {
  FakePath* p = path(dev);
  if (!p) return;
  p->alua = state;
  for (uint32_t i = 0; i < path_count; ++i)
    if (paths[i].wwid == p->wwid.view()) paths[i].unit_attention = true;
  if (sysfs_root.empty()) return;
  char file[320];
  std::snprintf(file, sizeof file, "%s/block/%s/device/access_state", sysfs_root.c_str(), p->dev.c_str());
  int fd = ::open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);  // the same inode: the daemon keeps it open
  if (fd < 0) return;
  std::string_view text = core::alua_state_name(state);
  ssize_t n = ::write(fd, text.data(), text.size());
  n = ::write(fd, "\n", 1);
  (void)n;
  ::close(fd);
}

void FakeStorage::hotplug(std::string_view dev, adapters::DeviceAction action) {
  for (uint32_t i = 0; i < path_count; ++i)
    if (paths[i].dev.view() == dev) hidden[i] = action == adapters::DeviceAction::Remove;
  FakeEvent& e = events[event_head++ % events.size()];
  e.dm = false;
  e.action = action;
  e.name.assign(dev);
  e.dm_path.clear();
  signal_fd(uevent_fd);
}

void FakeStorage::remove_map_behind_the_back(std::string_view name) {
  if (FakeMap* m = map(name)) {
    m->used = false;
    signal_fd(dm_event_fd);
  }
}

void FakeStorage::add_partition(std::string_view map_name, uint32_t number) {
  const FakeMap* parent = map(map_name);
  if (!parent) return;
  for (size_t i = 0; i < maps.size(); ++i) {
    FakeMap& m = maps[i];
    if (m.used) continue;
    m = FakeMap{};
    m.used = true;
    char text[160];
    core::FixedWriter name(text);
    name.text(parent->name.view()).text("-part").number(number);
    m.name.assign(name.view());
    core::FixedWriter uuid(text);
    uuid.text("part").number(number).ch('-').text(parent->uuid.view());
    m.uuid.assign(uuid.view());
    m.devt = core::DevT{254, static_cast<uint32_t>(i)};
    m.multipath = false;
    signal_fd(dm_event_fd);
    return;
  }
}

int32_t FakeStorage::open_count(const FakeMap& m) const {
  int32_t n = m.holders;
  for (const FakeMap& p : maps) {
    std::string_view uuid = p.uuid.view();
    size_t dash = uuid.find('-');
    if (p.used && uuid.starts_with("part") && dash != std::string_view::npos &&
        uuid.substr(dash + 1) == m.uuid.view())
      ++n;
  }
  return n;
}

void FakeStorage::set_size(std::string_view dev, uint64_t sectors) {
  if (sysfs_root.empty()) return;
  char file[320];
  std::snprintf(file, sizeof file, "%s/block/%.*s/size", sysfs_root.c_str(), static_cast<int>(dev.size()),
                dev.data());
  int fd = ::open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return;
  char text[32];
  core::FixedWriter w(text);
  w.number(sectors).ch('\n');
  ssize_t n = ::write(fd, text, w.size());
  (void)n;
  ::close(fd);
  hotplug(dev, adapters::DeviceAction::Change);
}

// ------------------------------------------------------------------ DM

bool FakeDm::open(size_t, core::Error& err) {
  if (!world_.dm_missing) return true;
  err.set("cannot open /dev/mapper/control: No such file or directory");
  return false;
}
int FakeDm::event_fd() const { return world_.dm_event_fd; }
bool FakeDm::arm_events(core::Error&) {
  drain_fd(world_.dm_event_fd);
  return true;
}

namespace {
FakeMap* find(FakeStorage& w, std::string_view name, size_t* index = nullptr) {
  for (size_t i = 0; i < w.maps.size(); ++i) {
    if (w.maps[i].used && w.maps[i].name.view() == name) {
      if (index) *index = i;
      return &w.maps[i];
    }
  }
  return nullptr;
}

bool load(FakeMap& m, bool& queueing, std::string_view params, core::Error& err) {
  core::MultipathTable t;
  core::ParseResult r = core::parse_multipath_table(params, m.groups, m.paths, t);
  if (!r) {
    err.set("fake dm: bad table: %s", r.what);
    return false;
  }
  m.table = t;
  queueing = t.features.queue_if_no_path;
  for (size_t k = 0; k < t.paths.size(); ++k) m.active[k] = true;
  m.active_group = t.initial_group;
  ++m.event_nr;
  return true;
}
}  // namespace

bool FakeDm::create(std::string_view name, std::string_view uuid, uint64_t sectors, std::string_view params,
                    core::Error& err) {
  for (size_t i = 0; i < world_.maps.size(); ++i) {
    FakeMap& m = world_.maps[i];
    if (m.used) continue;
    m.used = true;
    m.name.assign(name);
    m.uuid.assign(uuid);
    m.sectors = sectors;
    m.devt = core::DevT{254, static_cast<uint32_t>(i)};
    m.multipath = true;
    m.holders = 0;
    ++world_.counts.creates;
    signal_fd(world_.dm_event_fd);
    return load(m, world_.queueing[i], params, err);
  }
  err.set("fake dm: full");
  return false;
}

bool FakeDm::reload(std::string_view name, uint64_t sectors, std::string_view params, core::Error& err) {
  size_t i = 0;
  FakeMap* m = find(world_, name, &i);
  if (!m) {
    err.set("fake dm: no map");
    return false;
  }
  m->sectors = sectors;
  ++world_.counts.reloads;
  return load(*m, world_.queueing[i], params, err);
}

bool FakeDm::remove(std::string_view name, core::Error& err) {
  size_t i = 0;
  FakeMap* m = find(world_, name, &i);
  if (!m) {
    err.set("fake dm: no map");
    return false;
  }
  if (world_.open_count(*m) > 0) {  // as the kernel: EBUSY
    ++world_.counts.removes_refused;
    err.set("fake dm: %.*s is open", static_cast<int>(name.size()), name.data());
    return false;
  }
  if (m->multipath && world_.queueing[i]) ++world_.counts.removed_while_queueing;
  ++world_.counts.removes;
  m->used = false;
  signal_fd(world_.dm_event_fd);
  return true;
}

bool FakeDm::open_count(std::string_view map, int32_t& count, core::Error& err) {
  FakeMap* m = find(world_, map);
  if (!m) {
    err.set("fake dm: no map");
    return false;
  }
  count = world_.open_count(*m);
  return true;
}

bool FakeDm::rename(std::string_view name, std::string_view new_name, core::Error& err) {
  FakeMap* m = find(world_, name);
  if (!m || find(world_, new_name)) {
    err.set(m ? "fake dm: name taken" : "fake dm: no map");
    return false;
  }
  m->name.assign(new_name);
  ++world_.counts.renames;
  signal_fd(world_.dm_event_fd);
  return true;
}

bool FakeDm::message(std::string_view map, std::string_view text, core::Error& err) {
  size_t i = 0;
  FakeMap* m = find(world_, map, &i);
  if (!m) {
    err.set("fake dm: no map");
    return false;
  }
  core::Words words(text);
  std::string_view verb = words.next();
  Counts& c = world_.counts;
  if (verb == "fail_path" || verb == "reinstate_path") {
    core::DevT devt;
    if (!core::parse_devt(words.next(), devt)) {
      err.set("fake dm: bad path");
      return false;
    }
    bool reinstate = verb == "reinstate_path";
    ++(reinstate ? c.reinstate_path : c.fail_path);
    for (size_t k = 0; k < m->table.paths.size(); ++k) {
      if (!(m->paths[k] == devt)) continue;
      if (!reinstate && m->active[k]) ++m->fail_count[k];
      m->active[k] = reinstate;
    }
    choose_group(*m);
    ++m->event_nr;
    signal_fd(world_.dm_event_fd);
  } else if (verb == "switch_group") {
    uint64_t g = 0;
    if (!core::parse_uint(words.next(), g) || g == 0 || g > m->table.groups.size()) {
      err.set("fake dm: bad group");
      return false;
    }
    ++c.switch_group;
    m->active_group = static_cast<uint16_t>(g);
    ++m->event_nr;
    signal_fd(world_.dm_event_fd);
  } else if (verb == "queue_if_no_path") {
    ++c.queue_if_no_path;
    world_.queueing[i] = true;
  } else if (verb == "fail_if_no_path") {
    ++c.fail_if_no_path;
    world_.queueing[i] = false;
  } else {
    ++c.other;
  }
  return true;
}

bool FakeDm::status(std::string_view map, std::string_view& params, uint32_t& event_nr, core::Error& err) {
  FakeMap* m = find(world_, map);
  if (!m) {
    err.set("fake dm: no map");
    return false;
  }
  core::FixedWriter w(buf_);
  w.text("2 0 0 0 ").number(m->table.groups.size()).ch(' ').number(m->active_group);
  for (size_t g = 0; g < m->table.groups.size(); ++g) {
    const core::TableGroup& group = m->table.groups[g];
    w.text(g + 1 == m->active_group ? " A 0 " : " E 0 ").number(group.path_count).text(" 2");
    for (size_t k = group.first_path; k < size_t{group.first_path} + group.path_count; ++k) {
      w.ch(' ').number(m->paths[k].major).ch(':').number(m->paths[k].minor);
      w.text(m->active[k] ? " A " : " F ").number(m->fail_count[k]).text(" 0 1");
    }
  }
  params = w.view();
  event_nr = m->event_nr;
  return !w.overflowed();
}

bool FakeDm::table(std::string_view map, std::string_view& params, uint64_t& sectors, core::Error& err) {
  size_t i = 0;
  FakeMap* m = find(world_, map, &i);
  if (!m) {
    err.set("fake dm: no map");
    return false;
  }
  core::MultipathTable t = m->table;
  t.features.queue_if_no_path = world_.queueing[i];
  size_t n = core::format_multipath_table(t, buf_);
  params = {buf_, n};
  sectors = m->sectors;
  return n > 0;
}

bool FakeDm::list(std::span<adapters::DmMapInfo> out, size_t& count, core::Error&) {
  count = 0;
  for (const FakeMap& m : world_.maps) {
    if (!m.used || count >= out.size()) continue;
    adapters::DmMapInfo& info = out[count++];
    core::FixedWriter name(info.name);
    name.text(m.name.view()).ch('\0');
    core::FixedWriter uuid(info.uuid);
    uuid.text(m.uuid.view()).ch('\0');
    info.devt = m.devt;
    info.event_nr = m.event_nr;
    info.multipath = m.multipath;
  }
  return true;
}

// ------------------------------------------------------------- devices

namespace {
adapters::BlockDevice describe(const FakePath& p, adapters::DeviceAction action) {
  adapters::BlockDevice d;
  d.action = action;
  d.name = p.dev.view();
  d.devt = p.devt;
  d.wwid = p.wwid.view();
  d.transport = checkers::Transport::Iscsi;
  d.alua = p.alua != core::AluaState::None;
  return d;
}
}  // namespace

bool FakeDevices::open(core::Error&) { return true; }
int FakeDevices::monitor_fd() const { return world_.uevent_fd; }

bool FakeDevices::enumerate(const BlockFn& fn, core::Error&) {
  for (uint32_t i = 0; i < world_.path_count; ++i) {
    if (world_.hidden[i]) continue;
    fn(describe(world_.paths[i], adapters::DeviceAction::Add));
  }
  return true;
}

size_t FakeDevices::receive(const BlockFn& on_block, const TransportFn&) {
  drain_fd(world_.uevent_fd);
  size_t n = 0;
  while (world_.event_tail != world_.event_head) {
    const FakeEvent& e = world_.events[world_.event_tail++ % world_.events.size()];
    adapters::BlockDevice d;
    d.action = adapters::DeviceAction::Change;
    if (e.dm) {
      d.name = "dm-0";
      d.dm_name = e.name.view();
      d.dm_action = "PATH_FAILED";
      d.dm_path = e.dm_path.view();
    } else if (const FakePath* p = world_.path(e.name.view())) {
      d = describe(*p, e.action);
    } else {
      d.name = e.name.view();
    }
    on_block(d);
    ++n;
    ++world_.counts.uevents;
  }
  return n;
}

// ------------------------------------------------------------- checker

bool FakeChecker::init(uint32_t, core::Error&) { return true; }
int FakeChecker::completion_fd() const { return kind_ == core::CheckerKind::Tur ? world_.completion_fd : -1; }

bool FakeChecker::attach(checkers::PathIndex path, const checkers::PathIdentity& id, core::Error& err) {
  for (uint32_t i = 0; i < world_.path_count; ++i) {
    if (world_.paths[i].dev.view() == id.dev) {
      world_.paths[i].daemon_index = path;
      return true;
    }
  }
  err.set("fake checker: unknown device");
  return false;
}

void FakeChecker::detach(checkers::PathIndex) {}

checkers::StartResult FakeChecker::start(checkers::PathIndex path, core::MonoTime) {
  for (uint32_t i = 0; i < world_.path_count; ++i) {
    FakePath& p = world_.paths[i];
    if (p.daemon_index != path) continue;
    if (p.in_flight) {
      ++world_.counts.checks_busy;
      return {checkers::StartResult::Kind::Busy, checkers::Verdict::Down};
    }
    ++world_.counts.checks_started;
    if (p.behaviour == Behaviour::Hang) {
      p.in_flight = true;
      return {checkers::StartResult::Kind::InFlight, checkers::Verdict::Down};
    }
    checkers::Completion done{path,
                              p.behaviour == Behaviour::Up ? checkers::Verdict::Up : checkers::Verdict::Down};
    if (p.behaviour == Behaviour::Up) {
      switch (p.alua) {
        case core::AluaState::Standby:
        case core::AluaState::Unavailable:
          done.verdict = checkers::Verdict::Ghost;
          break;
        case core::AluaState::Transitioning:
          done.verdict = checkers::Verdict::Pending;
          break;
        default:
          break;
      }
      if (done.verdict != checkers::Verdict::Up) done.alua.said = p.alua;
    }
    done.alua.changed = p.unit_attention;
    p.unit_attention = false;
    world_.completions[world_.completion_head++ % world_.completions.size()] = done;
    signal_fd(world_.completion_fd);
    return {checkers::StartResult::Kind::InFlight, checkers::Verdict::Down};
  }
  return {checkers::StartResult::Kind::Failed, checkers::Verdict::Down};
}

checkers::TransportState FakeChecker::transport_state(checkers::PathIndex path) {
  for (uint32_t i = 0; i < world_.path_count; ++i) {
    if (world_.paths[i].daemon_index != path) continue;
    ++world_.counts.transport_probes;
    return world_.paths[i].behaviour == Behaviour::Up ? checkers::TransportState::Up
                                                      : checkers::TransportState::Down;
  }
  return checkers::TransportState::Unknown;
}

size_t FakeChecker::reap(std::span<checkers::Completion> out) {
  drain_fd(world_.completion_fd);
  size_t n = 0;
  while (n < out.size() && world_.completion_tail != world_.completion_head)
    out[n++] = world_.completions[world_.completion_tail++ % world_.completions.size()];
  if (world_.completion_tail != world_.completion_head) signal_fd(world_.completion_fd);
  return n;
}

}  // namespace pk::steady
