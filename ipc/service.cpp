#include "ipc/service.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/snapshot_json.h"
#include "core/triple_buffer.h"
#include "ipc/auth.h"
#include "ipc/protocol.h"

namespace pk::ipc {

namespace {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

constexpr uint64_t kListenTag = ~uint64_t{0};
constexpr uint64_t kResultsTag = ~uint64_t{0} - 1;
constexpr uint64_t kWakeTag = ~uint64_t{0} - 2;
constexpr uint64_t kDbusTag = ~uint64_t{0} - 3;  // the bus connection (DbusService::tick handles it)
constexpr size_t kSmallReplyBytes = 4096;        // errors and command results
constexpr size_t kMaxPeerGroups = 1024;          // supplementary groups read per peer
constexpr int kMaxEvents = 32;

// A text handed over by one writer thread to the service thread through a
// triple buffer (core/triple_buffer.h): neither side ever waits.
class TextExchange {
 public:
  void init(size_t capacity) {
    capacity_ = capacity;
    for (Slot& s : slots_.buffers()) s.data = std::make_unique<char[]>(capacity);
  }

  // Writer. A text over capacity is published as "refused" (its length kept).
  bool publish(std::string_view text) {
    Slot& s = slots_.back();
    bool fits = text.size() <= capacity_;
    s.published = true;
    s.refused_size = fits ? 0 : text.size();
    s.size = fits ? text.size() : 0;
    if (fits) std::copy(text.begin(), text.end(), s.data.get());
    slots_.publish();
    return fits;
  }

  struct View {
    bool published = false;
    size_t refused_size = 0;
    std::string_view text;
  };
  // Reader: the newest text; valid until the next call.
  View latest() {
    const Slot& s = slots_.latest();
    return {s.published, s.refused_size, {s.data.get(), s.size}};
  }
  size_t capacity() const { return capacity_; }

 private:
  struct Slot {
    std::unique_ptr<char[]> data;
    size_t size = 0;
    size_t refused_size = 0;
    bool published = false;
  };
  core::TripleBuffer<Slot> slots_;
  size_t capacity_ = 0;
};

enum class Phase : uint8_t {
  Free,
  Reading,     // receiving a request (EPOLLIN)
  WaitBig,     // a read request waits for the snapshot reply buffer
  WaitResult,  // a command waits for the loop's result
  Writing,     // sending a reply (EPOLLOUT while the socket is full)
};

struct Client {
  int fd = -1;
  uint32_t generation = 0;  // tells a reused slot's events from its predecessor's
  Phase phase = Phase::Free;
  uint32_t events = 0;  // current epoll interest
  bool may_change = false;
  bool close_after = false;
  bool big = false;  // the reply being written is in the shared buffer
  uid_t uid = 0;     // for the denied message
  uint32_t token = 0;
  uint64_t wait_order = 0;  // first come, first served for the shared buffer
  TimePoint deadline{};
  size_t have = 0;  // request bytes received
  Request request;  // its target points into `in`
  const char* out = nullptr;
  size_t out_len = 0;
  size_t out_off = 0;
  char in[kFrameHeaderBytes + kMaxRequestBytes];
  char small[kSmallReplyBytes];
};

Command::Kind command_kind(RequestKind k) {
  switch (k) {
    case RequestKind::FailPath:
      return Command::Kind::FailPath;
    case RequestKind::ReinstatePath:
      return Command::Kind::ReinstatePath;
    case RequestKind::ClearMarginal:
      return Command::Kind::ClearMarginal;
    case RequestKind::SwitchGroup:
      return Command::Kind::SwitchGroup;
    case RequestKind::DisableQueueing:
      return Command::Kind::DisableQueueing;
    case RequestKind::RestoreQueueing:
      return Command::Kind::RestoreQueueing;
    case RequestKind::RemoveMap:
      return Command::Kind::RemoveMap;
    case RequestKind::RemovePath:
      return Command::Kind::RemovePath;
    case RequestKind::AddPath:
      return Command::Kind::AddPath;
    case RequestKind::ResizeMap:
      return Command::Kind::ResizeMap;
    default:
      return Command::Kind::Reconfigure;
  }
}

uint64_t pack_policy(const ControlPolicy& p) { return (p.group_set ? uint64_t{1} << 32 : 0) | p.gid; }
ControlPolicy unpack_policy(uint64_t v) { return {(v >> 32) != 0, static_cast<gid_t>(v & 0xFFFFFFFFu)}; }

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

// What the service thread lends the D-Bus side: tokens from the same counter
// as the socket's commands, the same policy, the same render buffer.
struct ServiceDbusHost final : DbusHost {
  Service::Impl* s = nullptr;
  uint32_t take_token() override;
  ControlPolicy control_policy() const override;
  std::span<char> render_buffer() override;
  std::span<uint32_t> render_scratch() override;
};

struct Service::Impl {
  // Set in init, read-only after.
  core::SnapshotExchange* snapshots = nullptr;
  CommandChannel* commands = nullptr;
  ServiceOptions options;
  uint32_t max_clients = 0;
  char path[sizeof(sockaddr_un::sun_path)] = {};
  size_t path_len = 0;
  bool bound = false;
  ino_t inode = 0;
  dev_t device = 0;
  int listen_fd = -1;
  bool another_daemon = false;  // setup_socket found one answering
  int epoll_fd = -1;
  int wake_fd = -1;
  int spare_fd = -1;  // given up to accept (then refuse) a client when out of descriptors
  std::unique_ptr<Client[]> clients;
  std::unique_ptr<char[]> big;
  size_t big_size = 0;
  std::unique_ptr<uint32_t[]> scratch;
  uint32_t scratch_size = 0;
  std::unique_ptr<gid_t[]> peer_groups;
  char busy_reply[512] = {};
  size_t busy_reply_len = 0;
  TextExchange config_text;
  ServiceDbusHost dbus_host;
  DbusService dbus;  // after the buffers it borrows: destroyed before them

