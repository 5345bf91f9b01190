#include "daemon/log_file_sink.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "daemon/idle_parker.h"
#include "daemon/process_memory.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

namespace pk::daemon {

namespace {

constexpr int64_t kFirstBackoffNs = 10'000'000;    // 10 ms
constexpr int64_t kLastBackoffNs = 1'000'000'000;  // 1 s
constexpr uint32_t kMaxIov = 64;
constexpr uint64_t kStackPrefault = 64 * 1024;

int64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

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

// Everything the I/O thread touches. If the thread is stuck in the kernel at
// stop (the disk never answers), it is left behind and so is this.
struct LogFileSink::Io {
  int fd = -1;
  IdleParker parker;  // the I/O thread sleeps here; publishing wakes it
  bool direct = true;
  std::atomic<bool> nowait{true};
  core::LogFileHeader header;
  uint32_t npages = 0;
  char* pages = nullptr;               // npages aligned staging pages
  uint64_t* file_page = nullptr;       // per staging page: where it goes
  uint32_t* new_records = nullptr;     // per staging page: records it writes for the first time
  std::atomic<uint64_t> published{0};  // staging pages handed over (writer thread)
  std::atomic<uint64_t> done_upto{0};  // staging pages written (I/O thread)
  std::atomic<uint64_t> written{0}, dropped{0}, write_errors{0}, would_block{0};
  std::atomic<bool> stop{false}, done{false}, io_flusher{false};
  std::atomic<int64_t> grace_ns{0};
  int64_t retry_at = 0;
  int64_t backoff_ns = 0;

  ~Io() {
    if (fd >= 0) ::close(fd);
    std::free(pages);
    delete[] file_page;
    delete[] new_records;
  }
  char* page(uint64_t n) const { return pages + (n % npages) * core::kLogFileBlock; }

  // Writer thread, after publishing: wakes the I/O thread if it sleeps.
  void notify() { parker.wake_if_idle(); }

  // One write of the oldest staged pages that follow each other in the file.
  // True when it wrote something.
  bool write_some(int64_t now) {
    uint64_t first = done_upto.load(std::memory_order_relaxed);
    uint64_t last = published.load(std::memory_order_acquire);
    if (first == last) return false;
    iovec iov[kMaxIov];
    uint32_t n = 0;
    uint64_t base = file_page[first % npages];
    while (first + n < last && n < kMaxIov && file_page[(first + n) % npages] == base + n) {
      iov[n].iov_base = page(first + n);
      iov[n].iov_len = core::kLogFileBlock;
      ++n;
    }
    off_t offset = static_cast<off_t>(header.data_offset + base * core::kLogFileBlock);
    bool nw = nowait.load(std::memory_order_relaxed);
    ssize_t ret = ::pwritev2(fd, iov, static_cast<int>(n), offset, nw ? RWF_NOWAIT : 0);
    if (ret < 0 && nw && errno == EOPNOTSUPP) {
      nowait.store(false);  // this filesystem cannot say "would block": plain writes from now on
      ret = ::pwritev2(fd, iov, static_cast<int>(n), offset, 0);
    }
    if (ret < 0 && errno == EAGAIN && direct) {
      // A direct write "would block" while the page cache holds pages of its
      // range (someone read the file without O_DIRECT: cat, a backup). Those
      // pages are clean, dropping them waits on nothing; then once more.
      ::posix_fadvise(fd, offset, static_cast<off_t>(n * core::kLogFileBlock), POSIX_FADV_DONTNEED);
      ret = ::pwritev2(fd, iov, static_cast<int>(n), offset, nw ? RWF_NOWAIT : 0);
    }
    if (ret < 0) {
      if (errno == EAGAIN) {
        would_block.fetch_add(1, std::memory_order_relaxed);
      } else if (errno != EINTR) {
        write_errors.fetch_add(1, std::memory_order_relaxed);
      }
      backoff_ns = backoff_ns == 0 ? kFirstBackoffNs : std::min(backoff_ns * 2, kLastBackoffNs);
      retry_at = now + backoff_ns;
      return false;
    }
    backoff_ns = 0;
    retry_at = 0;
    uint64_t pages_done = static_cast<uint64_t>(ret) / core::kLogFileBlock;
    for (uint64_t k = 0; k < pages_done; ++k) {
      written.fetch_add(new_records[(first + k) % npages], std::memory_order_relaxed);
    }
    done_upto.store(first + pages_done, std::memory_order_release);
    return pages_done > 0;
  }

