// pk-ipc-probe: speaks to a control socket directly, for lab scenarios.
//
//   latency pathkeeper SOCKET OPTIONS WORD...   N round trips to pathkeeperd (pk1 frames)
//   latency multipathd OPTIONS WORD...          N round trips to multipathd's abstract socket
//     --calls N        round trips to make (each: connect, send, read the whole reply, close)
//     --budget S       stop early once S seconds of wall time are spent
//     --interval S     pause S seconds between round trips (not timed), to spread them out
//     --samples FILE   every round trip, in microseconds, one per line
//     --timeout S      one round trip may take this long (default 30), else it is an error
//   prints: calls=N errors=E p50_ms=.. p99_ms=.. max_ms=..  (p99: the value at rank ceil(0.99 n))
//
//   raw SOCKET --declared-length N --send-bytes M [--fill CHAR]   a header announcing N bytes,
//                                                 then M bytes of CHAR (as far as the peer takes them)
//   raw SOCKET --payload-hex HEX                  one well-framed payload, given in hex
//   prints the reply's JSON on stdout, its status line and what was sent on stderr.
//
// Exit status: 0 every call answered without error (raw: a reply frame came
// back), 1 otherwise, 2 usage error. Not installed: the lab puts it in the
// guest's /usr/sbin.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ipc/ctl/client.h"
#include "ipc/protocol.h"

namespace {

using namespace pk;

enum Exit { kOk = 0, kFailed = 1, kUsage = 2 };

constexpr std::string_view kMultipathdSocket = "/org/kernel/linux/storage/multipathd";  // abstract
constexpr size_t kMaxMultipathdReply = size_t{32} << 20;  // multipathd's own MAX_REPLY_LEN
constexpr size_t kMaxPk1Reply = size_t{1} << 30;

const char kUsageText[] =
    "usage: pk-ipc-probe latency pathkeeper SOCKET --calls N [OPTIONS] WORD...\n"
    "       pk-ipc-probe latency multipathd --calls N [OPTIONS] WORD...\n"
    "         OPTIONS: --budget SECONDS, --interval SECONDS, --samples FILE,\n"
    "                  --timeout SECONDS (one round trip; default 30)\n"
    "       pk-ipc-probe raw SOCKET --declared-length N --send-bytes M [--fill CHAR] [--timeout S]\n"
    "       pk-ipc-probe raw SOCKET --payload-hex HEX [--timeout S]\n";

int usage(const std::string& why) {
  std::cerr << "pk-ipc-probe: " << why << "\n" << kUsageText;
  return kUsage;
}

int64_t monotonic_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// --- A blocking-with-deadline Unix stream connection -----------------------------

class Connection {
 public:
  Connection() = default;
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // `abstract`: the name lives in the abstract namespace (a leading NUL).
  bool connect(std::string_view name, bool abstract, int64_t deadline_us, std::string& error) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    size_t offset = abstract ? 1 : 0;
    if (name.size() + offset + (abstract ? 0 : 1) > sizeof addr.sun_path) {
      error = "socket name too long";
      return false;
    }
    std::memcpy(addr.sun_path + offset, name.data(), name.size());
    auto len =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + offset + name.size() + (abstract ? 0 : 1));
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return sys_error("socket", error);
    deadline_us_ = deadline_us;
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), len) == 0) return true;
    return sys_error("connect", error);
  }

  // Sends all of `data`; false when the peer went away (peer_closed) or the deadline passed.
  bool send_all(std::string_view data, size_t& sent, std::string& error) {
    sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        if (!wait(POLLOUT, error)) return false;
      } else {
        peer_closed = errno == EPIPE || errno == ECONNRESET;
        return sys_error("send", error);
      }
    }
    return true;
  }

  // Reads exactly `len` bytes into `out`.
  bool recv_exact(char* out, size_t len, std::string& error) {
    size_t have = 0;
    while (have < len) {
      ssize_t n = ::recv(fd_, out + have, len - have, 0);
      if (n > 0) {
        have += static_cast<size_t>(n);
      } else if (n == 0) {
        error = "the peer closed the connection after " + std::to_string(have) + " of " +
                std::to_string(len) + " bytes";
        return false;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN) {
        if (!wait(POLLIN, error)) return false;
      } else {
        return sys_error("recv", error);
      }
    }
    return true;
  }

  bool peer_closed = false;

 private:
  bool wait(short events, std::string& error) {
    for (;;) {
      int64_t left_ms = (deadline_us_ - monotonic_us() + 999) / 1000;
      if (left_ms <= 0) {
        error = "no answer before the deadline";
        return false;
      }
      pollfd p{fd_, events, 0};
      int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 1 << 30)));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return sys_error("poll", error);
    }
  }
  static bool sys_error(const char* what, std::string& error) {
    error = std::string(what) + ": " + std::strerror(errno);
    return false;
  }

  int fd_ = -1;
  int64_t deadline_us_ = 0;
};

