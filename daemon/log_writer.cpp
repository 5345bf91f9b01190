#include "daemon/log_writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "daemon/process_memory.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

namespace pk::daemon {

namespace {

constexpr size_t kDrainBatch = 256;  // records between two looks at the file
constexpr uint64_t kStackPrefault = 64 * 1024;

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// systemd connects stderr to the journal and says so in JOURNAL_STREAM=dev:ino.
bool is_journal_stream(int fd) {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  struct stat st {};
  return std::sscanf(env, "%llu:%llu", &dev, &ino) == 2 && ::fstat(fd, &st) == 0 && st.st_dev == dev &&
         st.st_ino == ino;
}

}  // namespace

LogWriter::~LogWriter() { stop(); }

bool LogWriter::open(const LogWriterOptions& options, core::LogRing& ring, core::Error& err) {
  options_ = options;
  ring_ = &ring;
  if (!parker_.open(err)) return false;
  if (!options.file.empty()) {
    if (file_.open(options.file, options.file_size_bytes, options.staging_pages, clock_ns(CLOCK_REALTIME),
                   file_problem_)) {
      notes_ += file_.notes();
      if (file_.direct() && !file_.nowait()) notes_ += "no RWF_NOWAIT on this filesystem; ";
    }
  }
  if (!options.journal_socket.empty()) {
    core::Error why;
    if (journal_.open(options.journal_socket, why)) {
      notes_ += "journald: yes; ";
    } else {
      notes_ += std::string("journald: no (") + why.c_str() + "); ";
    }
  }
  stderr_fd_ = options.stderr_fd;
  if (stderr_fd_ >= 0 && journal_.is_open() && options.skip_stderr_if_journal_stream &&
      is_journal_stream(stderr_fd_)) {
    stderr_fd_ = -1;
    notes_ += "stderr: no (it goes to journald already); ";
  }
  if (stderr_fd_ >= 0) {
    // stderr may be a pipe to a logger stuck behind the disks being rescued.
    int flags = ::fcntl(stderr_fd_, F_GETFL);
    if (flags >= 0) ::fcntl(stderr_fd_, F_SETFL, flags | O_NONBLOCK);
    notes_ += "stderr: yes; ";
  }
  if (notes_.size() >= 2) notes_.resize(notes_.size() - 2);  // the last "; "
  return true;
}

bool LogWriter::start(core::Error& err) {
  stop_.store(false);
  if (file_.is_open() && !file_.start(file_problem_)) {
    file_.close();  // log_start says so, with file_problem()
  }
  try {
    thread_ = std::thread([this] { thread_main(); });
  } catch (const std::system_error& e) {
    err.set("cannot start the log writer thread: %s", e.what());
    return false;
  }
  return true;
}

void LogWriter::notify() { parker_.wake_if_idle(); }

void LogWriter::stop() {
  if (thread_.joinable()) {
    stop_.store(true);
    parker_.wake();
    thread_.join();
  }
  file_.stop(options_.stop_grace_ns);
}

void LogWriter::thread_main() {
  io_flusher_.store(::prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) == 0);
  prefault_stack(kStackPrefault);
  ::pthread_setname_np(::pthread_self(), "pk-log");
  for (;;) {
    bool stopping = stop_.load(std::memory_order_acquire);
    int64_t wait = run_once(clock_ns(CLOCK_MONOTONIC), stopping);
    if (stopping && wait != 0) break;  // drained; the page being filled went to the file's thread
    if (wait != 0) {
      parker_.park(wait,
                   [this] { return ring_->front() != nullptr || stop_.load(std::memory_order_relaxed); });
    }
  }
}

