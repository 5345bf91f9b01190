// `pathkeeperctl log [-f] [-n N] [--log-file PATH]`: reads pathkeeperd's
// circular log file directly (core/log_file_format.h), so it works with the
// daemon stopped, hung or gone. Records come out oldest first, recovered in
// order after wrap-around and torn writes; -f keeps following the file as
// the daemon writes it, across daemon restarts.
//
// It reads with O_DIRECT: a page of the file in the page cache would make the
// daemon's non-blocking direct writes to it "would block" until it is gone.
//
// Threads: the CLI's. Blocking: file reads. Allocation: yes (a CLI).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/log_file_format.h"
#include "core/log_record.h"

namespace pk::ctl {

// logging.file from the daemon's `show config` YAML; "" when it is not there.
std::string log_file_from_config(const std::string& yaml);

// "2026-11-22 05:11:47.123 notice  path: [mpatha sdb] message", local time,
// no newline. A cut record ends in "..." (the message says so itself).
std::string format_log_record(const core::LogRecord& r);

class LogFileReader {
 public:
  LogFileReader() = default;
  ~LogFileReader();
  LogFileReader(const LogFileReader&) = delete;
  LogFileReader& operator=(const LogFileReader&) = delete;

  // False with a message for people (missing file, not a pathkeeper log, no permission).
  bool open(const std::string& path, std::string& error);

  // Every intact record, oldest first; only the newest `last` when given.
  // Afterwards poll() continues after the newest.
  std::vector<core::LogRecord> read_all(std::optional<uint64_t> last = std::nullopt);

  // Records written since the last read_all/poll, in order. `skipped` counts
  // records that were overwritten before they could be read (the writer went
  // round the whole file meanwhile) or lost to a torn write.
  std::vector<core::LogRecord> poll(uint64_t& skipped);

  const core::LogFileHeader& header() const { return header_; }

 private:
  bool read_header(core::LogFileHeader& h);
  // `count` records from slot `first` on, wrapping at the end of the file, into `out`.
  bool read_slots(uint64_t first, uint64_t count, std::vector<char>& buf);
  // Bytes [offset, offset + size) through an aligned buffer.
  bool read_at(uint64_t offset, size_t size, char* out);

  int fd_ = -1;
  bool direct_ = true;
  char* aligned_ = nullptr;  // kLogFileBlock-aligned bounce buffer
  size_t aligned_size_ = 0;
  std::string path_;
  core::LogFileHeader header_;
  uint64_t next_seq_ = 0;
  uint64_t gap_at_ = UINT64_MAX;  // a missing record seen on the previous poll
};

}  // namespace pk::ctl
