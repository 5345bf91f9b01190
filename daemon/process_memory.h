// Making the process safe to run while memory is short (design rules 1, 6):
// glibc told never to map or trim, a heap reserve faulted in at start-up,
// everything locked, every thread an IO_FLUSHER, the OOM killer told to look
// elsewhere. And the measurements that prove it stays so after READY.
//
// Threads: prepare/lock on the main thread at start-up; mark_thread on each
// thread as it starts; measure from the loop. Blocking: start-up only.
// Allocation: prepare() allocates (the reserve); measure() never does.
#pragma once

#include <cstdint>

#include "core/error.h"

namespace pk::daemon {

// Before any sizeable allocation: mallopt so the heap only grows by brk, is
// never trimmed and is shared by all threads.
void prepare_heap();

// Just before READY, once every fixed structure is allocated: `bytes` more
// are allocated, touched and freed, so the control plane's later allocations
// (reconfigure, uevents, replies) are served from memory that is present and
// locked. The reserve is free heap at READY, on top of the fixed structures.
// False when it could not be allocated (memory locked beyond RLIMIT_MEMLOCK,
// or simply short).
bool reserve_heap(uint64_t bytes);

// Threads created from now on get stacks of `bytes`. Under mlockall a thread's
// whole stack mapping is locked and resident: at glibc's default (the stack
// rlimit, usually 8 MiB) each of the daemon's threads would cost 8 MiB.
void set_thread_stack_size(uint64_t bytes);

// mlockall(MCL_CURRENT|MCL_FUTURE). Fails with a message naming the cause
// (RLIMIT_MEMLOCK, missing CAP_IPC_LOCK).
bool lock_memory(core::Error& err);

// PR_SET_IO_FLUSHER on the calling thread (threads created afterwards inherit
// it), so its allocations never recurse into I/O on the disks it rescues.
bool mark_io_flusher(core::Error& err);

// oom_score_adj = -1000.
bool protect_from_oom(core::Error& err);

// Touches `bytes` of the calling thread's stack so later calls never fault it in.
void prefault_stack(uint64_t bytes);

struct SelfMeasure {
  uint64_t minor_faults = 0;
  uint64_t major_faults = 0;
  uint64_t heap_bytes = 0;    // mallinfo2: arena + mmapped
  uint64_t locked_bytes = 0;  // VmLck
  uint32_t threads = 0;
  uint32_t threads_io_flusher = 0;  // threads whose flags carry PF_MEMALLOC_NOIO
};

// Reads getrusage, mallinfo2 and /proc/self without allocating.
SelfMeasure measure_self();

}  // namespace pk::daemon
