#include "ipc/dbus_service.h"

#include <poll.h>
#include <sys/epoll.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/snapshot_json.h"
#include "core/text.h"
#include "ipc/dbus_changes.h"
#include "ipc/dbus_objects.h"
#include "pk_build_config.h"

namespace pk::ipc {

namespace {

using namespace dbus;
using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

constexpr char kSystemBusSocket[] = "/run/dbus/system_bus_socket";
constexpr int kMaxProcessRounds = 64;  // messages handled per tick before the socket clients get a turn
constexpr uint64_t kCredsTimeoutUsec = 10 * 1000 * 1000;  // the bus daemon's answer about a caller
constexpr size_t kMessageBytes = sizeof(CommandResult::message);

// A message of the D-Bus side: to options.log, or one line on stderr in the
// daemon's log format ("<5>notice dbus: ..."), which journald reads with its
// priority. Rare (changes of the bus connection), formatted on the stack.
void say(const DbusOptions& options, int priority, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
void say(const DbusOptions& options, int priority, const char* format, ...) {
  char text[640];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  if (n < 0) return;
  if (options.log) {
    options.log(priority, text);
    return;
  }
  const char* level = priority <= 3 ? "error" : priority == 4 ? "warning" : priority == 5 ? "notice" : "info";
  char line[768];
  int len = std::snprintf(line, sizeof line - 1, "<%d>%s dbus: %s", priority, level, text);
  if (len < 0) return;
  size_t size = std::min(static_cast<size_t>(len), sizeof line - 2);
  line[size++] = '\n';
  ssize_t w = ::write(STDERR_FILENO, line, size);
  (void)w;
}

uint64_t monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

int ms_until(TimePoint t, TimePoint now) {
  if (t <= now) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - now).count();
  return static_cast<int>(std::min<int64_t>(ms, 24 * 3600 * 1000));
}

int earlier(int a, int b) {
  if (a < 0) return b;
  if (b < 0) return a;
  return std::min(a, b);
}

const char* name_of(Command::Kind k) {
  switch (k) {
    case Command::Kind::FailPath:
      return "FailPath";
    case Command::Kind::ReinstatePath:
      return "ReinstatePath";
    case Command::Kind::ClearMarginal:
      return "ClearMarginal";
    case Command::Kind::SwitchGroup:
      return "SwitchGroup";
    case Command::Kind::DisableQueueing:
      return "DisableQueueing";
    case Command::Kind::RestoreQueueing:
      return "RestoreQueueing";
    case Command::Kind::Reconfigure:
      return "Reconfigure";
    case Command::Kind::RemoveMap:
      return "RemoveMap";
    case Command::Kind::RemovePath:
      return "RemovePath";
    case Command::Kind::AddPath:
      return "AddPath";
    case Command::Kind::ResizeMap:
      return "ResizeMap";
  }
  return "?";
}

struct Call {
  enum class Phase : uint8_t {
    Free,
    Creds,   // waits for the bus daemon to say who the caller is
    Loop,    // waits for the loop's result
    Buffer,  // GetTopologyJSON: waits for the shared render buffer
  };
  Phase phase = Phase::Free;
  DbusService::Impl* owner = nullptr;
  sd_bus_message* msg = nullptr;  // the method call, answered later
  sd_bus_slot* creds = nullptr;   // the pending GetConnectionCredentials
  Command cmd;
  uint32_t token = 0;
  uint64_t order = 0;
  TimePoint deadline{};
};

}  // namespace

struct DbusService::Impl final : ChangeSink {
  // Set in init, read-only after.
  DbusOptions options;
  core::SnapshotExchange* snapshots = nullptr;
  CommandChannel* commands = nullptr;
  DbusHost* host = nullptr;
  int epoll_fd = -1;
  uint64_t epoll_tag = 0;
  std::unique_ptr<Call[]> calls;
  ChangeTracker tracker;

  // Service thread.
  sd_bus* bus = nullptr;
  int bus_fd = -1;
  uint32_t bus_events = 0;
  bool more = false;              // sd_bus_process has more to do than one tick allowed
  bool said_unavailable = false;  // "no bus" said once until the next connection
  TimePoint next_retry{};
  TimePoint next_poll{};
  uint64_t call_order = 0;
  const core::Snapshot* snap = nullptr;  // the snapshot of this tick

  // Shared (stats).
  std::atomic<bool> connected{false}, name_owned{false};
  std::atomic<uint64_t> connects{0}, method_calls{0}, denied{0}, signals{0}, signals_deferred{0};

  ~Impl() {
    epoll_fd = -1;  // the service may have closed it already: the connection's fd goes with the connection
    close_bus();
  }

  const char* bus_label() const { return options.address.empty() ? "system bus" : "bus"; }

  // Connection
  void connect();
  void unavailable(const char* why);
  void disconnect(int error);
  void close_bus();
  bool register_objects();
  void process();
  void update_interest();
  void poll_snapshot(TimePoint now);

  // Calls
  Call* new_call(sd_bus_message* m);
  void free_call(Call& c);
  int start_command(sd_bus_message* m, Command::Kind kind, sd_bus_error* error);
  void on_credentials(Call& c, sd_bus_message* reply);
  void reply_ok(Call& c, std::string_view message);
  void reply_error(Call& c, const char* name, const char* format, ...) __attribute__((format(printf, 4, 5)));
  void reply_error_text(Call& c, const char* name, std::string_view message);
  void answer_topology();
  void expire(TimePoint now);

