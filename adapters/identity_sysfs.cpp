#include "adapters/identity_sysfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "adapters/sysfs.h"

namespace pk::adapters {

namespace {

// The attribute's text without its newline.
bool read_identity(int fd, std::span<char> buf, std::string_view& out) {
  if (!Sysfs::reread(fd, buf, out)) return false;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.remove_suffix(1);
  return !out.empty();
}

}  // namespace

IdentitySysfs::~IdentitySysfs() {
  for (uint32_t i = 0; i < capacity_; ++i) detach(i);
}

bool IdentitySysfs::init(uint32_t capacity, int sysfs_fd, core::Error& err) {
  slots_ = std::make_unique<Slot[]>(capacity);
  if (!slots_) {
    err.set("cannot allocate identity state for %u paths", capacity);
    return false;
  }
  capacity_ = capacity;
  sysfs_fd_ = sysfs_fd;
  return true;
}

bool IdentitySysfs::attach(core::PathId path, std::string_view dev) {
  if (path >= capacity_ || dev.empty() || dev.size() > 32 || dev.find('/') != std::string_view::npos)
    return false;
  detach(path);
  Slot& s = slots_[path];
  char rel[96];
  const int n = static_cast<int>(dev.size());
  // SCSI disks: the device's wwid; NVMe namespaces: the block device's own.
  for (const char* leaf : {"device/wwid", "wwid"}) {
    std::snprintf(rel, sizeof rel, "block/%.*s/%s", n, dev.data(), leaf);
    s.fd = ::openat(sysfs_fd_, rel, O_RDONLY | O_CLOEXEC);
    if (s.fd >= 0) break;
  }
  if (s.fd < 0) return false;
  char buf[kTextMax + 1];
  std::string_view text;
  if (!read_identity(s.fd, buf, text)) {
    detach(path);
    return false;
  }
  s.len = static_cast<uint16_t>(std::min(text.size(), kTextMax));
  std::memcpy(s.text, text.data(), s.len);
  return true;
}

void IdentitySysfs::detach(core::PathId path) {
  if (path >= capacity_) return;
  Slot& s = slots_[path];
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  s.len = 0;
}

bool IdentitySysfs::changed(core::PathId path, std::span<char> buf, std::string_view& now) const {
  now = {};
  if (path >= capacity_ || slots_[path].fd < 0) return false;
  const Slot& s = slots_[path];
  if (!read_identity(s.fd, buf, now)) return false;
  return now.substr(0, kTextMax) != std::string_view(s.text, s.len);
}

std::string_view IdentitySysfs::known(core::PathId path) const {
  if (path >= capacity_ || slots_[path].fd < 0) return {};
  return {slots_[path].text, slots_[path].len};
}

}  // namespace pk::adapters
