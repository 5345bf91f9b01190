#include "core/snapshot_json.h"

#include <algorithm>

#include "core/config_names.h"
#include "core/devt.h"
#include "core/host_guard.h"

namespace pk::core {

namespace {

std::string_view no_path_retry_mode_name(NoPathRetry::Kind k) {
  switch (k) {
    case NoPathRetry::Kind::Queue:
      return "queue";
    case NoPathRetry::Kind::Fail:
      return "fail";
    case NoPathRetry::Kind::Checks:
      return "checks";
    case NoPathRetry::Kind::Time:
      return "time";
  }
  return "?";
}

// Length of the valid UTF-8 sequence of two or more bytes starting at s[i], 0 if none.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k, unsigned lo, unsigned hi) {
    return k < s.size() && byte(k) >= lo && byte(k) <= hi;
  };
  unsigned b = byte(i);
  if (b >= 0xC2 && b <= 0xDF) return cont(i + 1, 0x80, 0xBF) ? 2 : 0;
  if (b >= 0xE0 && b <= 0xEF) {
    unsigned lo = b == 0xE0 ? 0xA0 : 0x80;
    unsigned hi = b == 0xED ? 0x9F : 0xBF;  // no UTF-16 surrogates
    return cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF) ? 3 : 0;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    unsigned lo = b == 0xF0 ? 0x90 : 0x80;
    unsigned hi = b == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    return cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xBF) && cont(i + 3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

void write_escape(FixedWriter& w, unsigned char c) {
  switch (c) {
    case '"':
      w.text("\\\"");
      return;
    case '\\':
      w.text("\\\\");
      return;
    case '\b':
      w.text("\\b");
      return;
    case '\f':
      w.text("\\f");
      return;
    case '\n':
      w.text("\\n");
      return;
    case '\r':
      w.text("\\r");
      return;
    case '\t':
      w.text("\\t");
      return;
    default:
      break;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
  w.text(std::string_view(u, sizeof u));
}

// `text` escaped, without the quotes.
FixedWriter& write_json_body(FixedWriter& w, std::string_view text) {
  size_t run = 0;  // start of the bytes that need no escaping
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7F) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (size_t n = utf8_sequence(text, i)) {
        i += n;
        continue;
      }
    }
    w.text(text.substr(run, i - run));
    write_escape(w, c);
    run = ++i;
  }
  return w.text(text.substr(run));
}

void write_signed(FixedWriter& w, int64_t v) {
  if (v < 0) {
    w.ch('-');
    w.number(static_cast<uint64_t>(-(v + 1)) + 1);  // also right for INT64_MIN
  } else {
    w.number(static_cast<uint64_t>(v));
  }
}

// Writes the members of one JSON object, putting the commas between them.
class Object {
 public:
  explicit Object(FixedWriter& w) : w_(w) { w_.ch('{'); }
  void close() { w_.ch('}'); }

  FixedWriter& key(std::string_view k) {
    if (!first_) w_.ch(',');
    first_ = false;
    return w_.ch('"').text(k).text("\":");  // keys are literals that need no escaping
  }
  void str(std::string_view k, std::string_view v) { write_json_string(key(k), v); }
  void num(std::string_view k, uint64_t v) { key(k).number(v); }
  void snum(std::string_view k, int64_t v) { write_signed(key(k), v); }
  void flag(std::string_view k, bool v) { key(k).text(v ? "true" : "false"); }
  void devt(std::string_view k, DevT d) {
    char buf[24];
    size_t n = format_devt(d, buf);
    str(k, std::string_view(buf, n));
  }
  void sink(std::string_view k, const LogSinkUse& u) {
    Object o(key(k));
    o.flag("active", u.active);
    o.num("written", u.written);
    o.num("dropped", u.dropped);
    o.num("write_errors", u.write_errors);
    o.num("would_block", u.would_block);
    o.close();
  }
  void pool(std::string_view k, const PoolUse& p) {
    Object o(key(k));
    o.num("used", p.used);
    o.num("limit", p.limit);
    o.close();
  }
  void name_file(std::string_view k, const NameFileUse& u) {
    Object o(key(k));
    o.str("file", u.file.view());
    o.pool("entries", u.entries);
    o.flag("pending", u.pending);
    o.num("writes", u.writes);
    o.num("write_errors", u.write_errors);
    o.num("refused", u.refused);
    o.str("error", u.error.view());
    o.close();
  }

 private:
  FixedWriter& w_;
  bool first_ = true;
};