// Reads one pk1 frame (header and payload).
bool read_pk1_frame(Connection& c, std::string& payload, std::string& error) {
  char header[ipc::kFrameHeaderBytes];
  if (!c.recv_exact(header, sizeof header, error)) return false;
  size_t len = ipc::get_le32(header);
  if (len == 0 || len > kMaxPk1Reply) {
    error = "a reply header announcing " + std::to_string(len) + " bytes";
    return false;
  }
  payload.resize(len);
  return c.recv_exact(payload.data(), len, error);
}

// --- latency -----------------------------------------------------------------------

struct LatencyArgs {
  bool multipathd = false;
  std::string socket;
  uint64_t calls = 0;
  std::optional<double> budget_s;
  double interval_s = 0;
  double timeout_s = 30;
  std::string samples_file;
  std::vector<std::string> words;
};

// One multipathd round trip: a native size_t length (counting the NUL), the
// command with its NUL; the reply: a size_t length, then that many bytes.
bool call_multipathd(const std::string& command, int64_t deadline_us, std::string& error) {
  Connection c;
  if (!c.connect(kMultipathdSocket, true, deadline_us, error)) return false;
  size_t len = command.size() + 1;
  std::string request(reinterpret_cast<const char*>(&len), sizeof len);
  request.append(command.c_str(), len);
  size_t sent = 0;
  if (!c.send_all(request, sent, error)) return false;
  size_t reply_len = 0;
  if (!c.recv_exact(reinterpret_cast<char*>(&reply_len), sizeof reply_len, error)) return false;
  if (reply_len > kMaxMultipathdReply) {
    error = "a reply of " + std::to_string(reply_len) + " bytes";
    return false;
  }
  std::string reply(reply_len, '\0');
  if (!c.recv_exact(reply.data(), reply_len, error)) return false;
  // multipathd's own client treats "fail\n" as failure; it also answers
  // "timeout" and "permission deny" when it does not carry the command out.
  for (std::string_view bad : {"fail", "timeout", "permission deny"}) {
    if (std::string_view(reply).substr(0, bad.size()) == bad) {
      error = "multipathd answered: " + reply.substr(0, reply.find('\n'));
      return false;
    }
  }
  return true;
}

bool call_pathkeeper(const LatencyArgs& a, int64_t deadline_us, std::string& error) {
  ctl::Reply reply;
  auto timeout = std::chrono::milliseconds(std::max<int64_t>(1, (deadline_us - monotonic_us()) / 1000));
  if (!ctl::call_daemon(a.socket, a.words, timeout, reply, error)) return false;
  if (!reply.ok) {
    error = "error reply " + std::string(ipc::error_code_name(reply.code)) + ": " + reply.body;
    return false;
  }
  return true;
}

