#include "ipc/auth.h"

#include <grp.h>

#include <cerrno>
#include <string>
#include <vector>

#include "core/text.h"

namespace pk::ipc {

bool may_change_state(uid_t uid, gid_t gid, std::span<const gid_t> groups, const ControlPolicy& policy) {
  if (uid == 0) return true;
  if (!policy.group_set) return false;
  if (gid == policy.gid) return true;
  for (gid_t g : groups)
    if (g == policy.gid) return true;
  return false;
}

bool resolve_control_policy(std::string_view group, ControlPolicy& out, core::Error& err) {
  if (group.empty()) {
    out = ControlPolicy{};
    return true;
  }
  std::string name(group);
  std::vector<char> buf(4096);
  for (;;) {
    struct group entry {};
    struct group* found = nullptr;
    int rc = ::getgrnam_r(name.c_str(), &entry, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (size_t{1} << 24)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (found) {
      out = ControlPolicy{true, found->gr_gid};
      return true;
    }
    break;
  }
  gid_t gid = 0;
  if (core::parse_uint(group, gid)) {
    out = ControlPolicy{true, gid};
    return true;
  }
  err.set("control_group '%s' is not a group on this system", name.c_str());
  return false;
}

}  // namespace pk::ipc