  // ChangeSink: signals.
  void path_added(std::string_view dev) override { added(kPathPrefix, dev, kPathInterface); }
  void path_removed(std::string_view dev) override { removed(kPathPrefix, dev, kPathInterface); }
  void path_changed(std::string_view dev, uint8_t what) override {
    const char* names[4] = {};
    int n = 0;
    if (what & kPathState) names[n++] = "State";
    if (what & kPathDmState) names[n++] = "DmState";
    if (what & kPathMarginal) names[n++] = "Marginal";
    changed(kPathPrefix, dev, kPathInterface, names);
  }
  void map_added(std::string_view name) override { added(kMapPrefix, name, kMapInterface); }
  void map_removed(std::string_view name) override { removed(kMapPrefix, name, kMapInterface); }
  void map_changed(std::string_view name, uint8_t what) override {
    const char* names[4] = {};
    int n = 0;
    if (what & kMapQueueing) names[n++] = "Queueing";
    if (what & kMapPathsActive) names[n++] = "PathsActive";
    if (what & kMapAllPathsDown) names[n++] = "AllPathsDown";
    changed(kMapPrefix, name, kMapInterface, names);
  }
  void manager_changed(uint8_t what) override {
    const char* names[4] = {};
    int n = 0;
    if (what & kManagerReady) names[n++] = "Ready";
    if (what & kManagerPathCount) names[n++] = "PathCount";
    if (what & kManagerMapCount) names[n++] = "MapCount";
    count(
        sd_bus_emit_properties_changed_strv(bus, kManagerPath, kManagerInterface, const_cast<char**>(names)));
  }
  void added(const char* prefix, std::string_view id, const char* interface) {
    char path[kObjectPathBytes];
    if (object_path(prefix, id, path)) count(sd_bus_emit_interfaces_added(bus, path, interface, nullptr));
  }
  void removed(const char* prefix, std::string_view id, const char* interface) {
    char path[kObjectPathBytes];
    if (object_path(prefix, id, path)) count(sd_bus_emit_interfaces_removed(bus, path, interface, nullptr));
  }
  void changed(const char* prefix, std::string_view id, const char* interface, const char** names) {
    char path[kObjectPathBytes];
    if (object_path(prefix, id, path))
      count(sd_bus_emit_properties_changed_strv(bus, path, interface, const_cast<char**>(names)));
  }
  void count(int r) {
    if (r >= 0) signals.fetch_add(1, std::memory_order_relaxed);
  }
};

namespace {

using Impl = DbusService::Impl;

Impl& impl_of(void* userdata) { return *static_cast<Impl*>(userdata); }
const core::Snapshot& pinned(void* userdata) { return *impl_of(userdata).snap; }

// --- Property getters --------------------------------------------------------
// The manager's get the Impl as userdata; a map's or a path's get its record
// in the snapshot of this tick (found by find_map / find_path).

#define PK_GETTER(name)                                                                           \
  int name(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata, \
           sd_bus_error*)

int append_string(sd_bus_message* reply, std::string_view text) {
  char buf[dbus_string_bytes(256)];
  return sd_bus_message_append_basic(reply, 's', dbus_string(text.substr(0, 256), buf));
}
int append_u32(sd_bus_message* reply, uint64_t v) {
  uint32_t x = static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX));
  return sd_bus_message_append_basic(reply, 'u', &x);
}
int append_u64(sd_bus_message* reply, uint64_t v) { return sd_bus_message_append_basic(reply, 't', &v); }
int append_bool(sd_bus_message* reply, bool v) {
  int x = v ? 1 : 0;
  return sd_bus_message_append_basic(reply, 'b', &x);
}
int append_devt(sd_bus_message* reply, core::DevT d) {
  char buf[32] = {};
  core::format_devt(d, std::span<char>(buf, sizeof buf - 1));
  return sd_bus_message_append_basic(reply, 's', buf);
}
uint64_t as_u64(int64_t v) { return v < 0 ? 0 : static_cast<uint64_t>(v); }
uint64_t as_u64(uint64_t v) { return v; }
uint64_t as_u64(uint32_t v) { return v; }
uint64_t as_u64(int32_t v) { return v < 0 ? 0 : static_cast<uint64_t>(v); }

PK_GETTER(manager_version) {
  (void)userdata;
  return sd_bus_message_append_basic(reply, 's', PK_VERSION);
}
PK_GETTER(manager_ready) { return append_bool(reply, pinned(userdata).status.ready); }
PK_GETTER(manager_path_count) { return append_u32(reply, pinned(userdata).path_count); }
PK_GETTER(manager_map_count) { return append_u32(reply, pinned(userdata).map_count); }
PK_GETTER(manager_path_limit) { return append_u32(reply, pinned(userdata).status.paths.limit); }
PK_GETTER(manager_map_limit) { return append_u32(reply, pinned(userdata).status.maps.limit); }
template <auto Member>
PK_GETTER(status_u32) {
  return append_u32(reply, as_u64(pinned(userdata).status.*Member));
}
template <auto Member>
PK_GETTER(status_u64) {
  return append_u64(reply, as_u64(pinned(userdata).status.*Member));
}
template <auto Member>
PK_GETTER(status_string) {
  return append_string(reply, (pinned(userdata).status.*Member).view());
}

// What the daemon started without, as STATUS= says it; "" when nothing.
PK_GETTER(status_started_without) {
  char text[core::StartupReport::kCapacity * 320];
  core::FixedWriter w(text);
  pinned(userdata).status.startup.describe(w);
  return append_string(reply, w.view());
}

