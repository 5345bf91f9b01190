// Writing a configuration back as YAML, and comparing two configurations.
#include <yaml-cpp/yaml.h>

#include <string>

#include "core/config_names.h"
#include "core/model.h"
#include "daemon/config/config_loader.h"
#include "daemon/config/config_units.h"

namespace pk::daemon {

namespace {

std::string failback_text(const core::MapSettings& s) {
  if (s.failback == core::Failback::Delayed) return format_duration(s.failback_delay);
  return std::string(core::failback_name(s.failback));
}

std::string no_path_retry_text(const core::NoPathRetry& r) {
  switch (r.kind) {
    case core::NoPathRetry::Kind::Queue:
      return "queue";
    case core::NoPathRetry::Kind::Fail:
      return "fail";
    case core::NoPathRetry::Kind::Checks:
      return std::to_string(r.checks);
    case core::NoPathRetry::Kind::Time:
      return format_duration(r.duration);
  }
  return "?";
}

std::string dirty_limit_text(const core::DirtyLimit& d) {
  switch (d.kind) {
    case core::DirtyLimit::Kind::Off:
      return "off";
    case core::DirtyLimit::Kind::Percent:
      return std::to_string(d.percent) + "%";
    case core::DirtyLimit::Kind::Bytes:
      return format_size(d.bytes);
  }
  return "?";
}

std::string ms(core::Millis d) { return format_duration(d); }
std::string ms(core::Seconds d) { return format_duration(std::chrono::duration_cast<core::Millis>(d)); }

// The settings of `s`; with `base`, only those that differ from it.
void emit_settings(YAML::Emitter& e, const core::MapSettings& s, const core::MapSettings* base) {
  auto differs = [&](auto pick) { return base == nullptr || pick(s) != pick(*base); };
  auto put = [&](const char* key, std::string_view value) {
    e << YAML::Key << key << YAML::Value << std::string(value);
  };
  if (differs([](const core::MapSettings& m) { return m.grouping; }))
    put("grouping", core::grouping_name(s.grouping));
  if (differs([](const core::MapSettings& m) { return m.selector; }))
    put("selector", core::selector_name(s.selector));
  if (differs([](const core::MapSettings& m) { return m.checker; }))
    put("checker", core::checker_kind_name(s.checker));
  if (differs([](const core::MapSettings& m) { return failback_text(m); })) put("failback", failback_text(s));
  if (differs([](const core::MapSettings& m) { return m.no_path_retry; })) {
    put("no_path_retry", no_path_retry_text(s.no_path_retry));
  }
  if (differs([](const core::MapSettings& m) { return m.hw_handler; })) {
    put("hardware_handler", core::hw_handler_name(s.hw_handler));
  }
  if (differs([](const core::MapSettings& m) { return m.pg_init_retries; })) {
    put("pg_init_retries", std::to_string(s.pg_init_retries));
  }
  if (differs([](const core::MapSettings& m) { return m.auto_resize; })) {
    put("auto_resize", s.auto_resize == core::AutoResize::Grow ? "grow" : "off");
  }
  if (differs([](const core::MapSettings& m) { return m.lost_lun; })) {
    put("lost_lun", s.lost_lun == core::LostLun::Fail ? "fail" : "queue");
  }
  if (differs([](const core::MapSettings& m) { return m.marginal; })) {
    e << YAML::Key << "marginal_paths" << YAML::Value;
    if (!s.marginal.enabled) {
      e << "off";
    } else {
      e << YAML::Flow << YAML::BeginMap;
      e << YAML::Key << "failures" << YAML::Value << std::to_string(s.marginal.failures);
      e << YAML::Key << "within" << YAML::Value << ms(s.marginal.within);
      e << YAML::Key << "healthy_for" << YAML::Value << ms(s.marginal.healthy_for);
      e << YAML::EndMap;
    }
  }
  if (differs([](const core::MapSettings& m) { return m.dirty_limit; })) {
    put("dirty_limit", dirty_limit_text(s.dirty_limit));
  }
}

std::string_view rule_key(core::DeviceRule::Field f) {
  switch (f) {
    case core::DeviceRule::Field::Devnode:
      return "devnode";
    case core::DeviceRule::Field::Wwid:
      return "wwid";
    case core::DeviceRule::Field::VendorProduct:
      return "vendor";
    case core::DeviceRule::Field::Property:
      return "property";
  }
  return "?";
}

void emit_rules(YAML::Emitter& e, const char* key, const std::vector<core::DeviceRule>& rules) {
  std::string built_in;
  size_t user = 0;
  for (const core::DeviceRule& r : rules) {
    if (r.file_position == kBuiltInRule) {
      built_in += (built_in.empty() ? "" : " ") + r.pattern;
    } else {
      ++user;
    }
  }
  if (!built_in.empty())
    e << YAML::Newline << YAML::Comment("built-in, always applied (devnode): " + built_in);
  e << YAML::Key << key << YAML::Value;
  if (user == 0) {
    e << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
    return;
  }
  e << YAML::BeginSeq;
  for (const core::DeviceRule& r : rules) {
    if (r.file_position == kBuiltInRule) continue;
    e << YAML::Flow << YAML::BeginMap;
    e << YAML::Key << std::string(rule_key(r.field)) << YAML::Value << YAML::DoubleQuoted << r.pattern;
    if (r.field == core::DeviceRule::Field::VendorProduct && !r.product_pattern.empty()) {
      e << YAML::Key << "product" << YAML::Value << YAML::DoubleQuoted << r.product_pattern;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
}

bool same_rules(const std::vector<core::DeviceRule>& a, const std::vector<core::DeviceRule>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].field != b[i].field || a[i].pattern != b[i].pattern ||
        a[i].product_pattern != b[i].product_pattern) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string dump_config_yaml(const core::Config& c) {
  try {
    YAML::Emitter e;
    e << YAML::Comment("pathkeeperd effective configuration" +
                       (c.source.empty() ? std::string(" (built-in defaults)") : " (from " + c.source + ")"));
    e << YAML::BeginMap;

    e << YAML::Key << "timing" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "polling_interval" << YAML::Value << ms(c.timing.polling_interval);
    e << YAML::Key << "failed_polling_interval" << YAML::Value << ms(c.timing.failed_polling_interval);
    e << YAML::Key << "checker_timeout" << YAML::Value << ms(c.timing.checker_timeout);
    e << YAML::Key << "transport_probe_interval" << YAML::Value << ms(c.timing.transport_probe_interval);
    e << YAML::EndMap;

    const core::Limits& l = c.limits;
    e << YAML::Key << "limits" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "max_paths" << YAML::Value << l.max_paths;
    e << YAML::Key << "max_maps" << YAML::Value << l.max_maps;
    e << YAML::Key << "max_paths_per_map" << YAML::Value << l.max_paths_per_map;
    e << YAML::Key << "max_groups_per_map" << YAML::Value << l.max_groups_per_map;
    e << YAML::Key << "max_events_in_flight" << YAML::Value << l.max_events_in_flight;
    e << YAML::Key << "max_clients" << YAML::Value << l.max_clients;
    e << YAML::Key << "log_records" << YAML::Value << l.log_records;
    e << YAML::Key << "heap_reserve" << YAML::Value << format_size(l.heap_reserve_bytes);
    e << YAML::EndMap;

    e << YAML::Key << "logging" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "file" << YAML::Value << c.logging.file;
    e << YAML::Key << "file_size" << YAML::Value << format_size(c.logging.file_size_bytes);
    e << YAML::Key << "level" << YAML::Value << c.logging.level;
    e << YAML::Key << "journal" << YAML::Value << c.logging.journal;
    e << YAML::EndMap;

    e << YAML::Key << "control" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "socket" << YAML::Value << c.control_socket;
    e << YAML::Key << "group" << YAML::Value << YAML::DoubleQuoted << c.control_group;
    e << YAML::EndMap;

    e << YAML::Key << "naming" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "user_friendly_names" << YAML::Value << c.user_friendly_names;
    e << YAML::Key << "alias_prefix" << YAML::Value << c.alias_prefix;
    e << YAML::Key << "bindings_file" << YAML::Value << c.bindings_file;
    e << YAML::Key << "wwids_file" << YAML::Value << YAML::DoubleQuoted << c.wwids_file;
    e << YAML::EndMap;

    e << YAML::Key << "discovery" << YAML::Value << YAML::BeginMap;
    // Only the keys the mode reads: the loader refuses min_paths beside
    // strict or greedy.
    e << YAML::Key << "find_multipaths" << YAML::Value
      << std::string(core::find_multipaths_name(c.find_multipaths));
    if (c.find_multipaths == core::FindMultipaths::On || c.find_multipaths == core::FindMultipaths::Smart)
      e << YAML::Key << "min_paths" << YAML::Value << c.min_paths_for_map;
    if (c.find_multipaths == core::FindMultipaths::Smart)
      e << YAML::Key << "find_multipaths_timeout" << YAML::Value << ms(c.find_multipaths_timeout);
    e << YAML::EndMap;

    e << YAML::Key << "defaults" << YAML::Value << YAML::BeginMap;
    emit_settings(e, c.defaults, nullptr);
    e << YAML::EndMap;

    emit_rules(e, "blacklist", c.blacklist);
    emit_rules(e, "blacklist_exceptions", c.blacklist_exceptions);

    e << YAML::Key << "maps" << YAML::Value;
    if (c.maps.empty()) {
      e << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
    } else {
      e << YAML::BeginSeq;
      for (const core::MapConfig& m : c.maps) {
        e << YAML::BeginMap;
        e << YAML::Key << "wwid" << YAML::Value << m.wwid;
        if (!m.alias.empty()) e << YAML::Key << "alias" << YAML::Value << m.alias;
        if (!m.paths.empty()) {
          e << YAML::Key << "paths" << YAML::Value << YAML::Flow << YAML::BeginSeq;
          for (const std::string& p : m.paths) e << p;
          e << YAML::EndSeq;
        }
        emit_settings(e, m.settings, &c.defaults);
        e << YAML::EndMap;
      }
      e << YAML::EndSeq;
    }
    e << YAML::EndMap;
    if (!e.good()) return "# cannot write the configuration: " + e.GetLastError() + "\n";
    return std::string(e.c_str()) + "\n";
  } catch (const YAML::Exception& ex) {
    return "# cannot write the configuration: " + ex.msg + "\n";
  }
}

bool equivalent(const core::Config& a, const core::Config& b) {
  // Every field of core::Config but `source` and positions: keep in step
  // with core/config.h.
  if (!(a.timing == b.timing) || !(a.limits == b.limits)) return false;
  if (a.logging.file != b.logging.file || a.logging.file_size_bytes != b.logging.file_size_bytes ||
      a.logging.level != b.logging.level || a.logging.journal != b.logging.journal) {
    return false;
  }
  if (a.control_socket != b.control_socket || a.control_group != b.control_group ||
      a.user_friendly_names != b.user_friendly_names || a.alias_prefix != b.alias_prefix ||
      a.bindings_file != b.bindings_file || a.wwids_file != b.wwids_file ||
      a.find_multipaths != b.find_multipaths || !(a.defaults == b.defaults)) {
    return false;
  }
  const bool counts =
      a.find_multipaths == core::FindMultipaths::On || a.find_multipaths == core::FindMultipaths::Smart;
  if ((counts && a.min_paths_for_map != b.min_paths_for_map) ||
      (a.find_multipaths == core::FindMultipaths::Smart &&
       a.find_multipaths_timeout != b.find_multipaths_timeout)) {
    return false;
  }
  if (!same_rules(a.blacklist, b.blacklist) || !same_rules(a.blacklist_exceptions, b.blacklist_exceptions)) {
    return false;
  }
  if (a.maps.size() != b.maps.size()) return false;
  for (size_t i = 0; i < a.maps.size(); ++i) {
    const core::MapConfig& x = a.maps[i];
    const core::MapConfig& y = b.maps[i];
    if (x.wwid != y.wwid || x.alias != y.alias || x.paths != y.paths || !(x.settings == y.settings))
      return false;
  }
  return true;
}

}  // namespace pk::daemon
