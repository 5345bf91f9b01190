// Test-only, for the lab's systemd guest: stalls pathkeeperd's event loop on
// request, to show that the service's watchdog catches a stalled loop while
// the daemon's other threads still answer. Loaded with LD_PRELOAD by a
// drop-in of the scenario; never installed.
//
// It interposes epoll_wait. The loop runs on the main thread (the process's
// first thread); when it is about to wait and the trigger file exists, the
// file is removed (so the daemon systemd starts next does not stall) and
// the thread sleeps for good. Other threads' epoll_wait calls pass through.
#include <dlfcn.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

namespace {

constexpr char kTrigger[] = "/run/pathkeeper/lab-stall-loop";

using EpollWait = int (*)(int, epoll_event*, int, int);
EpollWait real_epoll_wait = nullptr;

// At load time, before main: no symbol lookup later, in the loop.
__attribute__((constructor)) void find_real_epoll_wait() {
  real_epoll_wait = reinterpret_cast<EpollWait>(dlsym(RTLD_NEXT, "epoll_wait"));
}

}  // namespace

extern "C" int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout) noexcept {
  if (::gettid() == ::getpid() && ::access(kTrigger, F_OK) == 0) {
    ::unlink(kTrigger);
    for (;;) {
      timespec ts{3600, 0};
      ::nanosleep(&ts, nullptr);
    }
  }
  return real_epoll_wait(epfd, events, maxevents, timeout);
}
