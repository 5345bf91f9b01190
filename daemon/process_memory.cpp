#include "daemon/process_memory.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/text.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

namespace pk::daemon {

namespace {

constexpr unsigned long kPfMemallocNoio = 0x00080000;  // include/linux/sched.h

// Reads a small /proc file into `buf` without stdio (which allocates).
std::string_view read_small(int dirfd, const char* path, char* buf, size_t size) {
  int fd = ::openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  ssize_t n = ::read(fd, buf, size - 1);
  ::close(fd);
  if (n <= 0) return {};
  return {buf, static_cast<size_t>(n)};
}

uint64_t status_field_kib(std::string_view status, std::string_view key) {
  size_t at = status.find(key);
  if (at == std::string_view::npos) return 0;
  core::Words words(status.substr(at + key.size()));
  uint64_t value = 0;
  core::parse_uint(words.next(), value);
  return value;
}

// The 9th field of /proc/.../stat is the task's flags; the command name
// (field 2) is in parentheses and may contain blanks, so count from the ')'.
unsigned long task_flags(std::string_view stat) {
  size_t paren = stat.rfind(')');
  if (paren == std::string_view::npos) return 0;
  core::Words words(stat.substr(paren + 1));
  std::string_view word;
  for (int field = 3; field <= 9; ++field) word = words.next();
  unsigned long flags = 0;
  core::parse_uint(word, flags);
  return flags;
}

// The fixed head of a struct linux_dirent64; the name follows it.
struct Dirent64Head {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
};

}  // namespace

void prepare_heap() {
  mallopt(M_MMAP_MAX, 0);         // never serve a request with mmap
  mallopt(M_TRIM_THRESHOLD, -1);  // never give memory back (it would fault again)
  mallopt(M_ARENA_MAX, 1);        // one arena: threads do not map arenas of their own
  mallopt(M_TOP_PAD, 1 << 20);    // grow in large steps while still at start-up
}

bool reserve_heap(uint64_t bytes) {
  if (bytes == 0) return true;
  void* reserve = std::malloc(bytes);
  if (reserve == nullptr) return false;
  std::memset(reserve, 0, bytes);  // fault every page in
  std::free(reserve);              // back to the free lists, not to the kernel
  return true;
}

void set_thread_stack_size(uint64_t bytes) {
  pthread_attr_t attr;
  if (::pthread_attr_init(&attr) != 0) return;
  if (::pthread_attr_setstacksize(&attr, bytes) == 0) (void)::pthread_setattr_default_np(&attr);
  ::pthread_attr_destroy(&attr);
}

bool lock_memory(core::Error& err) {
  if (::mlockall(MCL_CURRENT | MCL_FUTURE) == 0) return true;
  int e = errno;
  rlimit lim{};
  ::getrlimit(RLIMIT_MEMLOCK, &lim);
  if (e == ENOMEM || e == EPERM) {
    err.set(
        "mlockall failed (%s): RLIMIT_MEMLOCK is %llu bytes; run as root with CAP_IPC_LOCK "
        "or set LimitMEMLOCK=infinity",
        std::strerror(e), static_cast<unsigned long long>(lim.rlim_cur));
  } else {
    err.set("mlockall failed: %s", std::strerror(e));
  }
  return false;
}

bool mark_io_flusher(core::Error& err) {
  if (::prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) == 0) return true;
  err.set("prctl(PR_SET_IO_FLUSHER) failed: %s (needs Linux 5.6 and CAP_SYS_RESOURCE)", std::strerror(errno));
  return false;
}

bool protect_from_oom(core::Error& err) {
  int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd >= 0 && ::write(fd, "-1000", 5) == 5) {
    ::close(fd);
    return true;
  }
  err.set("cannot set oom_score_adj to -1000: %s", std::strerror(errno));
  if (fd >= 0) ::close(fd);
  return false;
}

void prefault_stack(uint64_t bytes) {
  // A variable-length array the compiler cannot elide: every page is written.
  volatile char* area = static_cast<volatile char*>(__builtin_alloca(bytes));
  for (uint64_t i = 0; i < bytes; i += 4096) area[i] = 0;
}

SelfMeasure measure_self() {
  SelfMeasure m;
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  m.minor_faults = static_cast<uint64_t>(ru.ru_minflt);
  m.major_faults = static_cast<uint64_t>(ru.ru_majflt);
  struct mallinfo2 mi = ::mallinfo2();
  m.heap_bytes = mi.arena + mi.hblkhd;

  char buf[4096];
  std::string_view status = read_small(AT_FDCWD, "/proc/self/status", buf, sizeof buf);
  m.locked_bytes = status_field_kib(status, "VmLck:") * 1024;
  m.threads = static_cast<uint32_t>(status_field_kib(status, "Threads:"));

  int dir = ::open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return m;
  alignas(8) char dents[4096];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir, dents, sizeof dents);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<Dirent64Head*>(dents + off);
      const char* name = dents + off + offsetof(Dirent64Head, d_type) + 1;  // not sizeof: padding
      off += d->d_reclen;
      if (name[0] == '.') continue;
      char path[64];
      core::FixedWriter w(path);
      w.text(name).text("/stat").ch('\0');
      char stat[1024];
      if (task_flags(read_small(dir, path, stat, sizeof stat)) & kPfMemallocNoio) ++m.threads_io_flusher;
    }
  }
  ::close(dir);
  return m;
}

}  // namespace pk::daemon
