#include "ipc/ctl/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pk::ctl {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxReplyBytes = size_t{1} << 30;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` is ready for `events` or the deadline passes.
bool wait_for(int fd, short events, SteadyClock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

std::string seconds(std::chrono::milliseconds t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(t.count()) / 1000.0);
  return buf;
}

}  // namespace

bool call_daemon(const std::string& socket_path, const std::vector<std::string>& words,
                 std::chrono::milliseconds timeout, Reply& out, std::string& error) {
  auto deadline = SteadyClock::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = "socket path " + socket_path + " is too long";
    return false;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);

  std::vector<std::string_view> views(words.begin(), words.end());
  std::vector<char> frame(ipc::kFrameHeaderBytes + ipc::kMaxRequestBytes);
  size_t frame_len = ipc::encode_request(views, frame);
  if (frame_len == 0) {
    error = "the command does not fit a request";
    return false;
  }

  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    if (e == ENOENT)
      error = "no control socket at " + socket_path + ": is pathkeeperd running?";
    else if (e == ECONNREFUSED)
      error = "nobody answers on " + socket_path + ": pathkeeperd is not running";
    else if (e == EAGAIN)
      error = "pathkeeperd does not accept connections on " + socket_path + " (its queue is full)";
    else
      error = "cannot connect to " + socket_path + ": " + std::strerror(e);
    return false;
  }
  std::string no_answer =
      "no answer from pathkeeperd on " + socket_path + " within " + seconds(timeout) + " s";

  size_t sent = 0;
  while (sent < frame_len) {
    ssize_t n = ::send(fd.get(), frame.data() + sent, frame_len - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd.get(), POLLOUT, deadline)) {
        error = no_answer;
        return false;
      }
    } else {
      error = std::string("sending to pathkeeperd: ") + std::strerror(errno);
      return false;
    }
  }

  // Header, then payload.
  std::string buf(ipc::kFrameHeaderBytes, '\0');
  size_t have = 0;
  size_t want = ipc::kFrameHeaderBytes;
  bool header_done = false;
  for (;;) {
    while (have < want) {
      ssize_t n = ::recv(fd.get(), buf.data() + have, want - have, 0);
      if (n > 0) {
        have += static_cast<size_t>(n);
      } else if (n == 0) {
        error = "pathkeeperd closed the connection before answering";
        return false;
      } else if (errno == EAGAIN || errno == EINTR) {
        if (!wait_for(fd.get(), POLLIN, deadline)) {
          error = no_answer;
          return false;
        }
      } else {
        error = std::string("reading from pathkeeperd: ") + std::strerror(errno);
        return false;
      }
    }
    if (header_done) break;
    size_t len = ipc::get_le32(buf.data());
    if (len == 0 || len > kMaxReplyBytes) {
      error = "the answer on " + socket_path + " is not a pathkeeper reply";
      return false;
    }
    buf.resize(ipc::kFrameHeaderBytes + len);
    want = buf.size();
    header_done = true;
  }

  ipc::ReplyHead head;
  std::string_view payload(buf.data() + ipc::kFrameHeaderBytes, buf.size() - ipc::kFrameHeaderBytes);
  if (!ipc::parse_reply(payload, head)) {
    error = "the answer on " + socket_path + " is not a pk1 reply";
    return false;
  }
  out.ok = head.ok;
  out.code = head.code;
  out.body = std::string(head.body);
  return true;
}

}  // namespace pk::ctl
