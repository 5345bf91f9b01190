// The log file sink: records into the circular file of core/log_file_format.h
// with direct I/O, never waiting for the disk.
//
// open() creates the file at its full size (fallocate, then every block
// written once so no extent is left unwritten) or adopts the one already there
// and continues after its newest record. After that, the file never grows and
// no block is allocated. Records go into a fixed set of page-aligned staging
// pages; flush() writes whole pages with pwritev2(RWF_NOWAIT) at their place
// in the file. A write that would block (EAGAIN) or fails stays staged and is
// tried again later; when every staging page is waiting, new records are
// dropped and counted (and a note says so in the file once it moves again).
//
// On a filesystem without O_DIRECT that lives in memory (tmpfs, ramfs) there
// is no disk to wait on: the file is written through the page cache. On one
// without RWF_NOWAIT the writes are plain: the writer thread may then wait,
// producers still never do.
//
// Threads: open on the main thread at start-up; everything else on the log
// writer thread; counters() from any thread. Blocking: open (start-up);
// flush never waits on the disk where the filesystem honours RWF_NOWAIT.
// Allocation: open only.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

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

  LogFileSink() = default;
  ~LogFileSink();
  LogFileSink(const LogFileSink&) = delete;
  LogFileSink& operator=(const LogFileSink&) = delete;

  // Start-up: opens or creates `path` at `file_bytes` (whole 4 KiB blocks).
  // `now_ns` stamps a new file. What open noticed (a new file, a resized one,
  // no RWF_NOWAIT) is in notes().
  bool open(const std::string& path, uint64_t file_bytes, uint32_t staging_pages, int64_t now_ns, core::Error& err);
  bool is_open() const { return fd_ >= 0; }

  // Stages `r` as the file's next record. False: no staging page free, the
  // record is dropped (and counted, unless `count_drop` is false: a note
  // about earlier drops that did not fit either).
  bool append(const core::LogRecord& r, bool count_drop = true);

  // Writes what is staged (`mono_ns`: CLOCK_MONOTONIC now): full pages always,
  // the page being filled only when `include_partial` (the writer is idle).
  // What would block waits for retry_at().
  void flush(int64_t mono_ns, bool include_partial);
  // When the next attempt is due after a refused write; 0 when it may be now.
  int64_t retry_at() const { return retry_at_; }
  bool staged() const { return count_ > 1 || (count_ == 1 && page_dirty(cur())); }
  bool partial_dirty() const { return count_ > 0 && page_dirty(cur()); }
  // Enough full pages wait to be worth a write now (or staging is filling up).
  bool flush_due() const { return count_ > 1 && (count_ - 1 >= kFlushPages || 2 * count_ >= npages_); }
  static constexpr uint32_t kFlushPages = 8;  // 64 records, 32 KiB in one write

  // Records lost since the last note the file was given.
  uint64_t unreported_drops() const { return dropped_.load(std::memory_order_relaxed) - reported_drops_; }
  void drops_reported(uint64_t n) { reported_drops_ += n; }

  LogSinkCounters counters() const;
  const core::LogFileHeader& header() const { return header_; }
  uint64_t next_seq() const { return next_seq_; }
  bool direct() const { return direct_; }
  bool nowait() const { return nowait_; }
  const std::string& notes() const { return notes_; }

 private:
  struct Page {
    uint64_t file_page = 0;        // data page index in the file
    uint32_t records = 0;          // slots of it filled this lap
    uint32_t records_counted = 0;  // of those, already counted as written
    bool dirty = false;            // changed since last written
  };

  bool create(uint64_t file_bytes, int64_t now_ns, core::Error& err);
  bool adopt(core::Error& err);
  bool write_all(const char* data, size_t size, uint64_t offset, core::Error& err);
  uint32_t cur() const { return (first_ + count_ - 1) % npages_; }
  bool page_dirty(uint32_t i) const { return pages_[i].dirty; }
  char* page_data(uint32_t i) const { return buffer_ + size_t{i} * core::kLogFileBlock; }
  // Writes staging pages [first_, first_ + n) (consecutive in the file); false if it did not.
  bool write_pages(uint32_t n, int64_t mono_ns);

  int fd_ = -1;
  bool direct_ = true;
  bool nowait_ = true;
  core::LogFileHeader header_;
  uint64_t data_pages_ = 0;
  uint64_t next_seq_ = 0;
  std::string notes_;

  char* buffer_ = nullptr;  // npages_ aligned staging pages
  Page* pages_ = nullptr;
  uint32_t npages_ = 0;
  uint32_t first_ = 0;  // oldest staged page
  uint32_t count_ = 0;  // staged pages, the last is the one being filled
  int64_t retry_at_ = 0;
  int64_t backoff_ns_ = 0;

  std::atomic<uint64_t> written_{0}, dropped_{0}, write_errors_{0}, would_block_{0};
  uint64_t reported_drops_ = 0;
};

}  // namespace pk::daemon
