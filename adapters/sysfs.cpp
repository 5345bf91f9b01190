#include "adapters/sysfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace pk::adapters {

bool Sysfs::read(const char* relative_path, std::span<char> buf, std::string_view& out) const {
  int fd = ::openat(root_fd_, relative_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n;
  do {
    n = ::read(fd, buf.data(), buf.size());
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n < 0) return false;
  size_t len = static_cast<size_t>(n);
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) --len;
  out = std::string_view(buf.data(), len);
  return true;
}

}  // namespace pk::adapters
