// The kernel implementation of Dm (dm.h), with the seams tests need: the
// control device's path and the ioctl() call can be replaced, so the data
// plane (buffer windows, DM_BUFFER_FULL_FLAG, list/probe, errors) runs against
// a simulated kernel in unit tests.
//
// Threads: the loop thread only. Allocation: make_kernel_dm() and open().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "adapters/dm.h"

namespace pk::adapters {

// Same contract as ioctl(2): 0 on success, -1 with errno set.
using DmIoctlFn = int (*)(void* ctx, int fd, unsigned long request, void* arg);

struct KernelDmOptions {
  const char* control_path = "/dev/mapper/control";
  DmIoctlFn ioctl = nullptr;  // nullptr: ioctl(2)
  void* ioctl_ctx = nullptr;
  // false: create/reload/remove answer an error and libdevmapper is never
  // touched (for tests of the data plane).
  bool control_plane = true;
};

std::unique_ptr<Dm> make_kernel_dm(const KernelDmOptions& options);

// A buffer size (for Dm::open) that holds the largest answer the daemon can
// get: the list of `dm_devices` devices (every DM device on the host counts,
// not only multipath maps: LVM volumes, kpartx partitions, dm-crypt...) with
// names and uuids at their maximum length, or the status / table of a map
// with `paths_per_map` paths, whichever is larger. The kernel copies only the
// window a call needs, not the whole buffer (see dm_kernel.cpp).
size_t dm_buffer_bytes(uint32_t dm_devices, uint32_t paths_per_map);

}  // namespace pk::adapters