const core::PathRecord& path_of(void* userdata) { return *static_cast<const core::PathRecord*>(userdata); }
PK_GETTER(path_dev) { return append_string(reply, path_of(userdata).dev.view()); }
PK_GETTER(path_devt) { return append_devt(reply, path_of(userdata).devt); }
PK_GETTER(path_wwid) { return append_string(reply, path_of(userdata).wwid.view()); }
PK_GETTER(path_map) { return append_string(reply, path_of(userdata).map.view()); }
PK_GETTER(path_checker) {
  return sd_bus_message_append_basic(reply, 's', core::checker_kind_name(path_of(userdata).checker).data());
}
PK_GETTER(path_state) { return append_string(reply, core::path_state_name(path_of(userdata).state)); }
PK_GETTER(path_dm_state) { return append_string(reply, core::dm_state_name(path_of(userdata).dm_state)); }
PK_GETTER(path_group) { return append_u32(reply, path_of(userdata).group); }
PK_GETTER(path_priority) { return append_u32(reply, path_of(userdata).priority); }
PK_GETTER(path_admin_failed) { return append_bool(reply, path_of(userdata).admin_failed); }
PK_GETTER(path_marginal) { return append_bool(reply, path_of(userdata).marginal); }
PK_GETTER(path_checks) { return append_u64(reply, path_of(userdata).checks); }
PK_GETTER(path_failures) { return append_u64(reply, path_of(userdata).failures); }
PK_GETTER(path_timeouts) { return append_u64(reply, path_of(userdata).timeouts); }

const core::MapRecord& map_of(void* userdata) { return *static_cast<const core::MapRecord*>(userdata); }
PK_GETTER(map_name) { return append_string(reply, map_of(userdata).name.view()); }
PK_GETTER(map_wwid) { return append_string(reply, map_of(userdata).wwid.view()); }
PK_GETTER(map_uuid) {
  char uuid[6 + 256] = "mpath-";
  std::string_view w = map_of(userdata).wwid.view();
  std::copy(w.begin(), w.end(), uuid + 6);
  return append_string(reply, std::string_view(uuid, 6 + w.size()));
}
PK_GETTER(map_devt) { return append_devt(reply, map_of(userdata).devt); }
PK_GETTER(map_in_kernel) { return append_bool(reply, map_of(userdata).in_kernel); }
PK_GETTER(map_queueing) { return append_bool(reply, map_of(userdata).queueing); }
PK_GETTER(map_paths_active) { return append_u32(reply, map_of(userdata).paths_active); }
PK_GETTER(map_paths_total) { return append_u32(reply, map_of(userdata).paths_total); }
PK_GETTER(map_paths_usable) { return append_u32(reply, map_of(userdata).paths_usable); }
PK_GETTER(map_all_paths_down) { return append_bool(reply, map_of(userdata).all_down); }
PK_GETTER(map_current_group) { return append_u32(reply, map_of(userdata).current_group); }
PK_GETTER(map_group_count) { return append_u32(reply, map_of(userdata).group_count); }
PK_GETTER(map_no_path_retry) {
  char buf[24];
  return sd_bus_message_append_basic(reply, 's',
                                     no_path_retry_text(map_of(userdata).settings.no_path_retry, buf));
}

#undef PK_GETTER

// --- Methods -------------------------------------------------------------------

int method_fail_path(sd_bus_message* m, void* u, sd_bus_error* e) {
  return impl_of(u).start_command(m, Command::Kind::FailPath, e);
}
int method_reinstate_path(sd_bus_message* m, void* u, sd_bus_error* e) {
  return impl_of(u).start_command(m, Command::Kind::ReinstatePath, e);
}
int method_clear_marginal(sd_bus_message* m, void* u, sd_bus_error* e) {
  return impl_of(u).start_command(m, Command::Kind::ClearMarginal, e);
}
int method_switch_group(sd_bus_message* m, void* u, sd_bus_error* e) {
  return impl_of(u).start_command(m, Command::Kind::SwitchGroup, e);
}
int method_disable_queueing(sd_bus_message* m, void* u, sd_bus_error* e) {
  return impl_of(u).start_command(m, Command::Kind::DisableQueueing, e);
}
int method_restore_queueing(sd_bus_message* m, void* u, sd_bus_error* e) {
  return impl_of(u).start_command(m, Command::Kind::RestoreQueueing, e);
}
int method_reconfigure(sd_bus_message* m, void* u, sd_bus_error* e) {
  return impl_of(u).start_command(m, Command::Kind::Reconfigure, e);
}
int method_get_topology_json(sd_bus_message* m, void* u, sd_bus_error* e) {
  Impl& s = impl_of(u);
  Call* c = s.new_call(m);
  if (!c) return sd_bus_error_set(e, kErrorBusy, "too many D-Bus calls wait for an answer; try again");
  s.method_calls.fetch_add(1, std::memory_order_relaxed);
  c->phase = Call::Phase::Buffer;
  c->deadline = SteadyClock::now() + s.options.command_timeout;
  s.answer_topology();
  return 1;
}

int credentials_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) {
  Call& c = *static_cast<Call*>(userdata);
  c.owner->on_credentials(c, reply);
  return 0;
}

int on_name_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) {
  Impl& s = impl_of(userdata);
  if (sd_bus_message_is_method_error(reply, nullptr)) {
    const sd_bus_error* e = sd_bus_message_get_error(reply);
    say(s.options, 4,
        "the %s refused the name %s: %s (is its D-Bus policy file installed?); D-Bus clients cannot find the "
        "service, the control socket serves",
        s.bus_label(), kBusName, e && e->message ? e->message : "no reason given");
    return 0;
  }
  uint32_t result = 0;
  if (sd_bus_message_read(reply, "u", &result) < 0) return 0;
  if (result == 1 || result == 4) {  // primary owner, already owner
    s.name_owned = true;
    say(s.options, 5, "serving %s on the %s", kBusName, s.bus_label());
  } else {
    say(s.options, 4,
        "%s is owned by another connection on the %s (another pathkeeperd?); D-Bus clients reach that one",
        kBusName, s.bus_label());
  }
  return 0;
}

