#include "core/log_file_format.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace pk::core {

namespace {

constexpr char kFileMagic[8] = {'P', 'K', 'L', 'O', 'G', '\r', '\n', '\x1a'};

// Header block layout (little-endian, as the host writes it).
struct RawHeader {
  char magic[8];
  uint32_t version;
  uint32_t record_size;
  uint64_t data_offset;
  uint64_t slots;
  int64_t created_ns;
  uint32_t crc;  // CRC-32C of the bytes before it
};

}  // namespace

LogFileHeader log_file_geometry(uint64_t file_bytes, int64_t created_ns) {
  LogFileHeader h;
  uint64_t blocks = std::max<uint64_t>(file_bytes / kLogFileBlock, 2);
  h.slots = (blocks - 1) * kLogRecordsPerBlock;
  h.created_ns = created_ns;
  return h;
}

void encode_log_file_header(const LogFileHeader& h, std::span<char, kLogFileBlock> block) {
  std::memset(block.data(), 0, block.size());
  RawHeader raw{};
  std::memcpy(raw.magic, kFileMagic, sizeof raw.magic);
  raw.version = h.version;
  raw.record_size = h.record_size;
  raw.data_offset = h.data_offset;
  raw.slots = h.slots;
  raw.created_ns = h.created_ns;
  raw.crc = crc32c(&raw, offsetof(RawHeader, crc));
  std::memcpy(block.data(), &raw, sizeof raw);
}

bool decode_log_file_header(std::span<const char> block, LogFileHeader& h, Error& err) {
  RawHeader raw{};
  if (block.size() < sizeof raw) {
    err.set("too short for a log file header (%zu bytes)", block.size());
    return false;
  }
  std::memcpy(&raw, block.data(), sizeof raw);
  if (std::memcmp(raw.magic, kFileMagic, sizeof raw.magic) != 0) {
    err.set("not a pathkeeper log file (no PKLOG header)");
    return false;
  }
  if (raw.crc != crc32c(&raw, offsetof(RawHeader, crc))) {
    err.set("the log file header is damaged (checksum)");
    return false;
  }
  if (raw.version != kLogFileVersion || raw.record_size != LogRecord::kSize) {
    err.set("log file version %u with %u-byte records; this build reads version %u with %zu-byte records",
            raw.version, raw.record_size, kLogFileVersion, LogRecord::kSize);
    return false;
  }
  if (raw.data_offset != kLogFileBlock || raw.slots == 0 || raw.slots % kLogRecordsPerBlock != 0) {
    err.set("the log file header has an impossible geometry (%llu slots at offset %llu)",
            static_cast<unsigned long long>(raw.slots), static_cast<unsigned long long>(raw.data_offset));
    return false;
  }
  h.version = raw.version;
  h.record_size = raw.record_size;
  h.data_offset = raw.data_offset;
  h.slots = raw.slots;
  h.created_ns = raw.created_ns;
  return true;
}

namespace {
uint32_t record_crc(const LogRecord& r) {
  // Everything but the CRC field itself.
  const char* p = reinterpret_cast<const char*>(&r);
  uint32_t c = crc32c(p, offsetof(LogRecord, crc));
  return crc32c(p + offsetof(LogRecord, seq), sizeof r - offsetof(LogRecord, seq), c);
}
}  // namespace

void seal_log_record(LogRecord& r, uint64_t seq) {
  r.magic = kLogRecordMagic;
  r.seq = seq;
  r.crc = record_crc(r);
}

bool log_record_intact(const LogRecord& r, uint64_t slot, uint64_t slots) {
  return r.magic == kLogRecordMagic && slots != 0 && r.seq % slots == slot && r.lengths_valid() &&
         r.crc == record_crc(r);
}

void LogFileIndex::scan(std::span<const char> bytes, uint64_t first_slot, uint64_t slots) {
  LogRecord r;
  for (size_t off = 0; off + sizeof r <= bytes.size(); off += sizeof r) {
    std::memcpy(&r, bytes.data() + off, sizeof r);
    uint64_t slot = first_slot + off / sizeof r;
    if (log_record_intact(r, slot, slots)) add(r.seq, slot);
  }
}

std::vector<LogFileIndex::Entry> LogFileIndex::ordered() const {
  std::vector<Entry> v = entries_;
  std::sort(v.begin(), v.end(), [](const Entry& a, const Entry& b) { return a.seq < b.seq; });
  return v;
}

uint64_t LogFileIndex::next_seq() const {
  uint64_t next = 0;
  for (const Entry& e : entries_) next = std::max(next, e.seq + 1);
  return next;
}

}  // namespace pk::core