  void run() {
    io_flusher.store(::prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) == 0);
    prefault_stack(kStackPrefault);
    ::pthread_setname_np(::pthread_self(), "pk-log-io");
    int64_t deadline = 0;
    for (;;) {
      int64_t now = mono_ns();
      bool stopping = stop.load(std::memory_order_acquire);
      if (stopping && deadline == 0) deadline = now + grace_ns.load();
      if (published.load(std::memory_order_acquire) == done_upto.load(std::memory_order_relaxed)) {
        if (stopping) break;
        parker.park(-1, [this] {
          return published.load(std::memory_order_acquire) != done_upto.load(std::memory_order_relaxed) ||
                 stop.load(std::memory_order_relaxed);
        });
        continue;
      }
      if (now >= retry_at && write_some(now)) continue;
      if (stopping && now >= deadline) break;
      int64_t wait = std::max<int64_t>(retry_at - now, 1'000'000);
      if (stopping) wait = std::min(wait, deadline - now);
      parker.sleep(wait);
    }
    // What the disk did not take in time is lost.
    for (uint64_t k = done_upto.load(); k < published.load(); ++k) {
      dropped.fetch_add(new_records[k % npages], std::memory_order_relaxed);
    }
    done_upto.store(published.load());
    done.store(true, std::memory_order_release);
  }
};

LogFileSink::LogFileSink() : io_(new Io) {}

LogFileSink::~LogFileSink() {
  stop(0);
  std::free(open_);
  if (!thread_.joinable()) delete io_;  // a thread left behind keeps its state
}

bool LogFileSink::is_open() const { return io_->fd >= 0; }
const core::LogFileHeader& LogFileSink::header() const { return io_->header; }
bool LogFileSink::direct() const { return io_->direct; }
bool LogFileSink::nowait() const { return io_->nowait.load(); }
bool LogFileSink::io_flusher() const { return io_->io_flusher.load(); }
uint64_t LogFileSink::staged() const { return io_->published.load() - io_->done_upto.load(); }
uint64_t LogFileSink::unreported_drops() const {
  return io_->dropped.load(std::memory_order_relaxed) - reported_drops_;
}

bool LogFileSink::open(const std::string& path, uint64_t file_bytes, uint32_t staging_pages, int64_t now_ns,
                       core::Error& err) {
  path_ = path;
  if (open_or_create(path, file_bytes, staging_pages, now_ns, err)) return true;
  close();
  return false;
}

void LogFileSink::close() {
  if (thread_.joinable() || io_->fd < 0) return;
  ::close(io_->fd);
  io_->fd = -1;
}

bool LogFileSink::open_or_create(const std::string& path, uint64_t file_bytes, uint32_t staging_pages,
                                 int64_t now_ns, core::Error& err) {
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
  Io& io = *io_;
  constexpr int kFlags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
  io.fd = ::open(path.c_str(), kFlags | O_DIRECT, 0640);
  if (io.fd < 0 && errno == EINVAL) {
    // No direct I/O here. Only a filesystem in memory has no disk to wait on.
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC)) {
      io.fd = ::open(path.c_str(), kFlags, 0640);
      io.direct = false;
      notes_ += "the log file is in memory (tmpfs), written without direct I/O; ";
    } else {
      err.set(
          "the filesystem holding %s does not support direct I/O (O_DIRECT): written through the page cache, "
          "the log would wait on dirty-page throttling; put logging.file on ext4 or xfs",
          path.c_str());
      return false;
    }
  }
  if (io.fd < 0) {
    err.set("cannot open the log file %s: %s", path.c_str(),
            errno == ELOOP ? "it is a symbolic link" : std::strerror(errno));
    return false;
  }
  struct stat st {};
  if (::fstat(io.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    err.set("the log file %s is not a regular file", path.c_str());
    return false;
  }
  if (!io.parker.open(err)) return false;

  io.npages = std::max<uint32_t>(staging_pages, 2);
  void* mem = nullptr;
  void* open_mem = nullptr;
  if (::posix_memalign(&mem, core::kLogFileBlock, size_t{io.npages} * core::kLogFileBlock) != 0 ||
      ::posix_memalign(&open_mem, core::kLogFileBlock, core::kLogFileBlock) != 0) {
    std::free(mem);
    err.set("cannot allocate %u log staging pages", io.npages);
    return false;
  }
  io.pages = static_cast<char*>(mem);
  open_ = static_cast<char*>(open_mem);
  std::memset(io.pages, 0, size_t{io.npages} * core::kLogFileBlock);  // touched now, not after READY
  std::memset(open_, 0, core::kLogFileBlock);
  io.file_page = new uint64_t[io.npages]();
  io.new_records = new uint32_t[io.npages]();

  // An existing pathkeeper log of the right size is continued; anything else
  // that is not empty is left alone.
  core::LogFileHeader found;
  core::Error why;
  bool ours = false;
  if (st.st_size > 0) {
    ssize_t n = ::pread(io.fd, io.pages, core::kLogFileBlock, 0);
    ours = n == static_cast<ssize_t>(core::kLogFileBlock) &&
           core::decode_log_file_header({io.pages, core::kLogFileBlock}, found, why);
    if (!ours) {
      err.set(
          "%s exists and is not a pathkeeper log file (%s); it is left as it is: move it away or choose "
          "another logging.file",
          path.c_str(), n < 0 ? std::strerror(errno) : why.c_str());
      return false;
    }
  }
  core::LogFileHeader want = core::log_file_geometry(file_bytes, now_ns);
  if (ours && found.slots == want.slots && static_cast<uint64_t>(st.st_size) == found.file_bytes()) {
    io.header = found;
    if (!adopt(err)) return false;
  } else {
    if (ours) {
      notes_ += "the log file was " + human_bytes(static_cast<uint64_t>(st.st_size)) + ", is now " +
                human_bytes(want.file_bytes()) + " (its records are gone); ";
    }
    if (!create(want.file_bytes(), now_ns, err)) {
      // Half made (a full disk, a size limit): empty, it gives its blocks
      // back and is made afresh next time instead of being taken for
      // someone else's file.
      [[maybe_unused]] int rc = ::ftruncate(io.fd, 0);
      return false;
    }
  }
  return true;
}