// {"version":1,"generation":G, ... the caller continues the object.
Object open_document(const Snapshot& s, FixedWriter& w) {
  Object doc(w);
  doc.num("version", kJsonVersion);
  doc.num("generation", s.generation);
  return doc;
}

bool finish(Object& doc, FixedWriter& w) {
  doc.close();
  return !w.overflowed();
}

void write_path(FixedWriter& w, const PathRecord& p) {
  Object o(w);
  o.str("dev", p.dev.view());
  o.devt("devt", p.devt);
  o.str("wwid", p.wwid.view());
  o.str("map", p.map.view());
  o.str("checker", checker_kind_name(p.checker));
  o.str("state", path_state_name(p.state));
  o.str("dm_state", dm_state_name(p.dm_state));
  o.num("group", p.group);
  o.num("priority", p.priority);
  o.str("alua", alua_state_name(p.alua.state));
  o.num("port_group", p.alua.group_id_known ? p.alua.group_id : 0);
  o.flag("preferred", p.alua.preferred);
  o.flag("admin_failed", p.admin_failed);
  o.flag("marginal", p.marginal);
  o.snum("marginal_age_ms", p.marginal_age_ms);
  o.num("recent_failures", p.recent_failures);
  o.snum("state_age_ms", p.state_age_ms);
  o.num("checks", p.checks);
  o.num("failures", p.failures);
  o.num("timeouts", p.timeouts);
  o.str("no_map_because", p.no_map_because.view());
  o.close();
}

// The map's members; the caller closes the object (after "groups" if any).
void write_map_fields(Object& o, const MapRecord& m) {
  const MapSettings& st = m.settings;
  o.str("name", m.name.view());
  o.str("wwid", m.wwid.view());
  write_json_body(o.key("uuid").text("\"mpath-"), m.wwid.view()).ch('"');
  o.devt("devt", m.devt);
  {
    FixedWriter& w = o.key("dm_name");
    w.ch('"');
    if (m.in_kernel && m.devt.valid()) w.text("dm-").number(m.devt.minor);
    w.ch('"');
  }
  o.num("size_bytes", m.sectors * 512);
  o.flag("in_kernel", m.in_kernel);
  o.flag("queueing", m.queueing);
  o.flag("queueing_disabled_by_admin", m.queueing_disabled_by_admin);
  o.flag("retry_exhausted", m.retry_exhausted);
  o.flag("lun_lost", m.lun_lost);
  o.flag("all_paths_down", m.all_down);
  o.snum("all_down_ms", m.all_down_ms);
  o.num("paths_total", m.paths_total);
  o.num("paths_active", m.paths_active);
  o.num("paths_usable", m.paths_usable);
  o.num("current_group", m.current_group);
  o.num("group_count", m.group_count);
  o.num("path_faults", m.path_faults);
  o.num("queue_disables", m.queue_disables);
  o.str("kept_because", m.kept_because.view());
  o.str("resize_note", m.resize_note.view());
  {
    FixedWriter& w = o.key("dirty_limit");
    w.ch('"');
    write_dirty_limit(w, st.dirty_limit);
    w.ch('"');
  }
  o.str("dirty_cap", dirty_cap_state_name(m.dirty_cap));
  o.str("dirty_cap_note", m.dirty_cap_note.view());
  o.str("grouping", grouping_name(st.grouping));
  o.str("selector", selector_name(st.selector));
  o.str("failback", failback_name(st.failback));
  o.num("failback_delay_s", static_cast<uint64_t>(std::max<int64_t>(0, st.failback_delay.count())));
  o.str("checker", checker_kind_name(st.checker));
  o.str("hw_handler", hw_handler_name(st.hw_handler));
  o.num("pg_init_retries", st.pg_init_retries);
  o.str("auto_resize", st.auto_resize == AutoResize::Grow ? "grow" : "off");
  {
    Object npr(o.key("no_path_retry"));
    npr.str("mode", no_path_retry_mode_name(st.no_path_retry.kind));
    if (st.no_path_retry.kind == NoPathRetry::Kind::Checks) npr.num("checks", st.no_path_retry.checks);
    if (st.no_path_retry.kind == NoPathRetry::Kind::Time)
      npr.num("seconds", static_cast<uint64_t>(std::max<int64_t>(0, st.no_path_retry.duration.count())));
    npr.close();
  }
}

// Group 0 (member paths not in the kernel's table yet) sorts after the real groups.
uint32_t group_order(uint16_t group) { return group == 0 ? 0x10000u : group; }

bool in_group_order(const Snapshot& s, uint32_t a, uint32_t b) {
  const PathRecord& x = s.paths[a];
  const PathRecord& y = s.paths[b];
  if (x.group != y.group) return group_order(x.group) < group_order(y.group);
  return x.dev.view() < y.dev.view();
}

