#include "ipc/ctl/log_view.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace pk::ctl {

namespace {
constexpr uint64_t kWindow = 256;       // records read per look when following
constexpr size_t kScanChunk = 1 << 20;  // bytes read at once when scanning the whole file
}  // namespace

std::string log_file_from_config(const std::string& yaml) {
  // The dump is "logging:" then "  file: PATH" among its indented keys.
  bool in_logging = false;
  size_t pos = 0;
  while (pos < yaml.size()) {
    size_t end = yaml.find('\n', pos);
    if (end == std::string::npos) end = yaml.size();
    std::string_view line(yaml.data() + pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line[0] != ' ') {
      in_logging = line == "logging:";
      continue;
    }
    size_t key = line.find_first_not_of(' ');
    if (!in_logging || key == std::string_view::npos || line.substr(key, 6) != "file: ") continue;
    std::string_view value = line.substr(key + 6);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return "";
}

std::string format_log_record(const core::LogRecord& r) {
  time_t secs = static_cast<time_t>(r.realtime_ns / 1'000'000'000);
  int ms = static_cast<int>((r.realtime_ns % 1'000'000'000) / 1'000'000);
  struct tm tm {};
  ::localtime_r(&secs, &tm);
  char stamp[48];
  size_t n = std::strftime(stamp, sizeof stamp, "%F %T", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03d", ms < 0 ? 0 : ms);
  char level[16];
  std::snprintf(level, sizeof level, "%-7s", core::log_level_name(r.log_level()));
  std::string line = std::string(stamp) + " " + level + " " + std::string(r.subsystem()) + ": ";
  std::string_view who = r.map().empty() ? r.wwid() : r.map();
  if (!who.empty() || !r.path().empty()) {
    line += "[";
    line += who;
    if (!who.empty() && !r.path().empty()) line += " ";
    line += r.path();
    line += "] ";
  }
  line += r.message();
  return line;
}

LogFileReader::~LogFileReader() {
  if (fd_ >= 0) ::close(fd_);
  std::free(aligned_);
}

bool LogFileReader::read_at(uint64_t offset, size_t size, char* out) {
  uint64_t start = direct_ ? offset & ~uint64_t{core::kLogFileBlock - 1} : offset;
  uint64_t end = direct_ ? (offset + size + core::kLogFileBlock - 1) & ~uint64_t{core::kLogFileBlock - 1}
                         : offset + size;
  size_t span = static_cast<size_t>(end - start);
  if (span > aligned_size_) {
    std::free(aligned_);
    aligned_ = static_cast<char*>(std::aligned_alloc(core::kLogFileBlock, span));
    aligned_size_ = aligned_ ? span : 0;
    if (aligned_ == nullptr) return false;
  }
  size_t done = 0;
  while (done < span) {
    ssize_t n = ::pread(fd_, aligned_ + done, span - done, static_cast<off_t>(start + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  std::memcpy(out, aligned_ + (offset - start), size);
  return true;
}

bool LogFileReader::open(const std::string& path, std::string& error) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (fd_ < 0 && errno == EINVAL) {  // no direct I/O on this filesystem (tmpfs): nothing to protect either
    direct_ = false;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd_ < 0) {
    int e = errno;
    error = "cannot open " + path + ": " + std::strerror(e);
    if (e == ENOENT) error += " (is logging.file set elsewhere in the configuration? then --log-file PATH)";
    if (e == EACCES) error += " (the log file is readable by root)";
    return false;
  }
  char block[core::kLogFileBlock];
  core::Error why;
  errno = 0;
  if (!read_at(0, sizeof block, block)) {
    error = path + ": " +
            (errno != 0 ? std::string(std::strerror(errno)) : "not a pathkeeper log file (too short)");
    return false;
  }
  if (!core::decode_log_file_header({block, sizeof block}, header_, why)) {
    error = path + ": " + why.c_str();
    return false;
  }
  return true;
}

bool LogFileReader::read_header(core::LogFileHeader& h) {
  char block[core::kLogFileBlock];
  core::Error why;
  return read_at(0, sizeof block, block) && core::decode_log_file_header({block, sizeof block}, h, why);
}

// Slots first .. first + count - 1, wrapping at the end of the file.
bool LogFileReader::read_slots(uint64_t first, uint64_t count, std::vector<char>& buf) {
  buf.resize(count * core::LogRecord::kSize);
  uint64_t done = 0;
  while (done < count) {
    uint64_t slot = (first + done) % header_.slots;
    uint64_t n = std::min(count - done, header_.slots - slot);
    if (!read_at(header_.slot_offset(slot), n * core::LogRecord::kSize,
                 buf.data() + done * core::LogRecord::kSize))
      return false;
    done += n;
  }
  return true;
}

std::vector<core::LogRecord> LogFileReader::read_all(std::optional<uint64_t> last) {
  core::LogFileIndex index;
  std::vector<char> buf;  // read_slots sizes it: a small file needs no 1 MiB buffer
  uint64_t per_chunk = kScanChunk / core::LogRecord::kSize;
  for (uint64_t slot = 0; slot < header_.slots; slot += per_chunk) {
    uint64_t n = std::min(per_chunk, header_.slots - slot);
    if (!read_slots(slot, n, buf)) break;
    index.scan({buf.data(), buf.size()}, slot, header_.slots);
  }
  std::vector<core::LogFileIndex::Entry> entries = index.ordered();
  size_t start = last && *last < entries.size() ? entries.size() - static_cast<size_t>(*last) : 0;
  std::vector<core::LogRecord> out;
  out.reserve(entries.size() - start);
  // In file order the slots run up (and wrap once): read them a chunk at a time.
  uint64_t chunk_first = 0, chunk_count = 0;
  for (size_t i = start; i < entries.size(); ++i) {
    uint64_t slot = entries[i].slot;
    if (slot < chunk_first || slot >= chunk_first + chunk_count) {
      chunk_first = slot;
      chunk_count = std::min(per_chunk, header_.slots - slot);
      if (!read_slots(chunk_first, chunk_count, buf)) break;
    }
    core::LogRecord r;
    std::memcpy(&r, buf.data() + (slot - chunk_first) * sizeof r, sizeof r);
    if (core::log_record_intact(r, slot, header_.slots) && r.seq == entries[i].seq) out.push_back(r);
  }
  next_seq_ = index.next_seq();
  gap_at_ = UINT64_MAX;
  return out;
}

std::vector<core::LogRecord> LogFileReader::poll(uint64_t& skipped) {
  skipped = 0;
  std::vector<core::LogRecord> out;
  core::LogFileHeader h;
  if (!read_header(h)) return out;  // being re-created: look again later
  if (h != header_) {               // a new file (the daemon was restarted with another size)
    header_ = h;
    return read_all();
  }
  std::vector<char> buf;
  uint64_t window = std::min(kWindow, header_.slots);
  for (;;) {
    if (!read_slots(next_seq_ % header_.slots, window, buf)) break;
    std::vector<core::LogRecord> found;
    for (uint64_t i = 0; i < window; ++i) {
      core::LogRecord r;
      std::memcpy(&r, buf.data() + i * sizeof r, sizeof r);
      if (core::log_record_intact(r, (next_seq_ + i) % header_.slots, header_.slots) && r.seq >= next_seq_)
        found.push_back(r);
    }
    if (found.empty()) break;
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
    if (found.front().seq != next_seq_) {
      if (found.front().seq - next_seq_ >= header_.slots) {
        // The writer went round the file since the last look: read it all again.
        uint64_t from = next_seq_;
        std::vector<core::LogRecord> all = read_all();
        for (const auto& r : all) {
          if (r.seq < from) continue;
          if (out.empty()) skipped += r.seq - from;
          out.push_back(r);
        }
        return out;
      }
      if (gap_at_ != next_seq_) {
        gap_at_ = next_seq_;  // maybe being written right now: wait one look
        break;
      }
      skipped += found.front().seq - next_seq_;  // torn or lost for good
      next_seq_ = found.front().seq;
    }
    uint64_t taken = 0;
    for (const auto& r : found) {
      if (r.seq != next_seq_) break;
      out.push_back(r);
      ++next_seq_;
      ++taken;
    }
    gap_at_ = UINT64_MAX;
    if (taken < window) break;
  }
  return out;
}

}  // namespace pk::ctl