  // Service thread.
  bool big_busy = false;
  uint64_t wait_counter = 0;
  uint32_t next_token = 1;

  // Shared.
  std::atomic<uint64_t> policy{0};
  std::atomic<uint32_t> client_count{0};
  std::atomic<uint64_t> requests{0}, error_replies{0}, refused_busy{0}, dropped_slow{0}, dropped_idle{0},
      command_timeouts{0};

  ~Impl();
  bool setup_socket(core::Error& err);
  void serve(const epoll_event& ev);
  void accept_clients();
  void refuse(int fd);
  void open_client(Client& c, int fd, uint32_t slot);
  void close_client(Client& c);
  void set_events(Client& c, uint32_t events);
  void on_readable(Client& c);
  void on_request(Client& c, std::string_view payload);
  void submit(Client& c, const Request& r);
  void on_results();
  void serve_waiting();
  void answer_read(Client& c);
  bool render_config(core::FixedWriter& w, const core::Snapshot& s);
  uint32_t take_token();
  void reply_error(Client& c, ErrorCode code, std::string_view message, bool close_after = false);
  void reply_errorf(Client& c, ErrorCode code, const char* format, ...) __attribute__((format(printf, 4, 5)));
  void start_write(Client& c, const char* data, size_t len, bool from_big);
  void flush(Client& c);
  void expire(TimePoint now);
  int timeout_ms(TimePoint now) const;
};

Service::Impl::~Impl() {
  if (clients) {
    for (uint32_t i = 0; i < max_clients; ++i) close_fd(clients[i].fd);
  }
  close_fd(listen_fd);
  close_fd(epoll_fd);
  close_fd(wake_fd);
  close_fd(spare_fd);
  // Remove the socket file only if it is still ours (not a successor's).
  struct stat st {};
  if (bound && ::lstat(path, &st) == 0 && st.st_ino == inode && st.st_dev == device) ::unlink(path);
}

bool Service::Impl::setup_socket(core::Error& err) {
  // The directory: create what is missing (e.g. /run/pathkeeper at boot).
  for (size_t i = 1; i < path_len; ++i) {
    if (path[i] != '/') continue;
    path[i] = '\0';
    int rc = ::mkdir(path, 0755);
    int e = errno;
    path[i] = '/';
    if (rc != 0 && e != EEXIST) {
      err.set("cannot create the directory of %s: %s", path, std::strerror(e));
      return false;
    }
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path, path_len + 1);
  auto* sa = reinterpret_cast<sockaddr*>(&addr);

  // A socket file left behind: remove it only when nobody answers on it.
  struct stat st {};
  if (::lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      err.set("%s exists and is not a socket; not touching it", path);
      return false;
    }
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0) {
      err.set("socket: %s", std::strerror(errno));
      return false;
    }
    int rc = ::connect(probe, sa, sizeof addr);
    int e = errno;
    ::close(probe);
    if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
      another_daemon = true;
      err.set("another daemon answers on %s", path);
      return false;
    }
    if (e != ECONNREFUSED) {
      err.set("cannot tell whether %s is in use: %s", path, std::strerror(e));
      return false;
    }
    if (::unlink(path) != 0 && errno != ENOENT) {
      err.set("cannot remove the stale socket %s: %s", path, std::strerror(errno));
      return false;
    }
  }

  listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd < 0) {
    err.set("socket: %s", std::strerror(errno));
    return false;
  }
  if (::bind(listen_fd, sa, sizeof addr) != 0) {
    err.set("cannot bind %s: %s", path, std::strerror(errno));
    return false;
  }
  bound = true;
  if (::lstat(path, &st) == 0) {
    inode = st.st_ino;
    device = st.st_dev;
  }
  if (::chmod(path, 0666) != 0) {
    err.set("cannot make %s connectable by everyone: %s", path, std::strerror(errno));
    return false;
  }
  if (::listen(listen_fd, static_cast<int>(std::min<uint32_t>(max_clients + 16, 4096))) != 0) {
    err.set("listen on %s: %s", path, std::strerror(errno));
    return false;
  }
  return true;
}

