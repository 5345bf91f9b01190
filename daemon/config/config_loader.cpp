// Reading the YAML tree into core::Config. yaml-cpp throws; so does the walker
// below (Failure, with the position and message of the first problem). Both
// are caught in load_config_text, so nothing escapes this file.
#include "daemon/config/config_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <new>
#include <optional>
#include <span>
#include <sstream>
#include <utility>

#include "core/bindings.h"
#include "daemon/config/config_units.h"
#include "pk_build_config.h"

namespace pk::daemon {

namespace {

using core::Millis;
using core::Seconds;

// ---------------------------------------------------------------------------
// Messages

std::string position(const std::string& source, const YAML::Mark& m) {
  if (m.line < 0 || m.column < 0) return source;
  return source + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" when one choice is close to `word`, else "".
std::string did_you_mean(std::string_view word, std::span<const std::string_view> choices) {
  if (word.size() > 64) return "";
  size_t best = SIZE_MAX;
  std::string_view best_choice;
  for (std::string_view c : choices) {
    size_t d = edit_distance(word, c);
    if (d < best) {
      best = d;
      best_choice = c;
    }
  }
  size_t allowed = std::max<size_t>(1, std::min(word.size(), best_choice.size()) / 3);
  if (best > allowed && word.size() >= 3) {
    // A shortened or lengthened spelling: "warn" for "warning".
    for (std::string_view c : choices) {
      if (c.starts_with(word) || word.starts_with(c)) {
        best = 1;
        best_choice = c;
        allowed = 1;
        break;
      }
    }
  }
  if (best == 0 || best > allowed) return "";
  return " (did you mean '" + std::string(best_choice) + "'?)";
}

std::string one_of(std::span<const std::string_view> choices) {
  std::string s;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) s += (i + 1 == choices.size()) ? " or " : ", ";
    s += choices[i];
  }
  return s;
}

std::string kind_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "empty";
    case YAML::NodeType::Scalar:
      return "the value " + quoted(n.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "undefined";
}

// ---------------------------------------------------------------------------
// Schema: the keys of every section.

using Keys = std::span<const std::string_view>;

constexpr std::array<std::string_view, 10> kTopKeys{"timing",   "limits",    "logging",
                                                    "control",  "naming",    "discovery",
                                                    "defaults", "blacklist", "blacklist_exceptions",
                                                    "maps"};
constexpr std::array<std::string_view, 4> kTimingKeys{"polling_interval", "failed_polling_interval",
                                                      "checker_timeout", "transport_probe_interval"};
constexpr std::array<std::string_view, 8> kLimitsKeys{
    "max_paths",   "max_maps",    "max_paths_per_map", "max_groups_per_map", "max_events_in_flight",
    "max_clients", "log_records", "heap_reserve"};
constexpr std::array<std::string_view, 4> kLoggingKeys{"file", "file_size", "level", "journal"};
constexpr std::array<std::string_view, 2> kControlKeys{"socket", "group"};
constexpr std::array<std::string_view, 4> kNamingKeys{"user_friendly_names", "alias_prefix", "bindings_file",
                                                      "wwids_file"};
constexpr std::array<std::string_view, 3> kDiscoveryKeys{"find_multipaths", "min_paths",
                                                         "find_multipaths_timeout"};
constexpr std::array<std::string_view, 11> kSettingKeys{
    "grouping",        "selector",    "checker",        "failback", "no_path_retry", "hardware_handler",
    "pg_init_retries", "auto_resize", "marginal_paths", "lost_lun", "dirty_limit"};
constexpr std::array<std::string_view, 14> kMapKeys{
    "wwid",        "alias",          "paths",         "grouping",         "selector",
    "checker",     "failback",       "no_path_retry", "hardware_handler", "pg_init_retries",
    "auto_resize", "marginal_paths", "lost_lun",      "dirty_limit"};
constexpr std::array<std::string_view, 3> kMarginalKeys{"failures", "within", "healthy_for"};
constexpr std::array<std::string_view, 5> kRuleKeys{"devnode", "wwid", "vendor", "product", "property"};

template <typename E>
struct Choice {
  std::string_view name;
  E value;
};

constexpr std::array<Choice<core::Grouping>, 4> kGroupings{{{"group_by_prio", core::Grouping::GroupByPrio},
                                                            {"group_by_tpg", core::Grouping::GroupByTpg},
                                                            {"failover", core::Grouping::Failover},
                                                            {"multibus", core::Grouping::Multibus}}};
constexpr std::array<Choice<core::Selector>, 3> kSelectors{{{"service-time", core::Selector::ServiceTime},
                                                            {"round-robin", core::Selector::RoundRobin},
                                                            {"queue-length", core::Selector::QueueLength}}};
constexpr std::array<Choice<core::CheckerKind>, 4> kCheckers{{{"tur", core::CheckerKind::Tur},
                                                              {"directio", core::CheckerKind::DirectIo},
                                                              {"state", core::CheckerKind::State},
                                                              {"none", core::CheckerKind::None}}};
constexpr std::array<Choice<core::HwHandler>, 3> kHwHandlers{
    {{"auto", core::HwHandler::Auto}, {"alua", core::HwHandler::Alua}, {"none", core::HwHandler::None}}};
constexpr std::array<Choice<core::AutoResize>, 2> kAutoResizes{
    {{"grow", core::AutoResize::Grow}, {"off", core::AutoResize::Off}}};
constexpr std::array<Choice<core::LostLun>, 2> kLostLuns{
    {{"fail", core::LostLun::Fail}, {"queue", core::LostLun::Queue}}};
constexpr std::array<Choice<core::FindMultipaths>, 4> kFindMultipaths{
    {{"strict", core::FindMultipaths::Strict},
     {"on", core::FindMultipaths::On},
     {"greedy", core::FindMultipaths::Greedy},
     {"smart", core::FindMultipaths::Smart}}};
constexpr std::array<std::string_view, 5> kLevels{"error", "warning", "notice", "info", "debug"};

// ---------------------------------------------------------------------------
// Ranges (documented in pathkeeper.yaml.example; keep both in step).

constexpr uint64_t kMaxPathsCeiling = 1u << 20;
constexpr uint64_t kMaxMapsCeiling = 1u << 16;
constexpr uint64_t kPathsPerMapCeiling = 1024;
constexpr uint64_t kWwidMax = 122;   // DM UUID: 128 characters, "mpath-" taken
constexpr uint64_t kAliasMax = 127;  // DM name: 128 bytes with the NUL
constexpr uint64_t kDevnodeMax = 64;
constexpr uint64_t kPatternMax = 1024;
constexpr uint64_t kPathMax = 4095;
constexpr uint64_t kSocketPathMax = 107;  // sockaddr_un.sun_path with the NUL
// Bytes the loaded configuration may occupy. Text under kMaxConfigBytes cannot
// reach it; aliases repeating large nodes can, and are refused.
constexpr size_t kExpansionBudget = 16 * kMaxConfigBytes;

// The first problem found: where, and what (with the key's dotted path).
// Thrown by Walker, caught in load_config_text.
struct Failure {
  YAML::Mark mark;
  std::string message;
};

// A key with its value, and the dotted path that names it in messages.
struct Field {
  YAML::Node key;
  YAML::Node value;
  std::string path;
};

// Fills core::Config from the tree, checking as it goes; throws Failure at
// the first problem. Reads only the keys of the schema, so its work is bounded
// by the schema's depth, whatever the tree's shape (alias cycles included).
class Walker {
 public:
  Walker(const std::string& source, std::vector<std::string>& warnings, const core::Limits* running_limits)
      : source_(source), warnings_(warnings), running_(running_limits) {}

