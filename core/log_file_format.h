// The circular log file: created at its full size at start-up and never grown,
// so writing it never allocates blocks (design rule 5).
//
//   offset 0      header block (4096 bytes): magic, version, geometry, CRC
//   offset 4096   slot 0, slot 1, ... each one LogRecord (512 bytes), 8 per page
//
// The writer gives every record it puts in the file the next sequence number
// `seq` and writes it to slot `seq % slots`, sealed with a magic and a CRC-32C.
// Nothing else is ever written after creation: no write position to keep up
// to date, so there is nothing to tear but the records themselves. A reader
// takes every slot whose record is intact and in its right slot, and orders
// them by seq: that recovers the file in order after any number of
// wrap-arounds, and a torn write costs only the records it tore.
//
// Threads: any (no shared state). Blocking: never (the caller does the I/O).
// Allocation: LogFileIndex (a reader's list of what it found) only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.h"
#include "core/log_record.h"

namespace pk::core {

inline constexpr size_t kLogFileBlock = 4096;  // header size, page size and direct I/O alignment
inline constexpr size_t kLogRecordsPerBlock = kLogFileBlock / LogRecord::kSize;
inline constexpr uint32_t kLogFileVersion = 1;
inline constexpr uint32_t kLogRecordMagic = 0x474f4c50;  // "PLOG" little-endian

struct LogFileHeader {
  uint32_t version = kLogFileVersion;
  uint32_t record_size = LogRecord::kSize;
  uint64_t data_offset = kLogFileBlock;
  uint64_t slots = 0;
  int64_t created_ns = 0;  // CLOCK_REALTIME; a new value means a new file

  uint64_t file_bytes() const { return data_offset + slots * record_size; }
  uint64_t slot_offset(uint64_t slot) const { return data_offset + slot * record_size; }
  friend bool operator==(const LogFileHeader&, const LogFileHeader&) = default;
};

// The geometry for a file of `file_bytes` (whole blocks, at least two).
LogFileHeader log_file_geometry(uint64_t file_bytes, int64_t created_ns);

// Writes the header block (kLogFileBlock bytes, the rest zero).
void encode_log_file_header(const LogFileHeader& h, std::span<char, kLogFileBlock> block);
// Reads it back; false with the reason (not a pathkeeper log, other version, damaged).
bool decode_log_file_header(std::span<const char> block, LogFileHeader& h, Error& err);

// Writer: stamps `r` as record `seq` of the file (magic, seq, CRC).
void seal_log_record(LogRecord& r, uint64_t seq);
// Reader: `r`, read from slot `slot` of a file with `slots` slots, is intact
// (magic, CRC, lengths) and belongs there.
bool log_record_intact(const LogRecord& r, uint64_t slot, uint64_t slots);

// What a reader found in the slots it scanned; gives them back in file order.
class LogFileIndex {
 public:
  struct Entry {
    uint64_t seq;
    uint64_t slot;
  };

  // Looks at the records in `bytes`, which hold slots first_slot, first_slot + 1, ...
  void scan(std::span<const char> bytes, uint64_t first_slot, uint64_t slots);
  void add(uint64_t seq, uint64_t slot) { entries_.push_back({seq, slot}); }

  // Every intact record, oldest first. A record left from an earlier lap by
  // a torn or lost write is older than everything after it and sorts first.
  std::vector<Entry> ordered() const;
  // The seq the writer gives the next record: one past the newest, 0 if none.
  uint64_t next_seq() const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace pk::core
