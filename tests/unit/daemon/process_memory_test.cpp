// Process set-up that needs no privilege: thread stacks and the heap reserve.
#include "daemon/process_memory.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <pthread.h>

#include <cstdlib>
#include <thread>

#include "tests/support/sanitizers.h"

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

// The reserve is free heap on top of what is allocated: it stays in the
// arena (no trim) for the control plane to use without growing it.
TEST(ProcessMemory, TheReserveIsFreeHeapThatStays) {
  if (pk::test::kSanitizerOwnsMalloc) GTEST_SKIP() << "a sanitizer owns malloc: glibc's heap is not in use";
  prepare_heap();
  void* fixed = std::malloc(4 << 20);  // a fixed structure allocated at start-up
  ASSERT_NE(fixed, nullptr);
  reserve_heap(16 << 20);
  struct mallinfo2 at_ready = ::mallinfo2();
  EXPECT_GE(at_ready.fordblks, size_t{16} << 20) << "the reserve is free heap";
  // Control-plane work within the reserve does not grow the heap.
  void* work = std::malloc(8 << 20);
  ASSERT_NE(work, nullptr);
  std::free(work);
  EXPECT_EQ(::mallinfo2().arena, at_ready.arena);
  std::free(fixed);
}

TEST(ProcessMemory, MeasuresItself) {
  SelfMeasure m = measure_self();
  EXPECT_GE(m.threads, 1u);
  if (!pk::test::kSanitizerOwnsMalloc) {
    EXPECT_GT(m.heap_bytes, 0u) << "glibc's heap (a sanitizer's malloc is not measured)";
  }
}

}  // namespace
}  // namespace pk::daemon
