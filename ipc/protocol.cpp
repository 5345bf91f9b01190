#include "ipc/protocol.h"

#include <algorithm>
#include <cstdarg>
#include <iterator>

#include "core/snapshot_json.h"

namespace pk::ipc {

namespace {

constexpr std::string_view kCodeNames[] = {
    "usage", "version", "too-large", "not-found",   "denied",
    "busy",  "failed",  "timeout",   "unavailable", "internal",
};
static_assert(std::size(kCodeNames) == static_cast<size_t>(ErrorCode::Internal) + 1);

// A word as an error message shows it: at most 40 bytes, then "...".
struct Shown {
  int len;
  const char* data;
  const char* more;
};
Shown shown(std::string_view w) {
  constexpr size_t kMax = 40;
  return {static_cast<int>(std::min(w.size(), kMax)), w.data(), w.size() > kMax ? "..." : ""};
}

// The words of a payload, split on NUL bytes.
class Cursor {
 public:
  explicit Cursor(std::string_view payload) : rest_(payload), done_(payload.empty()) {}

  // Next word; empty at the end (an empty word inside is refused earlier).
  std::string_view next() {
    if (done_) return {};
    size_t nul = rest_.find('\0');
    std::string_view w = rest_.substr(0, nul);
    if (nul == std::string_view::npos) {
      done_ = true;
      rest_ = {};
    } else {
      rest_.remove_prefix(nul + 1);
    }
    return w;
  }
  bool at_end() const { return done_; }

 private:
  std::string_view rest_;
  bool done_;
};

bool fail(RequestError& err, ErrorCode code, const char* format, ...) __attribute__((format(printf, 3, 4)));
bool fail(RequestError& err, ErrorCode code, const char* format, ...) {
  err.code = code;
  va_list args;
  va_start(args, format);
  err.message.setv(format, args);
  va_end(args);
  return false;
}

// Every word non-empty and free of control characters; the count bounded.
bool check_words(std::string_view payload, RequestError& err) {
  Cursor c(payload);
  size_t n = 0;
  while (!c.at_end()) {
    std::string_view w = c.next();
    ++n;
    if (n > kMaxRequestWords)
      return fail(err, ErrorCode::Usage, "too many words: a request has at most %zu", kMaxRequestWords);
    if (w.empty()) return fail(err, ErrorCode::Usage, "word %zu is empty (two NUL bytes in a row?)", n);
    for (char ch : w) {
      auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u == 0x7F)
        return fail(err, ErrorCode::Usage, "word %zu contains a control character", n);
    }
  }
  return true;
}

bool check_version(std::string_view word, RequestError& err) {
  if (word == kProtocolWord) return true;
  if (word.substr(0, 4) == "pk1 ")
    return fail(err, ErrorCode::Usage, "words are separated by NUL bytes, not blanks");
  if (word.size() >= 3 && word.substr(0, 2) == "pk" && word[2] >= '0' && word[2] <= '9') {
    Shown s = shown(word);
    return fail(err, ErrorCode::Version, "protocol %.*s%s is not spoken here: this daemon speaks %s", s.len,
                s.data, s.more, kProtocolWord.data());
  }
  return fail(err, ErrorCode::Usage, "not a pathkeeper request: it must start with \"%s\"",
              kProtocolWord.data());
}

bool expect_end(Cursor& c, const char* after, RequestError& err) {
  if (c.at_end()) return true;
  Shown s = shown(c.next());
  return fail(err, ErrorCode::Usage, "unexpected word '%.*s%s' after '%s'", s.len, s.data, s.more, after);
}

bool expect_word(Cursor& c, std::string_view want, const char* after, RequestError& err) {
  std::string_view w = c.next();
  if (w == want) return true;
  if (w.empty())
    return fail(err, ErrorCode::Usage, "'%s' needs '%.*s' next", after, static_cast<int>(want.size()),
                want.data());
  Shown s = shown(w);
  return fail(err, ErrorCode::Usage, "expected '%.*s' after '%s', not '%.*s%s'",
              static_cast<int>(want.size()), want.data(), after, s.len, s.data, s.more);
}

bool take_target(Cursor& c, const char* after, const char* what, Request& out, RequestError& err) {
  std::string_view w = c.next();
  if (w.empty()) return fail(err, ErrorCode::Usage, "'%s' needs %s", after, what);
  if (w.size() > kMaxTargetBytes) {
    Shown s = shown(w);
    return fail(err, ErrorCode::Usage, "name '%.*s%s' is longer than %zu bytes", s.len, s.data, s.more,
                kMaxTargetBytes);
  }
  out.target = w;
  return true;
}

bool parse_show(Cursor& c, Request& out, RequestError& err) {
  std::string_view what = c.next();
  struct Simple {
    std::string_view word;
    RequestKind kind;
    const char* full;
  };
  static constexpr Simple kSimple[] = {
      {"paths", RequestKind::ShowPaths, "show paths"},
      {"maps", RequestKind::ShowMaps, "show maps"},
      {"topology", RequestKind::ShowTopology, "show topology"},
      {"status", RequestKind::ShowStatus, "show status"},
      {"config", RequestKind::ShowConfig, "show config"},
  };
  for (const Simple& s : kSimple) {
    if (what == s.word) {
      out.kind = s.kind;
      return expect_end(c, s.full, err);
    }
  }
  if (what == "map") {
    out.kind = RequestKind::ShowMap;
    return take_target(c, "show map", "a map NAME", out, err) && expect_end(c, "show map NAME", err);
  }
  if (what == "path") {
    out.kind = RequestKind::ShowPath;
    return take_target(c, "show path", "a path DEV", out, err) && expect_end(c, "show path DEV", err);
  }
  constexpr const char* kChoices = "paths, maps, topology, map NAME, path DEV, status or config";
  if (what.empty()) return fail(err, ErrorCode::Usage, "'show' needs what to show: %s", kChoices);
  Shown s = shown(what);
  return fail(err, ErrorCode::Usage, "cannot show '%.*s%s': expected %s", s.len, s.data, s.more, kChoices);
}

bool parse_queueing(Cursor& c, RequestKind kind, const char* verb, const char* full, Request& out,
                    RequestError& err) {
  out.kind = kind;
  if (!expect_word(c, "queueing", verb, err)) return false;
  if (!take_target(c, full, "a map NAME or --all", out, err)) return false;
  if (out.target == "--all") {
    out.all = true;
    out.target = {};
  }
  return expect_end(c, full, err);
}

// "remove map NAME|--all", "remove path DEV", "add path DEV", "resize map NAME".
bool parse_lifecycle(Cursor& c, std::string_view verb, Request& out, RequestError& err) {
  const bool remove = verb == "remove";
  std::string_view what = c.next();
  if (remove && what == "map") {
    out.kind = RequestKind::RemoveMap;
    if (!take_target(c, "remove map", "a map NAME or --all", out, err)) return false;
    if (out.target == "--all") {
      out.all = true;
      out.target = {};
    }
    return expect_end(c, "remove map NAME", err);
  }
  if ((remove || verb == "add") && what == "path") {
    out.kind = remove ? RequestKind::RemovePath : RequestKind::AddPath;
    const char* full = remove ? "remove path" : "add path";
    return take_target(c, full, "a path DEV", out, err) &&
           expect_end(c, remove ? "remove path DEV" : "add path DEV", err);
  }
  if (verb == "resize" && what == "map") {
    out.kind = RequestKind::ResizeMap;
    return take_target(c, "resize map", "a map NAME", out, err) && expect_end(c, "resize map NAME", err);
  }
  const char* choices = remove          ? "'map NAME', 'map --all' or 'path DEV'"
                        : verb == "add" ? "'path DEV'"
                                        : "'map NAME'";
  if (what.empty())
    return fail(err, ErrorCode::Usage, "'%.*s' needs %s", static_cast<int>(verb.size()), verb.data(),
                choices);
  Shown s = shown(what);
  return fail(err, ErrorCode::Usage, "cannot %.*s '%.*s%s': expected %s", static_cast<int>(verb.size()),
              verb.data(), s.len, s.data, s.more, choices);
}

}  // namespace

