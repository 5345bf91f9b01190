#include "daemon/name_files.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

#include "daemon/log.h"
#include "daemon/process_memory.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

namespace pk::daemon {

namespace {

constexpr uint64_t kStackPrefault = 64 * 1024;

// What failed, for status: "<step> <file>: <error>".
enum Step : uint32_t { kOpen = 1, kWrite, kFsync, kRename, kRead, kTooLarge, kNoRoom };
const char* step_name(uint32_t step) {
  switch (step) {
    case kOpen:
      return "create";
    case kWrite:
      return "write";
    case kFsync:
      return "fsync";
    case kRename:
      return "rename";
    case kRead:
      return "read";
    case kTooLarge:
      return "merge";
    case kNoRoom:
      return "format";
  }
  return "write";
}

int64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The whole file, or why not (`error`: ENOENT when it does not exist).
bool slurp(const std::string& path, std::string& text, int& error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    error = errno;
    if (fd >= 0) ::close(fd);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    error = EISDIR;
    return false;
  }
  text.clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return error == 0;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = ENOSPC;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

NameFiles::~NameFiles() { stop(); }

// ---------------------------------------------------------------- start-up

void NameFiles::open(const core::Config& config, const NameFilesOptions& options) {
  options_ = options;
  friendly_ = config.user_friendly_names;
  read_bindings(config, options);
  read_wwids(config);
}

void NameFiles::read_bindings(const core::Config& config, const NameFilesOptions& options) {
  bindings_file_.set(config.bindings_file);
  std::string text, from = bindings_file_.path;
  int error = 0;
  bool ours = slurp(bindings_file_.path, text, error);
  if (error == ENOTDIR) error = ENOENT;  // a folder on the way is a file: no such file either
  if (!ours && error != ENOENT) {
    if (friendly_) {
      // Names given without the file could be given twice: none this run.
      friendly_refused_.set("cannot read the bindings file %s: %s", bindings_file_.path.c_str(),
                            std::strerror(error));
      friendly_ = false;
    }
    // Never written over this run: the names in it would be lost.
    log_warning("names", "cannot read the bindings file %s: %s; it is not written this run",
                bindings_file_.path.c_str(), std::strerror(error));
    bindings_writable_ = false;
    fail(bindings_progress_, kRead, error);
  }
  bool imported = false;
  if (!ours && error == ENOENT) {
    int foreign_error = 0;
    imported = slurp(options.multipath_bindings, text, foreign_error);
    if (imported) from = options.multipath_bindings;
  }
  bindings_.init(core::count_lines(text) + config.limits.max_maps);
  char line[768];
  core::BindingsRead read = core::parse_bindings(text, bindings_, [&](const core::BindingsProblem& p) {
    log_warning("names", "%s %.*s", from.c_str(), static_cast<int>(core::describe(p, line).size()), line);
  });
  // A map in maps: whose alias a binding gives to another WWID: the alias wins.
  for (const core::MapConfig& m : config.maps) {
    const core::Binding* b = m.alias.empty() ? nullptr : bindings_.find_alias(m.alias);
    if (b && b->wwid != m.wwid)
      log_warning("names",
                  "%s line %u binds %s to WWID %s, but maps: (%s) gives %s to WWID %s: the alias in maps: "
                  "wins, and WWID %s gets another name",
                  from.c_str(), b->line, b->alias.c_str(), b->wwid.c_str(), m.file_position.c_str(),
                  m.alias.c_str(), m.wwid.c_str(), b->wwid.c_str());
  }
  if (ours || imported)
    log_info("names", "%u bindings read from %s (%u lines, %u refused)%s%s", read.bindings, from.c_str(),
             read.lines, read.refused, imported ? "; they are kept in " : "",
             imported ? bindings_file_.path.c_str() : "");
  if (ours && read.refused > 0) {
    // Its next write leaves the refused lines out: the original stays beside it.
    std::string keep = bindings_file_.path + ".bad";
    std::ofstream(keep, std::ios::binary | std::ios::trunc) << text;
    log_warning("names", "%s had %u refused lines; the file as it was is kept in %s", from.c_str(),
                read.refused, keep.c_str());
  }
  bindings_text_cap_ = core::bindings_text_bound(bindings_, bindings_.capacity());
  for (BindingsText& b : bindings_text_.buffers()) b.text = std::make_unique<char[]>(bindings_text_cap_);
  if (imported) ++bindings_gen_;  // not in pathkeeper's file yet
}

void NameFiles::read_wwids(const core::Config& config) {
  wwids_file_.set(config.wwids_file);
  const size_t room = size_t{config.limits.max_maps} * core::kMaxWwidLine;
  std::string text;
  if (!wwids_file_.path.empty()) {
    int error = 0;
    if (!slurp(wwids_file_.path, text, error) && error != ENOENT && error != ENOTDIR)
      log_warning("names", "cannot read the wwids file %s: %s; WWIDs are added to it as maps are made",
                  wwids_file_.path.c_str(), std::strerror(error));
  }
  wwids_.init(core::count_lines(text) + config.limits.max_maps);
  core::WwidsRead read = core::parse_wwids(
      text, [&](std::string_view w, uint32_t) { wwids_.add(w); },
      [&](const core::WwidsProblem& p) {
        log_warning("names", "%s line %u: %s; skipped: %.*s", wwids_file_.path.c_str(), p.line, p.what,
                    static_cast<int>(std::min<size_t>(p.text.size(), 300)), p.text.data());
      });
  if (!wwids_file_.path.empty() && read.lines > 0)
    log_info("names", "%u WWIDs read from %s (%u lines, %u refused)", read.wwids, wwids_file_.path.c_str(),
             read.lines, read.refused);
  wwids_added_cap_ = room;
  wwids_added_ = std::make_unique<char[]>(room);
  wwids_missing_cap_ = room;
  wwids_missing_ = std::make_unique<char[]>(room);
  // Room for the file as it is, what this run adds, and as much again from
  // other tools (multipath -a) while it runs.
  wwids_disk_cap_ = text.size() + 2 * room + (64 << 10);
  wwids_disk_ = std::make_unique<char[]>(wwids_disk_cap_);
}

bool NameFiles::start(core::Error& err) {
  core::Error why;
  if (!parker_.open(why)) {
    err.set("cannot start the name files' writer: %s", why.c_str());
    return false;
  }
  stop_.store(false);
  if (friendly_ && bindings_gen_ > 0) hand_bindings();
  try {
    thread_ = std::thread([this] { thread_main(); });
  } catch (const std::system_error& e) {
    err.set("cannot start the name files' writer thread: %s", e.what());
    return false;
  }
  return true;
}

void NameFiles::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  parker_.wake();
  thread_.join();
}

// ---------------------------------------------------------------- the loop

void NameFiles::hand_bindings() {
  if (!bindings_writable_) return;
  BindingsText& b = bindings_text_.back();
  size_t len = core::format_bindings(bindings_, {b.text.get(), bindings_text_cap_});
  if (len == 0) {  // cannot happen: the buffers are sized for the table's capacity
    fail(bindings_progress_, kNoRoom, ENOSPC);
    return;
  }
  b.len = len;
  b.gen = bindings_gen_;
  bindings_text_.publish();
  bindings_handed_ = bindings_gen_;
  parker_.wake_if_idle();
}

core::BindingTable::AddResult NameFiles::bind(std::string_view alias, std::string_view wwid) {
  core::BindingTable::AddResult r = bindings_.add(alias, wwid);
  if (r.outcome == core::BindingTable::Outcome::Added) {
    ++bindings_gen_;
    if (friendly_) hand_bindings();
  } else if (r.outcome == core::BindingTable::Outcome::Full) {
    ++bindings_refused_;
  }
  return r;
}

void NameFiles::unbind(std::string_view wwid) {
  if (bindings_.remove_wwid(wwid)) ++bindings_gen_;  // the new binding that follows hands the file over
}

void NameFiles::set_friendly(bool on) {
  friendly_ = on && friendly_refused_.empty();
  if (on && bindings_gen_ > bindings_handed_) hand_bindings();
}

void NameFiles::map_made(std::string_view wwid) {
  switch (wwids_.add(wwid)) {
    case core::WwidSet::Outcome::Exists:
      return;
    case core::WwidSet::Outcome::Full:
    case core::WwidSet::Outcome::Invalid:
      ++wwids_refused_;
      return;
    case core::WwidSet::Outcome::Added:
      break;
  }
  if (wwids_file_.path.empty()) return;  // known for this run only
  size_t n = core::format_wwid_line(
      wwid, {wwids_added_.get() + wwids_added_len_, wwids_added_cap_ - wwids_added_len_});
  if (n == 0) {
    ++wwids_refused_;
    return;
  }
  wwids_added_len_ += n;
  wwids_published_.store(wwids_added_len_, std::memory_order_release);
  parker_.wake_if_idle();
}

void NameFiles::status(core::NameFileUse& b, core::NameFileUse& w) const {
  auto fill = [](core::NameFileUse& u, std::string_view file, size_t used, size_t limit, bool pending,
                 const Progress& p, uint64_t refused) {
    u.file.assign(file.substr(0, 255));
    u.entries = {static_cast<uint32_t>(used), static_cast<uint32_t>(limit)};
    u.pending = pending;
    u.writes = p.writes.load(std::memory_order_relaxed);
    u.write_errors = p.errors.load(std::memory_order_relaxed);
    u.refused = refused;
    const uint32_t f = p.failure.load(std::memory_order_relaxed);
    if (f == 0) {
      u.error.clear();
      return;
    }
    char text[256];
    const char* why = ::strerrordesc_np(static_cast<int>(f & 0xffff));
    int n = std::snprintf(text, sizeof text, "%s %.*s: %s", step_name(f >> 16), static_cast<int>(file.size()),
                          file.data(), why ? why : "error");
    u.error.assign(std::string_view(text, std::min<size_t>(static_cast<size_t>(std::max(n, 0)), 255)));
  };
  fill(b, friendly_ ? std::string_view(bindings_file_.path) : std::string_view(), bindings_.size(),
       bindings_.capacity(),
       friendly_ && bindings_progress_.written.load(std::memory_order_relaxed) < bindings_gen_,
       bindings_progress_, bindings_refused_);
  fill(w, wwids_file_.path, wwids_.size(), wwids_.capacity(),
       wwids_progress_.written.load(std::memory_order_relaxed) < wwids_added_len_, wwids_progress_,
       wwids_refused_);
}

bool NameFiles::settled() const {
  return (!friendly_ || bindings_progress_.written.load() >= bindings_gen_) &&
         wwids_progress_.written.load() >= wwids_added_len_;
}

// ---------------------------------------------------------------- the writer

void NameFiles::fail(Progress& p, uint32_t step, int error) {
  p.errors.fetch_add(1, std::memory_order_relaxed);
  p.failure.store(step << 16 | (static_cast<uint32_t>(error) & 0xffff), std::memory_order_relaxed);
}

void NameFiles::Target::set(const std::string& file) {
  path = file;
  tmp = file.empty() ? std::string() : file + ".new";
  size_t slash = file.rfind('/');
  folder = slash == std::string::npos || slash == 0 ? std::string("/") : file.substr(0, slash);
}

bool NameFiles::replace_file(const Target& t, const char* a, size_t a_len, const char* b, size_t b_len,
                             Progress& progress) {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  int fd = ::open(t.tmp.c_str(), kFlags, 0644);
  if (fd < 0 && errno == ENOENT && ::mkdir(t.folder.c_str(), 0755) == 0)  // a fresh /var/lib
    fd = ::open(t.tmp.c_str(), kFlags, 0644);
  if (fd < 0) {
    fail(progress, kOpen, errno);
    return false;
  }
  // The file keeps its permissions.
  struct stat st {};
  if (::stat(t.path.c_str(), &st) == 0) ::fchmod(fd, st.st_mode & 07777);
  uint32_t step = 0;
  if (!write_all(fd, a, a_len) || !write_all(fd, b, b_len)) {
    step = kWrite;
  } else if (::fsync(fd) != 0) {
    step = kFsync;
  }
  int error = errno;
  ::close(fd);
  if (step == 0 && ::rename(t.tmp.c_str(), t.path.c_str()) != 0) {
    step = kRename;
    error = errno;
  }
  if (step != 0) {
    ::unlink(t.tmp.c_str());
    fail(progress, step, error);
    return false;
  }
  // The rename itself reaches the disk with the folder.
  int dfd = ::open(t.folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  progress.writes.fetch_add(1, std::memory_order_relaxed);
  progress.failure.store(0, std::memory_order_relaxed);
  return true;
}

bool NameFiles::write_bindings() {
  const BindingsText& f = bindings_text_.latest();
  if (!replace_file(bindings_file_, f.text.get(), f.len, nullptr, 0, bindings_progress_)) return false;
  bindings_progress_.written.store(f.gen, std::memory_order_release);
  return true;
}

bool NameFiles::write_wwids() {
  const size_t published = wwids_published_.load(std::memory_order_acquire);
  // What is on disk stays (multipath -a, another tool's lines): only what it lacks is added.
  size_t disk = 0;
  int fd = ::open(wwids_file_.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) {
    fail(wwids_progress_, kRead, errno);
    return false;
  }
  if (fd >= 0) {
    for (;;) {
      ssize_t n = ::read(fd, wwids_disk_.get() + disk, wwids_disk_cap_ - disk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int error = errno;
        ::close(fd);
        fail(wwids_progress_, kRead, error);
        return false;
      }
      if (n == 0) break;
      disk += static_cast<size_t>(n);
      if (disk == wwids_disk_cap_) {
        ::close(fd);
        fail(wwids_progress_, kTooLarge, EFBIG);
        return false;
      }
    }
    ::close(fd);
  }
  std::string_view existing(wwids_disk_.get(), disk);
  bool fits = true;
  size_t missing = core::wwids_missing(existing, std::string_view(wwids_added_.get(), published),
                                       {wwids_missing_.get(), wwids_missing_cap_}, fits);
  if (!fits) {
    fail(wwids_progress_, kNoRoom, ENOSPC);
    return false;
  }
  if (missing > 0) {
    const char* head = wwids_disk_.get();
    size_t head_len = disk;
    if (disk == 0) {
      head = core::kWwidsHeader.data();
      head_len = core::kWwidsHeader.size();
    } else if (wwids_disk_[disk - 1] != '\n') {
      wwids_disk_[disk] = '\n';  // there is room: the read stopped short of the capacity
      ++head_len;
    }
    if (!replace_file(wwids_file_, head, head_len, wwids_missing_.get(), missing, wwids_progress_))
      return false;
  }
  wwids_progress_.written.store(published, std::memory_order_release);
  return true;
}

void NameFiles::thread_main() {
  ::prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);
  prefault_stack(kStackPrefault);
  ::pthread_setname_np(::pthread_self(), "pk-names");
  struct File {
    bool due = false;
    int64_t next_try = 0;
    int64_t backoff = 0;
  } files[2];
  auto attempt = [&](File& f, auto&& write, int64_t now) {
    if (!f.due || now < f.next_try) return;
    if (write()) {
      f.due = false;
      f.backoff = 0;
      return;
    }
    f.backoff = f.backoff == 0 ? options_.retry_first_ns : std::min(f.backoff * 2, options_.retry_max_ns);
    f.next_try = now + f.backoff;
  };
  for (;;) {
    const bool stopping = stop_.load(std::memory_order_acquire);
    const uint64_t bindings_seen = bindings_text_.latest().gen;
    const size_t wwids_seen = wwids_published_.load(std::memory_order_acquire);
    if (!files[0].due && bindings_seen > bindings_progress_.written.load(std::memory_order_relaxed))
      files[0] = {true, 0, files[0].backoff};
    if (!wwids_file_.path.empty() && wwids_seen > wwids_progress_.written.load(std::memory_order_relaxed) &&
        !files[1].due)
      files[1] = {true, 0, files[1].backoff};
    const int64_t now = mono_ns();
    attempt(
        files[0], [&] { return write_bindings(); }, stopping ? files[0].next_try : now);
    attempt(
        files[1], [&] { return write_wwids(); }, stopping ? files[1].next_try : now);
    if (stopping) return;
    int64_t wait = -1;
    for (const File& f : files)
      if (f.due) wait = wait < 0 ? f.next_try - now : std::min(wait, f.next_try - now);
    // Until a retry is due, or the loop hands over new content, or stop().
    parker_.park(wait < 0 ? -1 : std::max<int64_t>(wait, 0), [&] {
      return stop_.load(std::memory_order_acquire) || bindings_text_.latest().gen != bindings_seen ||
             wwids_published_.load(std::memory_order_acquire) != wwids_seen;
    });
  }
}

}  // namespace pk::daemon
