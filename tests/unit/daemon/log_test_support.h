// Helpers for the logging tests: a scratch folder on a disk filesystem
// (/var/tmp: direct I/O needs one; tmpfs before Linux 6.6 refuses O_DIRECT),
// and reading back a log file.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/log_record.h"
#include "ipc/ctl/log_view.h"

namespace pk::test {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& base = "/var/tmp") {
    std::string templ = base + "/pk-log-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr)
      throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
    path_ = templ;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// True when `dir` takes O_DIRECT (the reason for a skip otherwise).
inline bool direct_io_works(const std::string& dir, std::string& why) {
  std::string probe = dir + "/.direct-probe";
  int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
  if (fd < 0) {
    why = dir + " refuses O_DIRECT (" + std::strerror(errno) + "): no direct-I/O test here";
    return false;
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
}

// The messages of a log file, oldest first, as `pathkeeperctl log` reads them.
inline std::vector<std::string> log_messages(const std::string& file) {
  ctl::LogFileReader reader;
  std::string error;
  if (!reader.open(file, error)) return {"<" + error + ">"};
  std::vector<std::string> out;
  for (const core::LogRecord& r : reader.read_all()) out.emplace_back(r.message());
  return out;
}

}  // namespace pk::test

#include <sys/socket.h>
#include <sys/un.h>

namespace pk::test {

// A datagram socket bound at a path, standing in for journald's. Reads only
// when asked: a journald that is behind is one nobody asks.
class DatagramReceiver {
 public:
  explicit DatagramReceiver(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("bind " + path + ": " + std::strerror(errno));
  }
  ~DatagramReceiver() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  DatagramReceiver(const DatagramReceiver&) = delete;
  DatagramReceiver& operator=(const DatagramReceiver&) = delete;

  std::vector<std::string> read_all() {
    std::vector<std::string> out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0) break;
      out.emplace_back(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace pk::test