  void load(const YAML::Node& root, core::Config& c);

 private:
  [[noreturn]] void fail(const YAML::Node& at, const std::string& path, const std::string& message) const {
    throw Failure{at.Mark(), path.empty() ? message : path + ": " + message};
  }
  void warn(const YAML::Node& at, const std::string& path, const std::string& message) {
    warnings_.push_back(position(source_, at.Mark()) + ": " + path + ": " + message);
  }
  std::string where(const YAML::Node& n) const { return position(source_, n.Mark()); }
  void charge(const YAML::Node& at, size_t bytes) {
    spent_ += bytes + 32;
    if (spent_ > kExpansionBudget) {
      fail(at, "",
           "the configuration expands to more than " + format_size(kExpansionBudget) +
               " (aliases repeating large nodes?); refusing it");
    }
  }

  template <typename Fn>
  void each_key(const YAML::Node& map, const std::string& path, Keys known, Fn&& fn);
  template <typename Fn>
  void each_item(const YAML::Node& list, const std::string& path, std::string_view what, Fn&& fn);

  const std::string& scalar(const Field& f, std::string_view expected) const;
  uint64_t number(const Field& f, uint64_t min, uint64_t max) const;
  bool boolean(const Field& f) const;
  Millis duration(const Field& f, Millis min, Millis max, bool whole_seconds) const;
  uint64_t size(const Field& f, uint64_t min, uint64_t max, uint64_t multiple) const;
  core::DirtyLimit dirty_limit(const Field& k) const;
  std::string absolute_path(const Field& f, uint64_t max_len);
  template <typename E, size_t N>
  E choose(const Field& f, const std::array<Choice<E>, N>& choices) const;

  void timing(const Field& f, core::Timing& t);
  void limits(const Field& f, core::Limits& l);
  void logging(const Field& f, core::LoggingConfig& l);
  void control(const Field& f, core::Config& c);
  void naming(const Field& f, core::Config& c);
  void discovery(const Field& f, core::Config& c);
  // Applies one settings key; records which keys were set for warnings.
  void setting(const Field& k, std::string_view name, core::MapSettings& s,
               std::map<std::string, Field>& set);
  void check_settings(const core::MapSettings& s, const std::map<std::string, Field>& set);
  // marginal_paths: off, on, or {failures, within, healthy_for} over `m`.
  void marginal_paths(const Field& f, core::MarginalPaths& m);
  void rules(const Field& f, std::vector<core::DeviceRule>& out);
  void maps(const Field& f, core::Config& c);
  void check_limits(core::Config& c);
  void keep_running_limits(core::Config& c, const Field* section);

  const std::string& source_;
  std::vector<std::string>& warnings_;
  const core::Limits* running_;
  size_t spent_ = 0;
  // Explicitly set keys by dotted path, for consistency messages.
  std::map<std::string, Field> set_;
};

template <typename Fn>
void Walker::each_key(const YAML::Node& map, const std::string& path, Keys known, Fn&& fn) {
  if (map.IsNull()) return;  // "section:" with nothing under it
  if (!map.IsMap()) fail(map, path, "must be a mapping (key: value), not " + kind_name(map));
  std::map<std::string, YAML::Mark> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    // Copies: the iterator hands out a temporary pair.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) fail(key, path, "a key must be a name, not " + kind_name(key));
    const std::string& name = key.Scalar();
    charge(key, name.size());
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string where_text = path.empty() ? "" : " in " + path;
      if (name == "<<") fail(key, path, "merge keys ('<<') are not supported; write the keys out");
      std::string hint = did_you_mean(name, known);
      if (hint.empty()) hint = "; known keys: " + one_of(known);
      std::string message = "unknown key " + quoted(name);
      message += where_text;
      message += hint;
      fail(key, "", message);
    }
    std::string child = path;
    if (!child.empty()) child += '.';
    child += name;
    auto [first, inserted] = seen.emplace(name, key.Mark());
    if (!inserted)
      fail(key, child, "is set twice (first at line " + std::to_string(first->second.line + 1) + ")");
    fn(name, Field{key, value, std::move(child)});
  }
}

template <typename Fn>
void Walker::each_item(const YAML::Node& list, const std::string& path, std::string_view what, Fn&& fn) {
  if (list.IsNull()) return;
  if (!list.IsSequence()) {
    fail(list, path,
         "must be a list of " + std::string(what) + " (lines starting with '- '), not " + kind_name(list));
  }
  size_t i = 0;
  for (auto it = list.begin(); it != list.end(); ++it, ++i) {
    const YAML::Node item = *it;
    charge(item, 0);
    fn(item, path + "[" + std::to_string(i) + "]");
  }
}

const std::string& Walker::scalar(const Field& f, std::string_view expected) const {
  if (f.value.IsScalar()) return f.value.Scalar();
  if (f.value.IsNull()) fail(f.key, f.path, "needs a value: " + std::string(expected));
  fail(f.value, f.path, "must be " + std::string(expected) + ", not " + kind_name(f.value));
}

