// The configuration as the daemon uses it: plain data with defaults.
// Loaded and validated by daemon/config/config_loader (YAML), only on the control
// plane: at start-up and on reconfigure, before the new one replaces the old.
// Threads: control plane builds it; the loop reads an installed copy.
// Allocation: yes (strings, vectors) but only while loading.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dm_table.h"

namespace pk::core {

using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

enum class CheckerKind : uint8_t { Tur, DirectIo, State, None };
// How a map's paths form groups (one group carries I/O at a time):
// failover one path per group; multibus all in one; group_by_prio one per
// priority; group_by_tpg one per ALUA target port group (as multipath-tools'
// group_by_tpg), ordered by the best priority in each.
enum class Grouping : uint8_t { Failover, Multibus, GroupByPrio, GroupByTpg };
enum class Failback : uint8_t { Immediate, Manual, Followover, Delayed };

// What to do when every path of a map is down.
struct NoPathRetry {
  enum class Kind : uint8_t { Queue, Fail, Checks, Time };
  Kind kind = Kind::Time;
  uint32_t checks = 0;    // Kind::Checks: fail after this many polling intervals with no path
  Seconds duration{300};  // Kind::Time: fail after queueing this long
  friend bool operator==(const NoPathRetry&, const NoPathRetry&) = default;
};

enum class HwHandler : uint8_t { Auto, Alua, None };  // Auto: alua when the LUN reports ALUA (tpgs)

// Whether a LUN that grew on the array grows its map by itself (once every
// usable path says the new size), or waits for `pathkeeperctl resize map`.
// Shrinking is never applied: data beyond the new end would be cut off.
enum class AutoResize : uint8_t { Grow, Off };

// A lost LUN (every path answers that the target has no such LUN, ILLEGAL
// REQUEST 25/00): Fail stops queueing at once, so I/O fails instead of
// waiting out no_path_retry for a LUN that will not come back on its own
// (ESXi's permanent device loss); Queue treats it like any outage.
enum class LostLun : uint8_t { Fail, Queue };

// Flaky paths (multipath-tools' san_path_err_*, PowerPath's autostandby): a
// path that fails more than `failures` times within `within` is marked
// marginal and is not reinstated until its checks have said it works for
// `healthy_for` without a break. The last usable path of a map is never held.
// Defaults argued in pathkeeper.yaml(5), MARGINAL PATHS.
inline constexpr uint32_t kMaxMarginalFailures = 15;  // the failure history keeps this many + 1
struct MarginalPaths {
  bool enabled = true;
  uint32_t failures = 2;  // 1..kMaxMarginalFailures
  Seconds within{60};
  Seconds healthy_for{120};
  friend bool operator==(const MarginalPaths&, const MarginalPaths&) = default;
};

// Which disks become maps by themselves (discovery.find_multipaths, as
// multipath-tools' find_multipaths). Configured (maps:) and known WWIDs (made
// into a map before: the wwids file) always do.
//   Strict: only those.
//   On:     also a WWID seen on min_paths paths.
//   Greedy: every disk with a WWID that no blacklist rule takes.
//   Smart:  as On, but a WWID seen on fewer paths is held for
//           find_multipaths_timeout waiting for more, then released: no map.
enum class FindMultipaths : uint8_t { Strict, On, Greedy, Smart };

// A map's dirty-page cap (core/host_guard.h): the share of the host's dirty
// threshold (percent, the BDI's max_ratio) or the bytes (max_bytes, Linux
// 6.2+) that its dirty and writeback pages may take.
struct DirtyLimit {
  enum class Kind : uint8_t { Off, Percent, Bytes };
  Kind kind = Kind::Percent;
  uint32_t percent = 10;  // Kind::Percent: 1..100
  uint64_t bytes = 0;     // Kind::Bytes
  friend bool operator==(const DirtyLimit&, const DirtyLimit&) = default;
};

// Settings of a map: `defaults:` and per-map overrides in `maps:`.
struct MapSettings {
  Grouping grouping = Grouping::GroupByPrio;
  Selector selector = Selector::ServiceTime;
  CheckerKind checker = CheckerKind::Tur;
  Failback failback = Failback::Immediate;
  Seconds failback_delay{0};  // Failback::Delayed
  NoPathRetry no_path_retry;
  HwHandler hw_handler = HwHandler::Auto;
  uint32_t pg_init_retries = 50;
  AutoResize auto_resize = AutoResize::Grow;
  MarginalPaths marginal;
  LostLun lost_lun = LostLun::Fail;
  DirtyLimit dirty_limit;
  friend bool operator==(const MapSettings&, const MapSettings&) = default;
};

// One entry of a blacklist or of its exceptions. Patterns are shell globs
// (* ? [..]) matched against the whole value.
struct DeviceRule {
  enum class Field : uint8_t { Devnode, Wwid, VendorProduct, Property };
  Field field = Field::Devnode;
  std::string pattern;          // devnode/wwid/property name (Property), vendor (VendorProduct)
  std::string product_pattern;  // VendorProduct only; "" matches any product
  std::string file_position;    // "file:line:col" of the rule, for messages
};

struct MapConfig {
  std::string wwid;                // identity; for NBD an invented one, e.g. "nbd-export1"
  std::string alias;               // map name; "" = the WWID (or a friendly name)
  std::vector<std::string> paths;  // explicit member devnodes (paths without a WWID: NBD)
  MapSettings settings;            // defaults with this map's overrides applied
  std::string file_position;
};

// Capacities: every data-plane structure is sized from these at start-up and
// never grows after READY (design rule 1).
struct Limits {
  uint32_t max_paths = 4096;
  uint32_t max_maps = 1024;
  uint32_t max_paths_per_map = 32;
  uint32_t max_groups_per_map = 32;
  uint32_t max_events_in_flight = 1024;
  uint32_t max_clients = 16;
  uint32_t log_records = 8192;
  uint64_t heap_reserve_bytes = 16ull << 20;  // free control-plane heap at READY, prefaulted and locked
  friend bool operator==(const Limits&, const Limits&) = default;
};

struct Timing {
  Seconds polling_interval{5};         // healthy paths
  Seconds failed_polling_interval{1};  // failed, timed out or pending paths
  Millis checker_timeout{10000};       // a check still unanswered after this is a timeout
  // Paths that are not usable: how often their transport's state is read
  // (sysfs, no I/O to the device). When it says the transport is back, the
  // path is checked at once instead of at its next failed_polling_interval.
  // 0 = never.
  Millis transport_probe_interval{250};
  friend bool operator==(const Timing&, const Timing&) = default;
};

struct LoggingConfig {
  std::string file;  // absolute; the loader fills in PK_LOGDIR/pathkeeperd.log
  uint64_t file_size_bytes = 16ull << 20;
  std::string level = "info";  // error, warning, notice, info, debug
  bool journal = true;         // journald native protocol when under systemd
};

struct Config {
  std::string source;  // file it came from, "" for built-in defaults
  Timing timing;
  Limits limits;
  LoggingConfig logging;
  std::string control_socket = "/run/pathkeeper/control.sock";
  std::string control_group;         // members may change state; "" = root only
  bool user_friendly_names = false;  // maps without an alias are named <alias_prefix><letters>
  std::string alias_prefix = "mpath";
  std::string bindings_file = "/var/lib/pathkeeper/bindings";
  std::string wwids_file = "/etc/multipath/wwids";  // "" = not kept
  FindMultipaths find_multipaths = FindMultipaths::On;
  uint32_t min_paths_for_map = 2;       // On, Smart: a WWID seen on this many paths becomes a map
  Seconds find_multipaths_timeout{10};  // Smart: how long a WWID with fewer paths is held
  MapSettings defaults;
  std::vector<DeviceRule> blacklist;
  std::vector<DeviceRule> blacklist_exceptions;
  std::vector<MapConfig> maps;
};

}  // namespace pk::core
