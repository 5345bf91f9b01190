// One log message as it travels from a producer to the sinks: a fixed-size
// record (time, level, subsystem, map / path / WWID identity, message). The
// same 512 bytes sit in the ring (core/log_ring.h) and in the circular log
// file (core/log_file_format.h), so a message is formatted exactly once.
//
// What does not fit is cut, never spilled: a message that is too long ends in
// "..." and carries kTruncated; an identity that is too long is cut and the
// record carries kIdentityTruncated.
//
// Threads: any (one record per caller). Blocking: never. Allocation: never.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace pk::core {

enum class LogLevel : uint8_t {
  Error = 3,
  Warning = 4,
  Notice = 5,
  Info = 6,
  Debug = 7
};  // syslog priorities

// "error", "warning", "notice", "info", "debug"; "?" for anything else.
const char* log_level_name(LogLevel level);
bool parse_log_level(std::string_view name, LogLevel& out);

// Who a message is about. Empty fields are absent.
struct LogIdentity {
  std::string_view map;   // map name
  std::string_view path;  // path device, "sdb"
  std::string_view wwid;
};

struct LogRecord {
  static constexpr size_t kSize = 512;
  static constexpr size_t kHeaderSize = 32;
  static constexpr size_t kTextCapacity = kSize - kHeaderSize;
  // Longest identity fields kept whole (the model's FixedString capacities).
  static constexpr size_t kSubsystemMax = 15;
  static constexpr size_t kMapMax = 127;
  static constexpr size_t kPathMax = 31;
  static constexpr size_t kWwidMax = 255;
  // The message always gets at least this much of the text area, so long
  // identities cut themselves rather than the message.
  static constexpr size_t kMessageReserve = 160;

  static constexpr uint8_t kTruncated = 1;          // message cut, ends in "..."
  static constexpr uint8_t kIdentityTruncated = 2;  // map, path or WWID cut

  // Set by the file writer (core/log_file_format.h); zero in the ring.
  uint32_t magic;
  uint32_t crc;
  uint64_t seq;

  int64_t realtime_ns;  // CLOCK_REALTIME when the producer logged
  uint8_t level;        // LogLevel
  uint8_t flags;
  uint8_t subsystem_len;
  uint8_t map_len;
  uint8_t path_len;
  uint8_t wwid_len;
  uint16_t message_len;
  // subsystem, map, path, WWID and message back to back, no separators.
  char text[kTextCapacity];

  LogLevel log_level() const { return static_cast<LogLevel>(level); }
  std::string_view subsystem() const { return {text, subsystem_len}; }
  std::string_view map() const { return {text + subsystem_len, map_len}; }
  std::string_view path() const { return {text + subsystem_len + map_len, path_len}; }
  std::string_view wwid() const { return {text + subsystem_len + map_len + path_len, wwid_len}; }
  std::string_view message() const { return {text + identity_bytes(), message_len}; }
  size_t identity_bytes() const { return size_t{subsystem_len} + map_len + path_len + wwid_len; }
  // The lengths add up inside the record (a record read from a file is checked with this).
  bool lengths_valid() const { return identity_bytes() + message_len <= kTextCapacity; }
};
static_assert(sizeof(LogRecord) == LogRecord::kSize);
static_assert(offsetof(LogRecord, text) == LogRecord::kHeaderSize);
static_assert(std::is_trivially_copyable_v<LogRecord>);

// Formats into `r` (everything but magic, crc and seq, which become zero).
void fill_log_record(LogRecord& r, int64_t realtime_ns, LogLevel level, std::string_view subsystem,
                     const LogIdentity& id, const char* format, va_list args)
    __attribute__((format(printf, 6, 0)));
// The same with a message already formatted.
void fill_log_record_text(LogRecord& r, int64_t realtime_ns, LogLevel level, std::string_view subsystem,
                          const LogIdentity& id, std::string_view message);

// "<6>info daemon: [mpatha sdb] message" and a newline: the line written to
// stderr ("<N>" is the priority prefix journald understands on a stream).
// Returns the length written into `out` (cut to fit, always ends in '\n').
size_t format_log_line(const LogRecord& r, char* out, size_t size);

// CRC-32C (Castagnoli), as used by the log file for headers and records.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace pk::core
