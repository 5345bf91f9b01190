#include "daemon/log_file_sink.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace pk::daemon {

namespace {

constexpr int64_t kFirstBackoffNs = 10'000'000;   // 10 ms
constexpr int64_t kLastBackoffNs = 1'000'000'000;  // 1 s
constexpr uint32_t kMaxIov = 64;

std::string parent_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b % (1ull << 20) == 0) {
    std::snprintf(buf, sizeof buf, "%llu MiB", static_cast<unsigned long long>(b >> 20));
  } else {
    std::snprintf(buf, sizeof buf, "%llu KiB", static_cast<unsigned long long>(b >> 10));
  }
  return buf;
}

}  // namespace

LogFileSink::~LogFileSink() {
  if (fd_ >= 0) ::close(fd_);
  std::free(buffer_);
  delete[] pages_;
}

bool LogFileSink::open(const std::string& path, uint64_t file_bytes, uint32_t staging_pages, int64_t now_ns,
                       core::Error& err) {
  std::string dir = parent_dir(path);
  // The folder and any missing parent: the last one is the log's own (0750).
  for (size_t slash = 1; slash != std::string::npos;) {
    slash = dir.find('/', slash + 1);
    std::string part = dir.substr(0, slash);
    if (::mkdir(part.c_str(), slash == std::string::npos ? 0750 : 0755) != 0 && errno != EEXIST) {
      err.set("cannot create %s for the log file: %s", part.c_str(), std::strerror(errno));
      return false;
    }
  }
  constexpr int kFlags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
  fd_ = ::open(path.c_str(), kFlags | O_DIRECT, 0640);
  if (fd_ < 0 && errno == EINVAL) {
    // No direct I/O here. Only a filesystem in memory has no disk to wait on.
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC)) {
      fd_ = ::open(path.c_str(), kFlags, 0640);
      direct_ = false;
      notes_ += "the log file is in memory (tmpfs), written without direct I/O; ";
    } else {
      err.set("the filesystem holding %s does not support direct I/O (O_DIRECT): written through the page cache, "
              "the log would wait on dirty-page throttling; put logging.file on ext4 or xfs",
              path.c_str());
      return false;
    }
  }
  if (fd_ < 0) {
    err.set("cannot open the log file %s: %s", path.c_str(),
            errno == ELOOP ? "it is a symbolic link" : std::strerror(errno));
    return false;
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    err.set("the log file %s is not a regular file", path.c_str());
    return false;
  }

  npages_ = std::max<uint32_t>(staging_pages, 2);
  void* mem = nullptr;
  if (::posix_memalign(&mem, core::kLogFileBlock, size_t{npages_} * core::kLogFileBlock) != 0) {
    err.set("cannot allocate %u log staging pages", npages_);
    return false;
  }
  buffer_ = static_cast<char*>(mem);
  std::memset(buffer_, 0, size_t{npages_} * core::kLogFileBlock);  // touched now, not after READY
  pages_ = new Page[npages_];

  // An existing pathkeeper log of the right size is continued; anything else
  // that is not empty is left alone.
  core::LogFileHeader found;
  core::Error why;
  bool ours = false;
  if (st.st_size > 0) {
    ssize_t n = ::pread(fd_, buffer_, core::kLogFileBlock, 0);
    ours = n == static_cast<ssize_t>(core::kLogFileBlock) &&
           core::decode_log_file_header({buffer_, core::kLogFileBlock}, found, why);
    if (!ours) {
      err.set("%s exists and is not a pathkeeper log file (%s); it is left as it is: move it away or choose "
              "another logging.file",
              path.c_str(), n < 0 ? std::strerror(errno) : why.c_str());
      return false;
    }
  }
  core::LogFileHeader want = core::log_file_geometry(file_bytes, now_ns);
  if (ours && found.slots == want.slots && static_cast<uint64_t>(st.st_size) == found.file_bytes()) {
    header_ = found;
    if (!adopt(err)) return false;
  } else {
    if (ours) {
      notes_ += "the log file was " + human_bytes(static_cast<uint64_t>(st.st_size)) + ", is now " +
                human_bytes(want.file_bytes()) + " (its records are gone); ";
    }
    if (!create(want.file_bytes(), now_ns, err)) return false;
  }
  data_pages_ = header_.slots / core::kLogRecordsPerBlock;
  return true;
}

