// What the checkers read of a path in sysfs, and how they find it: the SCSI
// device state, the iSCSI session above a SCSI disk, the NVMe controller of a
// namespace, the SCSI generic node of a disk. Every path is relative to the
// sysfs root directory fd (PathIdentity::sysfs_fd), so tests hand in a fake tree.
//
// Threads: any (no shared state). Blocking: sysfs attribute reads and
// readlink/getdents on sysfs do not wait on devices.
// Allocation: never (caller buffers, stack buffers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "checkers/checker.h"

namespace pk::checkers {

// Room for one relative sysfs path kept in a per-path slot, e.g.
// "block/sda/device/state" or "class/iscsi_session/session12/state".
inline constexpr size_t kSysfsPathMax = 128;
// The kernel's disk names are shorter than 32 (DISK_NAME_LEN).
inline constexpr size_t kDevNameMax = 32;

// A kernel device name is one path component: not empty, shorter than
// kDevNameMax, no '/', not "." or "..". Checked at attach (names reach openat).
bool valid_dev_name(std::string_view dev);

// snprintf into `out`; false (and `out` empty) when it does not fit.
bool format_path(std::span<char> out, const char* format, ...) __attribute__((format(printf, 2, 3)));

// /sys/block/<dev>/device/state of a SCSI device:
// running -> Up; blocked -> Pending (the session or port is recovering: a
// command sent now waits until it recovers or the recovery timeout ends);
// offline, transport-offline, quiesce, created, cancel, deleted, anything
// else -> Down.
Verdict scsi_device_state_verdict(std::string_view state);

// /sys/class/iscsi_session/sessionN/state: LOGGED_IN -> Up; FAILED, FREE,
// anything else -> Down.
Verdict iscsi_session_state_verdict(std::string_view state);

// /sys/class/nvme/nvmeX/state: live -> Up; connecting, resetting -> Pending;
// new, deleting, deleting (no IO), dead, anything else -> Down.
Verdict nvme_ctrl_state_verdict(std::string_view state);

// The worse of two verdicts: Down > Pending > Ghost > Up.
Verdict worse(Verdict a, Verdict b);

// readlinkat(dirfd, relative) into `out`; `target` is the link text. False
// when it is not a symbolic link or does not fit.
bool read_link(int dirfd, const char* relative, std::span<char> out, std::string_view& target);

// The iSCSI session a disk belongs to, from its sysfs device path
// (/sys/block/sda -> ../devices/platform/host2/session1/target2:0:0/2:0:0:1/block/sda).
// `session` is e.g. "session1", stored in `out`. False when the disk is not
// below an iSCSI session.
bool find_iscsi_session(int sysfs_fd, std::string_view dev, std::span<char> out, std::string_view& session);

// The NVMe controller of a namespace block device: from the device link
// (/sys/block/nvme0n1/device -> ../../nvme0), else from the name
// (nvme0n1 -> nvme0, nvme0c1n1 -> nvme1). `ctrl` is e.g. "nvme0".
bool find_nvme_controller(int sysfs_fd, std::string_view dev, std::span<char> out, std::string_view& ctrl);

// The SCSI generic node of a disk: the link block/<dev>/device/generic
// (-> scsi_generic/sg3), else the entry of block/<dev>/device/scsi_generic/.
// `node` is e.g. "sg3". False when there is none (sg module not loaded).
bool find_sg_node(int sysfs_fd, std::string_view dev, std::span<char> out, std::string_view& node);

const char* verdict_name(Verdict v);

}  // namespace pk::checkers