bool changes_state(RequestKind k) {
  switch (k) {
    case RequestKind::ShowPaths:
    case RequestKind::ShowMaps:
    case RequestKind::ShowTopology:
    case RequestKind::ShowMap:
    case RequestKind::ShowPath:
    case RequestKind::ShowStatus:
    case RequestKind::ShowConfig:
      return false;
    case RequestKind::FailPath:
    case RequestKind::ReinstatePath:
    case RequestKind::ClearMarginal:
    case RequestKind::SwitchGroup:
    case RequestKind::DisableQueueing:
    case RequestKind::RestoreQueueing:
    case RequestKind::Reconfigure:
    case RequestKind::RemoveMap:
    case RequestKind::RemovePath:
    case RequestKind::AddPath:
    case RequestKind::ResizeMap:
      return true;
  }
  return true;
}

std::string_view error_code_name(ErrorCode c) {
  auto i = static_cast<size_t>(c);
  return i < std::size(kCodeNames) ? kCodeNames[i] : "internal";
}

bool parse_error_code(std::string_view word, ErrorCode& out) {
  for (size_t i = 0; i < std::size(kCodeNames); ++i) {
    if (kCodeNames[i] == word) {
      out = static_cast<ErrorCode>(i);
      return true;
    }
  }
  return false;
}

