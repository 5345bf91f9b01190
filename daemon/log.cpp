#include "daemon/log.h"

#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "core/log_ring.h"
#include "daemon/log_placement.h"
#include "daemon/log_writer.h"
#include "pk_build_config.h"

namespace pk::daemon {

namespace {

std::atomic<uint8_t> g_level{static_cast<uint8_t>(LogLevel::Info)};

// Before log_start (and after log_stop): straight to stderr.
std::atomic<uint64_t> g_direct_written{0};
std::atomic<uint64_t> g_direct_dropped{0};
std::atomic<bool> g_stderr_nonblocking{false};

// The running logger. Producers see the ring through g_ring and announce
// themselves in g_inflight, so log_stop knows when no producer still holds it.
std::atomic<core::LogRing*> g_ring{nullptr};
std::atomic<LogWriter*> g_writer{nullptr};
std::atomic<uint32_t> g_inflight{0};
// Owned by log_start/log_stop (main thread); kept after log_stop so the
// counters stay readable, replaced by the next log_start.
core::LogRing* g_last_ring = nullptr;
LogWriter* g_last_writer = nullptr;
std::string g_file;
LogDegraded g_degraded;
bool g_atexit = false;

int64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void write_direct(LogLevel level, const char* subsystem, const core::LogIdentity& id, const char* format,
                  va_list args) __attribute__((format(printf, 4, 0)));
void write_direct(LogLevel level, const char* subsystem, const core::LogIdentity& id, const char* format,
                  va_list args) {
  // stderr may be a pipe to a logger that is itself stuck behind the disks we
  // rescue: never wait on it.
  if (!g_stderr_nonblocking.exchange(true)) {
    int flags = ::fcntl(STDERR_FILENO, F_GETFL);
    if (flags >= 0) ::fcntl(STDERR_FILENO, F_SETFL, flags | O_NONBLOCK);
  }
  core::LogRecord r;
  core::fill_log_record(r, realtime_ns(), level, subsystem, id, format, args);
  char line[1024];
  size_t len = core::format_log_line(r, line, sizeof line);
  if (::write(STDERR_FILENO, line, len) == static_cast<ssize_t>(len)) {
    g_direct_written.fetch_add(1, std::memory_order_relaxed);
  } else {
    g_direct_dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

LogSinkStatus sink_status(bool active, const LogSinkCounters& c) {
  return {active, c.written, c.dropped, c.write_errors, c.would_block};
}

}  // namespace

void log_set_level(LogLevel max_level) { g_level = static_cast<uint8_t>(max_level); }

bool log_parse_level(const char* name, LogLevel& out) { return core::parse_log_level(name, out); }

void log_writev(LogLevel level, const char* subsystem, const core::LogIdentity& id, const char* format,
                va_list args) {
  if (static_cast<uint8_t>(level) > g_level.load(std::memory_order_relaxed)) return;
  g_inflight.fetch_add(1, std::memory_order_seq_cst);
  if (core::LogRing* ring = g_ring.load(std::memory_order_seq_cst)) {
    if (core::LogRing::Claim c = ring->try_claim()) {
      core::fill_log_record(*c.record, realtime_ns(), level, subsystem, id, format, args);
      ring->commit(c);
      g_writer.load(std::memory_order_relaxed)->notify();
    }
    g_inflight.fetch_sub(1, std::memory_order_release);
    return;
  }
  g_inflight.fetch_sub(1, std::memory_order_release);
  write_direct(level, subsystem, id, format, args);
}

void log_write(LogLevel level, const char* subsystem, const char* format, ...) {
  va_list args;
  va_start(args, format);
  log_writev(level, subsystem, {}, format, args);
  va_end(args);
}

void log_map(LogLevel level, const char* subsystem, std::string_view map, std::string_view wwid,
             const char* format, ...) {
  va_list args;
  va_start(args, format);
  log_writev(level, subsystem, {map, {}, wwid}, format, args);
  va_end(args);
}

void log_path(LogLevel level, const char* subsystem, std::string_view map, std::string_view path,
              std::string_view wwid, const char* format, ...) {
  va_list args;
  va_start(args, format);
  log_writev(level, subsystem, {map, path, wwid}, format, args);
  va_end(args);
}

LogCounters log_counters() {
  LogCounters c;
  c.written = g_direct_written.load(std::memory_order_relaxed);
  c.dropped = g_direct_dropped.load(std::memory_order_relaxed);
  if (g_last_ring != nullptr) {
    c.written += g_last_ring->accepted();
    c.ring_dropped = g_last_ring->dropped();
    c.records_used = g_last_ring->used();
    c.records_high_water = g_last_ring->high_water();
    c.records_limit = g_last_ring->capacity();
  }
  if (g_last_writer != nullptr) {
    LogWriterCounters w = g_last_writer->counters();
    c.file = sink_status(w.file_open, w.file);
    c.journal = sink_status(w.journal_open, w.journal);
    c.stderr_sink = sink_status(w.stderr_open, w.stderr_sink);
  }
  c.dropped += c.ring_dropped + c.file.dropped + c.journal.dropped + c.stderr_sink.dropped;
  c.write_errors = c.file.write_errors + c.journal.write_errors + c.stderr_sink.write_errors;
  return c;
}

bool log_start(const core::LoggingConfig& cfg, uint32_t records, bool foreground, core::Error& err) {
  return log_start(cfg, records, foreground, LogStartOptions{}, err);
}

bool log_start(const core::LoggingConfig& cfg, uint32_t records, bool foreground,
               const LogStartOptions& options, core::Error& err) {
  if (g_ring.load() != nullptr) {
    err.set("logging is started already");
    return false;
  }
  g_degraded = {};
  std::string file = cfg.file.empty() ? std::string(PK_LOGDIR) + "/pathkeeperd.log" : cfg.file;
  // A log file on a multipath map could wait on the very paths being
  // restored: never used, and the daemon logs elsewhere.
  bool file_allowed = check_log_placement(file, options.sysfs_root, g_degraded.file);

  delete g_last_writer;
  delete g_last_ring;
  g_last_writer = nullptr;
  g_last_ring = nullptr;
  g_file.clear();
  auto* ring = new core::LogRing;
  ring->init(records);
  auto* writer = new LogWriter;
  LogWriterOptions wo;
  wo.file = file_allowed ? file : std::string();
  wo.file_size_bytes = cfg.file_size_bytes;
  wo.staging_pages = options.staging_pages;
  wo.journal_socket = cfg.journal ? options.journal_socket : std::string();
  wo.stderr_fd = foreground ? options.stderr_fd : -1;
  if (!writer->open(wo, *ring, g_degraded.writer) || !writer->start(g_degraded.writer)) {
    // No writer: every record goes straight to stderr, as before log_start.
    if (!writer->file_problem().empty()) g_degraded.file = writer->file_problem();
    if (g_degraded.file.empty()) g_degraded.file.set("no log writer thread to write %s", file.c_str());
    delete writer;
    delete ring;
    log_warning("log", "%s; logging straight to stderr", g_degraded.writer.c_str());
    return true;
  }
  if (!writer->file_problem().empty()) g_degraded.file = writer->file_problem();
  g_last_ring = ring;
  g_last_writer = writer;
  if (g_degraded.file.empty()) g_file = file;
  g_writer.store(writer, std::memory_order_seq_cst);
  g_ring.store(ring, std::memory_order_seq_cst);
  if (!g_atexit) {
    g_atexit = std::atexit(log_stop) == 0;
  }
  if (g_degraded.file.empty()) {
    log_info("log", "%s: %s; %u records in the ring", file.c_str(), writer->notes().c_str(),
             ring->capacity());
  } else {
    log_warning("log", "no log file: %s; %s; %u records in the ring", g_degraded.file.c_str(),
                writer->notes().c_str(), ring->capacity());
  }
  return true;
}

const LogDegraded& log_degraded() { return g_degraded; }

void log_stop() {
  if (g_ring.load() == nullptr) return;
  g_ring.store(nullptr, std::memory_order_seq_cst);
  // A producer that saw the ring before it was withdrawn finishes its record.
  while (g_inflight.load(std::memory_order_seq_cst) != 0) ::sched_yield();
  g_writer.store(nullptr, std::memory_order_seq_cst);
  g_last_writer->stop();
}

std::string log_file_path() { return g_file; }

}  // namespace pk::daemon
