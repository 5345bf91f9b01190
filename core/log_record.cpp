#include "core/log_record.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

namespace pk::core {

namespace {

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

constexpr std::array<const char*, 8> kLevelNames{"?",       "?",      "?",    "error",
                                                 "warning", "notice", "info", "debug"};

// Copies `s` into the text area at `used`, at most `max` bytes and what is left
// of `budget`; returns the length kept and marks a cut.
uint8_t put_identity(LogRecord& r, size_t& used, size_t& budget, std::string_view s, size_t max) {
  size_t n = std::min({s.size(), max, budget});
  if (n < s.size()) r.flags |= LogRecord::kIdentityTruncated;
  // An empty view may have no storage (nullptr), which memcpy must not be given.
  if (n > 0) std::memcpy(r.text + used, s.data(), n);
  used += n;
  budget -= n;
  return static_cast<uint8_t>(n);
}

// Everything but the message; returns the bytes of identity used.
size_t fill_head(LogRecord& r, int64_t realtime_ns, LogLevel level, std::string_view subsystem,
                 const LogIdentity& id) {
  r.magic = 0;
  r.crc = 0;
  r.seq = 0;
  r.realtime_ns = realtime_ns;
  r.level = static_cast<uint8_t>(level);
  r.flags = 0;
  size_t used = 0;
  size_t budget = LogRecord::kTextCapacity - LogRecord::kMessageReserve;
  // A cut subsystem is not an identity worth a flag: it is a constant in the code.
  r.subsystem_len = static_cast<uint8_t>(std::min(subsystem.size(), LogRecord::kSubsystemMax));
  if (r.subsystem_len > 0) std::memcpy(r.text, subsystem.data(), r.subsystem_len);
  used += r.subsystem_len;
  budget -= r.subsystem_len;
  // The path and map first: they are short and what people filter by.
  r.map_len = 0;
  r.path_len = 0;
  r.wwid_len = 0;
  r.map_len = put_identity(r, used, budget, id.map, LogRecord::kMapMax);
  r.path_len = put_identity(r, used, budget, id.path, LogRecord::kPathMax);
  r.wwid_len = put_identity(r, used, budget, id.wwid, LogRecord::kWwidMax);
  return used;
}

// Zeroes what follows the message, so no byte of an earlier record lingers.
void clear_tail(LogRecord& r, size_t start) {
  size_t end = start + r.message_len;
  std::memset(r.text + end, 0, LogRecord::kTextCapacity - end);
}

void mark_cut(LogRecord& r, size_t start) {
  r.flags |= LogRecord::kTruncated;
  size_t dots = std::min<size_t>(3, r.message_len);
  std::memset(r.text + start + r.message_len - dots, '.', dots);
}

}  // namespace

const char* log_level_name(LogLevel level) {
  auto i = static_cast<size_t>(level);
  return i < kLevelNames.size() ? kLevelNames[i] : "?";
}

bool parse_log_level(std::string_view name, LogLevel& out) {
  for (LogLevel l : {LogLevel::Error, LogLevel::Warning, LogLevel::Notice, LogLevel::Info, LogLevel::Debug}) {
    if (name == log_level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void fill_log_record(LogRecord& r, int64_t realtime_ns, LogLevel level, std::string_view subsystem,
                     const LogIdentity& id, const char* format, va_list args) {
  size_t start = fill_head(r, realtime_ns, level, subsystem, id);
  size_t room = LogRecord::kTextCapacity - start;  // vsnprintf's NUL takes the last byte of it
  int n = std::vsnprintf(r.text + start, room, format, args);
  if (n < 0) n = 0;
  if (static_cast<size_t>(n) < room) {
    r.message_len = static_cast<uint16_t>(n);
  } else {
    r.message_len = static_cast<uint16_t>(room - 1);
    mark_cut(r, start);
  }
  clear_tail(r, start);
}

void fill_log_record_text(LogRecord& r, int64_t realtime_ns, LogLevel level, std::string_view subsystem,
                          const LogIdentity& id, std::string_view message) {
  size_t start = fill_head(r, realtime_ns, level, subsystem, id);
  size_t room = LogRecord::kTextCapacity - start;
  size_t n = std::min(message.size(), room);
  if (n > 0) std::memcpy(r.text + start, message.data(), n);
  r.message_len = static_cast<uint16_t>(n);
  if (n < message.size()) mark_cut(r, start);
  clear_tail(r, start);
}

size_t format_log_line(const LogRecord& r, char* out, size_t size) {
  if (size < 2) return 0;
  size_t len = 0;
  auto put = [&](std::string_view s) {
    size_t n = std::min(s.size(), size - 1 - len);  // keep one byte for the newline
    if (n > 0) std::memcpy(out + len, s.data(), n);
    len += n;
  };
  char prio[4] = {'<', static_cast<char>('0' + (r.level & 7)), '>', '\0'};
  put(prio);
  put(log_level_name(r.log_level()));
  put(" ");
  put(r.subsystem());
  put(": ");
  if (!r.map().empty() || !r.path().empty()) {
    put("[");
    put(r.map());
    if (!r.map().empty() && !r.path().empty()) put(" ");
    put(r.path());
    put("] ");
  }
  put(r.message());
  out[len++] = '\n';
  return len;
}

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  auto p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = kCrc32cTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace pk::core