bool parse_request(std::string_view payload, Request& out, RequestError& err) {
  out = Request{};
  if (payload.size() > kMaxRequestBytes)
    return fail(err, ErrorCode::TooLarge, "request of %zu bytes: at most %zu are read", payload.size(),
                kMaxRequestBytes);
  // The version first: another version may put other things after it.
  Cursor c(payload);
  if (!check_version(c.next(), err) || !check_words(payload, err)) return false;
  std::string_view cmd = c.next();
  if (cmd == "show") return parse_show(c, out, err);
  if (cmd == "status") {
    out.kind = RequestKind::ShowStatus;
    return expect_end(c, "status", err);
  }
  if (cmd == "fail" || cmd == "reinstate") {
    bool fail_it = cmd == "fail";
    out.kind = fail_it ? RequestKind::FailPath : RequestKind::ReinstatePath;
    const char* verb = fail_it ? "fail" : "reinstate";
    const char* full = fail_it ? "fail path" : "reinstate path";
    return expect_word(c, "path", verb, err) && take_target(c, full, "a path DEV", out, err) &&
           expect_end(c, fail_it ? "fail path DEV" : "reinstate path DEV", err);
  }
  if (cmd == "clear") {
    out.kind = RequestKind::ClearMarginal;
    return expect_word(c, "marginal", "clear", err) &&
           take_target(c, "clear marginal", "a path DEV", out, err) &&
           expect_end(c, "clear marginal DEV", err);
  }
  if (cmd == "switch") {
    out.kind = RequestKind::SwitchGroup;
    if (!expect_word(c, "group", "switch", err)) return false;
    if (!take_target(c, "switch group", "a map NAME and a group number", out, err)) return false;
    std::string_view n = c.next();
    if (n.empty()) return fail(err, ErrorCode::Usage, "'switch group MAP' needs a group number");
    if (!core::parse_uint(n, out.group) || out.group == 0) {
      Shown s = shown(n);
      return fail(err, ErrorCode::Usage, "group '%.*s%s' is not a number from 1 to 65535", s.len, s.data,
                  s.more);
    }
    return expect_end(c, "switch group MAP N", err);
  }
  if (cmd == "disable")
    return parse_queueing(c, RequestKind::DisableQueueing, "disable", "disable queueing", out, err);
  if (cmd == "restore")
    return parse_queueing(c, RequestKind::RestoreQueueing, "restore", "restore queueing", out, err);
  if (cmd == "remove" || cmd == "add" || cmd == "resize") return parse_lifecycle(c, cmd, out, err);
  if (cmd == "reconfigure") {
    out.kind = RequestKind::Reconfigure;
    return expect_end(c, "reconfigure", err);
  }
  if (cmd.empty())
    return fail(err, ErrorCode::Usage, "empty request: a command must follow %s", kProtocolWord.data());
  Shown s = shown(cmd);
  return fail(err, ErrorCode::Usage, "unknown command '%.*s%s'", s.len, s.data, s.more);
}

void put_le32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

uint32_t get_le32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return v;
}

FrameState check_frame(std::string_view received, size_t max_payload, size_t& payload_len) {
  if (received.size() < kFrameHeaderBytes) return FrameState::NeedMore;
  payload_len = get_le32(received.data());
  if (payload_len == 0) return FrameState::Empty;
  if (payload_len > max_payload) return FrameState::TooLarge;
  return received.size() - kFrameHeaderBytes >= payload_len ? FrameState::Complete : FrameState::NeedMore;
}

size_t encode_request(std::span<const std::string_view> words, std::span<char> out) {
  core::FixedWriter w(out);
  w.text(std::string_view("\0\0\0\0", kFrameHeaderBytes)).text(kProtocolWord);
  for (std::string_view word : words) {
    if (word.empty() || word.find('\0') != std::string_view::npos) return 0;
    w.ch('\0').text(word);
  }
  size_t payload = w.size() - kFrameHeaderBytes;
  if (w.overflowed() || payload > kMaxRequestBytes) return 0;
  put_le32(static_cast<uint32_t>(payload), out.data());
  return w.size();
}

void begin_reply(core::FixedWriter& w, bool ok, ErrorCode code) {
  w.text(std::string_view("\0\0\0\0", kFrameHeaderBytes)).text(kProtocolWord);
  if (ok)
    w.text(" ok\n");
  else
    w.text(" error ").text(error_code_name(code)).ch('\n');
}

bool finish_reply(core::FixedWriter& w, std::span<char> buffer) {
  if (w.overflowed() || w.size() < kFrameHeaderBytes || w.size() - kFrameHeaderBytes > UINT32_MAX)
    return false;
  put_le32(static_cast<uint32_t>(w.size() - kFrameHeaderBytes), buffer.data());
  return true;
}

bool write_error_reply(std::span<char> buffer, ErrorCode code, std::string_view message, size_t& length) {
  core::FixedWriter w(buffer);
  begin_reply(w, false, code);
  w.text("{\"version\":").number(core::kJsonVersion).text(",\"error\":{\"code\":\"");
  w.text(error_code_name(code)).text("\",\"message\":");
  core::write_json_string(w, message);
  w.text("}}");
  if (!finish_reply(w, buffer)) return false;
  length = w.size();
  return true;
}

bool parse_reply(std::string_view payload, ReplyHead& out) {
  size_t nl = payload.find('\n');
  if (nl == std::string_view::npos) return false;
  std::string_view line = payload.substr(0, nl);
  out = ReplyHead{};
  out.body = payload.substr(nl + 1);
  if (line.substr(0, kProtocolWord.size() + 1) != "pk1 ") return false;
  line.remove_prefix(kProtocolWord.size() + 1);
  if (line == "ok") {
    out.ok = true;
    return true;
  }
  if (line.substr(0, 6) != "error ") return false;
  return parse_error_code(line.substr(6), out.code);
}

}  // namespace pk::ipc
