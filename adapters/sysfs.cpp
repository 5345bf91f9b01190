#include "adapters/sysfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace pk::adapters {

namespace {

bool trimmed(ssize_t n, std::span<char> buf, std::string_view& out) {
  if (n < 0) return false;
  size_t len = static_cast<size_t>(n);
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) --len;
  out = std::string_view(buf.data(), len);
  return true;
}

}  // namespace

bool Sysfs::read(const char* relative_path, std::span<char> buf, std::string_view& out) const {
  int fd = ::openat(root_fd_, relative_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n;
  do {
    n = ::read(fd, buf.data(), buf.size());
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  return trimmed(n, buf, out);
}

int Sysfs::write(const char* relative_path, std::string_view text) const {
  int fd = ::openat(root_fd_, relative_path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n;
  do {
    n = ::write(fd, text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  const int e = n < 0 ? errno : 0;
  ::close(fd);
  return e;
}

bool Sysfs::reread(int fd, std::span<char> buf, std::string_view& out) {
  if (fd < 0) return false;
  ssize_t n;
  do {
    n = ::pread(fd, buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  return trimmed(n, buf, out);
}

bool Sysfs::exists(const char* relative_path) const {
  return ::faccessat(root_fd_, relative_path, F_OK, 0) == 0;
}

bool Sysfs::write(const char* relative_path, std::string_view value, int& error) const {
  // O_TRUNC as a shell's > does: sysfs ignores it, a fake tree needs it.
  int fd = ::openat(root_fd_, relative_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) {
    error = errno;
    return false;
  }
  ssize_t n;
  do {
    n = ::write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  error = n < 0 ? errno : 0;
  // A sysfs store takes the whole value in one write, or refuses it.
  if (n >= 0 && static_cast<size_t>(n) != value.size()) error = EIO;
  ::close(fd);
  return error == 0;
}

}  // namespace pk::adapters