// --- Objects -------------------------------------------------------------------

int find_map(sd_bus*, const char* path, const char*, void* userdata, void** found, sd_bus_error*) {
  char buf[kMaxIdBytes + 1];
  std::string_view name;
  if (!object_id(path, kMapPrefix, buf, name)) return 0;
  const core::MapRecord* m = core::find_map(pinned(userdata), name);
  if (!m) return 0;
  *found = const_cast<core::MapRecord*>(m);
  return 1;
}

int find_path(sd_bus*, const char* path, const char*, void* userdata, void** found, sd_bus_error*) {
  char buf[kMaxIdBytes + 1];
  std::string_view dev;
  if (!object_id(path, kPathPrefix, buf, dev)) return 0;
  const core::PathRecord* p = core::find_path(pinned(userdata), dev);
  if (!p) return 0;
  *found = const_cast<core::PathRecord*>(p);
  return 1;
}

// The children of the maps' or the paths' prefix, for introspection and
// GetManagedObjects. sd-bus takes (and frees) a malloc'd string array.
template <bool Maps>
int enumerate(sd_bus*, const char*, void* userdata, char*** nodes, sd_bus_error*) {
  const core::Snapshot& s = pinned(userdata);
  uint32_t n = Maps ? s.map_count : s.path_count;
  auto** list = static_cast<char**>(std::calloc(n + 1, sizeof(char*)));
  if (!list) return -ENOMEM;
  uint32_t k = 0;
  char path[kObjectPathBytes];
  for (uint32_t i = 0; i < n; ++i) {
    bool ok = Maps ? object_path(kMapPrefix, s.maps[i].name.view(), path)
                   : object_path(kPathPrefix, s.paths[i].dev.view(), path);
    if (!ok) continue;
    list[k] = ::strdup(path);
    if (!list[k]) {
      for (uint32_t j = 0; j < k; ++j) std::free(list[j]);
      std::free(list);
      return -ENOMEM;
    }
    ++k;
  }
  *nodes = list;
  return 0;
}

constexpr uint64_t kEmits = SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;
constexpr uint64_t kConst = SD_BUS_VTABLE_PROPERTY_CONST;
constexpr uint64_t kMethod = SD_BUS_VTABLE_UNPRIVILEGED;  // authorised by us, not by sd-bus

using St = core::DaemonStatus;

const sd_bus_vtable kManagerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Version", "s", manager_version, 0, kConst),
    SD_BUS_PROPERTY("Ready", "b", manager_ready, 0, kEmits),
    SD_BUS_PROPERTY("PathCount", "u", manager_path_count, 0, kEmits),
    SD_BUS_PROPERTY("MapCount", "u", manager_map_count, 0, kEmits),
    SD_BUS_PROPERTY("PathLimit", "u", manager_path_limit, 0, 0),
    SD_BUS_PROPERTY("MapLimit", "u", manager_map_limit, 0, 0),
    SD_BUS_PROPERTY("Pid", "u", status_u32<&St::pid>, 0, 0),
    SD_BUS_PROPERTY("UptimeMs", "t", status_u64<&St::uptime_ms>, 0, 0),
    SD_BUS_PROPERTY("MemoryLockedBytes", "t", status_u64<&St::memory_locked_bytes>, 0, 0),
    SD_BUS_PROPERTY("HeapBytes", "t", status_u64<&St::heap_bytes>, 0, 0),
    SD_BUS_PROPERTY("HeapBytesAtReady", "t", status_u64<&St::heap_bytes_at_ready>, 0, 0),
    SD_BUS_PROPERTY("MinorFaultsSinceReady", "t", status_u64<&St::minor_faults_since_ready>, 0, 0),
    SD_BUS_PROPERTY("MajorFaultsSinceReady", "t", status_u64<&St::major_faults_since_ready>, 0, 0),
    SD_BUS_PROPERTY("Threads", "u", status_u32<&St::threads>, 0, 0),
    SD_BUS_PROPERTY("ThreadsAtReady", "u", status_u32<&St::threads_at_ready>, 0, 0),
    SD_BUS_PROPERTY("ThreadsIoFlusher", "u", status_u32<&St::threads_io_flusher>, 0, 0),
    SD_BUS_PROPERTY("ChecksTotal", "t", status_u64<&St::checks_total>, 0, 0),
    SD_BUS_PROPERTY("PathsRefused", "t", status_u64<&St::paths_refused>, 0, 0),
    SD_BUS_PROPERTY("MapsRefused", "t", status_u64<&St::maps_refused>, 0, 0),
    SD_BUS_PROPERTY("ActionsDropped", "t", status_u64<&St::actions_dropped>, 0, 0),
    SD_BUS_PROPERTY("LateResults", "t", status_u64<&St::late_results>, 0, 0),
    SD_BUS_PROPERTY("DmErrors", "t", status_u64<&St::dm_errors>, 0, 0),
    SD_BUS_PROPERTY("LogDropped", "t", status_u64<&St::log_dropped>, 0, 0),
    SD_BUS_PROPERTY("LogWriteErrors", "t", status_u64<&St::log_write_errors>, 0, 0),
    SD_BUS_PROPERTY("Reconfigures", "t", status_u64<&St::reconfigures>, 0, 0),
    SD_BUS_PROPERTY("ConfigSource", "s", status_string<&St::config_source>, 0, 0),
    SD_BUS_PROPERTY("LastError", "s", status_string<&St::last_error>, 0, 0),
    SD_BUS_PROPERTY("StartedWithout", "s", status_started_without, 0, 0),
    SD_BUS_METHOD_WITH_NAMES("FailPath", "s", SD_BUS_PARAM(dev), "s", SD_BUS_PARAM(message), method_fail_path,
                             kMethod),
    SD_BUS_METHOD_WITH_NAMES("ReinstatePath", "s", SD_BUS_PARAM(dev), "s", SD_BUS_PARAM(message),
                             method_reinstate_path, kMethod),
    SD_BUS_METHOD_WITH_NAMES("ClearMarginal", "s", SD_BUS_PARAM(dev), "s", SD_BUS_PARAM(message),
                             method_clear_marginal, kMethod),
    SD_BUS_METHOD_WITH_NAMES("SwitchGroup", "su", SD_BUS_PARAM(map) SD_BUS_PARAM(group), "s",
                             SD_BUS_PARAM(message), method_switch_group, kMethod),
    SD_BUS_METHOD_WITH_NAMES("DisableQueueing", "s", SD_BUS_PARAM(map), "s", SD_BUS_PARAM(message),
                             method_disable_queueing, kMethod),
    SD_BUS_METHOD_WITH_NAMES("RestoreQueueing", "s", SD_BUS_PARAM(map), "s", SD_BUS_PARAM(message),
                             method_restore_queueing, kMethod),
    SD_BUS_METHOD_WITH_NAMES("Reconfigure", "", SD_BUS_PARAM(), "s", SD_BUS_PARAM(message),
                             method_reconfigure, kMethod),
    SD_BUS_METHOD_WITH_NAMES("GetTopologyJSON", "", SD_BUS_PARAM(), "s", SD_BUS_PARAM(json),
                             method_get_topology_json, kMethod),
    SD_BUS_VTABLE_END,
};

