// The log writer: the one consumer of the log ring. Its thread takes records
// out of the ring and hands each to every sink: the circular file
// (log_file_sink.h), journald (log_journal.h) and, in the foreground, stderr.
// No sink can make it wait: the file only takes a copy into its staging pages
// (its own thread does the disk I/O), journald and stderr are non-blocking and
// drop what they cannot take. So a log disk that stops answering leaves
// journald and stderr flowing. Every loss is counted, and told to the sink
// that lost it (a note "N log messages ...") as soon as it takes records
// again. Records the ring itself refused are noted in every sink.
//
// Both threads are IO_FLUSHERs with their stacks faulted in before they first
// wait. The writer parks in an IdleParker (daemon/idle_parker.h): producers
// wake it only when it said it is idle, so logging at full rate costs
// producers no system call.
//
// Threads: open/start/stop on the main thread (start-up, shut-down); notify
// from any thread; run_once on the writer thread, or in tests on the caller's
// thread instead of start(). Blocking: notify never; the writer thread never
// waits on a sink where the kernel honours the non-blocking flags.
// Allocation: open and start only.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "core/error.h"
#include "core/log_record.h"
#include "core/log_ring.h"
#include "daemon/idle_parker.h"
#include "daemon/log_file_sink.h"
#include "daemon/log_journal.h"

namespace pk::daemon {

struct LogWriterOptions {
  std::string file;  // "" = no file (tests)
  uint64_t file_size_bytes = 16ull << 20;
  uint32_t staging_pages = LogFileSink::kDefaultStagingPages;
  std::string journal_socket;  // "" = no journald
  int stderr_fd = -1;          // -1 = no stderr; made non-blocking
  // stderr is left out when it already goes to journald (JOURNAL_STREAM) and
  // journald is spoken to directly.
  bool skip_stderr_if_journal_stream = true;
  int64_t partial_flush_ns = 50'000'000;  // a page being filled reaches the file this often
  int64_t stop_grace_ns =
      1'000'000'000;  // at stop, how long the file's thread may take to write what is staged
};

struct LogWriterCounters {
  LogSinkCounters file, journal, stderr_sink;
  bool file_open = false, journal_open = false, stderr_open = false;
};

class LogWriter {
 public:
  LogWriter() = default;
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Start-up: opens the sinks. A file that cannot be made or opened is
  // given up (file_problem() says why; journald and stderr go on); journald
  // may be absent. False only when the writer itself cannot run (eventfd).
  bool open(const LogWriterOptions& options, core::LogRing& ring, core::Error& err);
  // The file's I/O thread (given up with the file if it cannot start), then
  // the writer's own thread (false when it cannot start).
  bool start(core::Error& err);
  // Why there is no log file although one was asked for; empty otherwise.
  const core::Error& file_problem() const { return file_problem_; }
  // Producers, after committing a record: wakes the writer if it sleeps.
  void notify();
  // Drains the ring, tries the file for up to stop_grace_ns, joins.
  void stop();

  // One pass: drains the ring into the sinks and writes what is due.
  // Returns how long (ns) the writer may sleep before the next pass: 0 = now,
  // -1 = until notified.
  int64_t run_once(int64_t mono_ns, bool stopping);

  LogWriterCounters counters() const;
  const std::string& notes() const { return notes_; }
  const LogFileSink& file() const { return file_; }
  // Both threads (the writer's and the file's) are IO_FLUSHERs.
  bool io_flusher() const {
    return io_flusher_.load(std::memory_order_relaxed) && (!file_.running() || file_.io_flusher());
  }

 private:
  void thread_main();
  void deliver(const core::LogRecord& r, int64_t mono_ns);
  bool to_stderr(const core::LogRecord& r, bool count_drop);
  void note_drops(int64_t mono_ns);
  // Formats a note of the writer's own ("N log messages ...") into `into`.
  static core::LogRecord& note(core::LogRecord& into, const char* format, ...)
      __attribute__((format(printf, 2, 3)));

  LogWriterOptions options_;
  core::LogRing* ring_ = nullptr;
  LogFileSink file_;
  LogJournalSink journal_;
  int stderr_fd_ = -1;
  IdleParker parker_;  // the writer sleeps here; notify() wakes it
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> io_flusher_{false};
  std::string notes_;
  core::Error file_problem_;

  uint64_t ring_drops_reported_ = 0;
  uint64_t stderr_reported_drops_ = 0;
  int64_t last_partial_flush_ = 0;
  core::LogRecord ring_note_{};  // scratch records for the notes
  core::LogRecord sink_note_{};
  char line_[1024];
  std::atomic<uint64_t> stderr_written_{0}, stderr_dropped_{0}, stderr_errors_{0}, stderr_would_block_{0};
};

}  // namespace pk::daemon
