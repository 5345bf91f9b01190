#include "core/model.h"

namespace pk::core {

std::string_view path_state_name(PathState s) {
  switch (s) {
    case PathState::Unchecked:
      return "unchecked";
    case PathState::Up:
      return "up";
    case PathState::Ghost:
      return "ghost";
    case PathState::Pending:
      return "pending";
    case PathState::Down:
      return "down";
    case PathState::Timeout:
      return "timeout";
  }
  return "?";
}

std::string_view checker_kind_name(CheckerKind k) {
  switch (k) {
    case CheckerKind::Tur:
      return "tur";
    case CheckerKind::DirectIo:
      return "directio";
    case CheckerKind::State:
      return "state";
    case CheckerKind::None:
      return "none";
  }
  return "?";
}

std::string_view find_multipaths_name(FindMultipaths f) {
  switch (f) {
    case FindMultipaths::Strict:
      return "strict";
    case FindMultipaths::On:
      return "on";
    case FindMultipaths::Greedy:
      return "greedy";
    case FindMultipaths::Smart:
      return "smart";
  }
  return "?";
}

std::string_view dm_state_name(DmState s) {
  switch (s) {
    case DmState::Unknown:
      return "unknown";
    case DmState::Active:
      return "active";
    case DmState::Failed:
      return "failed";
  }
  return "?";
}

std::string_view transport_name(Transport t) {
  switch (t) {
    case Transport::Scsi:
      return "scsi";
    case Transport::Iscsi:
      return "iscsi";
    case Transport::Nbd:
      return "nbd";
    case Transport::Nvme:
      return "nvme";
    case Transport::Unknown:
      break;
  }
  return "unknown";
}

namespace {
// The kernel's spelling (drivers/scsi/scsi_sysfs.c, sdev_access_states).
struct AluaName {
  AluaState state;
  std::string_view name;
};
constexpr AluaName kAluaNames[] = {
    {AluaState::Optimized, "active/optimized"},
    {AluaState::NonOptimized, "active/non-optimized"},
    {AluaState::LbaDependent, "lba-dependent"},
    {AluaState::Standby, "standby"},
    {AluaState::Unavailable, "unavailable"},
    {AluaState::Transitioning, "transitioning"},
    {AluaState::Offline, "offline"},
    {AluaState::None, "none"},
    {AluaState::Unknown, "unknown"},
};
}  // namespace

std::string_view alua_state_name(AluaState s) {
  for (const AluaName& n : kAluaNames)
    if (n.state == s) return n.name;
  return "?";
}

bool parse_alua_state(std::string_view text, AluaState& out) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  for (const AluaName& n : kAluaNames) {
    if (n.name == text && n.state != AluaState::None) {
      out = n.state;
      return true;
    }
  }
  return false;
}

std::string_view dirty_cap_state_name(DirtyCapState s) {
  switch (s) {
    case DirtyCapState::Off:
      return "off";
    case DirtyCapState::Pending:
      return "pending";
    case DirtyCapState::Applied:
      return "applied";
    case DirtyCapState::Partial:
      return "not-strict";
    case DirtyCapState::Deferred:
      return "deferred";
    case DirtyCapState::Unsupported:
      return "unsupported";
    case DirtyCapState::Failed:
      return "failed";
  }
  return "?";
}

}  // namespace pk::core