// The value at rank ceil(q * n) of the sorted samples (rank 1 at least).
int64_t at_rank(const std::vector<int64_t>& sorted, double q) {
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

int latency(const LatencyArgs& a) {
  std::string command;  // multipathd's: the words with blanks
  for (const auto& w : a.words) command += (command.empty() ? "" : " ") + w;
  std::vector<int64_t> samples;
  samples.reserve(a.calls);
  uint64_t errors = 0;
  std::string first_error;
  int64_t start = monotonic_us();
  auto timeout_us = static_cast<int64_t>(a.timeout_s * 1e6);
  for (uint64_t i = 0; i < a.calls; ++i) {
    if (i > 0 && a.interval_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(a.interval_s));
    if (a.budget_s && monotonic_us() - start >= static_cast<int64_t>(*a.budget_s * 1e6)) {
      std::cerr << "pk-ipc-probe: the budget of " << *a.budget_s << " s was spent after " << i << " calls\n";
      break;
    }
    std::string error;
    int64_t t0 = monotonic_us();
    bool ok = a.multipathd ? call_multipathd(command, t0 + timeout_us, error)
                           : call_pathkeeper(a, t0 + timeout_us, error);
    int64_t t1 = monotonic_us();
    samples.push_back(t1 - t0);
    if (!ok) {
      if (errors == 0) first_error = "call " + std::to_string(i + 1) + ": " + error;
      ++errors;
    }
  }
  if (!a.samples_file.empty()) {
    std::ofstream out(a.samples_file);
    for (int64_t us : samples) out << us << "\n";
    if (!out) std::cerr << "pk-ipc-probe: cannot write " << a.samples_file << "\n";
  }
  if (!first_error.empty())
    std::cerr << "pk-ipc-probe: " << errors << " errors, the first: " << first_error << "\n";
  std::vector<int64_t> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  if (sorted.empty()) sorted.push_back(0);
  std::printf("calls=%zu errors=%llu p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", samples.size(),
              static_cast<unsigned long long>(errors), static_cast<double>(at_rank(sorted, 0.50)) / 1000.0,
              static_cast<double>(at_rank(sorted, 0.99)) / 1000.0,
              static_cast<double>(sorted.back()) / 1000.0);
  return errors == 0 && !samples.empty() ? kOk : kFailed;
}

// --- raw -----------------------------------------------------------------------------

struct RawArgs {
  std::string socket;
  std::optional<uint64_t> declared_length;
  std::optional<uint64_t> send_bytes;
  char fill = 'x';
  std::optional<std::string> payload;  // --payload-hex, decoded
  double timeout_s = 10;
};

bool decode_hex(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, value, 16);
    if (ec != std::errc() || end != hex.data() + i + 2) return false;
    out.push_back(static_cast<char>(value));
  }
  return true;
}

int raw(const RawArgs& a) {
  int64_t deadline = monotonic_us() + static_cast<int64_t>(a.timeout_s * 1e6);
  Connection c;
  std::string error;
  if (!c.connect(a.socket, false, deadline, error)) {
    std::cerr << "pk-ipc-probe: " << a.socket << ": " << error << "\n";
    return kFailed;
  }
  std::string header(ipc::kFrameHeaderBytes, '\0');
  std::string body = a.payload ? *a.payload : std::string(*a.send_bytes, a.fill);
  uint64_t declared = a.payload ? a.payload->size() : *a.declared_length;
  ipc::put_le32(static_cast<uint32_t>(declared), header.data());
  // The whole of it as far as the peer takes it: a peer that answers and
  // closes before reading everything is what a too-large request expects.
  size_t sent = 0, body_sent = 0;
  std::string send_note = "sent";
  if (!c.send_all(header, sent, error) || !c.send_all(body, body_sent, error))
    send_note = c.peer_closed ? "the peer closed the connection after" : "stopped (" + error + ") after";
  std::cerr << "pk-ipc-probe: header declaring " << declared << " bytes, " << send_note << " " << body_sent
            << " of " << body.size() << " payload bytes\n";
  std::string payload;
  if (!read_pk1_frame(c, payload, error)) {
    std::cerr << "pk-ipc-probe: no reply frame: " << error << "\n";
    return kFailed;
  }
  ipc::ReplyHead head;
  if (!ipc::parse_reply(payload, head)) {
    std::cerr << "pk-ipc-probe: a reply frame that is not pk1:\n";
    std::cout << payload << "\n";
    return kOk;
  }
  std::cerr << "pk-ipc-probe: reply: pk1 " << (head.ok ? "ok" : "error ")
            << (head.ok ? "" : ipc::error_code_name(head.code)) << "\n";
  std::cout << head.body << "\n";
  return kOk;
}

// --- command line ---------------------------------------------------------------------

// Takes "--name VALUE" at args[i]; false (with `why`) when the value is missing.
bool option_value(const std::vector<std::string_view>& args, size_t& i, std::string_view& value,
                  std::string& why) {
  if (i + 1 >= args.size()) {
    why = std::string(args[i]) + " needs a value";
    return false;
  }
  value = args[++i];
  return true;
}

