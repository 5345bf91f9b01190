// The journald sink: the native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL)
// spoken directly, one datagram per record on a non-blocking AF_UNIX socket,
// built in a fixed buffer. sd_journal_send would allocate on every call and
// wait when journald is behind; this sends with MSG_DONTWAIT and, when
// journald's queue is full, drops the record and counts it.
//
// Fields: PRIORITY, SYSLOG_IDENTIFIER=pathkeeperd, SYSLOG_FACILITY (daemon),
// MESSAGE, PATHKEEPER_SUBSYSTEM, and when known PATHKEEPER_MAP,
// PATHKEEPER_PATH, PATHKEEPER_WWID; PATHKEEPER_TRUNCATED=1 on a cut record.
// So `journalctl PATHKEEPER_MAP=mpatha` shows one map's story.
//
// Threads: open at start-up on the main thread; send on the log writer
// thread; counters() from any thread. Blocking: never. Allocation: never
// after open.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <string>

#include "core/error.h"
#include "core/log_record.h"
#include "daemon/log_file_sink.h"

namespace pk::daemon {

inline constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

class LogJournalSink {
 public:
  LogJournalSink() = default;
  ~LogJournalSink();
  LogJournalSink(const LogJournalSink&) = delete;
  LogJournalSink& operator=(const LogJournalSink&) = delete;

  // False (with the reason) when there is no journald listening at `socket_path`.
  bool open(const std::string& socket_path, core::Error& err);
  bool is_open() const { return fd_ >= 0; }

  // One datagram; false when it was dropped (journald behind or gone).
  // `mono_ns` paces reconnection attempts after journald went away.
  bool send(const core::LogRecord& r, int64_t mono_ns, bool count_drop = true);

  // The datagram send() would send, for tests: length in `out`.
  static size_t encode(const core::LogRecord& r, char* out, size_t size);
  static constexpr size_t kDatagramMax = 2048;

  uint64_t unreported_drops() const { return dropped_.load(std::memory_order_relaxed) - reported_drops_; }
  void drops_reported(uint64_t n) { reported_drops_ += n; }
  LogSinkCounters counters() const;

 private:
  int fd_ = -1;
  sockaddr_un addr_{};
  socklen_t addr_len_ = 0;
  int64_t reconnect_at_ = 0;
  char datagram_[kDatagramMax];
  std::atomic<uint64_t> written_{0}, dropped_{0}, write_errors_{0}, would_block_{0};
  uint64_t reported_drops_ = 0;
};

}  // namespace pk::daemon
