// What the daemon sets in the kernel so that the host, not only the daemon,
// survives an outage: each map's dirty-page cap (its BDI limit) and
// dm_multipath's queue_if_no_path timeout, the backstop that ends queueing
// when the daemon is dead. Pure decisions; adapters/host_knobs writes them.
//
// Threads: the loop thread (control plane: a map made or adopted, start-up,
// reconfigure). Blocking: never. Allocation: never.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/config.h"
#include "core/fixed_string.h"
#include "core/model.h"
#include "core/text.h"

namespace pk::core {

// ------------------------------------------------------------ dirty-page cap

// The BDI knobs the kernel has (read as the files in /sys/class/bdi/<maj:min>/).
// max_ratio is old; max_bytes and strict_limit came in Linux 6.2.
struct BdiKnobs {
  bool max_ratio = false;
  bool max_bytes = false;
  bool strict_limit = false;
};

// One sysfs write: the file name in the BDI's folder and its value.
struct BdiWrite {
  std::string_view knob;
  uint64_t value = 0;
};

struct DirtyCapPlan {
  enum class Kind : uint8_t {
    Off,          // dirty_limit off: nothing written, the kernel's values stay
    Write,        // writes[0..count) in order
    Deferred,     // the map is in an outage (or its device is not known yet): written later
    Unsupported,  // the kernel has no knob for what is asked
  };
  Kind kind = Kind::Off;
  BdiWrite writes[2];
  uint8_t count = 0;
  bool strict = false;  // the cap is strict (6.2+): the map's own dirty and writeback pages stop its writers
  std::string_view reason;  // why (Deferred, Unsupported, and Write without strict_limit)
};

// What to write for a map's cap. A percentage goes to max_ratio, a size to
// max_bytes (6.2+), each with strict_limit 1 where the kernel has it (without
// it a BDI may pass its share while the host is under its global limit).
// `outage`: the map has no usable path, or its device number is not known:
// nothing is written then (a sysfs write while the queue holds I/O is not
// something to risk; the caller tries again once the map has a path).
// The queue's nr_requests is never written: storing it freezes the queue,
// which waits for the queued I/O of a map with no path, forever.
DirtyCapPlan plan_dirty_cap(const DirtyLimit& limit, const BdiKnobs& knobs, bool outage);

// "10%", "64 MiB" or "off", as the configuration says it.
void write_dirty_limit(FixedWriter& w, const DirtyLimit& limit);

// ------------------------------------------------------------------ backstop

// How long a map with no path queues under `retry`: N checks are N times
// polling_interval (multipath-tools' meaning). Duration::max() for queue.
std::chrono::milliseconds queue_bound(const NoPathRetry& retry, const Timing& timing);

struct BackstopPlan {
  enum class Kind : uint8_t {
    Unavailable,  // no such parameter: Linux before 5.6, or dm_multipath not loaded yet
    Bounded,      // every map is bounded: `seconds` is the longest bound plus the margin
    Unbounded,    // a map queues forever: 0, since the parameter is global
  };
  Kind kind = Kind::Unavailable;
  uint64_t seconds = 0;  // what to write (0 = no timeout)
  FixedString<200> reason;
};

std::string_view backstop_kind_name(BackstopPlan::Kind k);  // "unavailable", "bounded", "unbounded"

// What the daemon did with the backstop, for status: the plan, whether it
// was written, and the write's error.
struct BackstopStatus {
  BackstopPlan plan;
  bool written = false;
  FixedString<200> error;  // "" when written or not tried
};

// The margin past the longest bound: the daemon may see an outage up to one
// polling_interval plus a checker_timeout after the kernel's last path
// failed (the kernel's timer starts then), plus a few seconds, so that a
// live daemon always ends queueing first and the timer only acts for a
// dead one.
uint64_t backstop_margin_seconds(const Timing& timing);

// The value of dm_multipath's queue_if_no_path_timeout_secs for the
// configuration: every map the daemon may make or adopt has defaults or its
// maps: entry's settings. `available`: the parameter's file exists.
BackstopPlan plan_backstop(const Config& config, bool available);

}  // namespace pk::core
