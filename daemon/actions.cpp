#include "daemon/actions.h"

#include "core/text.h"
#include "daemon/log.h"

namespace pk::daemon {

using core::Action;
using core::MonoTime;

void Actions::init(const core::Limits& lim) {
  status_groups_ = std::make_unique<core::StatusGroup[]>(lim.max_groups_per_map);
  status_paths_ = std::make_unique<core::StatusPath[]>(lim.max_paths_per_map);
  table_groups_ = std::make_unique<core::TableGroup[]>(lim.max_paths_per_map);
  table_paths_ = std::make_unique<core::DevT[]>(lim.max_paths_per_map);
}

void Actions::run() {
  core::Engine& engine = ctx_.engine;
  // Carrying out an action may decide more (a check that answers at once), so
  // walk the queue by index until it is empty.
  for (size_t i = 0; i < engine.actions().size(); ++i) {
    const Action a = engine.actions()[i];
    MonoTime t = ctx_.now();
    core::Error err;
    char msg[64];
    core::FixedWriter w(msg);
    switch (a.kind) {
      case Action::Kind::StartCheck: {
        const core::Path& p = engine.paths().at(a.path);
        checkers::StartResult r = ctx_.checker(p.checker).start(a.path, t);
        switch (r.kind) {
          case checkers::StartResult::Kind::Done:
            engine.on_check_started(a.path, t);
            engine.on_check_result(a.path, r.verdict, t);
            break;
          case checkers::StartResult::Kind::InFlight:
            engine.on_check_started(a.path, t);
            break;
          case checkers::StartResult::Kind::Busy:
            engine.on_check_busy(a.path, t);
            break;
          case checkers::StartResult::Kind::Failed:
            engine.on_check_started(a.path, t);
            engine.on_check_result(a.path, core::CheckVerdict::Down, t);
            break;
        }
        continue;
      }
      case Action::Kind::ProbeTransport: {
        const core::Path& p = engine.paths().at(a.path);
        checkers::TransportState ts = ctx_.checker(p.checker).transport_state(a.path);
        if (ts != checkers::TransportState::Unknown) {
          const bool back = p.transport_down && ts == checkers::TransportState::Up;
          engine.on_transport_state(a.path, ts == checkers::TransportState::Up, t);
          if (back) {
            std::string_view map =
                p.map != core::kNoSlot ? engine.maps().at(p.map).name.view() : std::string_view();
            // The check it asked for starts at the next turn (within the timer
            // quantum): no tick of every path here for each path that returns.
            log_path(LogLevel::Info, "path", map, p.dev.view(), p.wwid.view(),
                     "%s: transport back, checking now", p.dev.c_str());
          }
        }
        continue;
      }
      case Action::Kind::MarkMarginal:
      case Action::Kind::LiftMarginal:
        log_marginal(a, t);
        continue;
      case Action::Kind::FailPath:
      case Action::Kind::ReinstatePath: {
        const core::Path& p = engine.paths().at(a.path);
        w.text(a.kind == Action::Kind::FailPath ? "fail_path " : "reinstate_path ");
        w.number(p.devt.major).ch(':').number(p.devt.minor);
        const core::Map& m = engine.maps().at(a.map);
        log_path(LogLevel::Notice, "path", m.name.view(), p.dev.view(), p.wwid.view(),
                 "%s: %s %s (checker says %.*s)", m.name.c_str(),
                 a.kind == Action::Kind::FailPath ? "failing" : "reinstating", p.dev.c_str(),
                 static_cast<int>(core::path_state_name(p.state).size()),
                 core::path_state_name(p.state).data());
        break;
      }
      case Action::Kind::QueueIfNoPath:
        w.text("queue_if_no_path");
        break;
      case Action::Kind::FailIfNoPath:
        w.text("fail_if_no_path");
        if (const core::Map& m = engine.maps().at(a.map); m.queueing_disabled_by_admin) {
          log_map(LogLevel::Notice, "map", m.name.view(), m.wwid.view(),
                  "%s: queueing disabled by an operator: I/O fails while no path is usable", m.name.c_str());
        } else if (m.lun_lost) {
          log_map(LogLevel::Error, "map", m.name.view(), m.wwid.view(),
                  "%s: every path answers that the LUN is gone (ILLEGAL REQUEST 25/00): failing I/O now "
                  "(lost_lun: fail)",
                  m.name.c_str());
        } else {
          log_map(LogLevel::Warning, "map", m.name.view(), m.wwid.view(),
                  "%s: no usable path and no_path_retry is spent: failing I/O", m.name.c_str());
        }
        break;
      case Action::Kind::SwitchGroup: {
        w.text("switch_group ").number(a.group);
        const core::Map& m = engine.maps().at(a.map);
        log_map(LogLevel::Info, "map", m.name.view(), m.wwid.view(), "%s: switching to path group %u",
                m.name.c_str(), a.group);
        break;
      }
    }
    const core::Map& m = engine.maps().at(a.map);
    if (!ctx_.dm->message(m.name.view(), w.view(), err)) {
      ctx_.dm_failed(err);
      engine.on_action_failed(a, t);
      log_error("dm", "%s: message \"%.*s\" failed: %s", m.name.c_str(), static_cast<int>(w.size()), msg,
                err.c_str());
    }
    ctx_.dirty = true;
  }
  engine.clear_actions();
}

// The mark and its lifting, with the numbers that decided them.
void Actions::log_marginal(const Action& a, MonoTime t) {
  const core::Engine& engine = ctx_.engine;
  const core::Path& p = engine.paths().at(a.path);
  const core::Map& m = engine.maps().at(a.map);
  const core::MarginalPaths& rule = m.settings.marginal;
  const auto secs = [](core::Duration d) { return static_cast<long long>(d / std::chrono::seconds(1)); };
  if (a.kind == Action::Kind::MarkMarginal) {
    log_path(LogLevel::Notice, "path", m.name.view(), p.dev.view(), p.wwid.view(),
             "%s: %s marked marginal: %u failures within %llds (more than %u); held failed until healthy for "
             "%llds",
             m.name.c_str(), p.dev.c_str(), p.failure_history.count_since(t - core::Duration(rule.within)),
             static_cast<long long>(rule.within.count()), rule.failures,
             static_cast<long long>(rule.healthy_for.count()));
    return;
  }
  const std::string_view why = core::marginal_reason_text(a.reason);
  log_path(LogLevel::Notice, "path", m.name.view(), p.dev.view(), p.wwid.view(),
           "%s: %s no longer marginal (%.*s): marked %llds ago, usable for %llds", m.name.c_str(),
           p.dev.c_str(), static_cast<int>(why.size()), why.data(), secs(t - p.marginal_since),
           core::usable(p.state) ? secs(t - p.usable_since) : 0LL);
}

void Actions::read_map_status(core::MapId id) {
  const core::Map& m = ctx_.engine.maps().at(id);
  if (!m.in_kernel) return;
  core::Error err;
  std::string_view params;
  uint32_t event_nr = 0;
  uint64_t sectors = 0;
  // Table first: it tells whether the kernel queues now (queue_if_no_path).
  if (!ctx_.dm->table(m.name.view(), params, sectors, err)) {
    ctx_.dm_failed(err);
    log_error("dm", "%s: reading the table: %s", m.name.c_str(), err.c_str());
    return;
  }
  core::MultipathTable table;
  const uint32_t max_paths = ctx_.config.limits.max_paths_per_map;
  core::ParseResult r = core::parse_multipath_table(params, {table_groups_.get(), max_paths},
                                                    {table_paths_.get(), max_paths}, table);
  if (!r) {
    ++ctx_.dm_errors;
    log_error("dm", "%s: table not understood (%s at offset %zu)", m.name.c_str(), r.what, r.offset);
    return;
  }
  const bool queueing = table.features.queue_if_no_path;
  if (!ctx_.dm->status(m.name.view(), params, event_nr, err)) {
    ctx_.dm_failed(err);
    log_error("dm", "%s: reading the status: %s", m.name.c_str(), err.c_str());
    return;
  }
  core::MultipathStatus status;
  r = core::parse_multipath_status(params, {status_groups_.get(), ctx_.config.limits.max_groups_per_map},
                                   {status_paths_.get(), max_paths}, status);
  if (!r) {
    ++ctx_.dm_errors;
    log_error("dm", "%s: status not understood (%s at offset %zu)", m.name.c_str(), r.what, r.offset);
    return;
  }
  ctx_.engine.record_event_nr(id, event_nr);
  ctx_.engine.on_status(id, status, queueing, ctx_.now());
  ctx_.dirty = true;
}

}  // namespace pk::daemon
