#include "core/host_guard.h"

#include <algorithm>

namespace pk::core {

DirtyCapPlan plan_dirty_cap(const DirtyLimit& limit, const BdiKnobs& knobs, bool outage) {
  DirtyCapPlan p;
  if (limit.kind == DirtyLimit::Kind::Off) {
    p.reason = "dirty_limit is off";
    return p;
  }
  if (outage) {
    p.kind = DirtyCapPlan::Kind::Deferred;
    p.reason = "waiting for a path checked usable: never written during an outage";
    return p;
  }
  if (limit.kind == DirtyLimit::Kind::Bytes) {
    if (!knobs.max_bytes) {
      p.kind = DirtyCapPlan::Kind::Unsupported;
      p.reason = "a size needs the BDI's max_bytes (Linux 6.2 or newer); give a percentage on this kernel";
      return p;
    }
    p.writes[p.count++] = {"max_bytes", limit.bytes};
  } else {
    if (!knobs.max_ratio) {
      p.kind = DirtyCapPlan::Kind::Unsupported;
      p.reason = "the map's BDI has no max_ratio";
      return p;
    }
    p.writes[p.count++] = {"max_ratio", limit.percent};
  }
  p.kind = DirtyCapPlan::Kind::Write;
  if (knobs.strict_limit) {
    p.writes[p.count++] = {"strict_limit", 1};
    p.strict = true;
  } else {
    p.reason =
        "not strict: the kernel has no strict_limit (6.2+), so the map may pass its share while the host is "
        "under its global dirty limit";
  }
  return p;
}

void write_dirty_limit(FixedWriter& w, const DirtyLimit& limit) {
  switch (limit.kind) {
    case DirtyLimit::Kind::Off:
      w.text("off");
      return;
    case DirtyLimit::Kind::Percent:
      w.number(limit.percent).ch('%');
      return;
    case DirtyLimit::Kind::Bytes:
      if (limit.bytes % (1ull << 30) == 0) {
        w.number(limit.bytes >> 30).text(" GiB");
      } else if (limit.bytes % (1ull << 20) == 0) {
        w.number(limit.bytes >> 20).text(" MiB");
      } else {
        w.number(limit.bytes).text(" bytes");
      }
      return;
  }
}

std::chrono::milliseconds queue_bound(const NoPathRetry& retry, const Timing& timing) {
  using std::chrono::milliseconds;
  switch (retry.kind) {
    case NoPathRetry::Kind::Queue:
      return milliseconds::max();
    case NoPathRetry::Kind::Fail:
      return milliseconds::zero();
    case NoPathRetry::Kind::Checks:
      return milliseconds(timing.polling_interval) * retry.checks;
    case NoPathRetry::Kind::Time:
      return milliseconds(retry.duration);
  }
  return milliseconds::zero();
}

std::string_view backstop_kind_name(BackstopPlan::Kind k) {
  switch (k) {
    case BackstopPlan::Kind::Unavailable:
      return "unavailable";
    case BackstopPlan::Kind::Bounded:
      return "bounded";
    case BackstopPlan::Kind::Unbounded:
      return "unbounded";
  }
  return "?";
}

uint64_t backstop_margin_seconds(const Timing& timing) {
  const uint64_t timeout_s = static_cast<uint64_t>((timing.checker_timeout.count() + 999) / 1000);
  return static_cast<uint64_t>(timing.polling_interval.count()) + timeout_s + 5;
}

BackstopPlan plan_backstop(const Config& config, bool available) {
  BackstopPlan p;
  if (!available) {
    p.reason.assign(
        "no dm_multipath queue_if_no_path_timeout_secs (Linux before 5.6, or the module is not loaded)");
    return p;
  }
  char text[200];
  FixedWriter why(text);
  std::chrono::milliseconds longest{0};
  std::string_view longest_of = "defaults";
  auto consider = [&](const MapSettings& s, std::string_view who) {
    const std::chrono::milliseconds bound = queue_bound(s.no_path_retry, config.timing);
    if (bound == std::chrono::milliseconds::max()) {
      if (p.kind != BackstopPlan::Kind::Unbounded) {
        p.kind = BackstopPlan::Kind::Unbounded;
        why.text(who).text(
            " queues forever (no_path_retry queue): 0, no timeout, since the parameter is global");
      }
      return;
    }
    if (bound > longest) {
      longest = bound;
      longest_of = who;
    }
  };
  consider(config.defaults, "defaults");
  for (const MapConfig& m : config.maps) consider(m.settings, m.alias.empty() ? m.wwid : m.alias);
  if (p.kind == BackstopPlan::Kind::Unbounded) {
    p.seconds = 0;
    p.reason.assign(why.view());
    return p;
  }
  p.kind = BackstopPlan::Kind::Bounded;
  const uint64_t bound_s = static_cast<uint64_t>((longest.count() + 999) / 1000);
  const uint64_t margin = backstop_margin_seconds(config.timing);
  p.seconds = bound_s + margin;
  why.text("every map is bounded; the longest, ")
      .text(longest_of)
      .text(", queues ")
      .number(bound_s)
      .text(" s; plus ")
      .number(margin)
      .text(" s margin");
  p.reason.assign(why.view());
  return p;
}

}  // namespace pk::core
