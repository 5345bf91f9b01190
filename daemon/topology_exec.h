// Carries out the control plane's decisions (core/topology.h): gathers the
// facts (udev, sysfs, DM), asks the planner, and makes the kernel's maps match:
// create, reload (noflush) or keep. Also keeps each path's ALUA state current
// and follows DM's own events: a map appearing or vanishing outside the daemon.
// The map lifecycle (removal when the last path goes, resize when the LUN
// grew, and the operator's remove / add / resize) is in
// daemon/topology_lifecycle.cpp.
//
// Threads: the loop thread. Blocking: briefly in libdevmapper (create,
// reload), never in the check round. Allocation: init() allocates; after it,
// only libdevmapper and libudev allocate, from the heap reserved at start-up.
#pragma once

#include <memory>
#include <string_view>

#include "adapters/dm_events.h"
#include "adapters/udev.h"
#include "core/held_wwids.h"
#include "core/text.h"
#include "core/topology.h"
#include "daemon/actions.h"
#include "daemon/context.h"

namespace pk::daemon {

class TopologyExec {
 public:
  TopologyExec(Context& ctx, Actions& actions) : ctx_(ctx), actions_(actions) {}

  // Start-up: storage for planning the largest map, the DM device list.
  bool init(core::Error& err);
  // Start-up: takes DM's list as the baseline of its events and adopts the
  // maps with a UUID "mpath-<wwid>" (their tables are compared once their
  // paths are known).
  void adopt_existing_maps();
  // Gives every path that is in no map its map, when the map is wanted.
  void resolve_maps();
  // find_multipaths smart: releases the WWIDs whose wait has ended (no map).
  // Called every turn of the loop; no allocation.
  void release_held();
  // When the next wait of find_multipaths smart ends (MonoTime::max(): none).
  core::MonoTime next_wakeup() const { return held_.next_deadline(); }

  void on_block_device(const adapters::BlockDevice& dev);
  // A session, SCSI device or controller changed (uevent): check the paths it may concern.
  void on_transport_event(const adapters::TransportEvent& event);
  // The DM event fd was readable: maps changed, appeared or vanished.
  void on_dm_event();

  // After each check: the path's ALUA state from the answer and sysfs. No
  // allocation (data plane); a map whose order must change is noted.
  void after_check(core::PathId id, core::CheckVerdict verdict, core::AluaReport said);
  // After each check, before its answer counts: whether the kernel now gives
  // the path another identity (a rescan read a new VPD page 0x83, with or
  // without a uevent). If so the path is failed in its map at once, taken
  // out, and udev is asked for a change event, whose new WWID puts it in the
  // map of its new LUN. One pread when nothing changed (no allocation).
  bool identity_changed(core::PathId id);
  // Plans again each map noted since the last call (control plane).
  void replan_changed();

  // The configuration was replaced (reconfigure; `before` is the old one):
  // every device udev knows is decided again (a path now blacklisted leaves
  // its map, and a map left without a path goes as when its last path is
  // removed; a device now allowed becomes a path at once), then new names
  // and settings for live maps, new maps for WWIDs that now want one.
  void apply_config(const core::Config& before);

  // Operator commands of the map lifecycle (daemon/topology_lifecycle.cpp).
  // Each writes what it did, or why not, into `out`; false when refused or
  // failed. No allocation of their own (libdevmapper and libudev use the
  // reserved heap).
  // `remove map NAME`: refused while open; else queueing off, its kpartx
  // partitions, then the map. The map stays known (not in the kernel) until
  // `add path` of one of its paths, or its paths come again.
  bool remove_map_by_operator(std::string_view name, core::FixedWriter& out);
  // `remove map --all`: every map nothing holds open.
  bool remove_all_maps(core::FixedWriter& out);
  // `remove path DEV`: out of its map and no longer checked; its uevents are
  // ignored until `add path DEV` (or the device goes away).
  bool remove_path_by_operator(std::string_view dev, core::FixedWriter& out);
  // `add path DEV`: a device udev knows becomes a path again; a path whose
  // map was removed brings the map back.
  bool add_path_by_operator(std::string_view dev, core::FixedWriter& out);
  // A map kept after its last path went is looked at again every few
  // seconds (one DM_DEV_STATUS, no allocation): once nothing holds it (an
  // umount, a udev probe that ended) it is removed, as the kernel's deferred
  // removal would do. Called every turn of the loop.
  void retry_kept_maps();
  // `resize map NAME`: every member's size read again, then plan_resize
  // (growth applied whatever auto_resize says; a shrink never).
  bool resize_by_operator(std::string_view name, core::FixedWriter& out);

