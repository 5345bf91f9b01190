// The pure part of the udev adapter: turning what udev and sysfs say about a
// block device into BlockDevice fields.
// Threads: any. Blocking: never. Allocation: never.
#pragma once

#include <span>
#include <string_view>

#include "core/model.h"

namespace pk::adapters::udevparse {

// Room for a normalised WWID (SCSI designators are at most 255 bytes; the
// kernel's "naa."/"t10."/"eui." prefix comes on top).
inline constexpr size_t kWwidMax = 320;

// ASCII blanks (space, tab, newline, CR, VT, FF) trimmed at both ends.
std::string_view trim(std::string_view s);

// A WWID as pathkeeper uses it (the map UUID is "mpath-" + WWID, and the CLI
// and configuration name maps by it):
//  - leading and trailing blanks and control characters are dropped (sysfs
//    values end in "\n"; t10 vendor ids are padded with spaces);
//  - every run of blanks or control characters inside becomes one '_'
//    (a t10 WWID such as "t10.ATA     QEMU HARDDISK   QM00001" holds runs of
//    spaces; a space would split the word in tables, the CLI and udev
//    symlinks, and '_' for a run is what scsi_id --replace-whitespace does);
//  - anything else is kept as is, case included ("naa.6000c29...",
//    "eui.0025...", "nvme.1b36-...": the kernel's own form).
// Writes into `out`; returns the view, or "" when `raw` is blank or the result
// would not fit (a cut WWID could name another LUN).
std::string_view normalise_wwid(std::string_view raw, std::span<char> out);

// The transport of a block device from its devpath (as udev gives it, e.g.
// "/devices/platform/host3/session1/target3:0:0/3:0:0:1/block/sdb"), its
// kernel name, and whether a SCSI device (subsystem "scsi", devtype
// "scsi_device") is one of its parents:
//   "/sessionN" in the devpath -> Iscsi; name "nbdN" -> Nbd; name "nvme..." ->
//   Nvme; a SCSI parent -> Scsi (FC, SAS, scsi_debug, ...); else Unknown.
core::Transport detect_transport(std::string_view devpath, std::string_view name, bool scsi_parent);

// A device-mapper device's kernel name ("dm-3").
bool is_dm_name(std::string_view name);

}  // namespace pk::adapters::udevparse
