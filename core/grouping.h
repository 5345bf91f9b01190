// From a map's settings and its paths to the table the kernel gets:
// grouping policy (failover, multibus, group_by_prio), path priorities from
// ALUA access states, features and the hardware handler.
// Threads: loop thread (control plane, when a map is created or reloaded).
// Blocking: never. Allocation: never (caller's storage).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/config.h"
#include "core/devt.h"
#include "core/dm_table.h"

namespace pk::core {

// Priority of a path from its sysfs access_state ("" when the LUN has no ALUA).
uint8_t alua_priority(std::string_view access_state);

struct GroupInput {
  DevT devt;
  uint8_t priority = 1;
  bool alua = false;
};

// Fills `groups` and `paths` (each at least inputs.size() long) and returns the
// table; `path_group[i]` receives the 1-based group of inputs[i]. Groups are
// ordered best first (highest priority), so group 1 is where I/O should go.
MultipathTable build_table(const MapSettings& settings, std::span<const GroupInput> inputs,
                           std::span<TableGroup> groups, std::span<DevT> paths,
                           std::span<uint16_t> path_group);

}  // namespace pk::core
