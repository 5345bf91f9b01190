#include "checkers/device_sysfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace pk::checkers {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The last component of a link target ("../../nvme0" -> "nvme0").
std::string_view basename_of(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// Copies `name` into `out` NUL-terminated; false when it does not fit.
bool copy_name(std::string_view name, std::span<char> out, std::string_view& result) {
  if (name.empty() || name.size() + 1 > out.size()) return false;
  std::memcpy(out.data(), name.data(), name.size());
  out[name.size()] = '\0';
  result = std::string_view(out.data(), name.size());
  return true;
}

// Finds "/sessionN/" (or "/sessionN" at the end) in a sysfs device path.
bool session_in(std::string_view path, std::string_view& session) {
  constexpr std::string_view kKey = "/session";
  size_t pos = 0;
  while ((pos = path.find(kKey, pos)) != std::string_view::npos) {
    size_t begin = pos + 1;
    size_t end = pos + kKey.size();
    while (end < path.size() && is_digit(path[end])) ++end;
    bool has_digits = end > pos + kKey.size();
    if (has_digits && (end == path.size() || path[end] == '/')) {
      session = path.substr(begin, end - begin);
      return true;
    }
    pos = end;
  }
  return false;
}

bool starts_with_nvme_ctrl(std::string_view name) {
  return name.size() > 4 && name.substr(0, 4) == "nvme" && is_digit(name[4]);
}

}  // namespace

bool valid_dev_name(std::string_view dev) {
  if (dev.empty() || dev.size() >= kDevNameMax) return false;
  if (dev == "." || dev == "..") return false;
  for (char c : dev) {
    if (c == '/' || c == '\0') return false;
  }
  return true;
}

bool format_path(std::span<char> out, const char* format, ...) {
  if (out.empty()) return false;
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(out.data(), out.size(), format, args);
  va_end(args);
  if (n < 0 || static_cast<size_t>(n) >= out.size()) {
    out[0] = '\0';
    return false;
  }
  return true;
}

Verdict scsi_device_state_verdict(std::string_view state) {
  if (state == "running") return Verdict::Up;
  if (state == "blocked") return Verdict::Pending;
  return Verdict::Down;  // offline, transport-offline, quiesce, created, cancel, deleted, ...
}

Verdict iscsi_session_state_verdict(std::string_view state) {
  if (state == "LOGGED_IN") return Verdict::Up;
  return Verdict::Down;  // FAILED, FREE, ...
}

Verdict nvme_ctrl_state_verdict(std::string_view state) {
  if (state == "live") return Verdict::Up;
  if (state == "connecting" || state == "resetting") return Verdict::Pending;
  return Verdict::Down;  // new, deleting, deleting (no IO), dead, ...
}

Verdict worse(Verdict a, Verdict b) {
  auto rank = [](Verdict v) {
    switch (v) {
      case Verdict::Up:
        return 0;
      case Verdict::Ghost:
        return 1;
      case Verdict::Pending:
        return 2;
      case Verdict::Down:
        return 3;
    }
    return 3;
  };
  return rank(a) >= rank(b) ? a : b;
}

bool read_link(int dirfd, const char* relative, std::span<char> out, std::string_view& target) {
  if (out.size() < 2) return false;
  ssize_t n = ::readlinkat(dirfd, relative, out.data(), out.size() - 1);
  if (n <= 0 || static_cast<size_t>(n) >= out.size() - 1) return false;  // error, or may be cut
  out[static_cast<size_t>(n)] = '\0';
  target = std::string_view(out.data(), static_cast<size_t>(n));
  return true;
}

bool find_iscsi_session(int sysfs_fd, std::string_view dev, std::span<char> out, std::string_view& session) {
  if (!valid_dev_name(dev)) return false;
  char rel[kSysfsPathMax];
  char link[1024];
  std::string_view target;
  std::string_view found;
  // /sys/block/<dev> and /sys/class/block/<dev> both link to the full device path.
  const int len = static_cast<int>(dev.size());
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool formatted = attempt == 0 ? format_path(rel, "block/%.*s", len, dev.data())
                                  : format_path(rel, "class/block/%.*s", len, dev.data());
    if (formatted && read_link(sysfs_fd, rel, link, target) && session_in(target, found)) {
      return copy_name(found, out, session);
    }
  }
  return false;
}

bool find_nvme_controller(int sysfs_fd, std::string_view dev, std::span<char> out, std::string_view& ctrl) {
  if (!valid_dev_name(dev)) return false;
  char rel[kSysfsPathMax];
  char link[512];
  std::string_view target;
  if (format_path(rel, "block/%.*s/device", static_cast<int>(dev.size()), dev.data()) &&
      read_link(sysfs_fd, rel, link, target)) {
    std::string_view base = basename_of(target);
    if (starts_with_nvme_ctrl(base)) return copy_name(base, out, ctrl);
  }
  // From the name: nvme<subsys or ctrl>[c<ctrl>]n<ns>.
  if (!starts_with_nvme_ctrl(dev)) return false;
  size_t i = 4;
  size_t digits_begin = i;
  while (i < dev.size() && is_digit(dev[i])) ++i;
  std::string_view number = dev.substr(digits_begin, i - digits_begin);
  if (i < dev.size() && dev[i] == 'c') {  // hidden multipath path node nvmeXcYnZ: controller Y
    size_t c_begin = ++i;
    while (i < dev.size() && is_digit(dev[i])) ++i;
    number = dev.substr(c_begin, i - c_begin);
  }
  if (number.empty() || i >= dev.size() || dev[i] != 'n') return false;
  char name[kDevNameMax];
  if (!format_path(name, "nvme%.*s", static_cast<int>(number.size()), number.data())) return false;
  return copy_name(name, out, ctrl);
}

bool find_sg_node(int sysfs_fd, std::string_view dev, std::span<char> out, std::string_view& node) {
  if (!valid_dev_name(dev)) return false;
  char rel[kSysfsPathMax];
  char link[256];
  std::string_view target;
  auto is_sg = [](std::string_view name) {
    return name.size() > 2 && name.substr(0, 2) == "sg" && is_digit(name[2]);
  };
  if (format_path(rel, "block/%.*s/device/generic", static_cast<int>(dev.size()), dev.data()) &&
      read_link(sysfs_fd, rel, link, target)) {
    std::string_view base = basename_of(target);
    if (is_sg(base)) return copy_name(base, out, node);
  }
  if (!format_path(rel, "block/%.*s/device/scsi_generic", static_cast<int>(dev.size()), dev.data())) {
    return false;
  }
  int dir = ::openat(sysfs_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  // getdents64 into a stack buffer: opendir/readdir would malloc a DIR.
  alignas(8) char buf[2048];
  bool found = false;
  for (;;) {
    ssize_t n = ::getdents64(dir, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t off = 0;
    while (off < static_cast<size_t>(n)) {
      unsigned short reclen;
      std::memcpy(&reclen, buf + off + offsetof(struct dirent64, d_reclen), sizeof reclen);
      if (reclen == 0) break;
      std::string_view name(buf + off + offsetof(struct dirent64, d_name));
      if (is_sg(name)) {
        found = copy_name(name, out, node);
        break;
      }
      off += reclen;
    }
    if (found) break;
  }
  ::close(dir);
  return found;
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Up:
      return "up";
    case Verdict::Down:
      return "down";
    case Verdict::Ghost:
      return "ghost";
    case Verdict::Pending:
      return "pending";
  }
  return "?";
}

}  // namespace pk::checkers