int64_t LogWriter::run_once(int64_t mono_ns, bool stopping) {
  // Without the file's own thread (tests), its writes happen here.
  bool write_here = !file_.running();
  size_t n = 0;
  while (n < kDrainBatch) {
    const core::LogRecord* r = ring_->front();
    if (r == nullptr) break;
    deliver(*r, mono_ns);
    ring_->pop();
    ++n;
    if (write_here && file_.staged() >= options_.staging_pages / 2) file_.flush(mono_ns, false);
  }
  note_drops(mono_ns);  // after what was in the ring when it overflowed
  bool empty = ring_->front() == nullptr;
  // When idle, the page being filled goes to the disk too, at most every partial_flush_ns.
  if (empty && file_.partial_dirty() &&
      (stopping || mono_ns - last_partial_flush_ >= options_.partial_flush_ns)) {
    if (file_.publish_partial()) last_partial_flush_ = mono_ns;
  }
  if (write_here) file_.flush(mono_ns, false);
  if (!empty) return 0;
  if (!file_.partial_dirty()) return -1;
  return std::max<int64_t>(last_partial_flush_ + options_.partial_flush_ns - mono_ns, 1'000'000);
}

core::LogRecord& LogWriter::note(core::LogRecord& into, const char* format, ...) {
  char text[256];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  core::fill_log_record_text(
      into, clock_ns(CLOCK_REALTIME), core::LogLevel::Warning, "log", {},
      std::string_view(text, std::min<size_t>(static_cast<size_t>(std::max(n, 0)), sizeof text - 1)));
  return into;
}

// Records the ring refused are missing everywhere: every sink gets the note.
void LogWriter::note_drops(int64_t mono_ns) {
  uint64_t lost = ring_->dropped() - ring_drops_reported_;
  if (lost == 0) return;
  ring_drops_reported_ += lost;
  deliver(note(ring_note_, "%llu log messages were dropped: the log ring (%u records) was full",
               static_cast<unsigned long long>(lost), ring_->capacity()),
          mono_ns);
}

void LogWriter::deliver(const core::LogRecord& r, int64_t mono_ns) {
  if (file_.is_open()) {
    if (uint64_t lost = file_.unreported_drops();
        lost > 0 && file_.append(note(sink_note_,
                                      "%llu log messages are missing from this file: the disk did not take "
                                      "writes in time",
                                      static_cast<unsigned long long>(lost)),
                                 false)) {
      file_.drops_reported(lost);
    }
    file_.append(r);
  }
  if (journal_.is_open()) {
    if (uint64_t lost = journal_.unreported_drops();
        lost > 0 &&
        journal_.send(
            note(sink_note_, "%llu log messages did not reach the journal: journald did not keep up",
                 static_cast<unsigned long long>(lost)),
            mono_ns, false)) {
      journal_.drops_reported(lost);
    }
    journal_.send(r, mono_ns);
  }
  if (stderr_fd_ >= 0) {
    if (uint64_t lost = stderr_dropped_.load(std::memory_order_relaxed) - stderr_reported_drops_;
        lost > 0 &&
        to_stderr(note(sink_note_, "%llu log messages were not written to stderr: it did not take them",
                       static_cast<unsigned long long>(lost)),
                  false)) {
      stderr_reported_drops_ += lost;
    }
    to_stderr(r, true);
  }
}

bool LogWriter::to_stderr(const core::LogRecord& r, bool count_drop) {
  size_t len = core::format_log_line(r, line_, sizeof line_);
  ssize_t n = ::write(stderr_fd_, line_, len);
  if (n > 0) {
    stderr_written_.fetch_add(1, std::memory_order_relaxed);  // a pipe takes a short line whole
    return true;
  }
  if (!count_drop) return false;
  stderr_dropped_.fetch_add(1, std::memory_order_relaxed);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    stderr_would_block_.fetch_add(1, std::memory_order_relaxed);
  } else {
    stderr_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  return false;
}

LogWriterCounters LogWriter::counters() const {
  LogWriterCounters c;
  c.file = file_.counters();
  c.journal = journal_.counters();
  c.stderr_sink = {
      stderr_written_.load(std::memory_order_relaxed), stderr_dropped_.load(std::memory_order_relaxed),
      stderr_errors_.load(std::memory_order_relaxed), stderr_would_block_.load(std::memory_order_relaxed)};
  c.file_open = file_.is_open();
  c.journal_open = journal_.is_open();
  c.stderr_open = stderr_fd_ >= 0;
  return c;
}

}  // namespace pk::daemon