bool LogFileSink::write_all(const char* data, size_t size, uint64_t offset, core::Error& err) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd_, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err.set("cannot write the log file: %s", n < 0 ? std::strerror(errno) : "no progress");
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

// Full size now, every block written once: later writes are overwrites inside
// the file, which allocate nothing and change no extent.
bool LogFileSink::create(uint64_t file_bytes, int64_t now_ns, core::Error& err) {
  header_ = core::log_file_geometry(file_bytes, now_ns);
  if (::ftruncate(fd_, static_cast<off_t>(file_bytes)) != 0) {
    err.set("cannot size the log file to %s: %s", human_bytes(file_bytes).c_str(), std::strerror(errno));
    return false;
  }
  if (::fallocate(fd_, 0, 0, static_cast<off_t>(file_bytes)) != 0 && errno != EOPNOTSUPP) {
    err.set("cannot allocate %s for the log file: %s", human_bytes(file_bytes).c_str(), std::strerror(errno));
    return false;
  }
  size_t chunk = size_t{npages_} * core::kLogFileBlock;
  std::memset(buffer_, 0, chunk);
  for (uint64_t off = core::kLogFileBlock; off < file_bytes; off += chunk) {
    if (!write_all(buffer_, static_cast<size_t>(std::min<uint64_t>(chunk, file_bytes - off)), off, err)) return false;
  }
  core::encode_log_file_header(header_, std::span<char, core::kLogFileBlock>(buffer_, core::kLogFileBlock));
  if (!write_all(buffer_, core::kLogFileBlock, 0, err)) return false;
  if (::fdatasync(fd_) != 0) {
    err.set("cannot sync the new log file: %s", std::strerror(errno));
    return false;
  }
  std::memset(buffer_, 0, core::kLogFileBlock);
  next_seq_ = 0;
  notes_ += "created the log file (" + human_bytes(file_bytes) + ", " + std::to_string(header_.slots) + " records); ";
  return true;
}

// Finds the newest record and continues after it, in its page.
bool LogFileSink::adopt(core::Error& err) {
  core::LogFileIndex index;
  size_t chunk = size_t{npages_} * core::kLogFileBlock;
  uint64_t end = header_.file_bytes();
  for (uint64_t off = header_.data_offset; off < end; off += chunk) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, end - off));
    ssize_t got = ::pread(fd_, buffer_, n, static_cast<off_t>(off));
    if (got < 0) {
      err.set("cannot read the log file: %s", std::strerror(errno));
      return false;
    }
    index.scan({buffer_, static_cast<size_t>(got)}, (off - header_.data_offset) / core::LogRecord::kSize,
               header_.slots);
  }
  next_seq_ = index.next_seq();
  uint64_t slot = next_seq_ % header_.slots;
  uint32_t in_page = static_cast<uint32_t>(slot % core::kLogRecordsPerBlock);
  std::memset(buffer_, 0, chunk);
  if (in_page != 0) {
    // Keep the records already in the page the next one goes to.
    uint64_t file_page = slot / core::kLogRecordsPerBlock;
    if (::pread(fd_, buffer_, core::kLogFileBlock,
                static_cast<off_t>(header_.data_offset + file_page * core::kLogFileBlock)) !=
        static_cast<ssize_t>(core::kLogFileBlock)) {
      err.set("cannot read the log file: %s", std::strerror(errno));
      return false;
    }
    pages_[0] = Page{file_page, in_page, in_page, false};
    first_ = 0;
    count_ = 1;
  }
  notes_ += "continuing the log file after record " + std::to_string(next_seq_) + " (" +
            std::to_string(index.size()) + " records kept); ";
  return true;
}