void Service::Impl::set_events(Client& c, uint32_t events) {
  if (c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (uint64_t{c.generation} << 32) | static_cast<uint64_t>(&c - clients.get());
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev) == 0) c.events = events;
}

void Service::Impl::open_client(Client& c, int fd, uint32_t slot) {
  c.fd = fd;
  ++c.generation;
  c.phase = Phase::Reading;
  c.have = 0;
  c.big = false;
  c.close_after = false;
  c.deadline = SteadyClock::now() + options.idle_timeout;

  // Who it is, as the kernel saw it at connect time.
  ucred cred{};
  socklen_t len = sizeof cred;
  bool known = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
  c.uid = known ? cred.uid : static_cast<uid_t>(-1);
  socklen_t glen = static_cast<socklen_t>(kMaxPeerGroups * sizeof(gid_t));
  size_t ngroups = 0;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer_groups.get(), &glen) == 0)
    ngroups = glen / sizeof(gid_t);  // ERANGE (more groups than we read): primary group only
  c.may_change = known && may_change_state(cred.uid, cred.gid, {peer_groups.get(), ngroups},
                                           unpack_policy(policy.load(std::memory_order_relaxed)));

  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = (uint64_t{c.generation} << 32) | slot;
  c.events = EPOLLIN;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ::close(fd);
    c.fd = -1;
    c.phase = Phase::Free;
    return;
  }
  client_count.fetch_add(1, std::memory_order_relaxed);
}

void Service::Impl::close_client(Client& c) {
  if (c.fd < 0) return;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c.fd, nullptr);
  close_fd(c.fd);
  if (c.phase == Phase::Writing && c.big) big_busy = false;
  c.big = false;
  c.phase = Phase::Free;
  c.events = 0;
  client_count.fetch_sub(1, std::memory_order_relaxed);
}

void Service::Impl::refuse(int fd) {
  // A fresh socket's send buffer is empty: this small reply always fits.
  ssize_t n = ::send(fd, busy_reply, busy_reply_len, MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)n;
  ::close(fd);
  refused_busy.fetch_add(1, std::memory_order_relaxed);
}

void Service::Impl::accept_clients() {
  for (;;) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
        // Out of descriptors: accept with the spare one and refuse, or the
        // listening socket would stay readable and the loop would spin.
        close_fd(spare_fd);
        int extra = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (extra >= 0) refuse(extra);
        spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (extra >= 0) continue;
      }
      return;  // EAGAIN, or nothing more to do now
    }
    uint32_t slot = 0;
    while (slot < max_clients && clients[slot].phase != Phase::Free) ++slot;
    if (slot == max_clients) {
      refuse(fd);
      continue;
    }
    open_client(clients[slot], fd, slot);
  }
}