uint64_t Walker::number(const Field& f, uint64_t min, uint64_t max) const {
  const std::string& s = scalar(f, "a whole number");
  std::string range = "must be between " + std::to_string(min) + " and " + std::to_string(max);
  bool digits = !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (!digits) {
    bool negative = s.size() > 1 && s[0] == '-' &&
                    std::all_of(s.begin() + 1, s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (negative) fail(f.value, f.path, range + ", got " + clip(s));
    fail(f.value, f.path, quoted(s) + " is not a whole number (" + range + ")");
  }
  uint64_t v = 0;
  bool overflow = false;
  for (char ch : s) {
    uint64_t d = static_cast<uint64_t>(ch - '0');
    if (v > (UINT64_MAX - d) / 10) overflow = true;
    if (!overflow) v = v * 10 + d;
  }
  if (overflow || v < min || v > max) fail(f.value, f.path, range + ", got " + clip(s));
  return v;
}

bool Walker::boolean(const Field& f) const {
  const std::string& s = scalar(f, "true or false");
  if (s == "true" || s == "yes") return true;
  if (s == "false" || s == "no") return false;
  fail(f.value, f.path, quoted(s) + " is not true or false");
}

Millis Walker::duration(const Field& f, Millis min, Millis max, bool whole_seconds) const {
  const std::string& s = scalar(f, "a duration such as 5s");
  Millis d{};
  std::string why;
  if (!parse_duration(s, d, why)) fail(f.value, f.path, why);
  if (whole_seconds && d.count() % 1000 != 0)
    fail(f.value, f.path, quoted(s) + " is not a whole number of seconds");
  if (d < min || d > max) {
    fail(f.value, f.path,
         "must be between " + format_duration(min) + " and " + format_duration(max) + ", got " + clip(s));
  }
  return d;
}

uint64_t Walker::size(const Field& f, uint64_t min, uint64_t max, uint64_t multiple) const {
  const std::string& s = scalar(f, "a size such as 16MiB");
  uint64_t v = 0;
  std::string why;
  if (!parse_size(s, v, why)) fail(f.value, f.path, why);
  if (v < min || v > max) {
    fail(f.value, f.path,
         "must be between " + format_size(min) + " and " + format_size(max) + ", got " + clip(s));
  }
  if (v % multiple != 0) fail(f.value, f.path, quoted(s) + " is not a multiple of " + format_size(multiple));
  return v;
}

std::string Walker::absolute_path(const Field& f, uint64_t max_len) {
  const std::string& s = scalar(f, "an absolute path");
  charge(f.value, s.size());
  if (s.empty() || s[0] != '/') fail(f.value, f.path, quoted(s) + " is not an absolute path");
  if (s.size() > max_len) {
    fail(f.value, f.path,
         "is " + std::to_string(s.size()) + " characters long; at most " + std::to_string(max_len) +
             " are possible");
  }
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) fail(f.value, f.path, "contains a control character");
  }
  if (s.back() == '/') fail(f.value, f.path, quoted(s) + " names a directory; name a file");
  return s;
}

template <typename E, size_t N>
E Walker::choose(const Field& f, const std::array<Choice<E>, N>& choices) const {
  std::array<std::string_view, N> names{};
  for (size_t i = 0; i < N; ++i) names[i] = choices[i].name;
  const std::string& s = scalar(f, "one of " + one_of(names));
  for (const Choice<E>& c : choices) {
    if (c.name == s) return c.value;
  }
  fail(f.value, f.path, quoted(s) + " is not one of " + one_of(names) + did_you_mean(s, names));
}

// ---------------------------------------------------------------------------
// Sections

void Walker::timing(const Field& f, core::Timing& t) {
  each_key(f.value, f.path, kTimingKeys, [&](const std::string& name, const Field& k) {
    set_.insert_or_assign(k.path, k);
    if (name == "polling_interval") {
      t.polling_interval = std::chrono::duration_cast<Seconds>(duration(k, Seconds{1}, Seconds{3600}, true));
    } else if (name == "failed_polling_interval") {
      t.failed_polling_interval =
          std::chrono::duration_cast<Seconds>(duration(k, Seconds{1}, Seconds{3600}, true));
    } else if (name == "checker_timeout") {
      t.checker_timeout = duration(k, Millis{100}, Seconds{600}, false);
    } else if (name == "transport_probe_interval") {
      t.transport_probe_interval = duration(k, Millis{0}, Seconds{60}, false);
    }
  });
}

void Walker::limits(const Field& f, core::Limits& l) {
  each_key(f.value, f.path, kLimitsKeys, [&](const std::string& name, const Field& k) {
    set_.insert_or_assign(k.path, k);
    if (name == "max_paths") {
      l.max_paths = static_cast<uint32_t>(number(k, 1, kMaxPathsCeiling));
    } else if (name == "max_maps") {
      l.max_maps = static_cast<uint32_t>(number(k, 1, kMaxMapsCeiling));
    } else if (name == "max_paths_per_map") {
      l.max_paths_per_map = static_cast<uint32_t>(number(k, 1, kPathsPerMapCeiling));
    } else if (name == "max_groups_per_map") {
      l.max_groups_per_map = static_cast<uint32_t>(number(k, 1, kPathsPerMapCeiling));
    } else if (name == "max_events_in_flight") {
      l.max_events_in_flight = static_cast<uint32_t>(number(k, 16, 1u << 20));
    } else if (name == "max_clients") {
      l.max_clients = static_cast<uint32_t>(number(k, 1, 1024));
    } else if (name == "log_records") {
      l.log_records = static_cast<uint32_t>(number(k, 256, 1u << 24));
    } else if (name == "heap_reserve") {
      l.heap_reserve_bytes = size(k, 4ull << 20, 64ull << 30, 1);
    }
  });
}

void Walker::logging(const Field& f, core::LoggingConfig& l) {
  each_key(f.value, f.path, kLoggingKeys, [&](const std::string& name, const Field& k) {
    if (name == "file") {
      l.file = absolute_path(k, kPathMax);
    } else if (name == "file_size") {
      // Written with direct I/O: whole 4 KiB blocks.
      l.file_size_bytes = size(k, 1ull << 20, 4ull << 30, 4096);
    } else if (name == "level") {
      const std::string& s = scalar(k, "one of " + one_of(kLevels));
      if (std::find(kLevels.begin(), kLevels.end(), s) == kLevels.end()) {
        fail(k.value, k.path, quoted(s) + " is not one of " + one_of(kLevels) + did_you_mean(s, kLevels));
      }
      l.level = s;
    } else if (name == "journal") {
      l.journal = boolean(k);
    }
  });
}

