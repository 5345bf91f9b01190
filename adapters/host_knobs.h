// The host's knobs that core/host_guard.h decides: a map's BDI limits
// (/sys/class/bdi/MAJ:MIN/) and dm_multipath's queue_if_no_path timeout
// (/sys/module/dm_multipath/parameters/), through the sysfs helper.
//
// Threads: the loop thread (control plane). Blocking: the BDI and module
// parameter stores take a spinlock at most; they never wait for I/O (the
// queue's nr_requests, which freezes the queue, is never written).
// Allocation: never.
#pragma once

#include <cstdint>

#include "adapters/sysfs.h"
#include "core/devt.h"
#include "core/error.h"
#include "core/host_guard.h"

namespace pk::adapters {

// Which of max_ratio, max_bytes and strict_limit the device's BDI has.
core::BdiKnobs bdi_knobs(const Sysfs& sysfs, core::DevT dev);
// Writes the plan's values in order; stops at the first that fails (named
// in `err`). `written` is how many were written.
bool write_dirty_cap(const Sysfs& sysfs, core::DevT dev, const core::DirtyCapPlan& plan, uint8_t& written,
                     core::Error& err);

// Whether dm_multipath has queue_if_no_path_timeout_secs (5.6+, module loaded).
bool backstop_available(const Sysfs& sysfs);
bool write_backstop(const Sysfs& sysfs, uint64_t seconds, core::Error& err);
// The value the kernel has now; false when unreadable.
bool read_backstop(const Sysfs& sysfs, uint64_t& seconds);

}  // namespace pk::adapters
