#include "adapters/alua_sysfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "adapters/sysfs.h"
#include "core/topology.h"

namespace pk::adapters {

AluaSysfs::~AluaSysfs() {
  for (uint32_t i = 0; i < capacity_; ++i) detach(i);
}

bool AluaSysfs::init(uint32_t capacity, int sysfs_fd, core::Error& err) {
  files_ = std::make_unique<Files[]>(capacity);
  if (!files_) {
    err.set("cannot allocate ALUA state for %u paths", capacity);
    return false;
  }
  capacity_ = capacity;
  sysfs_fd_ = sysfs_fd;
  return true;
}

core::Alua AluaSysfs::attach(core::PathId path, std::string_view dev) {
  core::Alua alua;  // None
  if (path >= capacity_ || dev.empty() || dev.size() > 32 || dev.find('/') != std::string_view::npos)
    return alua;
  detach(path);
  char rel[96];
  Files& f = files_[path];
  std::snprintf(rel, sizeof rel, "block/%.*s/device/access_state", static_cast<int>(dev.size()), dev.data());
  f.access = ::openat(sysfs_fd_, rel, O_RDONLY | O_CLOEXEC);
  if (f.access < 0) return alua;  // no such attribute: no ALUA
  std::snprintf(rel, sizeof rel, "block/%.*s/device/preferred_path", static_cast<int>(dev.size()),
                dev.data());
  f.preferred = ::openat(sysfs_fd_, rel, O_RDONLY | O_CLOEXEC);

  bool preferred = false;
  core::AluaState state = read(path, preferred);
  // The attribute exists for every SCSI disk; it answers only when the alua
  // handler is attached, which it is for LUNs that report ALUA (TPGS).
  if (state == core::AluaState::Unknown) {
    detach(path);
    return alua;
  }
  alua.state = state;
  alua.settled = state == core::AluaState::Transitioning ? core::AluaState::Unknown : state;
  alua.preferred = preferred;

  std::snprintf(rel, sizeof rel, "block/%.*s/device/vpd_pg83", static_cast<int>(dev.size()), dev.data());
  int fd = ::openat(sysfs_fd_, rel, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    uint8_t page[1024];
    ssize_t n;
    do {
      n = ::read(fd, page, sizeof page);
    } while (n < 0 && errno == EINTR);
    ::close(fd);
    if (n > 0) alua.group_id_known = core::tpg_from_vpd83({page, static_cast<size_t>(n)}, alua.group_id);
  }
  return alua;
}

void AluaSysfs::detach(core::PathId path) {
  if (path >= capacity_) return;
  Files& f = files_[path];
  if (f.access >= 0) ::close(f.access);
  if (f.preferred >= 0) ::close(f.preferred);
  f = Files{};
}

core::AluaState AluaSysfs::read(core::PathId path, bool& preferred) const {
  preferred = false;
  if (path >= capacity_ || files_[path].access < 0) return core::AluaState::Unknown;
  char buf[64];
  std::string_view text;
  core::AluaState state = core::AluaState::Unknown;
  if (!Sysfs::reread(files_[path].access, buf, text) || !core::parse_alua_state(text, state))
    return core::AluaState::Unknown;
  if (Sysfs::reread(files_[path].preferred, buf, text)) preferred = text == "1";
  return state;
}

}  // namespace pk::adapters