void Service::Impl::serve(const epoll_event& ev) {
  uint64_t tag = ev.data.u64;
  if (tag == kWakeTag) {
    uint64_t value;
    ssize_t n = ::read(wake_fd, &value, sizeof value);
    (void)n;
    return;
  }
  if (tag == kListenTag) {
    accept_clients();
    return;
  }
  if (tag == kResultsTag) {
    on_results();
    return;
  }
  if (tag == kDbusTag) return;  // DbusService::tick, after this batch
  auto slot = static_cast<uint32_t>(tag & 0xFFFFFFFFu);
  if (slot >= max_clients) return;
  Client& c = clients[slot];
  if (c.fd < 0 || c.generation != static_cast<uint32_t>(tag >> 32)) return;  // closed in this batch
  switch (c.phase) {
    case Phase::Reading:
      if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
      break;
    case Phase::Writing:
      if (ev.events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) flush(c);
      break;
    case Phase::WaitBig:
    case Phase::WaitResult:
      if (ev.events & (EPOLLHUP | EPOLLERR)) close_client(c);  // gone before its answer
      break;
    case Phase::Free:
      break;
  }
}

void Service::Impl::on_readable(Client& c) {
  for (;;) {
    size_t want = c.have < kFrameHeaderBytes ? kFrameHeaderBytes : kFrameHeaderBytes + get_le32(c.in);
    ssize_t n = ::recv(c.fd, c.in + c.have, want - c.have, MSG_DONTWAIT);
    if (n == 0) {
      close_client(c);  // the client is done (or left mid-request)
      return;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) close_client(c);
      return;
    }
    c.have += static_cast<size_t>(n);
    size_t len = 0;
    switch (check_frame({c.in, c.have}, kMaxRequestBytes, len)) {
      case FrameState::NeedMore:
        continue;
      case FrameState::Empty:
        requests.fetch_add(1, std::memory_order_relaxed);
        reply_error(c, ErrorCode::Usage, "empty request frame", true);
        return;
      case FrameState::TooLarge:
        // The rest is not read: answer and close.
        requests.fetch_add(1, std::memory_order_relaxed);
        {
          core::Error message;
          message.set("request of %zu bytes: a request has at most %zu", len, kMaxRequestBytes);
          reply_error(c, ErrorCode::TooLarge, message.view(), true);
        }
        return;
      case FrameState::Complete:
        on_request(c, {c.in + kFrameHeaderBytes, len});
        return;
    }
  }
}

void Service::Impl::on_request(Client& c, std::string_view payload) {
  requests.fetch_add(1, std::memory_order_relaxed);
  Request r;
  RequestError e;
  if (!parse_request(payload, r, e)) {
    reply_error(c, e.code, e.message.view());
    return;
  }
  if (changes_state(r.kind)) {
    submit(c, r);
    return;
  }
  c.request = r;
  c.phase = Phase::WaitBig;
  c.wait_order = ++wait_counter;
  set_events(c, 0);
}

void Service::Impl::submit(Client& c, const Request& r) {
  if (!c.may_change) {
    ControlPolicy p = unpack_policy(policy.load(std::memory_order_relaxed));
    if (p.group_set)
      reply_errorf(c, ErrorCode::Denied, "uid %u may not change state: only root and members of gid %u may",
                   static_cast<unsigned>(c.uid), static_cast<unsigned>(p.gid));
    else
      reply_errorf(c, ErrorCode::Denied,
                   "uid %u may not change state: only root may (no control_group is configured)",
                   static_cast<unsigned>(c.uid));
    return;
  }
  Command cmd;
  cmd.kind = command_kind(r.kind);
  cmd.token = take_token();
  cmd.target.assign(r.target);  // the parser bounds it to kMaxTargetBytes
  cmd.all = r.all;
  cmd.group = r.group;
  if (!commands->submit(cmd)) {
    reply_error(c, ErrorCode::Busy, "the daemon's command queue is full; try again");
    return;
  }
  c.token = cmd.token;
  c.phase = Phase::WaitResult;
  c.deadline = SteadyClock::now() + options.command_timeout;
  set_events(c, 0);
}

uint32_t Service::Impl::take_token() {
  uint32_t t = next_token++;
  if (next_token == 0) next_token = 1;
  return t;
}

uint32_t ServiceDbusHost::take_token() { return s->take_token(); }
ControlPolicy ServiceDbusHost::control_policy() const {
  return unpack_policy(s->policy.load(std::memory_order_relaxed));
}
std::span<char> ServiceDbusHost::render_buffer() {
  return s->big_busy ? std::span<char>() : std::span<char>(s->big.get(), s->big_size);
}
std::span<uint32_t> ServiceDbusHost::render_scratch() { return {s->scratch.get(), s->scratch_size}; }