 private:
  // The planner's decision for a device, with its size read from sysfs.
  core::DeviceDecision plan_device(const adapters::BlockDevice& dev, uint64_t& sectors);
  // A change uevent says another LUN is behind the path: failed at once.
  bool lun_replaced(core::PathId id, const adapters::BlockDevice& dev);
  // The kernel stops sending the map's I/O to the path (fail_path), before
  // the reload that takes it out.
  void fail_in_kernel(const core::Path& p);
  enum class Removal : uint8_t { Removed, Kept, Failed };
  // plan_removal, and when it says Remove: queueing off, partitions, map.
  // `why` says what happened (Kept: why it stays; Failed: the error).
  Removal remove_map(core::MapId id, core::FixedWriter& why);
  // The map's last path went away: removed, or kept (open) with the reason
  // in status. Appends the outcome to `out` when given.
  void last_path_gone(core::MapId id, core::FixedWriter* out);
  // Reads a path's size from sysfs again; true when it changed.
  bool reread_size(core::PathId id);
  // plan_resize over the members' last known sizes, carried out.
  core::ResizeDecision resize(core::MapId id, bool asked, core::FixedWriter& out);
  // The map an operator names, when it is in the kernel and ours to change;
  // kNoSlot with the reason in `out` otherwise.
  core::MapId live_map(std::string_view name, core::FixedWriter& out) const;
  bool removed_by_operator(std::string_view dev) const;
  void forget_removed_by_operator(std::string_view dev);
  // Whether path `id` (of the map's WWID, in no map) may join `map`: its size
  // against the map's (core::plan_join); a refusal is logged and noted.
  bool size_fits(core::PathId id, core::MapId map);
  // Facts of the members of map `id` into members_; returns how many.
  size_t gather_members(core::MapId id);

  // Adds a path (true), or says why the device is none (false, into `why`).
  bool add_path(const adapters::BlockDevice& dev, core::FixedWriter* why = nullptr);
  void remove_path(std::string_view name, core::FixedWriter* out = nullptr);
  void refresh_alua(core::PathId id);
  void note_readable(core::PathId id, bool readable);
  void note_replan(core::MapId map);
  core::MapId map_for_wwid(std::string_view wwid);
  // Whether `wwid`, in no map yet, gets one (wants_map); starts
  // find_multipaths smart's wait when it says Hold.
  bool wanted(std::string_view wwid);
  // Reconfigure: udev's devices decided again under the new configuration.
  void rescan_devices();
  // Whether a DM device or a map of another WWID carries `name` already.
  bool name_taken(std::string_view name, std::string_view wwid) const;
  // Carries a naming decision out: a new friendly name is bound (the file
  // follows off the loop); returns the name the map gets.
  std::string_view take_name(const core::NameChoice& choice, std::string_view wwid);
  // An adopted map with a friendly name its WWID has no binding for keeps it,
  // bound (as multipathd does), so that it is never given to another WWID.
  void keep_adopted_name(std::string_view name, std::string_view wwid);
  void adopt(const adapters::DmMapInfo& info, bool at_start);
  // Plans the map and carries the plan out. A map not in the kernel is made
  // only when `may_create` (a path came), never behind an admin's removal.
  // `resize_to`: plan_resize's Grow, the map's new size (0: keep its size).
  bool sync_map(core::MapId id, bool may_create, uint64_t resize_to = 0);

  Context& ctx_;
  Actions& actions_;
  adapters::DmEventWatcher watcher_;
  // Planner storage for the largest map.
  std::unique_ptr<core::MemberFacts[]> members_;
  std::unique_ptr<core::GroupInput[]> inputs_;
  std::unique_ptr<core::TableGroup[]> groups_;
  std::unique_ptr<core::DevT[]> paths_;
  std::unique_ptr<uint16_t[]> path_group_;
  std::unique_ptr<core::TableGroup[]> current_groups_;
  std::unique_ptr<core::DevT[]> current_paths_;
  std::unique_ptr<char[]> text_;
  size_t text_capacity_ = 0;
  core::HeldWwids held_;            // find_multipaths smart's waits
  std::unique_ptr<bool[]> replan_;  // per map slot: its order must be planned again
  bool any_replan_ = false;
  std::unique_ptr<bool[]> alua_unreadable_;  // per path slot: said once, until readable again
  uint64_t garbled_sense_ = 0;               // answers whose sense data made no sense
  char name_scratch_[128] = {};              // a new friendly name, until it is bound
  // Devices an operator removed (`remove path`): their uevents are ignored.
  static constexpr size_t kMaxRemovedByOperator = 64;
  core::MonoTime next_kept_retry_{0};
  core::FixedString<32> removed_by_operator_[kMaxRemovedByOperator];
};

}  // namespace pk::daemon
