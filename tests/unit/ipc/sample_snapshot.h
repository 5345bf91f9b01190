// A small snapshot every ipc test uses: two maps (one healthy with two
// groups, one with all paths down), one path in no map whose WWID needs
// escaping, and a status with every field set to a distinct value.
#pragma once

#include <string_view>

#include "core/snapshot.h"

namespace pk::test {

inline void add_path(core::Snapshot& s, std::string_view dev, core::DevT devt, std::string_view wwid,
                     std::string_view map, uint16_t group, uint8_t prio, core::PathState state,
                     core::DmState dm, bool admin_failed, int64_t age_ms, uint64_t checks) {
  core::PathRecord& p = s.paths[s.path_count++];
  p = core::PathRecord{};
  p.dev.assign(dev);
  p.devt = devt;
  p.wwid.assign(wwid);
  p.map.assign(map);
  p.group = group;
  p.priority = prio;
  p.state = state;
  p.dm_state = dm;
  p.admin_failed = admin_failed;
  p.state_age_ms = age_ms;
  p.checks = checks;
}

// `s` must have room for 5 paths and 2 maps.
inline void fill_sample(core::Snapshot& s) {
  using core::DmState;
  using core::PathState;
  s.generation = 42;
  s.path_count = 0;
  s.map_count = 0;

  core::MapRecord& a = s.maps[s.map_count++];
  a = core::MapRecord{};
  a.name.assign("mpatha");
  a.wwid.assign("360014051234abcd");
  a.devt = {253, 3};
  a.sectors = 8388608;  // 4 GiB
  a.settings.no_path_retry.kind = core::NoPathRetry::Kind::Queue;
  a.in_kernel = true;
  a.queueing = true;
  a.paths_total = 3;
  a.paths_active = 2;
  a.paths_usable = 2;
  a.current_group = 1;
  a.group_count = 2;
  a.path_faults = 4;
  a.dirty_cap = core::DirtyCapState::Partial;
  a.dirty_cap_note.assign("max_ratio 10; not strict");

  core::MapRecord& b = s.maps[s.map_count++];
  b = core::MapRecord{};
  b.name.assign("nbd-export1");
  b.wwid.assign("nbd-export1");
  b.devt = {253, 4};
  b.sectors = 41943040;  // 20 GiB
  b.settings.grouping = core::Grouping::Failover;
  b.settings.selector = core::Selector::RoundRobin;
  b.settings.failback = core::Failback::Delayed;
  b.settings.failback_delay = core::Seconds(30);
  b.settings.checker = core::CheckerKind::DirectIo;
  b.settings.hw_handler = core::HwHandler::None;
  b.settings.no_path_retry.kind = core::NoPathRetry::Kind::Checks;
  b.settings.no_path_retry.checks = 3;
  b.in_kernel = true;
  b.queueing = true;
  b.all_down = true;
  b.all_down_ms = 65000;
  b.paths_total = 1;
  b.current_group = 1;
  b.group_count = 1;
  b.path_faults = 1;
  b.queue_disables = 2;
  b.settings.auto_resize = core::AutoResize::Off;
  b.settings.dirty_limit = {core::DirtyLimit::Kind::Bytes, 0, 256ull << 20};
  b.kept_because.assign("it is open (mounted, or held by LVM or another device); open count 1");

  add_path(s, "nbd0", {43, 0}, "nbd-export1", "nbd-export1", 1, 1, PathState::Down, DmState::Failed, false,
           65000, 70);
  add_path(s, "sdb", {8, 16}, "360014051234abcd", "mpatha", 1, 50, PathState::Up, DmState::Active, false,
           3723000, 900);
  add_path(s, "sdc", {8, 32}, "360014051234abcd", "mpatha", 1, 50, PathState::Up, DmState::Active, false,
           59000, 901);
  add_path(s, "sdd", {8, 48}, "360014051234abcd", "mpatha", 2, 10, PathState::Down, DmState::Failed, true,
           12000, 880);
  add_path(s, "sde", {8, 64}, "ATA \"odd\" \\disk\t1", "", 0, 1, PathState::Unchecked, DmState::Unknown,
           false, 0, 0);
  s.paths[3].failures = 2;
  s.paths[3].timeouts = 1;
  // mpatha's LUN has ALUA: sdb and sdc in port group 10 (optimized, preferred), sdd in 20.
  for (uint32_t i : {1u, 2u}) {
    s.paths[i].alua.state = s.paths[i].alua.settled = core::AluaState::Optimized;
    s.paths[i].alua.group_id = 10;
    s.paths[i].alua.group_id_known = true;
    s.paths[i].alua.preferred = true;
  }
  s.paths[3].alua.state = s.paths[3].alua.settled = core::AluaState::NonOptimized;
  s.paths[3].alua.group_id = 20;
  s.paths[3].alua.group_id_known = true;
  s.paths[3].checker = core::CheckerKind::Tur;
  s.paths[0].checker = core::CheckerKind::DirectIo;

  core::DaemonStatus& st = s.status;
  st = core::DaemonStatus{};
  st.pid = 1234;
  st.ready = true;
  st.uptime_ms = 93784000;  // 1d02h
  st.memory_locked_bytes = 50331648;
  st.heap_bytes = 70000000;
  st.heap_bytes_at_ready = 69999000;
  st.minor_faults_since_ready = 3;
  st.major_faults_since_ready = 4;
  st.threads = 5;
  st.threads_at_ready = 5;
  st.threads_io_flusher = 6;
  st.paths = {5, 4096};
  st.maps = {2, 1024};
  st.clients = {1, 16};
  st.log_records = {7, 8192};
  st.checks_total = 2751;
  st.paths_refused = 8;
  st.maps_refused = 9;
  st.actions_dropped = 10;
  st.late_results = 11;
  st.dm_errors = 12;
  st.log_dropped = 13;
  st.log_write_errors = 14;
  st.log_file = {true, 21, 2, 1, 3};
  st.reconfigures = 15;
  st.requests = 16;
  st.error_replies = 17;
  st.refused_busy = 18;
  st.config_source.assign("/etc/pathkeeper/pathkeeper.yaml");
  st.last_error.assign("reload of nbd-export1: Device or resource busy");
  st.backstop.plan.kind = core::BackstopPlan::Kind::Bounded;
  st.backstop.plan.seconds = 320;
  st.backstop.plan.reason.assign("every map is bounded");
  st.backstop.written = true;
  st.bindings_file.file.assign("/var/lib/pathkeeper/bindings");
  st.bindings_file.entries = {3, 1027};
  st.bindings_file.pending = true;
  st.bindings_file.writes = 2;
  st.bindings_file.write_errors = 5;
  st.bindings_file.error.assign("rename /var/lib/pathkeeper/bindings: Read-only file system");
  st.wwids_file.file.assign("/etc/multipath/wwids");
  st.wwids_file.entries = {2, 1030};
  st.wwids_file.writes = 1;
  st.startup.failed(
      core::StartupStep::LogFile,
      "cannot allocate 16 MiB for the log file /var/log/pathkeeper/pathkeeperd.log: No space left on "
      "device");
}

}  // namespace pk::test