void Service::Impl::on_results() {
  CommandResult r;
  while (commands->pop_result(r)) {
    Client* c = nullptr;
    for (uint32_t i = 0; i < max_clients && !c; ++i)
      if (clients[i].phase == Phase::WaitResult && clients[i].token == r.token) c = &clients[i];
    if (!c) {
      dbus.on_result(r);  // a D-Bus method's, or one whose client left or timed out
      continue;
    }
    if (!r.ok) {
      reply_error(*c, ErrorCode::Failed, r.message.view());
      continue;
    }
    core::FixedWriter w(c->small);
    begin_reply(w, true);
    w.text("{\"version\":").number(core::kJsonVersion).text(",\"result\":{\"message\":");
    core::write_json_string(w, r.message.view());
    w.text("}}");
    if (finish_reply(w, c->small))
      start_write(*c, c->small, w.size(), false);
    else
      reply_error(*c, ErrorCode::Internal, "the command succeeded; its message does not fit the reply");
  }
}

void Service::Impl::serve_waiting() {
  while (!big_busy) {
    Client* next = nullptr;
    for (uint32_t i = 0; i < max_clients; ++i) {
      Client& c = clients[i];
      if (c.phase == Phase::WaitBig && (!next || c.wait_order < next->wait_order)) next = &c;
    }
    if (!next) return;
    answer_read(*next);
  }
}

bool Service::Impl::render_config(core::FixedWriter& w, const core::Snapshot& s) {
  TextExchange::View v = config_text.latest();
  if (!v.published || v.refused_size) return false;
  w.text("{\"version\":").number(core::kJsonVersion).text(",\"config\":{\"source\":");
  core::write_json_string(w, s.status.config_source.view());
  w.text(",\"yaml\":");
  core::write_json_string(w, v.text);
  w.text("}}");
  return true;
}

void Service::Impl::answer_read(Client& c) {
  const core::Snapshot& s = snapshots->latest();
  std::span<char> buf(big.get(), big_size);
  std::span<uint32_t> sc(scratch.get(), scratch_size);
  core::FixedWriter w(buf);
  begin_reply(w, true);
  const Request& r = c.request;
  bool ok = false;
  switch (r.kind) {
    case RequestKind::ShowPaths:
      ok = core::render_paths(s, w);
      break;
    case RequestKind::ShowMaps:
      ok = core::render_maps(s, w);
      break;
    case RequestKind::ShowTopology:
      ok = core::render_topology(s, sc, w);
      break;
    case RequestKind::ShowStatus:
      ok = core::render_status(s, w);
      break;
    case RequestKind::ShowMap: {
      const core::MapRecord* m = core::find_map(s, r.target);
      if (!m) {
        reply_errorf(c, ErrorCode::NotFound, "no map named '%.*s'", static_cast<int>(r.target.size()),
                     r.target.data());
        return;
      }
      ok = core::render_map(s, *m, sc, w);
      break;
    }
    case RequestKind::ShowPath: {
      const core::PathRecord* p = core::find_path(s, r.target);
      if (!p) {
        reply_errorf(c, ErrorCode::NotFound, "no path named '%.*s'", static_cast<int>(r.target.size()),
                     r.target.data());
        return;
      }
      ok = core::render_path(s, *p, w);
      break;
    }
    case RequestKind::ShowConfig: {
      if (!render_config(w, s)) {
        TextExchange::View v = config_text.latest();
        if (v.refused_size)
          reply_errorf(c, ErrorCode::Unavailable,
                       "the configuration text (%zu bytes) is larger than the %zu bytes reserved for it",
                       v.refused_size, config_text.capacity());
        else
          reply_error(c, ErrorCode::Unavailable, "the daemon has not published its configuration yet");
        return;
      }
      ok = true;
      break;
    }
    default:
      break;  // commands never come here
  }
  if (!ok || !finish_reply(w, buf)) {
    reply_errorf(c, ErrorCode::Internal, "the reply does not fit the %zu bytes reserved for it", big_size);
    return;
  }
  start_write(c, buf.data(), w.size(), true);
}

void Service::Impl::reply_error(Client& c, ErrorCode code, std::string_view message, bool close_after) {
  size_t len = 0;
  if (!write_error_reply(c.small, code, message, len))
    write_error_reply(c.small, code, "(the message does not fit the reply)", len);
  error_replies.fetch_add(1, std::memory_order_relaxed);
  c.close_after = close_after;
  start_write(c, c.small, len, false);
}