const sd_bus_vtable kMapVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Name", "s", map_name, 0, kConst),
    SD_BUS_PROPERTY("Wwid", "s", map_wwid, 0, kConst),
    SD_BUS_PROPERTY("Uuid", "s", map_uuid, 0, kConst),
    SD_BUS_PROPERTY("DevT", "s", map_devt, 0, 0),
    SD_BUS_PROPERTY("InKernel", "b", map_in_kernel, 0, 0),
    SD_BUS_PROPERTY("Queueing", "b", map_queueing, 0, kEmits),
    SD_BUS_PROPERTY("PathsActive", "u", map_paths_active, 0, kEmits),
    SD_BUS_PROPERTY("PathsTotal", "u", map_paths_total, 0, 0),
    SD_BUS_PROPERTY("PathsUsable", "u", map_paths_usable, 0, 0),
    SD_BUS_PROPERTY("AllPathsDown", "b", map_all_paths_down, 0, kEmits),
    SD_BUS_PROPERTY("CurrentGroup", "u", map_current_group, 0, 0),
    SD_BUS_PROPERTY("GroupCount", "u", map_group_count, 0, 0),
    SD_BUS_PROPERTY("NoPathRetry", "s", map_no_path_retry, 0, 0),
    SD_BUS_VTABLE_END,
};

const sd_bus_vtable kPathVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Dev", "s", path_dev, 0, kConst),
    SD_BUS_PROPERTY("DevT", "s", path_devt, 0, 0),
    SD_BUS_PROPERTY("Wwid", "s", path_wwid, 0, 0),
    SD_BUS_PROPERTY("Map", "s", path_map, 0, 0),
    SD_BUS_PROPERTY("Checker", "s", path_checker, 0, 0),
    SD_BUS_PROPERTY("State", "s", path_state, 0, kEmits),
    SD_BUS_PROPERTY("DmState", "s", path_dm_state, 0, kEmits),
    SD_BUS_PROPERTY("Group", "u", path_group, 0, 0),
    SD_BUS_PROPERTY("Priority", "u", path_priority, 0, 0),
    SD_BUS_PROPERTY("AdminFailed", "b", path_admin_failed, 0, 0),
    SD_BUS_PROPERTY("Marginal", "b", path_marginal, 0, kEmits),
    SD_BUS_PROPERTY("Checks", "t", path_checks, 0, 0),
    SD_BUS_PROPERTY("Failures", "t", path_failures, 0, 0),
    SD_BUS_PROPERTY("Timeouts", "t", path_timeouts, 0, 0),
    SD_BUS_VTABLE_END,
};

}  // namespace

// --- Connection ------------------------------------------------------------------

void Impl::unavailable(const char* why) {
  next_retry = SteadyClock::now() + options.retry_interval;
  if (said_unavailable) return;
  said_unavailable = true;
  long long ms = options.retry_interval.count();
  say(options, 5, "no D-Bus: %s; the control socket serves meanwhile, the %s is looked for every %lld %s",
      why, bus_label(), ms % 1000 == 0 ? ms / 1000 : ms, ms % 1000 == 0 ? "s" : "ms");
}