namespace {
bool write_all(int fd, const char* data, size_t size, uint64_t offset, const std::string& path,
               core::Error& err) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err.set("cannot write the log file %s: %s", path.c_str(), n < 0 ? std::strerror(errno) : "no progress");
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}
}  // namespace

// Full size now, every block written once: later writes are overwrites inside
// the file, which allocate nothing and change no extent.
bool LogFileSink::create(uint64_t file_bytes, int64_t now_ns, core::Error& err) {
  Io& io = *io_;
  io.header = core::log_file_geometry(file_bytes, now_ns);
  if (::ftruncate(io.fd, static_cast<off_t>(file_bytes)) != 0) {
    err.set("cannot size the log file %s to %s: %s", path_.c_str(), human_bytes(file_bytes).c_str(),
            std::strerror(errno));
    return false;
  }
  if (::fallocate(io.fd, 0, 0, static_cast<off_t>(file_bytes)) != 0 && errno != EOPNOTSUPP) {
    err.set("cannot allocate %s for the log file %s: %s", human_bytes(file_bytes).c_str(), path_.c_str(),
            std::strerror(errno));
    return false;
  }
  size_t chunk = size_t{io.npages} * core::kLogFileBlock;
  std::memset(io.pages, 0, chunk);
  for (uint64_t off = core::kLogFileBlock; off < file_bytes; off += chunk) {
    if (!write_all(io.fd, io.pages, static_cast<size_t>(std::min<uint64_t>(chunk, file_bytes - off)), off,
                   path_, err))
      return false;
  }
  core::encode_log_file_header(io.header,
                               std::span<char, core::kLogFileBlock>(io.pages, core::kLogFileBlock));
  if (!write_all(io.fd, io.pages, core::kLogFileBlock, 0, path_, err)) return false;
  if (::fdatasync(io.fd) != 0) {
    err.set("cannot sync the new log file %s: %s", path_.c_str(), std::strerror(errno));
    return false;
  }
  std::memset(io.pages, 0, core::kLogFileBlock);
  next_seq_ = 0;
  notes_ += "created the log file (" + human_bytes(file_bytes) + ", " + std::to_string(io.header.slots) +
            " records); ";
  return true;
}

// Finds the newest record and continues after it, in its page.
bool LogFileSink::adopt(core::Error& err) {
  Io& io = *io_;
  core::LogFileIndex index;
  size_t chunk = size_t{io.npages} * core::kLogFileBlock;
  uint64_t end = io.header.file_bytes();
  for (uint64_t off = io.header.data_offset; off < end; off += chunk) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, end - off));
    ssize_t got = ::pread(io.fd, io.pages, n, static_cast<off_t>(off));
    if (got < 0) {
      err.set("cannot read the log file: %s", std::strerror(errno));
      return false;
    }
    index.scan({io.pages, static_cast<size_t>(got)}, (off - io.header.data_offset) / core::LogRecord::kSize,
               io.header.slots);
  }
  std::memset(io.pages, 0, chunk);
  next_seq_ = index.next_seq();
  uint64_t slot = next_seq_ % io.header.slots;
  uint32_t in_page = static_cast<uint32_t>(slot % core::kLogRecordsPerBlock);
  if (in_page != 0) {
    // Keep the records already in the page the next one goes to.
    uint64_t file_page = slot / core::kLogRecordsPerBlock;
    if (::pread(io.fd, open_, core::kLogFileBlock,
                static_cast<off_t>(io.header.data_offset + file_page * core::kLogFileBlock)) !=
        static_cast<ssize_t>(core::kLogFileBlock)) {
      err.set("cannot read the log file: %s", std::strerror(errno));
      return false;
    }
    open_file_page_ = file_page;
    open_records_ = open_published_ = in_page;
    open_valid_ = true;
    open_dirty_ = false;
  }
  notes_ += "continuing the log file after record " + std::to_string(next_seq_) + " (" +
            std::to_string(index.size()) + " records kept); ";
  return true;
}

