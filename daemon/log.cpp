#include "daemon/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace pk::daemon {

namespace {
std::atomic<uint8_t> g_level{static_cast<uint8_t>(LogLevel::Info)};
std::atomic<uint64_t> g_written{0};
std::atomic<uint64_t> g_dropped{0};
std::atomic<bool> g_nonblocking{false};

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::Error: return "error";
    case LogLevel::Warning: return "warning";
    case LogLevel::Notice: return "notice";
    case LogLevel::Info: return "info";
    case LogLevel::Debug: return "debug";
  }
  return "?";
}

// stderr may be a pipe to a logger that is itself stuck behind the disks we
// rescue: never wait on it.
void make_stderr_nonblocking() {
  if (g_nonblocking.exchange(true)) return;
  int flags = ::fcntl(STDERR_FILENO, F_GETFL);
  if (flags >= 0) ::fcntl(STDERR_FILENO, F_SETFL, flags | O_NONBLOCK);
}
}  // namespace

void log_set_level(LogLevel max_level) { g_level = static_cast<uint8_t>(max_level); }

bool log_parse_level(const char* name, LogLevel& out) {
  for (LogLevel l : {LogLevel::Error, LogLevel::Warning, LogLevel::Notice, LogLevel::Info, LogLevel::Debug}) {
    if (std::strcmp(name, level_name(l)) == 0) {
      out = l;
      return true;
    }
  }
  return false;
}

void log_write(LogLevel level, const char* subsystem, const char* format, ...) {
  if (static_cast<uint8_t>(level) > g_level.load(std::memory_order_relaxed)) return;
  make_stderr_nonblocking();
  // "<N>" is the priority prefix that journald understands on stderr.
  char line[1024];
  int head = std::snprintf(line, sizeof line, "<%d>%s %s: ", static_cast<int>(level), level_name(level), subsystem);
  va_list args;
  va_start(args, format);
  int body = std::vsnprintf(line + head, sizeof line - static_cast<size_t>(head) - 1, format, args);
  va_end(args);
  size_t len = static_cast<size_t>(head) + static_cast<size_t>(body < 0 ? 0 : body);
  if (len > sizeof line - 2) len = sizeof line - 2;  // cut, keep the newline
  line[len++] = '\n';
  if (::write(STDERR_FILENO, line, len) == static_cast<ssize_t>(len)) {
    g_written.fetch_add(1, std::memory_order_relaxed);
  } else {
    g_dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

LogCounters log_counters() { return {g_written.load(), g_dropped.load()}; }

}  // namespace pk::daemon