void Impl::connect() {
  sd_bus* b = nullptr;
  int r = 0;
  if (options.address.empty()) {
    const char* env = ::secure_getenv("DBUS_SYSTEM_BUS_ADDRESS");
    if ((!env || !*env) && ::access(kSystemBusSocket, F_OK) != 0) {
      unavailable("the system bus is absent (no /run/dbus/system_bus_socket)");
      return;
    }
    r = sd_bus_open_system(&b);
  } else {
    r = sd_bus_new(&b);
    if (r >= 0) r = sd_bus_set_address(b, options.address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(b, 1);
    if (r >= 0) r = sd_bus_start(b);
  }
  if (r < 0) {
    sd_bus_unref(b);
    core::Error why;
    why.set("cannot connect to the %s: %s", bus_label(), std::strerror(-r));
    unavailable(why.c_str());
    return;
  }
  bus = b;
  sd_bus_set_method_call_timeout(bus, kCredsTimeoutUsec);
  bus_fd = sd_bus_get_fd(bus);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = epoll_tag;
  if (bus_fd < 0 || ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, bus_fd, &ev) != 0) {
    close_bus();
    unavailable("cannot watch the bus connection");
    return;
  }
  bus_events = EPOLLIN;
  if (!register_objects()) {
    close_bus();
    unavailable("cannot register the objects on the bus connection");
    return;
  }
  r = sd_bus_request_name_async(bus, nullptr, kBusName, 0, on_name_reply, this);
  if (r < 0) say(options, 4, "cannot ask the %s for %s: %s", bus_label(), kBusName, std::strerror(-r));
  said_unavailable = false;
  tracker.reset();
  connected = true;
  connects.fetch_add(1, std::memory_order_relaxed);
}

bool Impl::register_objects() {
  // Slots are floating: they live as long as the connection.
  return sd_bus_add_object_vtable(bus, nullptr, kManagerPath, kManagerInterface, kManagerVtable, this) >= 0 &&
         sd_bus_add_fallback_vtable(bus, nullptr, kMapPrefix, kMapInterface, kMapVtable, find_map, this) >=
             0 &&
         sd_bus_add_fallback_vtable(bus, nullptr, kPathPrefix, kPathInterface, kPathVtable, find_path,
                                    this) >= 0 &&
         sd_bus_add_node_enumerator(bus, nullptr, kMapPrefix, enumerate<true>, this) >= 0 &&
         sd_bus_add_node_enumerator(bus, nullptr, kPathPrefix, enumerate<false>, this) >= 0 &&
         sd_bus_add_object_manager(bus, nullptr, kManagerPath) >= 0;
}

void Impl::close_bus() {
  if (calls) {
    for (uint32_t i = 0; i < kMaxCalls; ++i) free_call(calls[i]);
  }
  if (!bus) return;
  if (bus_fd >= 0 && epoll_fd >= 0) ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, bus_fd, nullptr);
  sd_bus_close(bus);  // no flush: never wait for the bus daemon
  sd_bus_unref(bus);
  bus = nullptr;
  bus_fd = -1;
  bus_events = 0;
  more = false;
  connected = false;
  name_owned = false;
}

void Impl::disconnect(int error) {
  close_bus();
  core::Error why;
  why.set("lost the %s (%s)", bus_label(), error ? std::strerror(-error) : "connection closed");
  unavailable(why.c_str());
}

void Impl::process() {
  more = false;
  for (int i = 0; bus && i < kMaxProcessRounds; ++i) {
    int r = sd_bus_process(bus, nullptr);
    if (r < 0) {
      disconnect(r);
      return;
    }
    if (r == 0) return;
  }
  more = bus != nullptr;
}

void Impl::update_interest() {
  if (!bus) return;
  if (sd_bus_is_open(bus) <= 0) {
    disconnect(0);
    return;
  }
  int e = sd_bus_get_events(bus);
  if (e < 0) return;
  uint32_t want = ((e & POLLIN) ? EPOLLIN : 0u) | ((e & POLLOUT) ? EPOLLOUT : 0u);
  if (want == bus_events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = epoll_tag;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, bus_fd, &ev) == 0) bus_events = want;
}

void Impl::poll_snapshot(TimePoint now) {
  if (now < next_poll) return;
  next_poll = now + options.poll_interval;
  if (tracker.primed() && snap->generation == tracker.generation()) return;
  uint64_t queued = 0;
  if (sd_bus_get_n_queued_write(bus, &queued) >= 0 && queued > kMaxQueuedWrites) {
    signals_deferred.fetch_add(1, std::memory_order_relaxed);  // compared (and merged) later
    return;
  }
  tracker.compare(*snap, *this);
}

// --- Calls -----------------------------------------------------------------------

Call* Impl::new_call(sd_bus_message* m) {
  for (uint32_t i = 0; i < kMaxCalls; ++i) {
    Call& c = calls[i];
    if (c.phase != Call::Phase::Free) continue;
    c = Call{};
    c.owner = this;
    c.msg = sd_bus_message_ref(m);
    c.order = ++call_order;
    c.phase = Call::Phase::Buffer;  // the caller sets the real phase
    return &c;
  }
  return nullptr;
}

void Impl::free_call(Call& c) {
  if (c.phase == Call::Phase::Free) return;
  c.creds = sd_bus_slot_unref(c.creds);  // cancels a pending query
  c.msg = sd_bus_message_unref(c.msg);
  c.phase = Call::Phase::Free;
}

void Impl::reply_ok(Call& c, std::string_view message) {
  char text[dbus_string_bytes(kMessageBytes)];
  sd_bus_reply_method_return(c.msg, "s", dbus_string(message, text));
  free_call(c);
}

void Impl::reply_error(Call& c, const char* name, const char* format, ...) {
  core::Error message;
  va_list args;
  va_start(args, format);
  message.setv(format, args);
  va_end(args);
  reply_error_text(c, name, message.view());
}

