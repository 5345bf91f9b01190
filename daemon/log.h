// Logging for every part of the daemon. A call formats into a fixed buffer on
// the caller's stack and hands it on without ever waiting: what cannot be
// written now is dropped and counted (design rule 5).
// Threads: any. Blocking: never. Allocation: never.
#pragma once

#include <cstdint>

namespace pk::daemon {

enum class LogLevel : uint8_t { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };  // syslog priorities

void log_set_level(LogLevel max_level);
bool log_parse_level(const char* name, LogLevel& out);
void log_write(LogLevel level, const char* subsystem, const char* format, ...) __attribute__((format(printf, 3, 4)));

struct LogCounters {
  uint64_t written = 0;
  uint64_t dropped = 0;
};
LogCounters log_counters();

}  // namespace pk::daemon

#define log_error(sub, ...) ::pk::daemon::log_write(::pk::daemon::LogLevel::Error, sub, __VA_ARGS__)
#define log_warning(sub, ...) ::pk::daemon::log_write(::pk::daemon::LogLevel::Warning, sub, __VA_ARGS__)
#define log_notice(sub, ...) ::pk::daemon::log_write(::pk::daemon::LogLevel::Notice, sub, __VA_ARGS__)
#define log_info(sub, ...) ::pk::daemon::log_write(::pk::daemon::LogLevel::Info, sub, __VA_ARGS__)
#define log_debug(sub, ...) ::pk::daemon::log_write(::pk::daemon::LogLevel::Debug, sub, __VA_ARGS__)
