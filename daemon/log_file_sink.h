// The log file sink: records into the circular file of core/log_file_format.h
// with direct I/O, on a thread of its own, so that a disk that stops answering
// stalls nothing but that thread.
//
// open() creates the file at its full size (fallocate, then every block
// written once so no extent is left unwritten) or adopts the one already there
// and continues after its newest record. After that the file never grows and
// no block is allocated.
//
// The log writer thread appends records to the page being filled; a full page
// (or, when the writer is idle, a copy of the page being filled) goes into a
// fixed ring of page-aligned staging pages. The file's I/O thread writes
// staged pages at their place in the file with pwritev2(RWF_NOWAIT): what
// "would block" is tried again later. Where the kernel waits anyway (Linux 6.1
// waits in the direct write for a suspended device-mapper device) only the
// I/O thread waits. When every staging page waits for the disk, new records
// are dropped and counted, and the file gets a note of how many once it moves
// again. At stop the I/O thread gets a grace period; a thread still stuck in
// the kernel after it is left behind, with what it needs.
//
// On a filesystem without O_DIRECT that lives in memory (tmpfs, ramfs) there
// is no disk to wait on: the file is written through the page cache. On one
// without RWF_NOWAIT the writes are plain.
//
// Threads: open/start/stop on the main thread; append, publish_partial and
// the drop notes on the log writer thread; the I/O on the sink's own thread
// (or, in tests without start(), in flush() on the caller's); counters() from
// any thread. Blocking: append and publish_partial never. Allocation: open
// and start only.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "core/error.h"
#include "core/log_file_format.h"
#include "core/log_record.h"

namespace pk::daemon {

struct LogSinkCounters {
  uint64_t written = 0;       // records that reached the sink
  uint64_t dropped = 0;       // records the sink lost (could not keep them, or write them)
  uint64_t write_errors = 0;  // failed writes (other than "would block")
  uint64_t would_block = 0;   // writes refused because they would have waited (tried again)
};

class LogFileSink {
 public:
  static constexpr uint32_t kDefaultStagingPages = 64;  // 512 records waiting for the disk

  LogFileSink();
  ~LogFileSink();
  LogFileSink(const LogFileSink&) = delete;
  LogFileSink& operator=(const LogFileSink&) = delete;

  // Start-up: opens or creates `path` at `file_bytes` (whole 4 KiB blocks).
  // `now_ns` stamps a new file. What open noticed (a new file, a resized one,
  // no RWF_NOWAIT) is in notes(). On failure nothing stays open, and a file
  // it was making is emptied again: on a full disk the blocks it took are
  // given back, and the next start makes the file afresh.
  bool open(const std::string& path, uint64_t file_bytes, uint32_t staging_pages, int64_t now_ns,
            core::Error& err);
  bool is_open() const;
  // Start-up, before start() or after it failed: the file is given up.
  void close();
  // The I/O thread; stop() gives it `grace_ns` to write what is staged.
  bool start(core::Error& err);
  void stop(int64_t grace_ns);
  bool running() const { return thread_.joinable(); }

  // Writer thread: `r` becomes the file's next record. False: every staging
  // page waits for the disk; the record is dropped (and counted, unless
  // `count_drop` is false: a note about earlier drops that did not fit either).
  bool append(const core::LogRecord& r, bool count_drop = true);
  // Writer thread: the page being filled has records the disk has not been given.
  bool partial_dirty() const { return open_dirty_; }
  // Writer thread: gives the disk a copy of the page being filled (when idle).
  bool publish_partial();

  // Without start() (tests): publishes the partial page if asked and writes
  // what is staged, on the caller's thread.
  void flush(int64_t mono_ns, bool include_partial);
  // Staged pages not written yet.
  uint64_t staged() const;

  // Records lost since the last note the file was given.
  uint64_t unreported_drops() const;
  void drops_reported(uint64_t n) { reported_drops_ += n; }

  LogSinkCounters counters() const;
  const core::LogFileHeader& header() const;
  uint64_t next_seq() const { return next_seq_; }
  bool direct() const;
  bool nowait() const;
  bool io_flusher() const;
  const std::string& notes() const { return notes_; }

 private:
  struct Io;  // what the I/O thread touches: left behind with it if it never comes back

  bool open_or_create(const std::string& path, uint64_t file_bytes, uint32_t staging_pages, int64_t now_ns,
                      core::Error& err);
  bool create(uint64_t file_bytes, int64_t now_ns, core::Error& err);
  bool adopt(core::Error& err);
  bool publish();

  Io* io_;
  std::thread thread_;
  std::string path_;
  std::string notes_;
  // Writer thread: the page being filled.
  char* open_ = nullptr;
  uint64_t open_file_page_ = 0;
  uint32_t open_records_ = 0;    // slots filled (this lap)
  uint32_t open_published_ = 0;  // of those, already given to the disk in an earlier copy
  bool open_valid_ = false;
  bool open_dirty_ = false;
  uint64_t next_seq_ = 0;
  uint64_t reported_drops_ = 0;
};

}  // namespace pk::daemon
