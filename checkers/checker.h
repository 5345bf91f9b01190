// A path checker: an asynchronous state machine per path over state that is
// allocated once, at start-up, for `capacity` paths. No thread per check, no
// fork: a check is started, the loop polls one fd per checker, and finished
// checks are reaped. Deadlines belong to the caller (the core marks a path
// timed out); a checker whose command is still in flight answers Busy, so no
// command ever piles up behind a hung one.
//
// Threads: every call from the loop thread.
// Blocking: init/attach may block (open of a device node); start/reap never.
// Allocation: init only. attach/detach/start/reap allocate nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/clock.h"
#include "core/config.h"
#include "core/devt.h"
#include "core/error.h"
#include "core/model.h"

namespace pk::checkers {

// The core's vocabulary, under the names the checkers have always used.
using PathIndex = core::PathId;  // the path's slot in the daemon's path table
using Verdict = core::CheckVerdict;
using Transport = core::Transport;

// What a checker needs to know of a path. The strings are only read during attach.
struct PathIdentity {
  std::string_view dev;  // kernel name: "sda", "nbd0", "nvme0n1"
  core::DevT devt;
  Transport transport = Transport::Unknown;
  int sysfs_fd = -1;  // directory fd of the sysfs root ("/sys" or a fake tree)
  int dev_fd = -1;    // directory fd of /dev (or a fake tree)
};

struct StartResult {
  enum class Kind : uint8_t { Done, InFlight, Busy, Failed };
  Kind kind = Kind::Failed;
  Verdict verdict = Verdict::Down;  // Kind::Done only
  core::AluaReport alua;            // Kind::Done only

  constexpr StartResult(Kind k = Kind::Failed, Verdict v = Verdict::Down, core::AluaReport a = {})
      : kind(k), verdict(v), alua(a) {}
};

// What a path's transport says, read without I/O to the device (sysfs).
enum class TransportState : uint8_t {
  Unknown,  // this checker cannot tell (or the path has no such state)
  Up,       // the device runs and its session, if any, is logged in
  Down,     // blocked, offline, transport-offline, session failed, ...
};

struct Completion {
  PathIndex path = 0;
  Verdict verdict = Verdict::Down;
  core::AluaReport alua;  // what the answer said of the port's ALUA state
  bool lun_gone = false;  // the target answered that it has no such LUN (Down)

  constexpr Completion(PathIndex p = 0, Verdict v = Verdict::Down, core::AluaReport a = {}, bool gone = false)
      : path(p), verdict(v), alua(a), lun_gone(gone) {}
};

// Tunables of the checkers (control plane; from the configuration). Each
// checker reads what concerns it and ignores the rest.
struct CheckerOptions {
  // The kernel's own timeout of one command (tur: sg_io_hdr.timeout). Keep it
  // at or below the caller's checker deadline (core::Timing::checker_timeout).
  core::Millis io_timeout{10000};
  // tur: transparent re-issues of a check answered with a transient condition
  // (unit attention, busy, ...) before its last answer is reported.
  uint8_t retries = 5;
};

class Checker {
 public:
  virtual ~Checker() = default;
  virtual core::CheckerKind kind() const = 0;
  virtual std::string_view name() const = 0;

  // Control plane, before init() or between checks: apply tunables. Default: ignore.
  virtual void configure(const CheckerOptions& /*options*/) {}

  // Start-up: allocate and touch per-path state for `capacity` paths.
  virtual bool init(uint32_t capacity, core::Error& err) = 0;
  // One fd the loop polls (readable when checks finished), or -1 for checkers
  // that always answer in start().
  virtual int completion_fd() const = 0;

  // Path added / removed (control plane). attach opens what the checks need.
  virtual bool attach(PathIndex path, const PathIdentity& id, core::Error& err) = 0;
  virtual void detach(PathIndex path) = 0;

  // Data plane: start one check of `path`.
  virtual StartResult start(PathIndex path, core::MonoTime now) = 0;
  // Data plane: move finished checks into `out`; returns how many.
  virtual size_t reap(std::span<Completion> out) = 0;
  // Data plane: the transport's state, from sysfs only (a few small reads,
  // never I/O to the device). Read often for paths that are not usable, to
  // check them the moment their transport returns. Default: Unknown.
  virtual TransportState transport_state(PathIndex /*path*/) { return TransportState::Unknown; }
};

// The static registry: one instance of each checker, created at start-up.
std::unique_ptr<Checker> make_checker(core::CheckerKind kind);

}  // namespace pk::checkers
