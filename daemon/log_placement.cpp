#include "daemon/log_placement.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include "adapters/sysfs.h"

namespace pk::daemon {

namespace {

constexpr int kMaxDepth = 16;  // device stacks are a handful deep; this stops a loop in a broken tree

class Walker {
 public:
  Walker(int root_fd, core::Error& err) : sys_(root_fd), err_(err) {}

  // Follows `dev` ("M:m") down and up; false once a multipath map is met.
  bool check(const std::string& start) {
    start_ = start;
    down(start, 0);
    return !refused_;
  }

 private:
  static std::string base(const std::string& dev) { return "dev/block/" + dev; }

  bool read(const std::string& rel, std::string& out) const {
    char buf[256];
    std::string_view v;
    if (!sys_.read(rel.c_str(), buf, v)) return false;
    out.assign(v);
    return true;
  }

  // "dm-3" for "253:3": the name sysfs links the number to.
  std::string name(const std::string& dev) const {
    char buf[512];
    ssize_t n = ::readlinkat(sys_.root_fd(), base(dev).c_str(), buf, sizeof buf - 1);
    if (n <= 0) return dev;
    std::string_view link(buf, static_cast<size_t>(n));
    size_t slash = link.rfind('/');
    return std::string(slash == std::string_view::npos ? link : link.substr(slash + 1));
  }

  std::string map_text(const std::string& map, const std::string& dev) const {
    return "multipath map " + map + " (" + name(dev) + ")";
  }

  // The map's name when `dev` is a multipath map.
  bool multipath_map(const std::string& dev, std::string& map) const {
    std::string uuid;
    if (!read(base(dev) + "/dm/uuid", uuid) || uuid.rfind("mpath-", 0) != 0) return false;
    if (!read(base(dev) + "/dm/name", map)) map = name(dev);
    return true;
  }

  // Device numbers of the entries of `dev`'s slaves/ or holders/.
  std::vector<std::string> related(const std::string& dev, const char* dir) const {
    std::vector<std::string> out;
    std::string rel = base(dev) + "/" + dir;
    int fd = ::openat(sys_.root_fd(), rel.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return out;
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      return out;
    }
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string number;
      if (read(rel + "/" + e->d_name + "/dev", number)) out.push_back(number);
    }
    ::closedir(d);
    return out;
  }

  bool seen(const std::string& dev, std::vector<std::string>& list) {
    for (const auto& s : list)
      if (s == dev) return true;
    list.push_back(dev);
    return false;
  }

  void refuse(const std::string& text) {
    if (refused_) return;
    refused_ = true;
    err_.set("on %s", text.c_str());
  }

  // `dev` and whatever it is built on: a partition's disk, a DM device's slaves.
  void down(const std::string& dev, int depth) {
    if (refused_ || depth > kMaxDepth || seen(dev, down_seen_)) return;
    std::string map;
    if (multipath_map(dev, map)) {
      refuse(dev == start_ ? map_text(map, dev) : name(start_) + ", stacked over " + map_text(map, dev));
      return;
    }
    up(dev, depth);
    std::string parent, partition;
    if (read(base(dev) + "/partition", partition) && read(base(dev) + "/../dev", parent))
      down(parent, depth + 1);
    for (const std::string& s : related(dev, "slaves")) down(s, depth + 1);
  }

  // What holds `dev`: a multipath map over it makes `dev` one of its paths.
  void up(const std::string& dev, int depth) {
    if (refused_ || depth > kMaxDepth) return;
    for (const std::string& h : related(dev, "holders")) {
      std::string map;
      if (multipath_map(h, map)) {
        std::string where = dev == start_ ? name(start_) : name(start_) + ", on " + name(dev);
        refuse(where + ", a path of " + map_text(map, h));
        return;
      }
      if (seen(h, up_seen_)) continue;
      up(h, depth + 1);
    }
  }

  adapters::Sysfs sys_;
  core::Error& err_;
  std::string start_;
  bool refused_ = false;
  std::vector<std::string> down_seen_, up_seen_;
};

}  // namespace

bool check_log_device(int sysfs_root_fd, uint32_t major, uint32_t minor, core::Error& err) {
  if (major == 0) return true;  // not a block device (tmpfs, btrfs subvolume, overlay)
  return Walker(sysfs_root_fd, err).check(std::to_string(major) + ":" + std::to_string(minor));
}

bool check_log_placement(const std::string& file, const std::string& sysfs_root, core::Error& err) {
  // The nearest directory that exists: the file and its folder may be created later.
  std::string dir = file;
  struct stat st {};
  for (;;) {
    size_t slash = dir.rfind('/');
    dir = slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
    if (::stat(dir.c_str(), &st) == 0) break;
    if (dir == "/") {
      err.set("cannot look at %s: %s", dir.c_str(), std::strerror(errno));
      return false;
    }
  }
  int root = ::open(sysfs_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return true;  // no sysfs to ask: nothing of ours can be under it either
  core::Error where;
  bool ok = check_log_device(root, ::major(st.st_dev), ::minor(st.st_dev), where);
  ::close(root);
  if (!ok) {
    err.set(
        "the log file %s is %s: logging there could wait on the paths pathkeeperd restores (the 2005 "
        "multipathd "
        "deadlock); put it on a local disk",
        file.c_str(), where.c_str());
  }
  return ok;
}

}  // namespace pk::daemon
