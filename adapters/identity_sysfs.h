// A disk's identity as the kernel has it now: the SCSI device's `wwid`
// attribute (made from VPD page 0x83, which the kernel reads again when the
// device is rescanned) or an NVMe namespace's `wwid`. Kept open per path,
// with the text read when the path was added, so that each check can ask in
// one pread whether the LUN behind the path is still the one its map serves:
// an array that remapped the LUN number and a rescan (with no uevent when
// the size stayed the same, or with udev stopped) change it here first.
//
// Threads: the loop thread. Blocking: sysfs attribute reads do not wait on
// devices. Allocation: init() only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/error.h"
#include "core/model.h"

namespace pk::adapters {

class IdentitySysfs {
 public:
  static constexpr size_t kTextMax = 256;  // longer identities are compared by their first bytes

  IdentitySysfs() = default;
  ~IdentitySysfs();
  IdentitySysfs(const IdentitySysfs&) = delete;
  IdentitySysfs& operator=(const IdentitySysfs&) = delete;

  // Start-up: room for `capacity` paths; `sysfs_fd` is the sysfs root.
  bool init(uint32_t capacity, int sysfs_fd, core::Error& err);

  // A path added (control plane): opens its identity attribute and keeps
  // what it says. False when the disk has none (its identity is not watched).
  bool attach(core::PathId path, std::string_view dev);
  void detach(core::PathId path);

  // Data plane: true when the kernel now gives the path another identity
  // than when it was attached; `now` gets the new text (in `buf`). An
  // attribute that cannot be read or reads empty (the device going away, a
  // rescan in progress) is no change.
  bool changed(core::PathId path, std::span<char> buf, std::string_view& now) const;
  // What the kernel said when the path was attached ("" when not watched).
  std::string_view known(core::PathId path) const;

 private:
  struct Slot {
    int fd = -1;
    uint16_t len = 0;
    char text[kTextMax];
  };
  std::unique_ptr<Slot[]> slots_;
  uint32_t capacity_ = 0;
  int sysfs_fd_ = -1;
};

}  // namespace pk::adapters
