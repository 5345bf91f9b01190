// The control plane's decisions, pure: which block devices become paths, which
// WWIDs get a map and under which name, which table each map should have, and
// whether the kernel's map is created, reloaded or kept, and why. Also how a
// check's answer and sysfs together give a path's ALUA state, and which DM
// devices are pathkeeper's to manage at all.
//
// The daemon gathers the facts (udev, sysfs, DM) and carries the decisions
// out (daemon/topology_exec.cpp); "why was this map reloaded" is answered
// here, in plan_map's reason.
//
// Threads: the loop thread (control plane: discovery, uevents, reconfigure,
// an ALUA change). Blocking: never. Allocation: never (the caller's storage).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/bindings.h"
#include "core/config.h"
#include "core/device_rules.h"
#include "core/dm_table.h"
#include "core/grouping.h"
#include "core/model.h"

namespace pk::core {

inline constexpr std::string_view kUuidPrefix = "mpath-";  // DM UUID of a map: "mpath-<wwid>"

// ---------------------------------------------------------------- devices

// What discovery knows of a block device.
struct DiscoveredDevice {
  DeviceFacts id;  // name, WWID, vendor/product, udev properties
  DevT devt;
  Transport transport = Transport::Unknown;
  uint64_t sectors = 0;  // 0: no medium yet (NBD not connected, LUN not mapped)
};

struct DeviceDecision {
  enum class Kind : uint8_t {
    Accept,  // a path: add it
    Ignore,  // never a path (until the configuration changes)
    NotYet,  // not a path now; a later uevent may make it one
  };
  Kind kind = Kind::Ignore;
  const char* reason = "";                 // static text, for the log
  const DeviceRule* rule = nullptr;        // Ignore by a blacklist rule: which
  std::string_view wwid;                   // Accept: the WWID the path serves
  CheckerKind checker = CheckerKind::Tur;  // Accept
  const MapConfig* map_config = nullptr;   // Accept: the map configured for it, if any
};

// Blacklist (with exceptions), the WWID (or the configured map that names the
// device among its paths), a size of 0, and the checker: tur needs SCSI, so
// other transports get directio.
DeviceDecision plan_device(const DiscoveredDevice& dev, const Config& config);

// After a change uevent of a known path: whether the LUN behind it is another
// one now (an array that remapped the LUN number, then a rescan), so that
// writes meant for the map's LUN would reach another. Only an accepted
// device whose WWID is known and differs counts: an event without a WWID
// (udev could not read it) changes nothing.
bool lun_replaced(std::string_view known_wwid, const DeviceDecision& now);

const MapConfig* map_config_for_wwid(const Config& config, std::string_view wwid);
const MapConfig* map_config_for_devnode(const Config& config, std::string_view dev);
// The settings of the map of `wwid`: its entry in maps:, else defaults.
const MapSettings& settings_for(const Config& config, std::string_view wwid);
// The map's name as it stands, giving no new one: its configured alias, else
// (user_friendly_names) its binding, else the WWID.
std::string_view map_name_for(const Config& config, const BindingTable& bindings, std::string_view wwid);

// The name a map of `wwid` gets, friendly names as multipath-tools gives
// them: an alias in maps: wins; else, with user_friendly_names, the WWID's
// binding, or the lowest free <alias_prefix><letters> (NewBinding: the daemon
// binds it). A binding whose alias maps: gives to another WWID gives way (a
// new name is chosen); a bound name that `taken` (another DM device has it)
// leaves the map named by its WWID, as multipath-tools does. `taken` is asked
// only about names no binding or alias holds; the new name is in `scratch`.
struct NameChoice {
  enum class Source : uint8_t { Alias, Binding, NewBinding, Wwid };
  Source source = Source::Wwid;
  std::string_view name;
  const char* why = "";               // why not a friendly name, or why a new one; for the log
  const Binding* gave_way = nullptr;  // NewBinding: the WWID's binding to drop first
};
NameChoice choose_map_name(const Config& config, const BindingTable& bindings, std::string_view wwid,
                           FunctionRef<bool(std::string_view)> taken, std::span<char> scratch);

// After a reconfigure: the name the map of `wwid` should now have, when it
// must be renamed (an empty name otherwise). Only a map that carries the name
// the previous configuration gave it is renamed (a map adopted under another
// name, e.g. multipathd's, keeps it). Turning user_friendly_names on or off
// renames as multipathd does.
NameChoice plan_rename(const Config& before, const Config& after, const BindingTable& bindings,
                       std::string_view wwid, std::string_view current_name,
                       FunctionRef<bool(std::string_view)> taken, std::span<char> scratch);

// Whether the paths of `wwid`, in no map yet, get one, by
// discovery.find_multipaths (core/config.h): a configured map and a known
// WWID (`known`: made into a map before, the wwids file) always, even with
// one path (a SAN disk that comes back degraded at boot stays a map); then
// strict: no other; on: once seen on min_paths paths; greedy: every one;
// smart: as on, else Hold (core/held_wwids.h times the wait), and no map once
// `released` (the wait ended without more paths).
struct MapWish {
  enum class Kind : uint8_t { Map, NoMap, Hold };
  Kind kind = Kind::NoMap;
  const char* reason = "";  // static text, for the log
};
MapWish wants_map(const Config& config, std::string_view wwid, uint32_t paths_seen, bool known,
                  bool released);

// ---------------------------------------------------------------- DM devices

struct DmOwnership {
  bool ours = false;
  std::string_view wwid;    // ours: the WWID from the UUID
  const char* reason = "";  // not ours: why (for the one log line)
};

// A DM device is ours when it is a multipath target whose UUID is
// "mpath-<wwid>" (ours, multipathd's, or a boot-time one): anything else is
// left alone and never reloaded.
DmOwnership dm_ownership(std::string_view uuid, bool multipath_target);

// ---------------------------------------------------------------- ALUA

// A path's ALUA state after a check: what the answer said (standby,
// unavailable, transitioning come in the sense data), else sysfs access_state
// when it names an active state, else what was known. A check that answers
// GOOD while sysfs still says standby means sysfs has not caught up: the port
// is active, and non-optimized until sysfs says more.
// `sysfs` is AluaState::Unknown when it could not be read.
Alua alua_after_check(const Alua& before, CheckVerdict verdict, AluaReport said, AluaState sysfs,
                      bool sysfs_preferred);
// The same from sysfs alone (a change uevent, a path added).
Alua alua_from_sysfs(const Alua& before, AluaState sysfs, bool sysfs_preferred);

// The target port group id from VPD page 0x83 (device identification), the
// designator of type 5 (SPC-4 7.8.6.6). False when there is none or the page
// is malformed.
bool tpg_from_vpd83(std::span<const uint8_t> page, uint16_t& tpg);

// ---------------------------------------------------------------- maps

// One member of a map, as the planner needs it.
struct MemberFacts {
  DevT devt;
  Alua alua;
  uint64_t sectors = 0;  // the size sysfs last gave; 0 when it could not be read
  bool usable = true;    // up or ghost by the checks: its size is the array's word now
};

// The kernel's map as it is now (in_kernel false: there is none).
struct KernelMap {
  bool in_kernel = false;
  bool queueing = false;   // queue_if_no_path now (no_path_retry may have ended it)
  std::string_view table;  // params as DM reports them; "" when unread
  uint64_t sectors = 0;
};

// Storage for one plan, sized for the largest map (limits.max_paths_per_map).
struct MapPlanStorage {
  std::span<GroupInput> inputs;
  std::span<TableGroup> groups;
  std::span<DevT> paths;
  std::span<uint16_t> path_group;  // per member: its 1-based group
  std::span<TableGroup> current_groups;
  std::span<DevT> current_paths;
  std::span<char> text;
};

struct MapPlan {
  enum class Kind : uint8_t {
    Create,  // no map in the kernel: create it with `table`
    Reload,  // the kernel's table differs: load `table` (noflush)
    Keep,    // the kernel's table already is `table`
    None,    // nothing to plan: no member, or the table does not fit
  };
  Kind kind = Kind::None;
  const char* reason = "";  // why, for the log: "new map", "group order changed", ...
  std::string_view table;   // the parameters, in storage.text
  uint64_t sectors = 0;
  uint16_t best_group = 0;  // 1-based group that should carry I/O (the first)
};

// The table `settings` and `members` call for, compared with the kernel's.
// Priorities and groups per member land in storage.path_group and
// storage.inputs[i].priority. The kernel's current queueing choice is kept
// (no_path_retry may have turned it off), and a table the kernel reports but
// that cannot be parsed is reloaded.
// Size: a new map takes its first member's; a map in the kernel keeps its
// size unless `resize_to` (plan_resize's Grow) is given, so that no other
// reload ever changes a map's size behind the resize rules.
MapPlan plan_map(const MapSettings& settings, std::span<const MemberFacts> members, const KernelMap& kernel,
                 const MapPlanStorage& storage, uint64_t resize_to = 0);

// ---------------------------------------------------------------- resize

// What to do with a map's size after its paths' sizes were read again (a
// change uevent, or an operator's `resize map`).
struct ResizeDecision {
  enum class Kind : uint8_t {
    Same,      // every usable path says the map's size: nothing to do
    Grow,      // reload (noflush) with `sectors`
    Waits,     // the LUN grew, auto_resize is off: applied when an operator asks
    Shrink,    // the LUN shrank: never applied (data beyond the new end would be lost)
    Disagree,  // usable paths say different sizes: nothing changes until they agree
    TooSmall,  // a path not usable still says less than the new size: the kernel would refuse the table
    NoSize,    // no usable path with a known size: nothing to decide from
  };
  Kind kind = Kind::NoSize;
  const char* reason = "";  // static text, for the log and the operator's reply
  uint64_t sectors = 0;     // the size the usable paths agree on (Grow, Waits, Shrink, TooSmall)
  // Disagree: two members (indexes into `members`) that say different sizes;
  // TooSmall: `first` is the member too small for the new size.
  size_t first = SIZE_MAX;
  size_t other = SIZE_MAX;
};

// `asked`: an operator's `resize map` (growth then applies whatever
// auto_resize says). Paths not usable are not asked for the size (a dead
// path's sysfs keeps the old one), but the kernel refuses a map larger than
// any of its devices, so one of them that is known to be smaller stops a
// growth.
ResizeDecision plan_resize(uint64_t map_sectors, std::span<const MemberFacts> members, AutoResize policy,
                           bool asked);

// Whether a path may join the map of its WWID that is in the kernel: only
// when it says the map's size. A smaller device would make the kernel refuse
// the table (or end the map's I/O early); a larger one is another LUN that
// claims the same WWID, or the LUN grew and the map has not yet: plan_resize
// grows the map once its usable paths agree, and the path joins then. A size
// of 0 on either side (not known) refuses nothing.
struct JoinDecision {
  bool join = true;
  const char* reason = "";  // refused: why, static text
};
JoinDecision plan_join(uint64_t map_sectors, uint64_t path_sectors);

// ---------------------------------------------------------------- removal

// Whether a DM device is a kpartx partition of the map of `wwid`: its UUID
// is "part<N>-mpath-<wwid>" (kpartx's convention, what kpartx.rules and
// multipath-tools use; the name varies: NAME-part1, NAMEp1, NAME1).
bool is_partition_of(std::string_view uuid, std::string_view wwid);

// A kpartx partition of a map and its own open count.
struct PartitionFacts {
  std::string_view name;
  int32_t open_count = 0;
};

struct RemovalPlan {
  enum class Kind : uint8_t {
    Remove,  // nothing holds it: queueing off first, then its partitions, then the map
    Keep,    // something holds it open: it stays (and keeps queueing per no_path_retry)
  };
  Kind kind = Kind::Keep;
  const char* reason = "";     // Keep: why, static text
  std::string_view partition;  // Keep because a partition is open: which one
  int32_t holders = 0;         // Keep: the map's openers other than its partitions (or the partition's)
};

// Removing a map that is mounted, held by LVM or has a partition in use
// would fail (EBUSY) or, worse, leave its user with a vanished device, so it
// is refused. The map's open count includes one opener per kpartx partition
// (each partition's table opens it); those go with the map unless one of
// them is open itself.
RemovalPlan plan_removal(int32_t map_open_count, std::span<const PartitionFacts> partitions);

// Whether an ALUA change is worth planning the map again: only once some
// port can serve I/O. While every port is standby, unavailable or in
// transition (an array between two steps of an upgrade), a reload would only
// reshuffle ports that cannot serve, and suspend the map once more.
bool alua_reorder_worthwhile(std::span<const MemberFacts> members);

// Why two tables differ (the first difference found), or nullptr when they
// would drive the kernel alike. Same paths in the same groups but in another
// order is "group order changed": what an ALUA change does.
const char* table_difference(const MultipathTable& want, const MultipathTable& have);

}  // namespace pk::core
