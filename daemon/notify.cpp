#include "daemon/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "core/text.h"

namespace pk::daemon {

void Notifier::open() {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract socket
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return;
  auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  if (const char* usec = std::getenv("WATCHDOG_USEC")) {
    const char* pid = std::getenv("WATCHDOG_PID");
    if (pid == nullptr || std::strtol(pid, nullptr, 10) == ::getpid())
      watchdog_usec_ = std::strtoull(usec, nullptr, 10);
  }
}

void Notifier::send(std::string_view message) {
  if (fd_ < 0) return;
  ssize_t n = ::send(fd_, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)n;  // a notification that cannot be sent now is not worth waiting for
}

void Notifier::ready(std::string_view text) {
  char buf[1024];
  core::FixedWriter w(buf);
  w.text("READY=1\nSTATUS=").text(text);
  send(w.view());
}

void Notifier::status(std::string_view text) {
  char buf[1024];
  core::FixedWriter w(buf);
  w.text("STATUS=").text(text);
  send(w.view());
}

}  // namespace pk::daemon