bool LogFileSink::append(const core::LogRecord& r, bool count_drop) {
  uint64_t slot = next_seq_ % header_.slots;
  uint64_t file_page = slot / core::kLogRecordsPerBlock;
  if (count_ == 0 || pages_[cur()].file_page != file_page) {
    if (count_ == 1 && !pages_[cur()].dirty) {  // the page being filled was written already: done with it
      first_ = (first_ + 1) % npages_;
      count_ = 0;
    }
    if (count_ == npages_) {
      if (count_drop) dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    uint32_t i = (first_ + count_) % npages_;
    ++count_;
    pages_[i] = Page{file_page, 0, 0, false};
    std::memset(page_data(i), 0, core::kLogFileBlock);
  }
  uint32_t i = cur();
  auto* rec = reinterpret_cast<core::LogRecord*>(page_data(i) + (slot % core::kLogRecordsPerBlock) * sizeof r);
  std::memcpy(rec, &r, sizeof r);
  core::seal_log_record(*rec, next_seq_++);
  pages_[i].records = static_cast<uint32_t>(slot % core::kLogRecordsPerBlock) + 1;
  pages_[i].dirty = true;
  return true;
}

bool LogFileSink::write_pages(uint32_t n, int64_t mono_ns) {
  iovec iov[kMaxIov];
  for (uint32_t k = 0; k < n; ++k) {
    iov[k].iov_base = page_data((first_ + k) % npages_);
    iov[k].iov_len = core::kLogFileBlock;
  }
  off_t offset = static_cast<off_t>(header_.data_offset + pages_[first_].file_page * core::kLogFileBlock);
  ssize_t ret = ::pwritev2(fd_, iov, static_cast<int>(n), offset, nowait_ ? RWF_NOWAIT : 0);
  if (ret < 0 && nowait_ && errno == EOPNOTSUPP) {
    nowait_ = false;  // this filesystem cannot say "would block": plain writes from now on
    ret = ::pwritev2(fd_, iov, static_cast<int>(n), offset, 0);
  }
  if (ret < 0 && errno == EAGAIN && direct_) {
    // A direct write "would block" while the page cache holds pages of its
    // range (someone read the file without O_DIRECT: cat, a backup). Those
    // pages are clean, dropping them waits on nothing; then once more.
    ::posix_fadvise(fd_, offset, static_cast<off_t>(n * core::kLogFileBlock), POSIX_FADV_DONTNEED);
    ret = ::pwritev2(fd_, iov, static_cast<int>(n), offset, nowait_ ? RWF_NOWAIT : 0);
  }
  if (ret < 0) {
    if (errno == EAGAIN) {
      would_block_.fetch_add(1, std::memory_order_relaxed);
    } else if (errno != EINTR) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    backoff_ns_ = backoff_ns_ == 0 ? kFirstBackoffNs : std::min(backoff_ns_ * 2, kLastBackoffNs);
    retry_at_ = mono_ns + backoff_ns_;
    return false;
  }
  backoff_ns_ = 0;
  retry_at_ = 0;
  uint32_t done = static_cast<uint32_t>(static_cast<size_t>(ret) / core::kLogFileBlock);
  for (uint32_t k = 0; k < done; ++k) {
    Page& p = pages_[first_];
    written_.fetch_add(p.records - p.records_counted, std::memory_order_relaxed);
    p.records_counted = p.records;
    p.dirty = false;
    if (count_ == 1) break;  // the page being filled stays
    first_ = (first_ + 1) % npages_;
    --count_;
  }
  return done == n;
}

void LogFileSink::flush(int64_t mono_ns, bool include_partial) {
  if (fd_ < 0 || (retry_at_ != 0 && mono_ns < retry_at_)) return;
  while (count_ > 0) {
    // Consecutive pages of the file, from the oldest staged one; the page
    // being filled only when asked.
    uint32_t n = 0;
    uint32_t usable = include_partial && page_dirty(cur()) ? count_ : count_ - 1;
    while (n < usable && n < kMaxIov) {
      if (n > 0 && pages_[(first_ + n) % npages_].file_page != pages_[first_].file_page + n) break;
      ++n;
    }
    if (n == 0 || !write_pages(n, mono_ns)) return;
  }
}

LogSinkCounters LogFileSink::counters() const {
  return {written_.load(std::memory_order_relaxed), dropped_.load(std::memory_order_relaxed),
          write_errors_.load(std::memory_order_relaxed), would_block_.load(std::memory_order_relaxed)};
}

}  // namespace pk::daemon
