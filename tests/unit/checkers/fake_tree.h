// A temporary directory tree standing in for /sys or /dev in checker tests:
// files, symbolic links and FIFOs created relative to it, removed at the end.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace pk::test {

class FakeTree {
 public:
  explicit FakeTree(const std::string& base = "/tmp") {
    std::string templ = base + "/pk-checkers-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
      throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
    }
    root_ = templ;
    fd_ = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("open " + root_.string());
  }
  ~FakeTree() {
    if (fd_ >= 0) ::close(fd_);
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  FakeTree(const FakeTree&) = delete;
  FakeTree& operator=(const FakeTree&) = delete;

  int fd() const { return fd_; }
  const std::filesystem::path& root() const { return root_; }
  std::string path(const std::string& rel) const { return (root_ / rel).string(); }

  void mkdirs(const std::string& rel) const { std::filesystem::create_directories(root_ / rel); }

  // Writes `content` followed by a newline, as sysfs attributes read.
  void write(const std::string& rel, const std::string& content) const {
    auto p = root_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::trunc) << content << '\n';
  }

  void symlink(const std::string& rel, const std::string& target) const {
    auto p = root_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::filesystem::remove(p);
    std::filesystem::create_symlink(target, p);
  }

  void mkfifo(const std::string& rel) const {
    auto p = root_ / rel;
    std::filesystem::create_directories(p.parent_path());
    if (::mkfifo(p.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + p.string());
  }

  void remove(const std::string& rel) const { std::filesystem::remove_all(root_ / rel); }

 private:
  std::filesystem::path root_;
  int fd_ = -1;
};

}  // namespace pk::test
