// The heap guard: counts every heap call of the process (malloc, calloc,
// realloc, memalign, aligned_alloc, posix_memalign, valloc, pvalloc, free,
// operator new and delete, and so whatever a C library allocates) while
// armed, from any thread, and keeps the first caller. Link heap_guard.cpp
// (heap_guard_dep) into a test binary to prove that a call allocates nothing:
//
//   heap_guard::arm();
//   call();
//   heap_guard::disarm();
//   EXPECT_EQ(heap_guard::count(), 0u) << "first heap call from " << heap_guard::first_caller();
//
// Without a sanitizer it replaces the malloc family (over glibc's __libc_*
// entry points) and operator new/delete; first_caller() is a return address
// for `addr2line -f -C -e BINARY ADDRESS`. Under AddressSanitizer or
// ThreadSanitizer, which own malloc, it counts through the sanitizer's
// malloc and free hooks instead; first_caller() is then unknown (nullptr)
// and, when armed with trace_first, the first call prints its stack.
//
// Threads: any. Blocking: never. Allocation: never.
#pragma once

#include <cstdint>

namespace pk::test::heap_guard {

// Resets the count and the first caller, then counts.
void arm(bool trace_first = false);
void disarm();
bool armed();
// Heap calls since arm() (free(nullptr) is not one).
uint64_t count();
// The return address of the first of them; nullptr when none or not known.
void* first_caller();
// True when this build counts through a sanitizer's hooks.
bool uses_sanitizer_hooks();

}  // namespace pk::test::heap_guard
