// Who may change state through the control socket: root, and the members of
// Config::control_group. Everyone may read (show, status).
//
// Threads: any. Blocking: may_change_state never; resolve_control_policy
// reads the group database (start-up and reconfigure only).
// Allocation: may_change_state never; resolve_control_policy yes.
#pragma once

#include <sys/types.h>

#include <span>
#include <string_view>

#include "core/error.h"

namespace pk::ipc {

struct ControlPolicy {
  bool group_set = false;  // false: root only
  gid_t gid = 0;
};

// The decision for a peer with user `uid`, primary group `gid` and
// supplementary `groups` (as SO_PEERCRED and SO_PEERGROUPS report them).
bool may_change_state(uid_t uid, gid_t gid, std::span<const gid_t> groups, const ControlPolicy& policy);

// From the configured group name ("" = root only; a number is taken as a gid
// when no group has that name). False, with a message, for an unknown group.
bool resolve_control_policy(std::string_view group, ControlPolicy& out, core::Error& err);

}  // namespace pk::ipc