void Walker::control(const Field& f, core::Config& c) {
  each_key(f.value, f.path, kControlKeys, [&](const std::string& name, const Field& k) {
    if (name == "socket") {
      c.control_socket = absolute_path(k, kSocketPathMax);
    } else if (name == "group") {
      const std::string& s = scalar(k, "a group name (\"\" for root only)");
      charge(k.value, s.size());
      bool all_digits =
          !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
      bool valid = s.size() <= 32;
      for (size_t i = 0; valid && i < s.size(); ++i) {
        char ch = s[i];
        bool letter = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
        bool other = (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || (ch == '$' && i + 1 == s.size());
        valid = letter || (i > 0 && other);
      }
      if (!valid && !all_digits) {
        fail(k.value, k.path,
             quoted(s) +
                 " is not a group name (letters, digits, '_', '-', '.'; "
                 "at most 32 characters; or a numeric GID)");
      }
      c.control_group = s;
    }
  });
}

// A name the kernel or device-mapper will be given: printable ASCII, no
// blank, no '/'.
bool plain_name(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char ch) { return ch > ' ' && ch < 0x7f && ch != '/'; });
}

void Walker::naming(const Field& f, core::Config& c) {
  each_key(f.value, f.path, kNamingKeys, [&](const std::string& name, const Field& k) {
    set_.insert_or_assign(k.path, k);
    if (name == "user_friendly_names") {
      c.user_friendly_names = boolean(k);
    } else if (name == "alias_prefix") {
      const std::string& s = scalar(k, "a name prefix");
      charge(k.value, s.size());
      if (s.empty() || !plain_name(s) || s.find('#') != std::string::npos)
        fail(k.value, k.path, quoted(s) + " is not a name prefix (printable, no blank, '/' or '#')");
      if (s.size() > core::kMaxAliasPrefix) {
        fail(k.value, k.path,
             "is " + std::to_string(s.size()) + " characters long; at most " +
                 std::to_string(core::kMaxAliasPrefix) + " are possible");
      }
      c.alias_prefix = s;
    } else if (name == "bindings_file") {
      c.bindings_file = absolute_path(k, kPathMax);
    } else if (name == "wwids_file") {
      c.wwids_file =
          scalar(k, "an absolute path, or \"\"").empty() ? std::string() : absolute_path(k, kPathMax);
    }
  });
}

// Whether discovery.min_paths decides anything (find_multipaths on or smart).
bool counts_paths(const core::Config& c) {
  return c.find_multipaths == core::FindMultipaths::On || c.find_multipaths == core::FindMultipaths::Smart;
}

void Walker::discovery(const Field& f, core::Config& c) {
  each_key(f.value, f.path, kDiscoveryKeys, [&](const std::string& name, const Field& k) {
    set_.insert_or_assign(k.path, k);
    if (name == "min_paths") {
      c.min_paths_for_map = static_cast<uint32_t>(number(k, 1, kPathsPerMapCeiling));
    } else if (name == "find_multipaths") {
      c.find_multipaths = choose(k, kFindMultipaths);
    } else if (name == "find_multipaths_timeout") {
      c.find_multipaths_timeout =
          std::chrono::duration_cast<Seconds>(duration(k, Seconds{1}, Seconds{3600}, true));
    }
  });
  // min_paths counts paths only for on and smart: with strict or greedy it
  // would be silently dropped, and the disks that become maps would not be
  // the ones the file asks for.
  auto mode = set_.find("discovery.find_multipaths");
  auto min = set_.find("discovery.min_paths");
  if (min != set_.end() && !counts_paths(c)) {
    fail(min->second.value, min->second.path,
         "is not used with discovery.find_multipaths: " + mode->second.value.Scalar() + " (at " +
             where(mode->second.value) + "), which " +
             (c.find_multipaths == core::FindMultipaths::Strict
                  ? "maps only configured and known WWIDs"
                  : "maps every disk with a WWID, as min_paths: 1 would") +
             "; remove one of the two");
  }
  if (min != set_.end() && c.find_multipaths == core::FindMultipaths::Smart && c.min_paths_for_map == 1) {
    fail(min->second.value, min->second.path,
         "1 leaves discovery.find_multipaths: smart (at " + where(mode->second.value) +
             ") nothing to wait for: every disk would be mapped at once; use find_multipaths: greedy, or "
             "min_paths 2 or more");
  }
  auto timeout = set_.find("discovery.find_multipaths_timeout");
  if (timeout != set_.end() && c.find_multipaths != core::FindMultipaths::Smart &&
      c.find_multipaths_timeout != core::Config().find_multipaths_timeout)
    warn(timeout->second.key, timeout->second.path, "is used only with find_multipaths: smart");
}

void Walker::setting(const Field& k, std::string_view name, core::MapSettings& s,
                     std::map<std::string, Field>& set) {
  set.insert_or_assign(std::string(name), k);
  if (name == "grouping") {
    s.grouping = choose(k, kGroupings);
  } else if (name == "selector") {
    s.selector = choose(k, kSelectors);
  } else if (name == "checker") {
    s.checker = choose(k, kCheckers);
  } else if (name == "hardware_handler") {
    s.hw_handler = choose(k, kHwHandlers);
  } else if (name == "pg_init_retries") {
    s.pg_init_retries = static_cast<uint32_t>(number(k, 0, 50));  // the kernel's range; 0 leaves its default
  } else if (name == "auto_resize") {
    s.auto_resize = choose(k, kAutoResizes);
  } else if (name == "lost_lun") {
    s.lost_lun = choose(k, kLostLuns);
  } else if (name == "dirty_limit") {
    s.dirty_limit = dirty_limit(k);
  } else if (name == "failback") {
    static constexpr std::array<std::string_view, 3> kWords{"immediate", "manual", "followover"};
    const std::string& v = scalar(k, "immediate, manual, followover or a delay such as 30s");
    s.failback_delay = Seconds{0};
    if (v == "immediate") {
      s.failback = core::Failback::Immediate;
    } else if (v == "manual") {
      s.failback = core::Failback::Manual;
    } else if (v == "followover") {
      s.failback = core::Failback::Followover;
    } else if (!v.empty() && v[0] >= '0' && v[0] <= '9') {
      s.failback = core::Failback::Delayed;
      s.failback_delay = std::chrono::duration_cast<Seconds>(duration(k, Seconds{1}, Seconds{86400}, true));
    } else {
      fail(k.value, k.path,
           quoted(v) + " is not immediate, manual, followover or a delay such as 30s" +
               did_you_mean(v, kWords));
    }
  } else if (name == "no_path_retry") {
    static constexpr std::array<std::string_view, 2> kWords{"queue", "fail"};
    const std::string& v = scalar(k, "queue, fail, a number of checks or a duration such as 5m");
    core::NoPathRetry r;
    if (v == "queue") {
      r.kind = core::NoPathRetry::Kind::Queue;
    } else if (v == "fail") {
      r.kind = core::NoPathRetry::Kind::Fail;
    } else if (!v.empty() &&
               std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      if (v.find_first_not_of('0') == std::string::npos) {
        fail(k.value, k.path, "0 checks means failing at once: write 'fail'");
      }
      r.kind = core::NoPathRetry::Kind::Checks;
      r.checks = static_cast<uint32_t>(number(k, 1, 1'000'000));
    } else if (!v.empty() && v[0] >= '0' && v[0] <= '9') {
      r.kind = core::NoPathRetry::Kind::Time;
      r.duration =
          std::chrono::duration_cast<Seconds>(duration(k, Seconds{1}, std::chrono::hours{720}, true));
    } else {
      fail(k.value, k.path,
           quoted(v) + " is not queue, fail, a number of checks (e.g. 12) or a duration (e.g. 5m)" +
               did_you_mean(v, kWords));
    }
    s.no_path_retry = r;
  } else if (name == "marginal_paths") {
    marginal_paths(k, s.marginal);
  }
}

