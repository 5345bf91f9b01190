// The dm-multipath status line (DM_TABLE_STATUS, info form), parameters after
// "<start> <length> multipath":
//
//   <#features=2> <queue_io> <pg_init_count> <#hw args> [args]
//   <#groups> <next group>
//   per group: <A|D|E> <#selector status args> [args] <#paths> <#info args>
//              per path: <major:minor> <A|F> <fail_count> [info args]
//
// Read after every DM event and check round to stay in sync with the kernel.
//
// Threads: the check loop (data plane). Blocking: never. Allocation: never;
// the caller owns all storage.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/devt.h"
#include "core/parse_result.h"

namespace pk::core {

enum class GroupState : uint8_t { Active, Disabled, Enabled };  // A, D (bypassed), E

struct StatusPath {
  DevT devt;
  bool active = false;  // A: usable by the kernel; F: failed
  uint32_t fail_count = 0;
  uint16_t group = 0;  // 0-based index of its group
};

struct StatusGroup {
  GroupState state = GroupState::Enabled;
  uint16_t first_path = 0;
  uint16_t path_count = 0;
};

struct MultipathStatus {
  bool queue_io = false;  // I/O is held while a path group initialises
  uint32_t pg_init_count = 0;
  uint16_t next_group = 0;  // 1-based, 0 when the map has no group
  std::span<const StatusGroup> groups;
  std::span<const StatusPath> paths;

  unsigned active_paths() const;
};

ParseResult parse_multipath_status(std::string_view text, std::span<StatusGroup> group_store,
                                   std::span<StatusPath> path_store, MultipathStatus& out);

}  // namespace pk::core
