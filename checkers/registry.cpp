// The static registry of checkers: one factory per CheckerKind, called at
// start-up (control plane) to create the one instance of each checker in use.
#include <iterator>

#include "checkers/checker.h"
#include "checkers/directio.h"
#include "checkers/none.h"
#include "checkers/state.h"
#include "checkers/tur.h"

namespace pk::checkers {

namespace {

struct Entry {
  core::CheckerKind kind;
  std::unique_ptr<Checker> (*make)();
};

template <class T>
std::unique_ptr<Checker> create() {
  return std::make_unique<T>();
}

constexpr Entry kCheckers[] = {
    {core::CheckerKind::Tur, &create<TurChecker>},
    {core::CheckerKind::DirectIo, &create<DirectIoChecker>},
    {core::CheckerKind::State, &create<StateChecker>},
    {core::CheckerKind::None, &create<NoneChecker>},
};

}  // namespace

std::unique_ptr<Checker> make_checker(core::CheckerKind kind) {
  for (const Entry& e : kCheckers) {
    if (e.kind == kind) return e.make();
  }
  return nullptr;
}

}  // namespace pk::checkers