void Walker::marginal_paths(const Field& f, core::MarginalPaths& m) {
  constexpr const char* kExpected = "off, on, or {failures: 2, within: 1m, healthy_for: 2m}";
  if (f.value.IsNull()) fail(f.key, f.path, std::string("needs a value: ") + kExpected);
  if (f.value.IsScalar()) {
    static constexpr std::array<std::string_view, 2> kWords{"off", "on"};
    const std::string& v = f.value.Scalar();
    if (v == "off" || v == "false" || v == "no") {
      m.enabled = false;
    } else if (v == "on" || v == "true" || v == "yes") {
      m.enabled = true;
    } else {
      fail(f.value, f.path, quoted(v) + " is not " + kExpected + did_you_mean(v, kWords));
    }
    return;
  }
  if (!f.value.IsMap())
    fail(f.value, f.path, std::string("must be ") + kExpected + ", not " + kind_name(f.value));
  // Keys not given keep what the defaults say; giving any turns detection on.
  m.enabled = true;
  each_key(f.value, f.path, kMarginalKeys, [&](const std::string& name, const Field& k) {
    if (name == "failures") {
      m.failures = static_cast<uint32_t>(number(k, 1, core::kMaxMarginalFailures));
    } else if (name == "within") {
      m.within = std::chrono::duration_cast<Seconds>(duration(k, Seconds{1}, std::chrono::hours{24}, true));
    } else if (name == "healthy_for") {
      m.healthy_for =
          std::chrono::duration_cast<Seconds>(duration(k, Seconds{1}, std::chrono::hours{24}, true));
    }
  });
}

// off, a percentage of the host's dirty threshold (the BDI's max_ratio) or
// a size (max_bytes, Linux 6.2+).
core::DirtyLimit Walker::dirty_limit(const Field& k) const {
  const std::string& v = scalar(k, "off, a percentage such as 10% or a size such as 256MiB");
  core::DirtyLimit d;
  if (v == "off") {
    d.kind = core::DirtyLimit::Kind::Off;
  } else if (v.size() > 1 && v.back() == '%') {
    const std::string digits = v.substr(0, v.size() - 1);
    uint32_t p = 0;
    if (!std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) ||
        digits.size() > 3 || (p = static_cast<uint32_t>(std::stoul(digits))) < 1 || p > 100) {
      fail(k.value, k.path, quoted(v) + " is not a whole percentage from 1% to 100%");
    }
    d.kind = core::DirtyLimit::Kind::Percent;
    d.percent = p;
  } else if (!v.empty() && v[0] >= '0' && v[0] <= '9') {
    d.kind = core::DirtyLimit::Kind::Bytes;
    d.bytes = size(k, 1ull << 20, 1ull << 40, 4096);
  } else {
    fail(k.value, k.path, quoted(v) + " is not off, a percentage such as 10% or a size such as 256MiB");
  }
  return d;
}

void Walker::check_settings(const core::MapSettings& s, const std::map<std::string, Field>& set) {
  if (auto it = set.find("failback"); it != set.end() && s.grouping == core::Grouping::Multibus) {
    warn(it->second.key, it->second.path, "has no effect with grouping multibus (all paths in one group)");
  }
  if (auto it = set.find("pg_init_retries"); it != set.end() && s.hw_handler == core::HwHandler::None) {
    warn(it->second.key, it->second.path, "has no effect with hardware_handler none");
  }
}

void Walker::rules(const Field& f, std::vector<core::DeviceRule>& out) {
  each_item(
      f.value, f.path, "rules such as {devnode: \"sd*\"}",
      [&](const YAML::Node& item, const std::string& path) {
        if (!item.IsMap() || item.size() == 0) {
          fail(item, path,
               "a rule is a mapping with one of devnode, wwid, vendor (and product), property; e.g. "
               "{devnode: \"loop*\"}, not " +
                   kind_name(item));
        }
        core::DeviceRule rule;
        rule.file_position = where(item);
        std::optional<Field> first;  // the key that chose the rule's field
        std::optional<Field> product;
        each_key(item, path, kRuleKeys, [&](const std::string& name, const Field& k) {
          const std::string& pattern = scalar(k, "a pattern such as \"sd*\"");
          charge(k.value, pattern.size());
          if (pattern.size() > kPatternMax) {
            fail(k.value, k.path,
                 "is " + std::to_string(pattern.size()) + " characters long; at most " +
                     std::to_string(kPatternMax) + " are allowed");
          }
          std::string why;
          if (!check_glob(pattern, why))
            fail(k.value, k.path, "the pattern \"" + clip(pattern) + "\" " + why);
          if (name == "devnode" && pattern.starts_with("/dev/")) {
            fail(k.value, k.path,
                 "devnode patterns match kernel names without /dev/; write \"" + pattern.substr(5) + "\"");
          }
          if (name == "product") {
            product = k;
            rule.product_pattern = pattern;
            return;
          }
          if (first) {
            fail(k.key, k.path,
                 "a rule matches one field, and this one already has '" + first->key.Scalar() + "'; put '" +
                     name + "' in a rule of its own");
          }
          first = k;
          rule.pattern = pattern;
          if (name == "devnode") rule.field = core::DeviceRule::Field::Devnode;
          if (name == "wwid") rule.field = core::DeviceRule::Field::Wwid;
          if (name == "vendor") rule.field = core::DeviceRule::Field::VendorProduct;
          if (name == "property") rule.field = core::DeviceRule::Field::Property;
        });
        if (product && (!first || first->key.Scalar() != "vendor")) {
          fail(product->key, product->path,
               "needs a vendor in the same rule (vendor: \"*\" matches any vendor)");
        }
        out.push_back(std::move(rule));
      });
}