bool LogFileSink::start(core::Error& err) {
  try {
    Io* io = io_;
    thread_ = std::thread([io] { io->run(); });
  } catch (const std::system_error& e) {
    err.set("cannot start the log file's I/O thread: %s", e.what());
    return false;
  }
  return true;
}

void LogFileSink::stop(int64_t grace_ns) {
  // The writer thread is done: what it has not handed over goes now (when a
  // staging page frees up within the grace), or is lost.
  auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(grace_ns);
  while (open_dirty_ && !publish() && thread_.joinable() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (open_dirty_) {
    io_->dropped.fetch_add(open_records_ - open_published_, std::memory_order_relaxed);
    open_dirty_ = false;
  }
  if (!thread_.joinable()) return;
  io_->grace_ns.store(grace_ns);
  io_->stop.store(true, std::memory_order_release);
  io_->parker.wake();
  // A thread stuck in the kernel on a disk that never answers is not waited
  // for beyond the grace: it is left behind with its state (io_).
  until =
      std::chrono::steady_clock::now() + std::chrono::nanoseconds(grace_ns) + std::chrono::milliseconds(500);
  while (!io_->done.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (io_->done.load(std::memory_order_acquire)) {
    thread_.join();
  } else {
    // The sink keeps counting in a closed state of its own; the old one stays
    // with the thread. What it holds is counted as lost.
    Io* left = io_;
    thread_.detach();
    io_ = new Io;
    io_->header = left->header;
    io_->written.store(left->written.load());
    io_->write_errors.store(left->write_errors.load());
    io_->would_block.store(left->would_block.load());
    uint64_t lost = 0;
    for (uint64_t k = left->done_upto.load(); k < left->published.load(); ++k)
      lost += left->new_records[k % left->npages];
    io_->dropped.store(left->dropped.load() + lost);
  }
}

bool LogFileSink::publish() {
  Io& io = *io_;
  uint64_t p = io.published.load(std::memory_order_relaxed);
  if (p - io.done_upto.load(std::memory_order_acquire) >= io.npages)
    return false;  // all waiting for the disk
  std::memcpy(io.page(p), open_, core::kLogFileBlock);
  io.file_page[p % io.npages] = open_file_page_;
  io.new_records[p % io.npages] = open_records_ - open_published_;
  open_published_ = open_records_;
  open_dirty_ = false;
  io.published.store(p + 1, std::memory_order_release);
  io.notify();
  return true;
}

bool LogFileSink::publish_partial() { return !open_dirty_ || publish(); }

bool LogFileSink::append(const core::LogRecord& r, bool count_drop) {
  const core::LogFileHeader& h = io_->header;
  uint64_t slot = next_seq_ % h.slots;
  uint64_t file_page = slot / core::kLogRecordsPerBlock;
  uint32_t in_page = static_cast<uint32_t>(slot % core::kLogRecordsPerBlock);
  if (!open_valid_ || file_page != open_file_page_) {
    if (open_dirty_ && !publish()) {
      if (count_drop) io_->dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    std::memset(open_, 0, core::kLogFileBlock);  // a new page starts empty
    open_file_page_ = file_page;
    open_records_ = open_published_ = 0;
    open_valid_ = true;
  }
  auto* rec = reinterpret_cast<core::LogRecord*>(open_ + size_t{in_page} * sizeof r);
  std::memcpy(rec, &r, sizeof r);
  core::seal_log_record(*rec, next_seq_++);
  open_records_ = in_page + 1;
  open_dirty_ = true;
  if (open_records_ == core::kLogRecordsPerBlock) publish();  // full: to the disk now (or at the next record)
  return true;
}

void LogFileSink::flush(int64_t mono_ns, bool include_partial) {
  if (thread_.joinable() || io_->fd < 0) return;
  while (io_->write_some(mono_ns)) {
  }
  if (include_partial) publish_partial();
  while (io_->write_some(mono_ns)) {
  }
}

LogSinkCounters LogFileSink::counters() const {
  const Io& io = *io_;
  return {io.written.load(std::memory_order_relaxed), io.dropped.load(std::memory_order_relaxed),
          io.write_errors.load(std::memory_order_relaxed), io.would_block.load(std::memory_order_relaxed)};
}

}  // namespace pk::daemon
