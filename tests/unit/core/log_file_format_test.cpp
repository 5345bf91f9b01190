// The circular log file's format: header, sealed records, and a reader that
// recovers the records in order after wrap-around and after torn writes. The
// "file" here is a byte vector written the way the writer writes the disk.
#include "core/log_file_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace pk::core {
namespace {

// A log file in memory, written record by record as LogFileSink does.
struct MemFile {
  explicit MemFile(uint64_t bytes) : header(log_file_geometry(bytes, 777)), data(header.file_bytes(), '\0') {
    encode_log_file_header(header, std::span<char, kLogFileBlock>(data.data(), kLogFileBlock));
  }
  // Long messages, so that half a record differs from any other record's half.
  void write(uint64_t seq, const std::string& text) {
    LogRecord r;
    std::string padded = text + " " + std::string(400, static_cast<char>('a' + seq % 26));
    fill_log_record_text(r, static_cast<int64_t>(seq), LogLevel::Info, "t", {}, padded);
    seal_log_record(r, seq);
    std::memcpy(data.data() + header.slot_offset(seq % header.slots), &r, sizeof r);
  }
  LogFileIndex scan() const {
    LogFileIndex index;
    index.scan({data.data() + header.data_offset, data.size() - header.data_offset}, 0, header.slots);
    return index;
  }
  std::string message(uint64_t slot) const {
    LogRecord r;
    std::memcpy(&r, data.data() + header.slot_offset(slot), sizeof r);
    std::string_view m = r.message();
    return std::string(m.substr(0, m.find(' ')));
  }
  std::vector<uint64_t> seqs() const {
    std::vector<uint64_t> out;
    for (const auto& e : scan().ordered()) out.push_back(e.seq);
    return out;
  }

  LogFileHeader header;
  std::vector<char> data;
};

std::vector<uint64_t> range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t s = from; s < to; ++s) v.push_back(s);
  return v;
}

TEST(LogFileFormat, Geometry) {
  LogFileHeader h = log_file_geometry(16 << 20, 1);
  EXPECT_EQ(h.data_offset, 4096u);
  EXPECT_EQ(h.slots, (16u << 20) / 512 - 8);
  EXPECT_EQ(h.file_bytes(), 16u << 20);
  EXPECT_EQ(h.slot_offset(9), 4096u + 9 * 512);
  EXPECT_EQ(log_file_geometry(100, 1).slots, 8u) << "never less than one page of records";
}

TEST(LogFileFormat, HeaderRoundTripAndDamage) {
  LogFileHeader h = log_file_geometry(1 << 20, 123456789);
  std::vector<char> block(kLogFileBlock);
  encode_log_file_header(h, std::span<char, kLogFileBlock>(block.data(), kLogFileBlock));
  LogFileHeader back;
  Error err;
  ASSERT_TRUE(decode_log_file_header(block, back, err)) << err.c_str();
  EXPECT_EQ(back, h);

  std::vector<char> damaged = block;
  damaged[20] ^= 1;
  EXPECT_FALSE(decode_log_file_header(damaged, back, err));
  EXPECT_STREQ(err.c_str(), "the log file header is damaged (checksum)");

  std::vector<char> text(kLogFileBlock, 'a');
  EXPECT_FALSE(decode_log_file_header(text, back, err));
  EXPECT_STREQ(err.c_str(), "not a pathkeeper log file (no PKLOG header)");
  EXPECT_FALSE(decode_log_file_header({block.data(), 10}, back, err));
}

TEST(LogFileFormat, SealedRecordIsIntactOnlyInItsSlot) {
  LogRecord r;
  fill_log_record_text(r, 5, LogLevel::Error, "dm", {"m", "sdb", "w"}, "hello");
  seal_log_record(r, 17);
  EXPECT_TRUE(log_record_intact(r, 17 % 8, 8));
  EXPECT_FALSE(log_record_intact(r, 2, 8)) << "a record in the wrong slot is not believed";
  LogRecord flipped = r;
  flipped.text[7] ^= 0x20;
  EXPECT_FALSE(log_record_intact(flipped, 1, 8));
  LogRecord lengths = r;
  lengths.message_len = 600;
  EXPECT_FALSE(log_record_intact(lengths, 1, 8));
  LogRecord zero{};
  EXPECT_FALSE(log_record_intact(zero, 0, 8));
}

