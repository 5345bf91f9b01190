// The heap guard (heap_guard.h) itself: it sees the malloc family, C library
// allocations and operator new from every thread while armed, nothing while
// disarmed, and names the first caller.
#include "tests/support/heap_guard.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace heap_guard = pk::test::heap_guard;

namespace {
thread_local void* volatile g_sink = nullptr;  // allocations escape: the compiler may not elide them

void allocate_and_free() {
  g_sink = std::malloc(32);
  std::free(g_sink);
  g_sink = new int(1);
  delete static_cast<int*>(g_sink);
}
}  // namespace

TEST(HeapGuard, CountsEveryThreadsCallsWhileArmedOnly) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 5000;
  std::atomic<bool> go{false}, may_exit{false};
  std::atomic<int> started{0}, done{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      started.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kRounds; ++i) allocate_and_free();
      done.fetch_add(1);
      while (!may_exit.load()) std::this_thread::yield();  // a thread's exit frees its state
    });
  }
  while (started.load() < kThreads) std::this_thread::yield();  // a thread's start allocates (under ASan)
  heap_guard::arm();
  go = true;
  while (done.load() < kThreads) std::this_thread::yield();
  heap_guard::disarm();
  EXPECT_EQ(heap_guard::count(), uint64_t{kThreads} * kRounds * 4) << "malloc, free, new, delete each";

  allocate_and_free();
  EXPECT_EQ(heap_guard::count(), uint64_t{kThreads} * kRounds * 4) << "nothing counted while disarmed";
  may_exit = true;
  for (auto& t : threads) t.join();
}

TEST(HeapGuard, SeesWhatTheCLibraryAllocates) {
  heap_guard::arm();
  char* copy = ::strdup("a C library call that allocates");
  heap_guard::disarm();
  std::free(copy);
  EXPECT_GE(heap_guard::count(), 1u);
}

TEST(HeapGuard, NamesTheFirstCaller) {
  heap_guard::arm();
  EXPECT_EQ(heap_guard::first_caller(), nullptr);
  allocate_and_free();
  heap_guard::disarm();
  if (heap_guard::uses_sanitizer_hooks()) {
    EXPECT_EQ(heap_guard::first_caller(), nullptr) << "under a sanitizer the stack is printed instead";
    return;
  }
  Dl_info info{};
  ASSERT_NE(heap_guard::first_caller(), nullptr);
  ASSERT_NE(::dladdr(heap_guard::first_caller(), &info), 0);
  EXPECT_NE(std::strstr(info.dli_fname, "test_heap_guard"), nullptr)
      << "the caller is this test's code, not the guard's or the C++ library's: " << info.dli_fname;
}

TEST(HeapGuard, ArmStartsAFreshCount) {
  heap_guard::arm();
  allocate_and_free();
  heap_guard::arm();
  heap_guard::disarm();
  EXPECT_EQ(heap_guard::count(), 0u);
  EXPECT_FALSE(heap_guard::armed());
}