void Walker::maps(const Field& f, core::Config& c) {
  if (f.value.IsSequence() && f.value.size() > c.limits.max_maps) {
    fail(f.value, f.path,
         "lists " + std::to_string(f.value.size()) + " maps but limits.max_maps is " +
             std::to_string(c.limits.max_maps));
  }
  struct Named {
    YAML::Node node;
    std::string path;
    size_t map_index;
  };
  std::map<std::string, Named> wwids, aliases, members;
  uint64_t total_paths = 0;

  each_item(
      f.value, f.path, "maps such as {wwid: ..., alias: ...}",
      [&](const YAML::Node& item, const std::string& path) {
        if (!item.IsMap())
          fail(item, path, "a map entry is a mapping with at least a wwid, not " + kind_name(item));
        core::MapConfig m;
        m.file_position = where(item);
        m.settings = c.defaults;
        std::map<std::string, Field> set;
        std::optional<Field> wwid, alias;
        each_key(item, path, kMapKeys, [&](const std::string& name, const Field& k) {
          if (name == "wwid") {
            const std::string& s = scalar(k, "the WWID of the disk");
            charge(k.value, s.size());
            if (!plain_name(s))
              fail(k.value, k.path, quoted(s) + " is not a WWID (printable, no blank or '/')");
            if (s.size() > kWwidMax) {
              fail(k.value, k.path,
                   "is " + std::to_string(s.size()) + " characters long; at most " +
                       std::to_string(kWwidMax) + " fit in a device-mapper UUID (mpath-<wwid>)");
            }
            m.wwid = s;
            wwid = k;
          } else if (name == "alias") {
            const std::string& s = scalar(k, "a map name");
            charge(k.value, s.size());
            if (!plain_name(s))
              fail(k.value, k.path, quoted(s) + " is not a map name (printable, no blank or '/')");
            if (s.size() > kAliasMax) {
              fail(k.value, k.path,
                   "is " + std::to_string(s.size()) + " characters long; at most " +
                       std::to_string(kAliasMax) + " fit in a device-mapper name");
            }
            m.alias = s;
            alias = k;
          } else if (name == "paths") {
            if (k.value.IsSequence() && k.value.size() > c.limits.max_paths_per_map) {
              fail(k.value, k.path,
                   "lists " + std::to_string(k.value.size()) + " paths but limits.max_paths_per_map is " +
                       std::to_string(c.limits.max_paths_per_map));
            }
            each_item(k.value, k.path, "device names such as nbd0",
                      [&](const YAML::Node& p, const std::string& ppath) {
                        Field pf{k.key, p, ppath};
                        const std::string& dev = scalar(pf, "a device name such as nbd0");
                        charge(p, dev.size());
                        if (dev.starts_with("/dev/"))
                          fail(p, ppath,
                               "write the kernel name " + quoted(dev.substr(5)) + ", without /dev/");
                        if (!plain_name(dev) || dev.size() > kDevnodeMax) {
                          fail(p, ppath, quoted(dev) + " is not a kernel device name such as nbd0");
                        }
                        if (std::find(m.paths.begin(), m.paths.end(), dev) != m.paths.end()) {
                          fail(p, ppath, quoted(dev) + " is listed twice in this map");
                        }
                        auto [other, inserted] = members.emplace(dev, Named{p, ppath, c.maps.size()});
                        if (!inserted)
                          fail(p, ppath,
                               quoted(dev) + " is already a path of the map at " + where(other->second.node));
                        if (++total_paths > c.limits.max_paths) {
                          fail(p, ppath,
                               "the maps list more paths than limits.max_paths (" +
                                   std::to_string(c.limits.max_paths) + ")");
                        }
                        m.paths.push_back(dev);
                      });
          } else {
            setting(k, name, m.settings, set);
          }
        });
        if (!wwid)
          fail(item, path,
               "a map needs a wwid (for a disk without one, such as NBD, invent one: nbd-export1)");
        auto [other, inserted] = wwids.emplace(m.wwid, Named{wwid->value, wwid->path, c.maps.size()});
        if (!inserted)
          fail(wwid->value, wwid->path,
               quoted(m.wwid) + " is already the wwid of the map at " + where(other->second.node));
        if (alias) {
          auto [dup, fresh] = aliases.emplace(m.alias, Named{alias->value, alias->path, c.maps.size()});
          if (!fresh)
            fail(alias->value, alias->path,
                 quoted(m.alias) + " is already the alias of the map at " + where(dup->second.node));
        }
        check_settings(m.settings, set);
        c.maps.push_back(std::move(m));
      });

  // A map is named by its alias, or its wwid: no alias may be another map's wwid.
  for (const auto& [name, a] : aliases) {
    auto w = wwids.find(name);
    if (w != wwids.end() && w->second.map_index != a.map_index) {
      fail(a.node, a.path,
           quoted(name) + " is the wwid of the map at " + where(w->second.node) +
               "; map names must be unique");
    }
  }
}