void Impl::reply_error_text(Call& c, const char* name, std::string_view message) {
  char text[dbus_string_bytes(kMessageBytes)];
  sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(name, dbus_string(message, text));
  sd_bus_reply_method_error(c.msg, &e);
  free_call(c);
}

int Impl::start_command(sd_bus_message* m, Command::Kind kind, sd_bus_error* error) {
  const char* target = "";
  uint32_t group = 0;
  int r = 0;
  if (kind == Command::Kind::SwitchGroup)
    r = sd_bus_message_read(m, "su", &target, &group);
  else if (kind != Command::Kind::Reconfigure)
    r = sd_bus_message_read(m, "s", &target);
  if (r < 0) return r;

  Command cmd;
  cmd.kind = kind;
  std::string_view t(target);
  char shown[dbus_string_bytes(64)];
  dbus_string(t.substr(0, 64), shown);
  if (t.size() > kMaxIdBytes)
    return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "'%s...' is longer than %zu bytes", shown,
                             kMaxIdBytes);
  switch (kind) {
    case Command::Kind::FailPath:
    case Command::Kind::ReinstatePath:
    case Command::Kind::ClearMarginal:
      if (t.empty())
        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "a path's device name is needed");
      if (!core::find_path(*snap, t))
        return sd_bus_error_setf(error, kErrorNotFound, "no path named '%s'", shown);
      break;
    case Command::Kind::SwitchGroup:
      if (group < 1 || group > UINT16_MAX)
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "group %u: groups are numbered from 1",
                                 group);
      cmd.group = static_cast<uint16_t>(group);
      [[fallthrough]];
    case Command::Kind::DisableQueueing:
    case Command::Kind::RestoreQueueing:
      if (t.empty() && kind != Command::Kind::SwitchGroup) {
        cmd.all = true;
        break;
      }
      if (!core::find_map(*snap, t))
        return sd_bus_error_setf(error, kErrorNotFound, "no map named '%s'", shown);
      break;
    case Command::Kind::Reconfigure:
      break;
    case Command::Kind::RemoveMap:
    case Command::Kind::RemovePath:
    case Command::Kind::AddPath:
    case Command::Kind::ResizeMap:
      // The map lifecycle is the control socket's (pathkeeperctl); no
      // D-Bus method starts one of these.
      return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "not offered over D-Bus");
  }
  cmd.target.assign(t);

  const char* sender = sd_bus_message_get_sender(m);
  if (!sender) return sd_bus_error_set(error, kErrorAccessDenied, "the caller has no bus name to check");
  Call* c = new_call(m);
  if (!c) return sd_bus_error_set(error, kErrorBusy, "too many D-Bus calls wait for an answer; try again");
  method_calls.fetch_add(1, std::memory_order_relaxed);
  c->cmd = cmd;
  c->phase = Call::Phase::Creds;
  c->deadline = SteadyClock::now() + options.command_timeout;
  // Who the caller is, from the bus daemon, without waiting for it (the
  // synchronous sd_bus_query_sender_creds would stall the control socket
  // for as long as the bus daemon takes).
  r = sd_bus_call_method_async(bus, &c->creds, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "GetConnectionCredentials", credentials_reply, c, "s",
                               sender);
  if (r < 0) {
    free_call(*c);
    return r;
  }
  return 1;
}

void Impl::on_credentials(Call& c, sd_bus_message* reply) {
  c.creds = sd_bus_slot_unref(c.creds);
  if (sd_bus_message_is_method_error(reply, nullptr)) {
    const sd_bus_error* e = sd_bus_message_get_error(reply);
    reply_error(c, kErrorFailed, "cannot tell who the caller is: %s",
                e && e->message ? e->message : "no reason given");
    return;
  }
  bool have_uid = false;
  uint32_t uid = 0;
  const void* gids = nullptr;
  size_t gids_bytes = 0;
  int r = sd_bus_message_enter_container(reply, 'a', "{sv}");
  while (r > 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
    const char* key = nullptr;
    r = sd_bus_message_read(reply, "s", &key);
    if (r < 0) break;
    if (std::strcmp(key, "UnixUserID") == 0) {
      r = sd_bus_message_read(reply, "v", "u", &uid);
      have_uid = r >= 0;
    } else if (std::strcmp(key, "UnixGroupIDs") == 0) {
      r = sd_bus_message_enter_container(reply, 'v', "au");
      if (r > 0) r = sd_bus_message_read_array(reply, 'u', &gids, &gids_bytes);
      if (r >= 0) r = sd_bus_message_exit_container(reply);
    } else {
      r = sd_bus_message_skip(reply, "v");
    }
    if (r < 0) break;
    r = sd_bus_message_exit_container(reply);
  }
  if (r < 0 || !have_uid) {
    reply_error(c, kErrorFailed, "cannot tell who the caller is: the bus daemon's answer has no UnixUserID");
    return;
  }
  // The groups as the bus daemon read them from the caller's socket
  // (SO_PEERGROUPS, which holds the primary group of processes started
  // through initgroups); the primary group alone is not reported.
  std::span<const gid_t> groups(static_cast<const gid_t*>(gids), gids_bytes / sizeof(gid_t));
  ControlPolicy policy = host->control_policy();
  if (!may_change_state(static_cast<uid_t>(uid), static_cast<gid_t>(-1), groups, policy)) {
    denied.fetch_add(1, std::memory_order_relaxed);
    if (policy.group_set)
      reply_error(c, kErrorAccessDenied, "uid %u may not change state: only root and members of gid %u may",
                  uid, static_cast<unsigned>(policy.gid));
    else
      reply_error(c, kErrorAccessDenied,
                  "uid %u may not change state: only root may (no control_group is configured)", uid);
    return;
  }
  c.token = host->take_token();
  c.cmd.token = c.token;
  if (!commands->submit(c.cmd)) {
    reply_error(c, kErrorBusy, "the daemon's command queue is full; try again");
    return;
  }
  c.phase = Call::Phase::Loop;
  c.deadline = SteadyClock::now() + options.command_timeout;
}