void write_group_path(FixedWriter& w, const PathRecord& p) {
  Object o(w);
  o.str("dev", p.dev.view());
  o.devt("devt", p.devt);
  o.str("checker", checker_kind_name(p.checker));
  o.str("state", path_state_name(p.state));
  o.str("dm_state", dm_state_name(p.dm_state));
  o.num("priority", p.priority);
  o.str("alua", alua_state_name(p.alua.state));
  o.flag("admin_failed", p.admin_failed);
  o.flag("marginal", p.marginal);
  o.close();
}

// "groups":[...] of map `m`, from its paths (indexes into s.paths) in group order.
void write_groups(Object& o, const Snapshot& s, const MapRecord& m, std::span<const uint32_t> members) {
  FixedWriter& w = o.key("groups");
  w.ch('[');
  size_t i = 0;
  while (i < members.size()) {
    uint16_t g = s.paths[members[i]].group;
    size_t end = i;
    uint8_t prio = 0;
    for (; end < members.size() && s.paths[members[end]].group == g; ++end)
      prio = std::max(prio, s.paths[members[end]].priority);
    if (i != 0) w.ch(',');
    Object grp(w);
    grp.num("group", g);
    grp.str("state", g == 0 ? "none" : g == m.current_group ? "active" : "enabled");
    grp.num("priority", prio);
    grp.str("selector", selector_name(m.settings.selector));
    FixedWriter& pw = grp.key("paths");
    pw.ch('[');
    for (size_t k = i; k < end; ++k) {
      if (k != i) pw.ch(',');
      write_group_path(pw, s.paths[members[k]]);
    }
    pw.ch(']');
    grp.close();
    i = end;
  }
  w.ch(']');
}

}  // namespace

void write_json_string(FixedWriter& w, std::string_view text) { write_json_body(w.ch('"'), text).ch('"'); }

size_t json_capacity(uint32_t max_paths, uint32_t max_maps) {
  return 4096 + kStatusJsonMaxBytes + size_t{max_paths} * kPathJsonMaxBytes +
         size_t{max_maps} * kMapJsonMaxBytes;
}

const PathRecord* find_path(const Snapshot& s, std::string_view dev) {
  for (uint32_t i = 0; i < s.path_count; ++i)
    if (s.paths[i].dev == dev) return &s.paths[i];
  return nullptr;
}

const MapRecord* find_map(const Snapshot& s, std::string_view name) {
  for (uint32_t i = 0; i < s.map_count; ++i)
    if (s.maps[i].name == name) return &s.maps[i];
  return nullptr;
}

bool render_paths(const Snapshot& s, FixedWriter& w) {
  Object doc = open_document(s, w);
  FixedWriter& out = doc.key("paths");
  out.ch('[');
  for (uint32_t i = 0; i < s.path_count && !w.overflowed(); ++i) {
    if (i) out.ch(',');
    write_path(out, s.paths[i]);
  }
  out.ch(']');
  return finish(doc, w);
}

bool render_maps(const Snapshot& s, FixedWriter& w) {
  Object doc = open_document(s, w);
  FixedWriter& out = doc.key("maps");
  out.ch('[');
  for (uint32_t i = 0; i < s.map_count && !w.overflowed(); ++i) {
    if (i) out.ch(',');
    Object m(out);
    write_map_fields(m, s.maps[i]);
    m.close();
  }
  out.ch(']');
  return finish(doc, w);
}

bool render_path(const Snapshot& s, const PathRecord& p, FixedWriter& w) {
  Object doc = open_document(s, w);
  write_path(doc.key("path"), p);
  return finish(doc, w);
}

bool render_map(const Snapshot& s, const MapRecord& m, std::span<uint32_t> scratch, FixedWriter& w) {
  size_t n = 0;
  for (uint32_t i = 0; i < s.path_count; ++i) {
    if (s.paths[i].map.view() != m.name.view()) continue;
    if (n == scratch.size()) return false;
    scratch[n++] = i;
  }
  std::span<uint32_t> members = scratch.first(n);
  std::sort(members.begin(), members.end(), [&](uint32_t a, uint32_t b) { return in_group_order(s, a, b); });
  Object doc = open_document(s, w);
  Object o(doc.key("map"));
  write_map_fields(o, m);
  write_groups(o, s, m, members);
  o.close();
  return finish(doc, w);
}

