// none: no check at all; every path is Up (a path's state then follows only
// what the kernel reports through DM events). Answers in start(); no fd.
// Threads: the loop thread. Blocking: never. Allocation: never.
#pragma once

#include "checkers/checker.h"

namespace pk::checkers {

class NoneChecker final : public Checker {
 public:
  core::CheckerKind kind() const override { return core::CheckerKind::None; }
  std::string_view name() const override { return "none"; }
  bool init(uint32_t capacity, core::Error& err) override;
  int completion_fd() const override { return -1; }
  bool attach(PathIndex path, const PathIdentity& id, core::Error& err) override;
  void detach(PathIndex /*path*/) override {}
  StartResult start(PathIndex path, core::MonoTime now) override;
  size_t reap(std::span<Completion> /*out*/) override { return 0; }

 private:
  uint32_t capacity_ = 0;
};

}  // namespace pk::checkers