void Impl::answer_topology() {
  for (;;) {
    Call* next = nullptr;
    for (uint32_t i = 0; i < kMaxCalls; ++i) {
      Call& c = calls[i];
      if (c.phase == Call::Phase::Buffer && (!next || c.order < next->order)) next = &c;
    }
    if (!next) return;
    std::span<char> buf = host->render_buffer();
    if (buf.size() < 2) return;  // a socket reply is being sent from it: next tick
    core::FixedWriter w(buf.first(buf.size() - 1));
    if (!core::render_topology(*snap, host->render_scratch(), w)) {
      reply_error(*next, kErrorFailed, "the topology does not fit the %zu bytes reserved for it", buf.size());
      continue;
    }
    buf[w.size()] = '\0';
    sd_bus_reply_method_return(next->msg, "s", buf.data());
    free_call(*next);
  }
}

void Impl::expire(TimePoint now) {
  for (uint32_t i = 0; i < kMaxCalls; ++i) {
    Call& c = calls[i];
    if (c.phase == Call::Phase::Free || now < c.deadline) continue;
    if (c.phase == Call::Phase::Creds)
      reply_error(c, kErrorTimeout, "the bus daemon did not say who the caller is in time");
    else
      reply_error(c, kErrorTimeout, "the daemon did not carry %s out within %lld ms", name_of(c.cmd.kind),
                  static_cast<long long>(options.command_timeout.count()));
  }
}

// --- DbusService ------------------------------------------------------------------

DbusService::DbusService() = default;
DbusService::~DbusService() = default;

bool DbusService::init(const DbusOptions& options, const core::Limits& limits,
                       core::SnapshotExchange& snapshots, CommandChannel& commands, DbusHost& host,
                       int epoll_fd, uint64_t epoll_tag, core::Error& err) {
  impl_.reset();
  auto impl = std::make_unique<Impl>();
  Impl& s = *impl;
  s.options = options;
  s.snapshots = &snapshots;
  s.commands = &commands;
  s.host = &host;
  s.epoll_fd = epoll_fd;
  s.epoll_tag = epoll_tag;
  if (options.poll_interval.count() <= 0 || options.retry_interval.count() <= 0) {
    err.set("the D-Bus poll and retry intervals must be positive");
    return false;
  }
  s.calls = std::make_unique<Call[]>(kMaxCalls);
  s.tracker.init(limits.max_paths, limits.max_maps);
  if (options.enabled) s.connect();  // absent or unreachable: said once, tried again later
  impl_ = std::move(impl);
  return true;
}

void DbusService::tick() {
  if (!impl_ || !impl_->options.enabled) return;
  Impl& s = *impl_;
  TimePoint now = SteadyClock::now();
  if (!s.bus) {
    if (now < s.next_retry) return;
    s.connect();
    if (!s.bus) return;
  }
  s.snap = &s.snapshots->latest();  // every callback of this tick reads this one
  s.poll_snapshot(now);
  s.process();
  if (!s.bus) return;
  s.answer_topology();
  s.expire(now);
  s.update_interest();
}

int DbusService::timeout_ms() const {
  if (!impl_ || !impl_->options.enabled) return -1;
  const Impl& s = *impl_;
  TimePoint now = SteadyClock::now();
  if (!s.bus) return ms_until(s.next_retry, now);
  if (s.more) return 0;
  int t = ms_until(s.next_poll, now);
  uint64_t usec = 0;
  if (sd_bus_get_timeout(s.bus, &usec) > 0 && usec != UINT64_MAX) {
    uint64_t mono = monotonic_usec();
    t = earlier(
        t, usec <= mono ? 0 : static_cast<int>(std::min<uint64_t>((usec - mono + 999) / 1000, 86400000)));
  }
  for (uint32_t i = 0; i < kMaxCalls; ++i)
    if (s.calls[i].phase != Call::Phase::Free) t = earlier(t, ms_until(s.calls[i].deadline, now));
  return t;
}

bool DbusService::on_result(const CommandResult& r) {
  if (!impl_ || !impl_->calls) return false;
  Impl& s = *impl_;
  for (uint32_t i = 0; i < kMaxCalls; ++i) {
    Call& c = s.calls[i];
    if (c.phase != Call::Phase::Loop || c.token != r.token) continue;
    if (r.ok)
      s.reply_ok(c, r.message.view());
    else
      s.reply_error_text(c, kErrorFailed, r.message.view());
    return true;
  }
  return false;
}

DbusStats DbusService::stats() const {
  DbusStats st;
  if (!impl_) return st;
  const Impl& s = *impl_;
  st.connected = s.connected.load(std::memory_order_relaxed);
  st.name_owned = s.name_owned.load(std::memory_order_relaxed);
  st.connects = s.connects.load(std::memory_order_relaxed);
  st.method_calls = s.method_calls.load(std::memory_order_relaxed);
  st.denied = s.denied.load(std::memory_order_relaxed);
  st.signals = s.signals.load(std::memory_order_relaxed);
  st.signals_deferred = s.signals_deferred.load(std::memory_order_relaxed);
  return st;
}

}  // namespace pk::ipc
