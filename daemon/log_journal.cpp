#include "daemon/log_journal.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace pk::daemon {

namespace {

constexpr int64_t kReconnectNs = 1'000'000'000;

class Datagram {
 public:
  Datagram(char* out, size_t size) : out_(out), size_(size) {}

  // KEY=value\n, or the binary form when the value holds a newline.
  void field(std::string_view key, std::string_view value) {
    if (value.find('\n') == std::string_view::npos) {
      put(key);
      put("=");
      put(value);
      put("\n");
      return;
    }
    put(key);
    put("\n");
    char len[8];
    uint64_t n = value.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xFF);  // little-endian
    put({len, sizeof len});
    put(value);
    put("\n");
  }
  void field(std::string_view key, unsigned number) {
    char buf[12];
    int n = std::snprintf(buf, sizeof buf, "%u", number);
    field(key, std::string_view(buf, static_cast<size_t>(n)));
  }
  size_t length() const { return overflow_ ? 0 : len_; }

 private:
  void put(std::string_view s) {
    if (s.size() > size_ - len_) {
      overflow_ = true;
      return;
    }
    std::memcpy(out_ + len_, s.data(), s.size());
    len_ += s.size();
  }
  char* out_;
  size_t size_;
  size_t len_ = 0;
  bool overflow_ = false;
};

}  // namespace

LogJournalSink::~LogJournalSink() {
  if (fd_ >= 0) ::close(fd_);
}

bool LogJournalSink::open(const std::string& socket_path, core::Error& err) {
  if (socket_path.size() >= sizeof addr_.sun_path) {
    err.set("journal socket path too long: %s", socket_path.c_str());
    return false;
  }
  addr_.sun_family = AF_UNIX;
  std::memcpy(addr_.sun_path, socket_path.c_str(), socket_path.size() + 1);
  addr_len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    err.set("socket: %s", std::strerror(errno));
    return false;
  }
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) != 0) {
    err.set("no journald at %s: %s", socket_path.c_str(), std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  // Room for a burst while journald is busy; the kernel may cap it.
  int sndbuf = 1 << 20;
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  return true;
}

size_t LogJournalSink::encode(const core::LogRecord& r, char* out, size_t size) {
  Datagram d(out, size);
  d.field("PRIORITY", static_cast<unsigned>(r.level));
  d.field("SYSLOG_FACILITY", 3u);  // LOG_DAEMON
  d.field("SYSLOG_IDENTIFIER", "pathkeeperd");
  d.field("PATHKEEPER_SUBSYSTEM", r.subsystem());
  if (!r.map().empty()) d.field("PATHKEEPER_MAP", r.map());
  if (!r.path().empty()) d.field("PATHKEEPER_PATH", r.path());
  if (!r.wwid().empty()) d.field("PATHKEEPER_WWID", r.wwid());
  if (r.flags & (core::LogRecord::kTruncated | core::LogRecord::kIdentityTruncated))
    d.field("PATHKEEPER_TRUNCATED", 1u);
  d.field("MESSAGE", r.message());
  return d.length();
}

bool LogJournalSink::send(const core::LogRecord& r, int64_t mono_ns, bool count_drop) {
  if (fd_ < 0) return false;
  size_t len = encode(r, datagram_, sizeof datagram_);
  ssize_t n = len == 0 ? -1 : ::send(fd_, datagram_, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n == static_cast<ssize_t>(len)) {
    written_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  int e = len == 0 ? EMSGSIZE : errno;
  if (count_drop) dropped_.fetch_add(1, std::memory_order_relaxed);
  if (e == EAGAIN || e == EWOULDBLOCK) {
    if (count_drop) would_block_.fetch_add(1, std::memory_order_relaxed);  // journald is behind
  } else {
    if (count_drop) write_errors_.fetch_add(1, std::memory_order_relaxed);
    // journald went away (restart): connect again, at most once a second.
    if ((e == ECONNREFUSED || e == ENOTCONN || e == ENOENT) && mono_ns >= reconnect_at_) {
      reconnect_at_ = mono_ns + kReconnectNs;
      // Whether it worked shows at the next send; a failure here is counted there.
      [[maybe_unused]] int connected = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_);
    }
  }
  return false;
}

LogSinkCounters LogJournalSink::counters() const {
  return {written_.load(std::memory_order_relaxed), dropped_.load(std::memory_order_relaxed),
          write_errors_.load(std::memory_order_relaxed), would_block_.load(std::memory_order_relaxed)};
}

}  // namespace pk::daemon
