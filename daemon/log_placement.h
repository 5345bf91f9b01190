// Where the log file may live. A log file on a multipath map, on a path of
// one, or on anything stacked over one is the 2005 deadlock again: with every
// path down, writing the log would wait for the very paths pathkeeperd is
// trying to bring back. So the block device under the log file's directory
// is followed through sysfs, down (partition -> disk, slaves/) and up
// (holders/), and refused when any device met is a multipath map (DM UUID
// "mpath-...").
//
// Threads: the main thread at start-up. Blocking: sysfs reads only.
// Allocation: yes (start-up only).
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"

namespace pk::daemon {

// Block device `major:minor` (st_dev of the log file's directory) as seen in
// the sysfs tree at `sysfs_root_fd`. False when it is or touches a multipath
// map, with where it is in `err`: "on sdb1, on sdb, a path of multipath map
// mpatha (dm-3)". A device sysfs does not know (tmpfs, btrfs subvolumes:
// major 0) is accepted.
bool check_log_device(int sysfs_root_fd, uint32_t major, uint32_t minor, core::Error& err);

// The same for the directory that holds `file`: stats it and checks its
// device; the reason is a sentence for people ("the log file F is on ...:
// logging there could wait ..."). `sysfs_root` is "/sys" outside tests.
bool check_log_placement(const std::string& file, const std::string& sysfs_root, core::Error& err);

}  // namespace pk::daemon
