#include "ipc/ctl/tables.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>
#include <vector>

namespace pk::ctl {

using nlohmann::json;

namespace {

// Columns separated by two spaces; numbers right-aligned; no trailing blanks.
class Table {
 public:
  struct Column {
    std::string title;
    bool right = false;
  };
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  std::string render() const {
    std::vector<size_t> width(columns_.size());
    for (size_t i = 0; i < columns_.size(); ++i) width[i] = columns_[i].title.size();
    for (const auto& row : rows_)
      for (size_t i = 0; i < row.size() && i < width.size(); ++i)
        width[i] = std::max(width[i], row[i].size());
    std::string out;
    auto line = [&](auto cell) {
      std::string l;
      for (size_t i = 0; i < columns_.size(); ++i) {
        std::string c = cell(i);
        if (i) l += "  ";
        std::string pad(width[i] - std::min(width[i], c.size()), ' ');
        l += columns_[i].right ? pad + c : c + pad;
      }
      while (!l.empty() && l.back() == ' ') l.pop_back();
      out += l + "\n";
    };
    line([&](size_t i) { return columns_[i].title; });
    for (const auto& row : rows_) line([&](size_t i) { return i < row.size() ? row[i] : std::string(); });
    return out;
  }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// "key: value" lines with the values aligned.
class Fields {
 public:
  void add(std::string key, std::string value) { rows_.emplace_back(std::move(key), std::move(value)); }
  std::string render() const {
    size_t w = 0;
    for (const auto& [k, v] : rows_) w = std::max(w, k.size());
    std::string out;
    for (const auto& [k, v] : rows_) {
      out += k;
      out += ':';
      out.append(w - k.size() + 1, ' ');
      out += v;
      out += '\n';
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

std::string str(const json& o, const char* key, const char* fallback = "") {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : fallback;
}
uint64_t num(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}
int64_t snum(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}
bool flag(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_boolean() && it->get<bool>();
}
const json& sub(const json& o, const char* key) {
  static const json kEmpty = json::object();
  auto it = o.find(key);
  return it != o.end() && it->is_object() ? *it : kEmpty;
}
const json& list(const json& o, const char* key) {
  static const json kEmpty = json::array();
  auto it = o.find(key);
  return it != o.end() && it->is_array() ? *it : kEmpty;
}
std::string yes_no(bool b) { return b ? "yes" : "no"; }
std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

std::string no_path_retry_text(const json& m) {
  const json& npr = sub(m, "no_path_retry");
  std::string mode = str(npr, "mode", "?");
  if (mode == "checks") return std::to_string(num(npr, "checks")) + " checks";
  if (mode == "time") return human_duration(static_cast<int64_t>(num(npr, "seconds")) * 1000);
  return mode;
}

std::string failback_text(const json& m) {
  std::string f = str(m, "failback", "?");
  if (f == "delayed")
    return "after " + human_duration(static_cast<int64_t>(num(m, "failback_delay_s")) * 1000);
  return f;
}

std::string quoted_if_spaced(const std::string& s) {
  return s.find(' ') == std::string::npos ? s : "'" + s + "'";
}

// What stands out about a map, for people: "" when nothing.
std::string map_note(const json& m) {
  std::vector<std::string> notes;
  if (!flag(m, "in_kernel")) notes.push_back("not in the kernel");
  if (flag(m, "all_paths_down"))
    notes.push_back("all paths down for " + human_duration(snum(m, "all_down_ms")));
  if (flag(m, "retry_exhausted")) notes.push_back("no_path_retry exhausted: I/O fails");
  if (flag(m, "lun_lost")) notes.push_back("LUN gone on every path: I/O fails");
  if (flag(m, "queueing_disabled_by_admin")) notes.push_back("queueing disabled by an operator");
  // Short: `show map NAME` says why in full.
  if (!str(m, "kept_because").empty()) notes.push_back("every path removed, kept: open");
  if (!str(m, "resize_note").empty()) notes.push_back("size its paths say not applied");
  const std::string cap = str(m, "dirty_cap");
  if (cap == "failed" || cap == "unsupported") notes.push_back("dirty cap " + cap);
  std::string out;
  for (const auto& n : notes) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string map_heading(const json& m) {
  std::string name = str(m, "name");
  std::string wwid = str(m, "wwid");
  std::string line = name;
  if (!wwid.empty() && wwid != name) line += " (" + wwid + ")";
  std::string dm = str(m, "dm_name");
  if (!dm.empty())
    line += " " + dm;
  else if (!flag(m, "in_kernel"))
    line += " (not in the kernel)";
  return line;
}

// One map as multipath -ll shows it.
// "-" for a LUN without ALUA (and for a daemon too old to say).
std::string alua_text(const json& p) {
  std::string a = str(p, "alua");
  return a.empty() || a == "none" ? "-" : a;
}

std::string topology_block(const json& m) {
  std::string out = map_heading(m) + "\n";
  out += "size=" + human_size(num(m, "size_bytes")) + " queueing=" + yes_no(flag(m, "queueing")) +
         " no_path_retry=" + quoted_if_spaced(no_path_retry_text(m)) +
         " failback=" + quoted_if_spaced(failback_text(m)) +
         " paths=" + std::to_string(num(m, "paths_usable")) + "/" + std::to_string(num(m, "paths_total")) +
         " usable";
  std::string note = map_note(m);
  if (!note.empty()) out += " [" + note + "]";
  out += "\n";

  const json& groups = list(m, "groups");
  if (groups.empty()) return out + "`-- (no paths)\n";
  size_t dev_w = 0, devt_w = 0, state_w = 0, dm_w = 0;
  for (const json& g : groups) {
    for (const json& p : list(g, "paths")) {
      dev_w = std::max(dev_w, str(p, "dev").size());
      devt_w = std::max(devt_w, str(p, "devt").size());
      state_w = std::max(state_w, str(p, "state").size());
      dm_w = std::max(dm_w, str(p, "dm_state").size());
    }
  }
  auto pad = [](const std::string& s, size_t w) { return s + std::string(w - std::min(w, s.size()), ' '); };
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const json& g = groups[gi];
    bool last_group = gi + 1 == groups.size();
    std::string policy =
        num(g, "group") == 0 ? "(not in the kernel's table)" : "policy='" + str(g, "selector") + "'";
    out += std::string(last_group ? "`-+- " : "|-+- ") + policy +
           " prio=" + std::to_string(num(g, "priority")) + " status=" + str(g, "state") + "\n";
    const json& paths = list(g, "paths");
    for (size_t pi = 0; pi < paths.size(); ++pi) {
      const json& p = paths[pi];
      std::string line = std::string(last_group ? "  " : "| ") + (pi + 1 == paths.size() ? "`- " : "|- ") +
                         pad(str(p, "dev"), dev_w) + " " + pad(str(p, "devt"), devt_w) + " " +
                         pad(str(p, "state"), state_w) + " " + pad(str(p, "dm_state"), dm_w);
      if (alua_text(p) != "-") line += " " + alua_text(p);
      if (flag(p, "admin_failed")) line += " admin-failed";
      if (flag(p, "marginal")) line += " marginal";
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
  }
  return out;
}

}  // namespace

std::string human_size(uint64_t bytes) {
  static const char kUnits[] = "BKMGTPE";
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < sizeof kUnits - 1) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%" PRIu64 "B", bytes);
  else if (v < 10)
    std::snprintf(buf, sizeof buf, "%.1f%c", v, kUnits[u]);
  else
    std::snprintf(buf, sizeof buf, "%.0f%c", v, kUnits[u]);
  return buf;
}

std::string human_duration(int64_t ms) {
  if (ms < 0) return "-";
  int64_t s = ms / 1000;
  char buf[48];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%" PRId64 "s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
  else
    std::snprintf(buf, sizeof buf, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
  return buf;
}

// What the STATE column does not say: held failed by an operator or as marginal.
std::string path_note(const json& p) {
  std::string note = flag(p, "admin_failed") ? "admin-failed" : "";
  if (flag(p, "marginal")) note += note.empty() ? "marginal" : ",marginal";
  if (!str(p, "no_map_because").empty()) note += note.empty() ? "refused by its map" : ",refused by its map";
  return note;
}

std::string format_paths(const json& doc) {
  Table t({{"DEV"},
           {"DEVT"},
           {"MAP"},
           {"GROUP", true},
           {"PRIO", true},
           {"ALUA"},
           {"CHECKER"},
           {"STATE"},
           {"DM_STATE"},
           {"SINCE", true},
           {"CHECKS", true},
           {"FAILURES", true},
           {"TIMEOUTS", true},
           {"NOTE"}});
  for (const json& p : list(doc, "paths")) {
    uint64_t group = num(p, "group");
    t.add({str(p, "dev"), str(p, "devt"), or_dash(str(p, "map")), group ? std::to_string(group) : "-",
           std::to_string(num(p, "priority")), alua_text(p), str(p, "checker"), str(p, "state"),
           str(p, "dm_state"), human_duration(snum(p, "state_age_ms")), std::to_string(num(p, "checks")),
           std::to_string(num(p, "failures")), std::to_string(num(p, "timeouts")), path_note(p)});
  }
  return t.render();
}

std::string format_maps(const json& doc) {
  Table t({{"NAME"},
           {"DM"},
           {"SIZE", true},
           {"USABLE", true},
           {"ACTIVE", true},
           {"GROUP", true},
           {"QUEUEING"},
           {"NO_PATH_RETRY"},
           {"FAULTS", true},
           {"WWID"},
           {"NOTE"}});
  for (const json& m : list(doc, "maps")) {
    std::string total = "/" + std::to_string(num(m, "paths_total"));
    t.add({str(m, "name"), or_dash(str(m, "dm_name")), human_size(num(m, "size_bytes")),
           std::to_string(num(m, "paths_usable")) + total, std::to_string(num(m, "paths_active")) + total,
           std::to_string(num(m, "current_group")) + "/" + std::to_string(num(m, "group_count")),
           yes_no(flag(m, "queueing")), no_path_retry_text(m), std::to_string(num(m, "path_faults")),
           str(m, "wwid"), map_note(m)});
  }
  return t.render();
}

std::string format_topology(const json& doc) {
  std::string out;
  for (const json& m : list(doc, "maps")) out += topology_block(m);
  return out;
}

std::string format_map(const json& doc) {
  const json& m = sub(doc, "map");
  std::string out = topology_block(m) + "\n";
  Fields f;
  f.add("name", str(m, "name"));
  f.add("wwid", str(m, "wwid"));
  f.add("uuid", str(m, "uuid"));
  f.add("devt", str(m, "devt"));
  f.add("in kernel", yes_no(flag(m, "in_kernel")));
  f.add("size", human_size(num(m, "size_bytes")) + " (" + std::to_string(num(m, "size_bytes")) + " bytes)");
  f.add("paths", std::to_string(num(m, "paths_usable")) + " usable, " +
                     std::to_string(num(m, "paths_active")) + " active in the kernel, " +
                     std::to_string(num(m, "paths_total")) + " in all");
  f.add("current group",
        std::to_string(num(m, "current_group")) + " of " + std::to_string(num(m, "group_count")));
  f.add("queueing", yes_no(flag(m, "queueing")));
  f.add("no_path_retry", no_path_retry_text(m));
  f.add("all paths down",
        flag(m, "all_paths_down") ? "yes, for " + human_duration(snum(m, "all_down_ms")) : "no");
  f.add("retry exhausted", yes_no(flag(m, "retry_exhausted")));
  f.add("LUN lost", yes_no(flag(m, "lun_lost")));
  f.add("queueing disabled by admin", yes_no(flag(m, "queueing_disabled_by_admin")));
  f.add("path faults", std::to_string(num(m, "path_faults")));
  f.add("queue disables", std::to_string(num(m, "queue_disables")));
  f.add("grouping", str(m, "grouping"));
  f.add("selector", str(m, "selector"));
  f.add("failback", failback_text(m));
  f.add("checker", str(m, "checker"));
  f.add("hw_handler", str(m, "hw_handler"));
  f.add("pg_init_retries", std::to_string(num(m, "pg_init_retries")));
  f.add("auto_resize", str(m, "auto_resize"));
  if (!str(m, "kept_because").empty()) f.add("kept without paths", str(m, "kept_because"));
  if (!str(m, "resize_note").empty()) f.add("size not changed", str(m, "resize_note"));
  if (m.contains("dirty_limit")) {
    std::string note = str(m, "dirty_cap_note");
    f.add("dirty_limit",
          str(m, "dirty_limit") + ": " + str(m, "dirty_cap") + (note.empty() ? "" : " (" + note + ")"));
  }
  return out + f.render();
}

std::string format_path(const json& doc) {
  const json& p = sub(doc, "path");
  Fields f;
  f.add("dev", str(p, "dev"));
  f.add("devt", str(p, "devt"));
  f.add("wwid", or_dash(str(p, "wwid")));
  f.add("map", or_dash(str(p, "map")));
  f.add("group", num(p, "group") ? std::to_string(num(p, "group")) : "-");
  f.add("priority", std::to_string(num(p, "priority")));
  f.add("alua", alua_text(p) +
                    (num(p, "port_group") ? ", port group " + std::to_string(num(p, "port_group")) : "") +
                    (flag(p, "preferred") ? ", preferred" : ""));
  f.add("checker", str(p, "checker"));
  f.add("state", str(p, "state") + " for " + human_duration(snum(p, "state_age_ms")));
  f.add("dm_state", str(p, "dm_state"));
  f.add("admin failed", yes_no(flag(p, "admin_failed")));
  const std::string recent = std::to_string(num(p, "recent_failures")) + " recent failures";
  f.add("marginal", flag(p, "marginal") ? "yes, for " + human_duration(snum(p, "marginal_age_ms")) + ", " +
                                              recent + " (held failed until healthy long enough)"
                                        : "no, " + recent);
  f.add("checks", std::to_string(num(p, "checks")));
  f.add("failures", std::to_string(num(p, "failures")));
  f.add("timeouts", std::to_string(num(p, "timeouts")));
  if (!str(p, "no_map_because").empty()) f.add("in no map because", str(p, "no_map_because"));
  return f.render();
}

std::string format_status(const json& doc) {
  const json& s = sub(doc, "status");
  auto pool = [&](const char* key) {
    const json& p = sub(s, key);
    return std::to_string(num(p, "used")) + " of " + std::to_string(num(p, "limit"));
  };
  auto since_ready = [&](const char* now, const char* at_ready) {
    uint64_t a = num(s, now), b = num(s, at_ready);
    std::string growth = a >= b ? "+" + std::to_string(a - b) : "-" + std::to_string(b - a);
    return std::pair{a, growth};
  };
  Fields f;
  f.add("pid", std::to_string(snum(s, "pid")));
  f.add("ready", yes_no(flag(s, "ready")));
  f.add("uptime", human_duration(snum(s, "uptime_ms")));
  f.add("memory locked", human_size(num(s, "memory_locked_bytes")));
  auto [heap, heap_growth] = since_ready("heap_bytes", "heap_bytes_at_ready");
  f.add("heap", human_size(heap) + " (" + heap_growth + " bytes since ready)");
  f.add("page faults since ready", std::to_string(num(s, "minor_faults_since_ready")) + " minor, " +
                                       std::to_string(num(s, "major_faults_since_ready")) + " major");
  auto [threads, thread_growth] = since_ready("threads", "threads_at_ready");
  f.add("threads", std::to_string(threads) + " (" + thread_growth + " since ready, " +
                       std::to_string(num(s, "threads_io_flusher")) + " with PR_SET_IO_FLUSHER)");
  f.add("paths", pool("paths"));
  f.add("maps", pool("maps"));
  f.add("clients", pool("clients"));
  f.add("log records", pool("log_records"));
  f.add("checks", std::to_string(num(s, "checks_total")));
  f.add("refused", std::to_string(num(s, "paths_refused")) + " paths, " +
                       std::to_string(num(s, "maps_refused")) + " maps (no free slot)");
  f.add("actions dropped", std::to_string(num(s, "actions_dropped")));
  f.add("late check results", std::to_string(num(s, "late_results")));
  f.add("device-mapper errors", std::to_string(num(s, "dm_errors")));
  f.add("log", std::to_string(num(s, "log_dropped")) + " records dropped, " +
                   std::to_string(num(s, "log_write_errors")) + " write errors");
  if (s.contains("log_sinks")) {
    for (const char* name : {"file", "journal", "stderr"}) {
      const auto& k = s["log_sinks"][name];
      if (!k.value("active", false)) continue;
      f.add(std::string("  log ") + name, std::to_string(num(k, "written")) + " written, " +
                                              std::to_string(num(k, "dropped")) + " dropped, " +
                                              std::to_string(num(k, "write_errors")) + " write errors");
    }
  }
  f.add("reconfigures", std::to_string(num(s, "reconfigures")));
  if (s.contains("requests"))
    f.add("requests", std::to_string(num(s, "requests")) + " (" + std::to_string(num(s, "error_replies")) +
                          " answered with an error, " + std::to_string(num(s, "refused_busy")) +
                          " refused busy)");
  f.add("config", or_dash(str(s, "config_source")));
  f.add("last error", or_dash(str(s, "last_error")));
  if (s.contains("backstop")) {
    const json& b = sub(s, "backstop");
    const std::string state = str(b, "state");
    std::string line = state == "unavailable" ? std::string("not set")
                                              : std::to_string(num(b, "seconds")) + " s" +
                                                    (flag(b, "written") ? "" : ", not written");
    line += " (" + str(b, "reason") + ")";
    if (!str(b, "error").empty()) line += "; " + str(b, "error");
    f.add("kernel backstop", line);
  }
  if (s.contains("name_files")) {
    for (const char* which : {"bindings", "wwids"}) {
      const json& n = s["name_files"][which];
      if (str(n, "file").empty()) continue;
      const json& e = sub(n, "entries");
      std::string line = str(n, "file") + ": " + std::to_string(num(e, "used")) + " of " +
                         std::to_string(num(e, "limit")) +
                         (std::string_view(which) == "bindings" ? " names" : " WWIDs") +
                         (flag(n, "pending") ? ", not all on disk yet" : ", on disk") + ", " +
                         std::to_string(num(n, "writes")) + " writes";
      if (num(n, "write_errors")) line += ", " + std::to_string(num(n, "write_errors")) + " failed";
      if (num(n, "refused")) line += ", " + std::to_string(num(n, "refused")) + " refused";
      if (!str(n, "error").empty()) line += " (" + str(n, "error") + "; retried)";
      f.add(std::string(which) + " file", line);
    }
  }
  if (s.contains("degraded")) {
    f.add("degraded", yes_no(flag(s, "degraded")));
    if (s.contains("started_without") && s["started_without"].is_array()) {
      for (const json& d : s["started_without"]) {
        f.add("started without", str(d, "what", "?") + ": " + str(d, "reason"));
        f.add("  what follows", str(d, "effect"));
      }
    }
  }
  return f.render();
}

std::string format_config(const json& doc) {
  std::string yaml = str(sub(doc, "config"), "yaml");
  if (!yaml.empty() && yaml.back() != '\n') yaml += '\n';
  return yaml;
}

std::string format_result(const json& doc) {
  std::string message = str(sub(doc, "result"), "message", "done");
  return message.empty() ? "done\n" : message + "\n";
}

std::string error_message(const json& doc) {
  const json& e = sub(doc, "error");
  std::string message = str(e, "message");
  return message.empty() ? str(e, "code", "unknown error") : message;
}

std::string format_reply(ipc::RequestKind kind, const json& doc) {
  switch (kind) {
    case ipc::RequestKind::ShowPaths:
      return format_paths(doc);
    case ipc::RequestKind::ShowMaps:
      return format_maps(doc);
    case ipc::RequestKind::ShowTopology:
      return format_topology(doc);
    case ipc::RequestKind::ShowMap:
      return format_map(doc);
    case ipc::RequestKind::ShowPath:
      return format_path(doc);
    case ipc::RequestKind::ShowStatus:
      return format_status(doc);
    case ipc::RequestKind::ShowConfig:
      return format_config(doc);
    default:
      return format_result(doc);
  }
}

}  // namespace pk::ctl