TEST(LogFileFormat, EmptyFile) {
  MemFile f(64 * 1024);
  EXPECT_EQ(f.scan().size(), 0u);
  EXPECT_EQ(f.scan().next_seq(), 0u);
}

TEST(LogFileFormat, InOrderBeforeWrapping) {
  MemFile f(64 * 1024);  // 120 slots
  for (uint64_t s = 0; s < 50; ++s) f.write(s, "r" + std::to_string(s));
  EXPECT_EQ(f.seqs(), range(0, 50));
  EXPECT_EQ(f.scan().next_seq(), 50u);
}

TEST(LogFileFormat, InOrderAfterWrapAround) {
  MemFile f(64 * 1024);
  uint64_t slots = f.header.slots;
  uint64_t total = 3 * slots + 37;  // three laps and a bit
  for (uint64_t s = 0; s < total; ++s) f.write(s, "r" + std::to_string(s));
  EXPECT_EQ(f.seqs(), range(total - slots, total)) << "the newest lap, oldest first";
  EXPECT_EQ(f.scan().next_seq(), total);
  auto ordered = f.scan().ordered();
  EXPECT_EQ(f.message(ordered.front().slot), "r" + std::to_string(total - slots));
  EXPECT_EQ(f.message(ordered.back().slot), "r" + std::to_string(total - 1));
}

// A page written over an older lap and torn half-way: the new records before
// the tear, the old ones after it, one record broken in the middle. The
// reader drops the broken one, keeps the rest, and the order stays right.
TEST(LogFileFormat, TornWriteAfterWrapAround) {
  MemFile f(64 * 1024);
  uint64_t slots = f.header.slots;  // 120
  for (uint64_t s = 0; s < slots + 40; ++s) f.write(s, "r" + std::to_string(s));
  // Page 5 (slots 40..47) now holds seqs 40..47 of the first lap. The writer
  // writes seqs 160..167 there and the power fails after three records and
  // half of the fourth.
  std::vector<char> before(f.data.begin() + static_cast<long>(f.header.slot_offset(40)),
                           f.data.begin() + static_cast<long>(f.header.slot_offset(48)));
  for (uint64_t s = slots + 40; s < slots + 48; ++s) f.write(s, "new" + std::to_string(s));
  size_t keep_new = 3 * 512 + 256;
  std::memcpy(f.data.data() + f.header.slot_offset(40) + keep_new, before.data() + keep_new,
              before.size() - keep_new);

  std::vector<uint64_t> want = {44, 45, 46, 47};  // old records left after the tear: the oldest now
  for (uint64_t s = 48; s < slots; ++s) want.push_back(s);
  for (uint64_t s = slots; s < slots + 43; ++s)
    want.push_back(s);  // ...and the three new ones: 160, 161, 162
  EXPECT_EQ(f.seqs(), want);
  EXPECT_EQ(f.scan().next_seq(), slots + 43) << "the writer continues after the last intact record";
}

// Torn in a file that never wrapped: what was never written is zeros.
TEST(LogFileFormat, TornWriteAtTheEndOfAYoungFile) {
  MemFile f(64 * 1024);
  for (uint64_t s = 0; s < 21; ++s) f.write(s, "r" + std::to_string(s));
  // Record 20 half written: its second half is still zeros.
  std::memset(f.data.data() + f.header.slot_offset(20) + 300, 0, 212);
  EXPECT_EQ(f.seqs(), range(0, 20));
  EXPECT_EQ(f.scan().next_seq(), 20u);
}

TEST(LogFileFormat, ScanInPieces) {
  MemFile f(64 * 1024);
  for (uint64_t s = 0; s < 200; ++s) f.write(s, "r");
  LogFileIndex index;
  size_t bytes = f.data.size() - f.header.data_offset;
  size_t piece = 3 * 4096;
  for (size_t off = 0; off < bytes; off += piece) {
    index.scan({f.data.data() + f.header.data_offset + off, std::min(piece, bytes - off)}, off / 512,
               f.header.slots);
  }
  EXPECT_EQ(index.size(), f.header.slots);
  EXPECT_EQ(index.next_seq(), 200u);
}

}  // namespace
}  // namespace pk::core