bool render_topology(const Snapshot& s, std::span<uint32_t> scratch, FixedWriter& w) {
  if (scratch.size() < s.path_count) return false;
  // The paths of any map, ordered by (map name, group, dev): each map's
  // members are then one range, found by binary search.
  size_t n = 0;
  for (uint32_t i = 0; i < s.path_count; ++i)
    if (!s.paths[i].map.empty()) scratch[n++] = i;
  std::span<uint32_t> members = scratch.first(n);
  auto map_of = [&](uint32_t i) { return s.paths[i].map.view(); };
  std::sort(members.begin(), members.end(), [&](uint32_t a, uint32_t b) {
    if (int c = map_of(a).compare(map_of(b)); c != 0) return c < 0;
    return in_group_order(s, a, b);
  });
  Object doc = open_document(s, w);
  FixedWriter& out = doc.key("maps");
  out.ch('[');
  for (uint32_t i = 0; i < s.map_count && !w.overflowed(); ++i) {
    const MapRecord& m = s.maps[i];
    std::string_view name = m.name.view();
    auto first = std::lower_bound(members.begin(), members.end(), name,
                                  [&](uint32_t p, std::string_view v) { return map_of(p) < v; });
    auto last = std::upper_bound(first, members.end(), name,
                                 [&](std::string_view v, uint32_t p) { return v < map_of(p); });
    if (i) out.ch(',');
    Object mo(out);
    write_map_fields(mo, m);
    write_groups(mo, s, m, std::span<const uint32_t>(first, last));
    mo.close();
  }
  out.ch(']');
  return finish(doc, w);
}

bool render_status(const Snapshot& s, FixedWriter& w) {
  const DaemonStatus& st = s.status;
  Object doc = open_document(s, w);
  doc.num("path_count", s.path_count);
  doc.num("map_count", s.map_count);
  Object o(doc.key("status"));
  o.snum("pid", st.pid);
  o.flag("ready", st.ready);
  o.snum("uptime_ms", st.uptime_ms);
  o.num("memory_locked_bytes", st.memory_locked_bytes);
  o.num("heap_bytes", st.heap_bytes);
  o.num("heap_bytes_at_ready", st.heap_bytes_at_ready);
  o.num("minor_faults_since_ready", st.minor_faults_since_ready);
  o.num("major_faults_since_ready", st.major_faults_since_ready);
  o.num("threads", st.threads);
  o.num("threads_at_ready", st.threads_at_ready);
  o.num("threads_io_flusher", st.threads_io_flusher);
  o.pool("paths", st.paths);
  o.pool("maps", st.maps);
  o.pool("clients", st.clients);
  o.pool("log_records", st.log_records);
  o.num("checks_total", st.checks_total);
  o.num("paths_refused", st.paths_refused);
  o.num("maps_refused", st.maps_refused);
  o.num("actions_dropped", st.actions_dropped);
  o.num("late_results", st.late_results);
  o.num("dm_errors", st.dm_errors);
  o.num("log_dropped", st.log_dropped);
  o.num("log_write_errors", st.log_write_errors);
  {
    Object sinks(o.key("log_sinks"));
    sinks.sink("file", st.log_file);
    sinks.sink("journal", st.log_journal);
    sinks.sink("stderr", st.log_stderr);
    sinks.close();
  }
  o.num("reconfigures", st.reconfigures);
  o.num("requests", st.requests);
  o.num("error_replies", st.error_replies);
  o.num("refused_busy", st.refused_busy);
  o.str("config_source", st.config_source.view());
  o.str("last_error", st.last_error.view());
  {
    Object files(o.key("name_files"));
    files.name_file("bindings", st.bindings_file);
    files.name_file("wwids", st.wwids_file);
    files.close();
  }
  {
    Object b(o.key("backstop"));
    b.str("state", backstop_kind_name(st.backstop.plan.kind));
    b.num("seconds", st.backstop.plan.seconds);
    b.flag("written", st.backstop.written);
    b.str("reason", st.backstop.plan.reason.view());
    b.str("error", st.backstop.error.view());
    b.close();
  }
  o.flag("degraded", st.startup.degraded());
  FixedWriter& list = o.key("started_without");
  list.ch('[');
  for (size_t i = 0; i < st.startup.size(); ++i) {
    const Degradation& d = st.startup[i];
    const StartupRule& rule = startup_rule(d.step);
    if (i) list.ch(',');
    Object item(list);
    item.str("part", rule.key);
    item.str("what", rule.what);
    item.str("reason", d.reason.view());
    item.str("effect", rule.effect);
    item.close();
  }
  list.ch(']');
  o.close();
  return finish(doc, w);
}

}  // namespace pk::core
