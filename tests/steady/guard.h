// The steady-state guard: once armed, every heap call (malloc family,
// operator new/delete), process creation (fork, exec family, posix_spawn,
// system, popen), dlopen and thread creation in this process is counted as a
// violation, with the first offender's return address kept for the report
// (under a sanitizer: its stack printed instead). Link guard.cpp and the heap
// guard (tests/support/heap_guard.cpp) into a test binary; they replace those
// functions.
#pragma once

#include <cstdint>

namespace pk::steady {

struct Violations {
  uint64_t heap = 0;       // malloc, calloc, realloc, memalign, free, new, delete...
  uint64_t processes = 0;  // fork, vfork, exec*, posix_spawn*, system, popen
  uint64_t dlopen = 0;
  uint64_t threads = 0;  // pthread_create
  void* first_heap_caller = nullptr;
};

// Under a sanitizer, first waits until every other thread sleeps (their
// start allocates there).
void guard_arm();
void guard_disarm();
Violations guard_violations();

}  // namespace pk::steady
