#include "daemon/idle_parker.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pk::daemon {

IdleParker::~IdleParker() {
  if (fd_ >= 0) ::close(fd_);
}

bool IdleParker::open(core::Error& err) {
  fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd_ < 0) {
    err.set("eventfd: %s", std::strerror(errno));
    return false;
  }
  return true;
}

void IdleParker::wake_if_idle() {
  // Pairs with the fence in announce_idle(): either the parked thread's
  // has_work() sees the work made visible before this call, or this sees
  // that it is idle.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (idle_.load(std::memory_order_relaxed) && idle_.exchange(false)) wake();
}

void IdleParker::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
}

void IdleParker::announce_idle() {
  idle_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

void IdleParker::sleep(int64_t ns) {
  if (ns < 0 || ns > kMaxSleepNs) ns = kMaxSleepNs;
  pollfd p{fd_, POLLIN, 0};
  ::poll(&p, 1, static_cast<int>((ns + 999'999) / 1'000'000));
  idle_.store(false, std::memory_order_relaxed);
  uint64_t v;
  [[maybe_unused]] ssize_t n = ::read(fd_, &v, sizeof v);
}

}  // namespace pk::daemon
