// From a map's settings and its paths to the table the kernel gets:
// grouping policy (failover, multibus, group_by_prio, group_by_tpg), path
// priorities from ALUA states, features and the hardware handler.
// Threads: loop thread (control plane, when a map is created or reloaded).
// Blocking: never. Allocation: never (caller's storage).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/config.h"
#include "core/devt.h"
#include "core/dm_table.h"
#include "core/model.h"

namespace pk::core {

// Priority of a path from its sysfs access_state ("" when the LUN has no ALUA).
uint8_t alua_priority(std::string_view access_state);
// Priority of a path from what is known of its port group, as multipath-tools'
// alua prioritizer counts: optimized 50, non-optimized 10, lba-dependent 5,
// standby 1, anything else 0; the array's preferred port group adds 80. A
// port in transition keeps the priority of its last settled state, so a map
// is not reordered for a state that is about to change again. 1 without ALUA.
uint8_t path_priority(const Alua& alua);

struct GroupInput {
  DevT devt;
  uint8_t priority = 1;
  bool alua = false;
  uint16_t tpg = 0;        // target port group id (group_by_tpg)
  bool tpg_known = false;  // without it, group_by_tpg groups the path by priority
};

// Fills `groups` and `paths` (each at least inputs.size() long) and returns the
// table; `path_group[i]` receives the 1-based group of inputs[i]. Groups are
// ordered best first (highest priority), so group 1 is where I/O should go.
MultipathTable build_table(const MapSettings& settings, std::span<const GroupInput> inputs,
                           std::span<TableGroup> groups, std::span<DevT> paths,
                           std::span<uint16_t> path_group);

}  // namespace pk::core
