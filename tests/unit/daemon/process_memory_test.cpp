// Process set-up that needs no privilege: thread stacks and the heap reserve.
#include "daemon/process_memory.h"

#include <pthread.h>

#include <gtest/gtest.h>

#include <thread>

namespace pk::daemon {
namespace {

size_t stack_size_of_a_new_thread() {
  size_t size = 0;
  std::thread t([&size] {
    pthread_attr_t attr;
    if (::pthread_getattr_np(::pthread_self(), &attr) != 0) return;
    ::pthread_attr_getstacksize(&attr, &size);
    ::pthread_attr_destroy(&attr);
  });
  t.join();
  return size;
}

// Under mlockall a thread's whole stack is resident: the daemon's threads
// must not get glibc's 8 MiB default.
TEST(ProcessMemory, ThreadsCreatedAfterwardsGetTheSetStackSize) {
  // Set once, before any other thread (glibc reuses a cached stack that is
  // large enough, so a later, smaller setting may not show at once).
  set_thread_stack_size(1 << 20);
  EXPECT_EQ(stack_size_of_a_new_thread(), size_t{1} << 20);
}

TEST(ProcessMemory, MeasuresItself) {
  SelfMeasure m = measure_self();
  EXPECT_GE(m.threads, 1u);
  EXPECT_GT(m.heap_bytes, 0u);
}

}  // namespace
}  // namespace pk::daemon