bool positive_seconds(std::string_view v, double& out) {
  std::string s(v);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && out > 0 && std::isfinite(out);
}

int main_latency(const std::vector<std::string_view>& args) {
  LatencyArgs a;
  size_t i = 1;
  if (i >= args.size()) return usage("latency: which daemon? pathkeeper or multipathd");
  if (args[i] == "multipathd") {
    a.multipathd = true;
  } else if (args[i] == "pathkeeper") {
    if (++i >= args.size()) return usage("latency pathkeeper: the control socket's path is missing");
    a.socket = args[i];
  } else {
    return usage("latency: unknown daemon '" + std::string(args[i]) + "' (pathkeeper or multipathd)");
  }
  bool have_calls = false;
  for (++i; i < args.size(); ++i) {
    std::string_view arg = args[i], v;
    std::string why;
    if (arg == "--calls" || arg == "--budget" || arg == "--interval" || arg == "--samples" ||
        arg == "--timeout") {
      if (!option_value(args, i, v, why)) return usage(why);
      if (arg == "--calls" && (!parse_number(v, a.calls) || a.calls == 0))
        return usage("--calls: a positive whole number, not '" + std::string(v) + "'");
      if (arg == "--calls") have_calls = true;
      double s = 0;
      if ((arg == "--budget" || arg == "--interval" || arg == "--timeout") && !positive_seconds(v, s))
        return usage(std::string(arg) + ": a positive number of seconds, not '" + std::string(v) + "'");
      if (arg == "--budget") a.budget_s = s;
      if (arg == "--interval") a.interval_s = s;
      if (arg == "--timeout") a.timeout_s = s;
      if (arg == "--samples") a.samples_file = v;
    } else if (arg.substr(0, 2) == "--") {
      return usage("latency: unknown option " + std::string(arg));
    } else {
      a.words.emplace_back(arg);
    }
  }
  if (!have_calls) return usage("latency: --calls N is required");
  if (a.words.empty()) return usage("latency: the request's words are missing (e.g. show paths)");
  return latency(a);
}

int main_raw(const std::vector<std::string_view>& args) {
  RawArgs a;
  if (args.size() < 2 || args[1].substr(0, 2) == "--")
    return usage("raw: the control socket's path is missing");
  a.socket = args[1];
  for (size_t i = 2; i < args.size(); ++i) {
    std::string_view arg = args[i], v;
    std::string why;
    if (!option_value(args, i, v, why)) return usage(why);
    if (arg == "--declared-length" || arg == "--send-bytes") {
      uint64_t n = 0;
      if (!parse_number(v, n) || (arg == "--declared-length" && n > UINT32_MAX) || n > (uint64_t{1} << 30))
        return usage(std::string(arg) + ": a byte count (a header holds at most 4294967295), not '" +
                     std::string(v) + "'");
      (arg == "--declared-length" ? a.declared_length : a.send_bytes) = n;
    } else if (arg == "--fill") {
      if (v.size() != 1) return usage("--fill: one character, not '" + std::string(v) + "'");
      a.fill = v[0];
    } else if (arg == "--payload-hex") {
      std::string decoded;
      if (!decode_hex(v, decoded) || decoded.empty())
        return usage("--payload-hex: an even number of hex digits, not '" + std::string(v) + "'");
      a.payload = decoded;
    } else if (arg == "--timeout") {
      if (!positive_seconds(v, a.timeout_s)) return usage("--timeout: a positive number of seconds");
    } else {
      return usage("raw: unknown option " + std::string(arg));
    }
  }
  bool sized = a.declared_length && a.send_bytes;
  if (a.payload ? (a.declared_length || a.send_bytes) : !sized)
    return usage("raw: either --declared-length N --send-bytes M, or --payload-hex HEX");
  return raw(a);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return usage("a subcommand is missing");
  if (args[0] == "latency") return main_latency(args);
  if (args[0] == "raw") return main_raw(args);
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsageText;
    return kOk;
  }
  return usage("unknown subcommand '" + std::string(args[0]) + "'");
}