void Service::Impl::reply_errorf(Client& c, ErrorCode code, const char* format, ...) {
  core::Error message;
  va_list args;
  va_start(args, format);
  message.setv(format, args);
  va_end(args);
  reply_error(c, code, message.view());
}

void Service::Impl::start_write(Client& c, const char* data, size_t len, bool from_big) {
  c.out = data;
  c.out_len = len;
  c.out_off = 0;
  c.big = from_big;
  if (from_big) big_busy = true;
  c.phase = Phase::Writing;
  c.deadline = SteadyClock::now() + options.send_timeout;
  flush(c);
}

void Service::Impl::flush(Client& c) {
  while (c.out_off < c.out_len) {
    ssize_t n = ::send(c.fd, c.out + c.out_off, c.out_len - c.out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        set_events(c, EPOLLOUT);
        return;
      }
      close_client(c);  // EPIPE and the like: the client left
      return;
    }
    c.out_off += static_cast<size_t>(n);
  }
  if (c.big) big_busy = false;
  c.big = false;
  if (c.close_after) {
    close_client(c);
    return;
  }
  c.phase = Phase::Reading;
  c.have = 0;
  c.deadline = SteadyClock::now() + options.idle_timeout;
  set_events(c, EPOLLIN);
}

void Service::Impl::expire(TimePoint now) {
  for (uint32_t i = 0; i < max_clients; ++i) {
    Client& c = clients[i];
    if (c.fd < 0 || now < c.deadline) continue;
    switch (c.phase) {
      case Phase::Reading:
        dropped_idle.fetch_add(1, std::memory_order_relaxed);
        close_client(c);
        break;
      case Phase::Writing:
        dropped_slow.fetch_add(1, std::memory_order_relaxed);
        close_client(c);
        break;
      case Phase::WaitResult:
        command_timeouts.fetch_add(1, std::memory_order_relaxed);
        reply_errorf(c, ErrorCode::Timeout, "the daemon did not carry the command out within %lld ms",
                     static_cast<long long>(options.command_timeout.count()));
        break;
      case Phase::WaitBig:  // bounded by the send timeout of the reply before it
      case Phase::Free:
        break;
    }
  }
}

int Service::Impl::timeout_ms(TimePoint now) const {
  TimePoint first = TimePoint::max();
  for (uint32_t i = 0; i < max_clients; ++i) {
    const Client& c = clients[i];
    if (c.fd >= 0 && c.phase != Phase::WaitBig) first = std::min(first, c.deadline);
  }
  if (first == TimePoint::max()) return -1;  // nothing to time: sleep until something happens
  if (first <= now) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(first - now).count();
  return static_cast<int>(std::min<int64_t>(ms, 24 * 3600 * 1000));
}

Service::Service() = default;
Service::~Service() = default;