// Capacities that contradict each other, or the maps and discovery settings.
// A capacity left unset follows a smaller one that is set (max_paths: 16
// alone lowers max_paths_per_map and max_maps to 16); two values that are both
// set and contradict are an error, as is a min_paths no map could reach.
void Walker::check_limits(core::Config& c) {
  auto at_most = [&](std::string_view small_path, uint32_t& small, std::string_view large_path,
                     uint32_t large, bool follow, std::string_view reason) {
    if (small <= large) return;
    auto s = set_.find(std::string(small_path));
    auto l = set_.find(std::string(large_path));
    if (s == set_.end() && follow) {
      small = large;
      return;
    }
    std::string large_text = std::to_string(large) + (l == set_.end() ? ", the default" : "");
    if (s != set_.end()) {
      fail(s->second.value, s->second.path,
           std::to_string(small) + " is more than " + std::string(large_path) + " (" + large_text +
               "): " + std::string(reason));
    }
    if (l == set_.end())
      throw Failure{YAML::Mark::null_mark(),
                    std::string(small_path) + " is more than " + std::string(large_path)};
    fail(l->second.value, l->second.path,
         std::to_string(large) + " is less than " + std::string(small_path) + " (" + std::to_string(small) +
             ", the default): " + std::string(reason));
  };
  core::Limits& l = c.limits;
  at_most("limits.max_paths_per_map", l.max_paths_per_map, "limits.max_paths", l.max_paths, true,
          "a map's paths are counted in max_paths");
  at_most("limits.max_maps", l.max_maps, "limits.max_paths", l.max_paths, true,
          "every map has at least one path");
  at_most("limits.max_groups_per_map", l.max_groups_per_map, "limits.max_paths_per_map", l.max_paths_per_map,
          true, "every path group has at least one path");
  if (counts_paths(c))
    at_most("discovery.min_paths", c.min_paths_for_map, "limits.max_paths_per_map", l.max_paths_per_map,
            false, "no map could ever be formed");

  if (c.timing.failed_polling_interval > c.timing.polling_interval) {
    auto it = set_.find("timing.failed_polling_interval");
    if (it == set_.end()) it = set_.find("timing.polling_interval");
    if (it != set_.end()) {
      warn(it->second.value, it->second.path,
           "failed paths (every " + format_duration(c.timing.failed_polling_interval) +
               ") are checked less often than healthy ones (every " +
               format_duration(c.timing.polling_interval) + ")");
    }
  }
  const core::Config defaults;
  for (auto [key, changed] : {std::pair{"naming.bindings_file", c.bindings_file != defaults.bindings_file},
                              std::pair{"naming.alias_prefix", c.alias_prefix != defaults.alias_prefix}}) {
    if (auto it = set_.find(key); it != set_.end() && changed && !c.user_friendly_names)
      warn(it->second.key, it->second.path, "is used only with user_friendly_names: true");
  }
}

// Reconfigure: the running capacities stay; say which of the file's differ.
void Walker::keep_running_limits(core::Config& c, const Field* section) {
  const core::Limits& run = *running_;
  const core::Limits& l = c.limits;
  struct Item {
    std::string_view name;
    uint64_t file;
    uint64_t kept;
    bool bytes;
  };
  const std::array<Item, 8> items{
      {{"max_paths", l.max_paths, run.max_paths, false},
       {"max_maps", l.max_maps, run.max_maps, false},
       {"max_paths_per_map", l.max_paths_per_map, run.max_paths_per_map, false},
       {"max_groups_per_map", l.max_groups_per_map, run.max_groups_per_map, false},
       {"max_events_in_flight", l.max_events_in_flight, run.max_events_in_flight, false},
       {"max_clients", l.max_clients, run.max_clients, false},
       {"log_records", l.log_records, run.log_records, false},
       {"heap_reserve", l.heap_reserve_bytes, run.heap_reserve_bytes, true}}};
  for (const Item& item : items) {
    if (item.file == item.kept) continue;
    auto text = [&](uint64_t v) { return item.bytes ? format_size(v) : std::to_string(v); };
    std::string path = "limits." + std::string(item.name);
    auto s = set_.find(path);
    std::string at = s != set_.end()      ? where(s->second.value)
                     : section != nullptr ? where(section->key)
                                          : source_;
    std::string warning = at;
    warning += ": " + path + ": changes only at the next start; the running daemon keeps " + text(item.kept);
    warning += " (this file: " + text(item.file) + ")";
    warnings_.push_back(std::move(warning));
  }
  c.limits = run;
  if (counts_paths(c) && c.min_paths_for_map > run.max_paths_per_map) {
    auto s = set_.find("discovery.min_paths");
    std::string message = std::to_string(c.min_paths_for_map) + (s == set_.end() ? " (the default)" : "") +
                          " is more than the running limits.max_paths_per_map (" +
                          std::to_string(run.max_paths_per_map) + "): no map could ever be formed";
    if (s == set_.end()) throw Failure{YAML::Mark::null_mark(), "discovery.min_paths: " + message};
    fail(s->second.value, s->second.path, message);
  }
}

void Walker::load(const YAML::Node& root, core::Config& c) {
  // An empty file (a null root) sets nothing: every default.
  if (!root.IsNull() && !root.IsMap()) {
    fail(root, "",
         "the configuration must be a mapping of sections (timing:, limits:, maps:, ...), not " +
             kind_name(root));
  }
  // Validate keys in file order, then read sections in an order that lets
  // later ones rely on earlier ones (maps need limits and defaults).
  std::map<std::string, Field> sections;
  each_key(root, "", kTopKeys, [&](const std::string& name, const Field& k) { sections.emplace(name, k); });
  auto section = [&](std::string_view name) -> const Field* {
    auto it = sections.find(std::string(name));
    return it == sections.end() ? nullptr : &it->second;
  };
  if (const Field* f = section("timing")) timing(*f, c.timing);
  if (const Field* f = section("limits")) limits(*f, c.limits);
  if (const Field* f = section("logging")) logging(*f, c.logging);
  if (const Field* f = section("control")) control(*f, c);
  if (const Field* f = section("naming")) naming(*f, c);
  if (const Field* f = section("discovery")) discovery(*f, c);
  if (const Field* f = section("defaults")) {
    std::map<std::string, Field> set;
    each_key(f->value, f->path, kSettingKeys,
             [&](const std::string& name, const Field& k) { setting(k, name, c.defaults, set); });
    check_settings(c.defaults, set);
  }
  check_limits(c);
  if (running_ != nullptr) keep_running_limits(c, section("limits"));
  if (const Field* f = section("blacklist")) rules(*f, c.blacklist);
  if (const Field* f = section("blacklist_exceptions")) rules(*f, c.blacklist_exceptions);
  if (const Field* f = section("maps")) maps(*f, c);
}

// Line and column (0-based) of byte `offset` in `text`.
YAML::Mark mark_of(std::string_view text, size_t offset) {
  YAML::Mark m = YAML::Mark::null_mark();
  m.pos = static_cast<int>(offset);
  m.line =
      static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
  size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  line_start = (line_start == std::string_view::npos || offset == 0) ? 0 : line_start + 1;
  m.column = static_cast<int>(offset - line_start);
  return m;
}

