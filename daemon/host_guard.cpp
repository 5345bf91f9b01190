#include "daemon/host_guard.h"

#include "adapters/host_knobs.h"
#include "core/text.h"
#include "daemon/log.h"

namespace pk::daemon {

namespace {

bool has_usable_path(const core::Engine& engine, core::MapId id) {
  for (core::PathId pid : engine.members(id)) {
    const core::Path& p = engine.paths().at(pid);
    if (core::usable(p.state) && !p.admin_failed) return true;
  }
  return false;
}

bool waits(core::DirtyCapState s) {
  return s == core::DirtyCapState::Pending || s == core::DirtyCapState::Deferred;
}

}  // namespace

void HostGuard::apply_caps() {
  const core::Engine& engine = ctx_.engine;
  engine.maps().for_each([&](core::MapId id, const core::Map& m) {
    if (!waits(m.dirty_cap) || !m.in_kernel || m.left_alone || !m.devt.valid()) return;
    apply_cap(id);
  });
}

void HostGuard::apply_cap(core::MapId id) {
  core::Engine& engine = ctx_.engine;
  const core::Map& m = engine.maps().at(id);
  const bool outage = m.all_down || !has_usable_path(engine, id);
  if (outage && m.dirty_cap == core::DirtyCapState::Deferred)
    return;  // said once; no sysfs until a path is back
  const core::BdiKnobs knobs = outage ? core::BdiKnobs{} : adapters::bdi_knobs(ctx_.sysfs, m.devt);
  const core::DirtyCapPlan plan = core::plan_dirty_cap(m.settings.dirty_limit, knobs, outage);
  char text[200];
  core::FixedWriter note(text);
  core::DirtyCapState state = core::DirtyCapState::Off;
  switch (plan.kind) {
    case core::DirtyCapPlan::Kind::Off:
      state = core::DirtyCapState::Off;
      note.text(plan.reason);
      break;
    case core::DirtyCapPlan::Kind::Deferred:
      state = core::DirtyCapState::Deferred;
      note.text(plan.reason);
      break;
    case core::DirtyCapPlan::Kind::Unsupported:
      state = core::DirtyCapState::Unsupported;
      note.text(plan.reason);
      break;
    case core::DirtyCapPlan::Kind::Write: {
      uint8_t written = 0;
      core::Error err;
      const bool ok = adapters::write_dirty_cap(ctx_.sysfs, m.devt, plan, written, err);
      for (uint8_t i = 0; i < written; ++i) {
        if (i) note.text(", ");
        note.text(plan.writes[i].knob).ch(' ').number(plan.writes[i].value);
      }
      if (!ok) {
        state = core::DirtyCapState::Failed;
        note.text(written ? "; " : "").text(err.view());
      } else if (plan.strict) {
        state = core::DirtyCapState::Applied;
      } else {
        state = core::DirtyCapState::Partial;
        note.text("; ").text(plan.reason);
      }
      break;
    }
  }
  const LogLevel level = state == core::DirtyCapState::Failed ? LogLevel::Warning : LogLevel::Info;
  log_map(level, "map", m.name.view(), m.wwid.view(), "%s: dirty cap %.*s: %.*s", m.name.c_str(),
          static_cast<int>(core::dirty_cap_state_name(state).size()),
          core::dirty_cap_state_name(state).data(), static_cast<int>(note.size()), note.view().data());
  engine.set_map_dirty_cap(id, state, note.view());
  ctx_.dirty = true;
  // The first map loads dm_multipath, and with it the backstop's parameter.
  if (ctx_.backstop.plan.kind == core::BackstopPlan::Kind::Unavailable) apply_backstop();
}

void HostGuard::apply_backstop() {
  core::BackstopStatus& b = ctx_.backstop;
  const core::BackstopPlan plan = core::plan_backstop(ctx_.config, adapters::backstop_available(ctx_.sysfs));
  const bool changed = plan.kind != b.plan.kind || plan.seconds != b.plan.seconds || !b.written;
  b.plan = plan;
  if (plan.kind == core::BackstopPlan::Kind::Unavailable) {
    b.written = false;
    return;
  }
  uint64_t now = 0;
  if (adapters::read_backstop(ctx_.sysfs, now) && now == plan.seconds) {
    b.written = true;
    b.error.clear();
  } else {
    core::Error err;
    b.written = adapters::write_backstop(ctx_.sysfs, plan.seconds, err);
    b.error.assign(err.view());
    if (!b.written) log_warning("host", "dm_multipath queue_if_no_path_timeout_secs: %s", err.c_str());
  }
  if (changed && b.written)
    log_notice("host", "dm_multipath queue_if_no_path_timeout_secs %llu: %.*s",
               static_cast<unsigned long long>(plan.seconds), static_cast<int>(plan.reason.view().size()),
               plan.reason.view().data());
  ctx_.dirty = true;
}

}  // namespace pk::daemon
