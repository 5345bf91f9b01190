#include "daemon/commands.h"

#include "core/text.h"
#include "daemon/log.h"

namespace pk::daemon {

void Commands::handle() {
  ipc::Command c;
  while (channel_.pop(c)) {
    ipc::CommandResult r = run(c);
    actions_.run();
    channel_.reply(r);
    ctx_.dirty = true;
  }
}

ipc::CommandResult Commands::run(const ipc::Command& c) {
  core::Engine& engine = ctx_.engine;
  ipc::CommandResult r;
  r.token = c.token;
  core::MonoTime t = ctx_.now();
  char text[512];
  core::FixedWriter w(text);
  switch (c.kind) {
    case ipc::Command::Kind::FailPath:
    case ipc::Command::Kind::ReinstatePath: {
      core::PathId p = engine.find_path(c.target.view());
      bool fail = c.kind == ipc::Command::Kind::FailPath;
      r.ok = p != core::kNoSlot && (fail ? engine.admin_fail(p, t) : engine.admin_reinstate(p, t));
      if (r.ok) {
        w.text(fail ? "failed " : "reinstated ").text(c.target.view());
        log_notice("admin", "path %s %s by an operator", c.target.c_str(), fail ? "failed" : "reinstated");
      } else {
        w.text("no such path: ").text(c.target.view());
      }
      break;
    }
    case ipc::Command::Kind::ClearMarginal: {
      core::PathId p = engine.find_path(c.target.view());
      if (p == core::kNoSlot) {
        w.text("no such path: ").text(c.target.view());
        break;
      }
      const bool was = engine.paths().at(p).marginal;
      r.ok = engine.admin_clear_marginal(p, t);
      w.text(was ? "cleared the marginal mark of " : "forgot the failures of ").text(c.target.view());
      if (!was) w.text(" (it was not marginal)");
      log_notice("admin", "path %s: marginal mark and failure history cleared by an operator%s",
                 c.target.c_str(), was ? "" : " (it was not marginal)");
      break;
    }
    case ipc::Command::Kind::SwitchGroup: {
      core::MapId m = engine.find_map_by_name(c.target.view());
      if (m == core::kNoSlot) {
        w.text("no such map: ").text(c.target.view());
      } else if (!engine.admin_switch_group(m, c.group)) {
        w.text("map ").text(c.target.view()).text(" has no group ").number(c.group);
      } else {
        r.ok = true;
        w.text("switched ").text(c.target.view()).text(" to group ").number(c.group);
        log_notice("admin", "map %s switched to group %u by an operator", c.target.c_str(), c.group);
      }
      break;
    }
    case ipc::Command::Kind::DisableQueueing:
    case ipc::Command::Kind::RestoreQueueing: {
      bool disable = c.kind == ipc::Command::Kind::DisableQueueing;
      unsigned changed = 0;
      engine.maps().for_each([&](core::MapId id, const core::Map& m) {
        if (c.all || m.name == c.target.view())
          changed += engine.set_queueing_disabled(id, disable, t) ? 1 : 0;
      });
      r.ok = changed > 0;
      if (r.ok) {
        w.text(disable ? "queueing disabled on " : "queueing restored on ").number(changed).text(" map(s)");
      } else {
        w.text("no such map: ").text(c.target.view());
      }
      break;
    }
    case ipc::Command::Kind::RemoveMap:
      r.ok = c.all ? topology_.remove_all_maps(w) : topology_.remove_map_by_operator(c.target.view(), w);
      break;
    case ipc::Command::Kind::RemovePath:
      r.ok = topology_.remove_path_by_operator(c.target.view(), w);
      break;
    case ipc::Command::Kind::AddPath:
      r.ok = topology_.add_path_by_operator(c.target.view(), w);
      break;
    case ipc::Command::Kind::ResizeMap:
      r.ok = topology_.resize_by_operator(c.target.view(), w);
      break;
    case ipc::Command::Kind::Reconfigure: {
      core::Error err;
      r.ok = reconfigure_ && reconfigure_(err);
      if (r.ok) {
        w.text("configuration reloaded");
      } else {
        w.text("configuration refused, the running one stays: ").text(err.view());
      }
      break;
    }
  }
  r.message.assign(w.view());
  return r;
}

}  // namespace pk::daemon