// The first tab among the leading blanks of a line, if any.
std::optional<YAML::Mark> indentation_tab(std::string_view text) {
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t i = line_start;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
      if (text[i] == '\t') return mark_of(text, i);
      ++i;
    }
    size_t nl = text.find('\n', line_start);
    if (nl == std::string_view::npos) break;
    line_start = nl + 1;
  }
  return std::nullopt;
}

// Sees where each document starts, and nothing else.
class DocumentStarts final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
  }
  void OnMapEnd() override {}
};

// "" when `input` holds at most one YAML document, else the error. Parses at
// most three documents: YAML::LoadAll (yaml-cpp 0.7) loops forever on a stray
// ',' at the top level, which starts an empty document again and again
// without being consumed. Throws yaml-cpp's syntax errors of the first ones.
std::string document_problem(const std::string& input, std::string_view text, const std::string& source) {
  std::istringstream stream(input);
  YAML::Parser parser(stream);
  DocumentStarts docs;
  for (int i = 0; i < 3 && parser.HandleNextDocument(docs); ++i) {
  }
  if (docs.starts.size() < 2) return "";
  const YAML::Mark& second = docs.starts[1];
  bool stuck =
      second.pos == docs.starts[0].pos || (docs.starts.size() > 2 && docs.starts[2].pos == second.pos);
  if (stuck && second.pos >= 0 && static_cast<size_t>(second.pos) < text.size()) {
    return position(source, second) + ": YAML syntax: unexpected '" +
           std::string(1, text[static_cast<size_t>(second.pos)]) + "'";
  }
  return position(source, second) +
         ": a second YAML document; the configuration is one document (remove the second '---')";
}

constexpr std::array<std::string_view, 16> kBuiltInDevnodes{
    "loop*",   "ram*",   "zram*", "sr*", "scd*", "fd*",  "dm-*",  "md*",
    "mmcblk*", "nullb*", "pmem*", "zd*", "vd*",  "xvd*", "drbd*", "bcache*"};

}  // namespace

std::string default_config_path() { return std::string(PK_SYSCONFDIR) + "/pathkeeper/pathkeeper.yaml"; }

core::Config default_config() {
  core::Config c;
  c.logging.file = std::string(PK_LOGDIR) + "/pathkeeperd.log";
  for (std::string_view pattern : kBuiltInDevnodes) {
    core::DeviceRule r;
    r.field = core::DeviceRule::Field::Devnode;
    r.pattern = pattern;
    r.file_position = kBuiltInRule;
    c.blacklist.push_back(std::move(r));
  }
  return c;
}

LoadResult load_config_text(std::string_view text, const std::string& source_name, core::Config& out,
                            const LoadOptions& options) {
  LoadResult result;
  try {
    if (text.size() > kMaxConfigBytes) {
      result.error = source_name + ": is " + std::to_string(text.size()) +
                     " bytes; a configuration is at most " + format_size(kMaxConfigBytes) + " (" +
                     std::to_string(kMaxConfigBytes) + " bytes)";
      return result;
    }
    if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
      result.error =
          position(source_name, mark_of(text, nul)) + ": contains a NUL byte; is this a text file?";
      return result;
    }
    if (size_t bad = 0; !valid_utf8(text, bad)) {
      result.error =
          position(source_name, mark_of(text, bad)) + ": is not valid UTF-8; the configuration is UTF-8 text";
      return result;
    }
    const std::string input(text);
    if (std::string problem = document_problem(input, text, source_name); !problem.empty()) {
      result.error = problem;
      return result;
    }
    YAML::Node root = YAML::Load(input);
    core::Config c = default_config();
    c.source = source_name;
    Walker walker(source_name, result.warnings, options.running_limits);
    walker.load(root, c);
    out = std::move(c);
    result.ok = true;
  } catch (const Failure& f) {
    result.error = position(source_name, f.mark) + ": " + f.message;
  } catch (const YAML::DeepRecursion& e) {
    result.error = position(source_name, e.mark) + ": YAML syntax: nested too deeply (" +
                   std::to_string(e.depth()) + " levels)";
  } catch (const YAML::ParserException& e) {
    // yaml-cpp reports a tab in indentation confusingly, somewhere after it.
    if (auto tab = indentation_tab(text); tab && (e.mark.line < 0 || tab->line <= e.mark.line)) {
      result.error =
          position(source_name, *tab) + ": YAML syntax: a tab in indentation; YAML indents with spaces";
    } else {
      result.error = position(source_name, e.mark) + ": YAML syntax: " + e.msg;
    }
  } catch (const YAML::Exception& e) {
    result.error = position(source_name, e.mark) + ": " + e.msg;
  } catch (const std::bad_alloc&) {
    result.error = source_name + ": out of memory while loading the configuration";
  } catch (const std::exception& e) {
    result.error = source_name + ": internal error while loading the configuration: " + e.what();
  } catch (...) {
    result.error = source_name + ": internal error while loading the configuration";
  }
  return result;
}

LoadResult load_config_file(const std::string& path, core::Config& out, const LoadOptions& options) {
  LoadResult result;
  auto system_error = [&](const char* what) {
    result.error = path + ": " + what + ": " + std::strerror(errno);
    return result;
  };
  // O_NONBLOCK: a FIFO must not hang the daemon; it is refused below.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return system_error("cannot open");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return system_error("cannot stat");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    result.error = path + ": is not a regular file";
    return result;
  }
  std::string text;
  try {
    text.resize(kMaxConfigBytes + 1);
  } catch (const std::bad_alloc&) {
    ::close(fd);
    result.error = path + ": out of memory while reading";
    return result;
  }
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      return system_error("cannot read");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > kMaxConfigBytes) {
    result.error = path + ": is larger than " + format_size(kMaxConfigBytes) +
                   "; a configuration is at most " + std::to_string(kMaxConfigBytes) + " bytes";
    return result;
  }
  text.resize(got);
  result = load_config_text(text, path, out, options);
  if (result.ok && (st.st_mode & S_IWOTH) != 0) {
    result.warnings.insert(
        result.warnings.begin(),
        path + ": is writable by every user, and it configures a daemon running as root (chmod o-w)");
  }
  return result;
}

}  // namespace pk::daemon