bool Service::init(const core::Config& config, core::SnapshotExchange& snapshots, CommandChannel& commands,
                   core::Error& err, const ServiceOptions& options) {
  impl_.reset();
  auto impl = std::make_unique<Impl>();
  Impl& s = *impl;
  s.snapshots = &snapshots;
  s.commands = &commands;
  s.options = options;
  s.max_clients = config.limits.max_clients;
  if (s.max_clients == 0) {
    err.set("limits.max_clients is 0: the control socket could serve nobody");
    return false;
  }
  if (commands.results_fd() < 0) {
    err.set("the command channel is not open");
    return false;
  }
  problems_ = {};
  ControlPolicy policy;  // root only, unless control_group resolves
  if (!resolve_control_policy(config.control_group, policy, problems_.group)) policy = ControlPolicy{};
  s.policy.store(pack_policy(policy));

  const std::string& path = config.control_socket;
  if (path.empty() || path[0] != '/' || path.size() >= sizeof s.path) {
    err.set("control_socket '%s' must be an absolute path of at most %zu bytes", path.c_str(),
            sizeof s.path - 1);
    return false;
  }
  std::memcpy(s.path, path.c_str(), path.size() + 1);
  s.path_len = path.size();

  // Every buffer, now (zeroed, so its pages are touched before READY).
  s.clients = std::make_unique<Client[]>(s.max_clients);
  s.big_size = std::max(core::json_capacity(config.limits.max_paths, config.limits.max_maps),
                        2 * options.config_text_capacity + 4096);
  s.big = std::make_unique<char[]>(s.big_size);
  s.scratch_size = config.limits.max_paths;
  s.scratch = std::make_unique<uint32_t[]>(s.scratch_size);
  s.peer_groups = std::make_unique<gid_t[]>(kMaxPeerGroups);
  s.config_text.init(options.config_text_capacity);
  core::Error busy;
  busy.set("the daemon serves at most %u clients at a time; try again", s.max_clients);
  if (!write_error_reply(s.busy_reply, ErrorCode::Busy, busy.view(), s.busy_reply_len)) {
    err.set("internal: the busy reply does not fit");
    return false;
  }

  if (!s.setup_socket(problems_.socket)) {
    if (s.another_daemon) {
      problems_.another_daemon = true;
      err = problems_.socket;
      return false;
    }
    close_fd(s.listen_fd);  // D-Bus serves alone
    s.listen_fd = -1;
  }
  s.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  s.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  s.spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (s.epoll_fd < 0 || s.wake_fd < 0) {
    err.set("epoll/eventfd: %s", std::strerror(errno));
    return false;
  }
  struct {
    int fd;
    uint64_t tag;
  } const sources[] = {
      {s.listen_fd, kListenTag}, {commands.results_fd(), kResultsTag}, {s.wake_fd, kWakeTag}};
  for (const auto& src : sources) {
    if (src.fd < 0) continue;  // no control socket
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = src.tag;
    if (::epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, src.fd, &ev) != 0) {
      err.set("epoll_ctl: %s", std::strerror(errno));
      return false;
    }
  }
  // D-Bus: never fails for want of a bus (that is said once, and looked for again).
  s.dbus_host.s = &s;
  DbusOptions dbus_options = options.dbus;
  dbus_options.command_timeout = options.command_timeout;
  if (!s.dbus.init(dbus_options, config.limits, snapshots, commands, s.dbus_host, s.epoll_fd, kDbusTag, err))
    return false;
  impl_ = std::move(impl);
  return true;
}

void Service::run(std::atomic<bool>& stop) {
  if (!impl_) return;
  Impl& s = *impl_;
  epoll_event events[kMaxEvents];
  while (!stop.load(std::memory_order_acquire)) {
    int timeout = s.timeout_ms(SteadyClock::now());
    int dbus_timeout = s.dbus.timeout_ms();
    if (dbus_timeout >= 0 && (timeout < 0 || dbus_timeout < timeout)) timeout = dbus_timeout;
    int n = ::epoll_wait(s.epoll_fd, events, kMaxEvents, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EBADF/EINVAL: nothing sensible left to do
    }
    for (int i = 0; i < n; ++i) s.serve(events[i]);
    s.expire(SteadyClock::now());
    s.dbus.tick();
    s.serve_waiting();
  }
}

void Service::wake() {
  if (!impl_) return;
  uint64_t one = 1;
  ssize_t n = ::write(impl_->wake_fd, &one, sizeof one);
  (void)n;
}

bool Service::set_config_text(std::string_view yaml) { return impl_ && impl_->config_text.publish(yaml); }

bool Service::set_control_group(std::string_view group, core::Error& err) {
  if (!impl_) {
    err.set("the service is not initialised");
    return false;
  }
  ControlPolicy policy;
  if (!resolve_control_policy(group, policy, err)) return false;
  impl_->policy.store(pack_policy(policy), std::memory_order_relaxed);
  return true;
}

ServiceStats Service::stats() const {
  ServiceStats st;
  if (!impl_) return st;
  const Impl& s = *impl_;
  st.clients = s.client_count.load(std::memory_order_relaxed);
  st.max_clients = s.max_clients;
  st.requests = s.requests.load(std::memory_order_relaxed);
  st.error_replies = s.error_replies.load(std::memory_order_relaxed);
  st.refused_busy = s.refused_busy.load(std::memory_order_relaxed);
  st.dropped_slow = s.dropped_slow.load(std::memory_order_relaxed);
  st.dropped_idle = s.dropped_idle.load(std::memory_order_relaxed);
  st.command_timeouts = s.command_timeouts.load(std::memory_order_relaxed);
  st.reply_bytes_reserved = s.big_size;
  st.dbus = s.dbus.stats();
  return st;
}

std::string_view Service::socket_path() const {
  return impl_ ? std::string_view(impl_->path, impl_->path_len) : std::string_view();
}

}  // namespace pk::ipc
