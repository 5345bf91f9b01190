// Carries out the control plane's decisions (core/topology.h): gathers the
// facts (udev, sysfs, DM), asks the planner, and makes the kernel's maps match:
// create, reload (noflush) or keep. Also keeps each path's ALUA state current
// and follows DM's own events: a map appearing or vanishing outside the daemon.
//
// Threads: the loop thread. Blocking: briefly in libdevmapper (create,
// reload), never in the check round. Allocation: init() allocates; after it,
// only libdevmapper and libudev allocate, from the heap reserved at start-up.
#pragma once

#include <memory>
#include <string_view>

#include "adapters/dm_events.h"
#include "adapters/udev.h"
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

  void on_block_device(const adapters::BlockDevice& dev);
  // A session, SCSI device or controller changed (uevent): check the paths it may concern.
  void on_transport_event(const adapters::TransportEvent& event);
  // The DM event fd was readable: maps changed, appeared or vanished.
  void on_dm_event();

  // After each check: the path's ALUA state from the answer and sysfs. No
  // allocation (data plane); a map whose order must change is noted.
  void after_check(core::PathId id, core::CheckVerdict verdict, core::AluaReport said);
  // Plans again each map noted since the last call (control plane).
  void replan_changed();

  // The configuration was replaced (reconfigure; `before` is the old one):
  // new names and settings for live maps, new maps for WWIDs that now want one.
  void apply_config(const core::Config& before);

 private:
  void add_path(const adapters::BlockDevice& dev);
  void remove_path(std::string_view name);
  void refresh_alua(core::PathId id);
  void note_readable(core::PathId id, bool readable);
  void note_replan(core::MapId map);
  core::MapId map_for_wwid(std::string_view wwid);
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
  bool sync_map(core::MapId id, bool may_create);

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
  std::unique_ptr<bool[]> replan_;  // per map slot: its order must be planned again
  bool any_replan_ = false;
  std::unique_ptr<bool[]> alua_unreadable_;  // per path slot: said once, until readable again
  uint64_t garbled_sense_ = 0;               // answers whose sense data made no sense
  char name_scratch_[128] = {};              // a new friendly name, until it is bound
};

}  // namespace pk::daemon
