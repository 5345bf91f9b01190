#include "checkers/none.h"

namespace pk::checkers {

bool NoneChecker::init(uint32_t capacity, core::Error& /*err*/) {
  capacity_ = capacity;
  return true;
}

bool NoneChecker::attach(PathIndex path, const PathIdentity& /*id*/, core::Error& err) {
  if (path >= capacity_) {
    err.set("none: path index %u beyond capacity %u", path, capacity_);
    return false;
  }
  return true;
}

StartResult NoneChecker::start(PathIndex path, core::MonoTime /*now*/) {
  if (path >= capacity_) return {StartResult::Kind::Failed};
  return {StartResult::Kind::Done, Verdict::Up};
}

}  // namespace pk::checkers
