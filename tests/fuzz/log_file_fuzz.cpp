// Fuzz entry point for the log file reader (pathkeeperctl log,
// ipc/ctl/log_view.h over core/log_file_format.h): a file torn by a crash,
// overwritten by something else, or garbage. The file is built in memory
// (memfd) from the input:
//   byte 0, bit 7 set: the rest of the input is the whole file, header and all;
//   else: a valid header for 8 x (1 + (byte 0 & 3)) slots, then the input's bytes
//     as the slots; byte 1 says which slots get a sealed record (magic, seq
//     and CRC right, the rest the input's, so lengths and text are anything)
//     and byte 2 how many laps the writer went round.
// The reader reads it all, formats every record, then the input's last
// quarter is written over the slots (a writer going on) and it follows with
// poll(). Besides "does not crash", it checks that records come out in
// sequence order and that every one it returns is intact.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/log_file_format.h"
#include "ipc/ctl/log_view.h"
#include "tests/fuzz/fuzz_check.h"

using pk::fuzz::check;

namespace {

void check_records(const std::vector<pk::core::LogRecord>& rs, uint64_t slots) {
  for (size_t i = 0; i < rs.size(); ++i) {
    check(pk::core::log_record_intact(rs[i], rs[i].seq % slots, slots));
    if (i > 0) check(rs[i].seq > rs[i - 1].seq);
    check(!pk::ctl::format_log_record(rs[i]).empty());
  }
}

// The file's bytes for the input (see above).
std::string build_file(const uint8_t* data, size_t size) {
  using namespace pk::core;
  if (size == 0 || (data[0] & 0x80) != 0) {
    return size == 0 ? std::string() : std::string(reinterpret_cast<const char*>(data + 1), size - 1);
  }
  uint64_t slots = kLogRecordsPerBlock * (1 + (data[0] & 3u));
  uint8_t sealed = size > 1 ? data[1] : 0xff;
  uint64_t laps = size > 2 ? data[2] % 4 : 0;
  std::string file(kLogFileBlock + slots * LogRecord::kSize, '\0');
  LogFileHeader h = log_file_geometry(file.size(), 1);
  encode_log_file_header(h, std::span<char, kLogFileBlock>(file.data(), kLogFileBlock));
  size_t body = size > 3 ? size - 3 : 0;
  std::memcpy(file.data() + kLogFileBlock, data + (size - body),
              std::min<size_t>(body, file.size() - kLogFileBlock));
  for (uint64_t s = 0; s < slots; ++s) {
    if ((sealed >> (s % 8) & 1) == 0) continue;
    LogRecord r;
    std::memcpy(&r, file.data() + h.slot_offset(s), sizeof r);
    seal_log_record(r, s + laps * slots);
    std::memcpy(file.data() + h.slot_offset(s), &r, sizeof r);
  }
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string file = build_file(data, size);
  int fd = ::memfd_create("fuzz-log", MFD_CLOEXEC);
  check(fd >= 0);
  check(::write(fd, file.data(), file.size()) == static_cast<ssize_t>(file.size()));
  std::string path = "/proc/self/fd/" + std::to_string(fd);

  pk::ctl::LogFileReader reader;
  std::string error;
  if (reader.open(path, error)) {
    uint64_t n = reader.header().slots;
    check(n > 0);
    check_records(reader.read_all(), n);
    check_records(reader.read_all(size % 7), n);
    // A writer goes on: the last quarter of the input over the slots, then follow.
    size_t tail = size / 4;
    if (tail > 0 && file.size() > pk::core::kLogFileBlock) {
      size_t at = pk::core::kLogFileBlock + (size % (file.size() - pk::core::kLogFileBlock));
      check(::pwrite(fd, data + size - tail, std::min(tail, file.size() - at), static_cast<off_t>(at)) >= 0);
    }
    uint64_t skipped = 0;
    check_records(reader.poll(skipped), n);
    check_records(reader.poll(skipped), n);
  } else {
    check(!error.empty());
  }
  ::close(fd);
  return 0;
}
