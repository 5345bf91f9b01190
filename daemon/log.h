// Logging for every part of the daemon (design rule 5: logging never blocks
// the loop).
//
// Before log_start(), a call formats on the caller's stack and writes to
// stderr without waiting, so early start-up errors are seen. From log_start()
// on, a call formats into a fixed-size record in a ring allocated at start-up
// and returns: the log writer thread (daemon/log_writer.h) takes it to the
// circular log file, journald and (in the foreground) stderr. A full ring
// drops the record and counts it; a producer never waits and never allocates.
//
// Threads: log_write and friends from any thread; log_start, log_stop and
// log_counters on the main thread. Blocking: log_write never; log_start and
// log_stop do I/O (start-up, shut-down). Allocation: log_start only.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/error.h"
#include "core/log_record.h"

namespace pk::daemon {

using LogLevel = core::LogLevel;  // syslog priorities: Error = 3 ... Debug = 7

void log_set_level(LogLevel max_level);
bool log_parse_level(const char* name, LogLevel& out);

void log_write(LogLevel level, const char* subsystem, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
// With who it is about, as separate fields (journald: PATHKEEPER_MAP, PATHKEEPER_PATH, PATHKEEPER_WWID).
void log_map(LogLevel level, const char* subsystem, std::string_view map, std::string_view wwid,
             const char* format, ...) __attribute__((format(printf, 5, 6)));
void log_path(LogLevel level, const char* subsystem, std::string_view map, std::string_view path,
              std::string_view wwid, const char* format, ...) __attribute__((format(printf, 6, 7)));
void log_writev(LogLevel level, const char* subsystem, const core::LogIdentity& id, const char* format,
                va_list args) __attribute__((format(printf, 4, 0)));

struct LogSinkStatus {
  bool active = false;
  uint64_t written = 0;       // records the sink took
  uint64_t dropped = 0;       // records it lost
  uint64_t write_errors = 0;  // failed writes (not counting "would block")
  uint64_t would_block = 0;   // writes refused because they would have waited
};

struct LogCounters {
  uint64_t written = 0;       // records accepted (into the ring; before log_start: written to stderr)
  uint64_t dropped = 0;       // ring_dropped + every sink's dropped (+ stderr before log_start)
  uint64_t write_errors = 0;  // every sink's write_errors
  uint64_t ring_dropped = 0;  // refused by a full ring: lost to every sink
  uint32_t records_used = 0;  // records in the ring now
  uint32_t records_high_water = 0;
  uint32_t records_limit = 0;  // the ring's capacity (limits.log_records); 0 before log_start
  LogSinkStatus file, journal, stderr_sink;
};
LogCounters log_counters();

// Start-up, after memory is locked and before READY: allocates the ring of
// `records` records and the file's staging pages, creates or adopts the log
// file at its full size (cfg.file, "" = PK_LOGDIR/pathkeeperd.log), speaks to
// journald when cfg.journal and journald listens, writes stderr when
// `foreground`; starts the writer thread.
//
// Logging degrades, it never stops the daemon: a log file that cannot be
// made (a full or read-only disk, a folder that cannot be created, no
// permission, someone else's file, a file on a multipath map or on a device
// below or above one) is left out, and records go on to journald, stderr and
// the ring; a writer thread that cannot start leaves records going straight
// to stderr. log_degraded() says which and why. False only when logging was
// started already.
bool log_start(const core::LoggingConfig& cfg, uint32_t records, bool foreground, core::Error& err);

// What log_start had to do without; empty when nothing.
struct LogDegraded {
  core::Error file;    // why there is no log file
  core::Error writer;  // why there is no writer thread (records go straight to stderr)
};
const LogDegraded& log_degraded();

// What tests and the lab change; the daemon uses the defaults.
struct LogStartOptions {
  std::string sysfs_root = "/sys";
  std::string journal_socket = "/run/systemd/journal/socket";
  int stderr_fd = 2;
  uint32_t staging_pages = 64;
};
bool log_start(const core::LoggingConfig& cfg, uint32_t records, bool foreground,
               const LogStartOptions& options, core::Error& err);

// Shut-down: later calls write to stderr again; the writer drains the ring
// into the sinks and is joined; the file's I/O thread gets a second to write
// what is staged (one stuck in the kernel on a dead disk is left behind).
// Also run at exit when log_start succeeded.
void log_stop();

// The log file in use ("" before log_start).
std::string log_file_path();

}  // namespace pk::daemon

#define log_error(sub, ...) ::pk::daemon::log_write(::pk::daemon::LogLevel::Error, sub, __VA_ARGS__)
#define log_warning(sub, ...) ::pk::daemon::log_write(::pk::daemon::LogLevel::Warning, sub, __VA_ARGS__)
#define log_notice(sub, ...) ::pk::daemon::log_write(::pk::daemon::LogLevel::Notice, sub, __VA_ARGS__)
#define log_info(sub, ...) ::pk::daemon::log_write(::pk::daemon::LogLevel::Info, sub, __VA_ARGS__)
#define log_debug(sub, ...) ::pk::daemon::log_write(::pk::daemon::LogLevel::Debug, sub, __VA_ARGS__)
