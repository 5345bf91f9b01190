// A SCSI disk's ALUA facts in sysfs, kept by the kernel's alua device handler:
// device/access_state ("active/optimized", "standby", ...), device/preferred_path
// ("1" when the array prefers the port group) and device/vpd_pg83 (the target
// port group id). Both state files stay open per path, so reading them at
// every check is two preads.
//
// Threads: the loop thread. Blocking: sysfs attribute reads do not wait on
// devices. Allocation: init() only.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/error.h"
#include "core/model.h"

namespace pk::adapters {

class AluaSysfs {
 public:
  AluaSysfs() = default;
  ~AluaSysfs();
  AluaSysfs(const AluaSysfs&) = delete;
  AluaSysfs& operator=(const AluaSysfs&) = delete;

  // Start-up: room for `capacity` paths; `sysfs_fd` is the sysfs root.
  bool init(uint32_t capacity, int sysfs_fd, core::Error& err);

  // A path added (control plane): opens its state files. Returns what is
  // known: AluaState::None when the disk reports no ALUA, else its state (or
  // Unknown while the handler has not read it) and its port group id.
  core::Alua attach(core::PathId path, std::string_view dev);
  void detach(core::PathId path);

  // Data plane: the state now, and the preferred bit; AluaState::Unknown
  // when it cannot be read (no handler, device going away).
  core::AluaState read(core::PathId path, bool& preferred) const;

 private:
  struct Files {
    int access = -1;
    int preferred = -1;
  };
  std::unique_ptr<Files[]> files_;
  uint32_t capacity_ = 0;
  int sysfs_fd_ = -1;
};

}  // namespace pk::adapters
