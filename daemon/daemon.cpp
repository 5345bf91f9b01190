#include "daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/text.h"
#include "adapters/dm_kernel.h"
#include "daemon/config/config_loader.h"
#include "daemon/log.h"
#include "ipc/service.h"

namespace pk::daemon {

using core::Action;
using core::MonoTime;

namespace {

// What an epoll event is about: the tag in its upper 32 bits.
enum class Source : uint32_t { Timer, Signal, DmEvents, Udev, Commands, Checker };

uint64_t tag(Source s, uint32_t index = 0) { return (uint64_t{static_cast<uint32_t>(s)} << 32) | index; }

bool watch(int epfd, int fd, uint64_t data, core::Error& err) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = data;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0) return true;
  err.set("epoll_ctl: %s", std::strerror(errno));
  return false;
}

core::CheckVerdict to_core(checkers::Verdict v) {
  switch (v) {
    case checkers::Verdict::Up: return core::CheckVerdict::Up;
    case checkers::Verdict::Ghost: return core::CheckVerdict::Ghost;
    case checkers::Verdict::Pending: return core::CheckVerdict::Pending;
    case checkers::Verdict::Down: return core::CheckVerdict::Down;
  }
  return core::CheckVerdict::Down;
}

// The loop wakes at most this often for timers: checks due within one quantum
// start together, which keeps the loop cheap with thousands of paths.
constexpr core::Duration kTimerQuantum = std::chrono::milliseconds(10);
// The daemon's own threads (service, log writer, log file I/O): each prefaults
// at most 256 KiB of it; sd-bus and rendering run on the service thread.
constexpr uint64_t kThreadStackBytes = 1 << 20;

}  // namespace

Daemon::Daemon(Platform platform) : platform_(std::move(platform)) {}

Daemon::~Daemon() {
  stop_ = true;
  if (service_) service_->wake();
  if (service_thread_.joinable()) service_thread_.join();
  for (int fd : {epoll_fd_, timer_fd_, signal_fd_, dev_fd_, sysfs_.root_fd()})
    if (fd >= 0) ::close(fd);
}

MonoTime Daemon::now() const {
  if (platform_.clock) return platform_.clock->now();
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return MonoTime(int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec);
}

bool Daemon::init(const core::Config& config, const Options& options, core::Error& err) {
  config_ = config;
  options_ = options;
  started_ = now();

  // Memory first, so every later allocation comes from locked, present pages.
  if (platform_.process_setup) {
    prepare_heap();
    set_thread_stack_size(kThreadStackBytes);
    if (!lock_memory(err)) {
      if (!options_.allow_unlocked_memory) return false;
      log_warning("memory", "%s; continuing unlocked as --allow-unlocked-memory asks", err.c_str());
      err.clear();
    }
    core::Error soft;
    if (!mark_io_flusher(soft)) log_warning("memory", "%s", soft.c_str());
    if (!protect_from_oom(soft)) log_warning("memory", "%s", soft.c_str());
  }

  phases_.memory = now();

  // From here on log records go through the preallocated ring to the file,
  // journald and (in the foreground) stderr; a log file on a multipath
  // device is refused here (it could deadlock the daemon).
  if (!log_start(config_.logging, config_.limits.log_records, options_.foreground, err)) return false;

  const core::Limits& lim = config_.limits;
  engine_.init(lim, config_.timing);
  path_extra_ = std::make_unique<PathExtra[]>(lim.max_paths);
  status_groups_ = std::make_unique<core::StatusGroup[]>(lim.max_groups_per_map);
  status_paths_ = std::make_unique<core::StatusPath[]>(lim.max_paths_per_map);
  table_groups_ = std::make_unique<core::TableGroup[]>(lim.max_paths_per_map);
  table_paths_ = std::make_unique<core::DevT[]>(lim.max_paths_per_map);
  group_inputs_ = std::make_unique<core::GroupInput[]>(lim.max_paths_per_map);
  path_groups_ = std::make_unique<uint16_t[]>(lim.max_paths_per_map);
  current_groups_ = std::make_unique<core::TableGroup[]>(lim.max_paths_per_map);
  current_paths_ = std::make_unique<core::DevT[]>(lim.max_paths_per_map);
  table_text_capacity_ = 256 + size_t{lim.max_paths_per_map} * 48;  // "maj:min a b " per path, generously
  table_text_ = std::make_unique<char[]>(table_text_capacity_);
  dm_map_capacity_ = size_t{lim.max_maps} + 256;  // room for other dm devices on the host
  dm_maps_ = std::make_unique<adapters::DmMapInfo[]>(dm_map_capacity_);
  completion_capacity_ = 256;
  completions_ = std::make_unique<checkers::Completion[]>(completion_capacity_);
  snapshots_.init(lim.max_paths, lim.max_maps);

  int sysfs = ::open(options_.sysfs_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  dev_fd_ = ::open(options_.dev_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sysfs < 0 || dev_fd_ < 0) {
    err.set("cannot open %s or %s: %s", options_.sysfs_root.c_str(), options_.dev_root.c_str(), std::strerror(errno));
    return false;
  }
  sysfs_ = adapters::Sysfs(sysfs);

  // Large enough to list every DM device the host may have, or to read the
  // status of a full map, whichever is more.
  dm_ = platform_.make_dm();
  if (!dm_->open(adapters::dm_buffer_bytes(static_cast<uint32_t>(dm_map_capacity_), lim.max_paths_per_map), err))
    return false;
  udev_ = platform_.make_devices();
  if (!udev_->open(err)) return false;
  if (!open_checkers(err) || !open_loop(err)) return false;

  notify_.open();
  notify_.status("discovering paths");
  adopt_existing_maps();
  if (!udev_->enumerate([this](const adapters::BlockDevice& d) { on_block_device(d); }, err)) return false;
  phases_.discovery = now();
  resolve_maps();
  engine_.maps().for_each([this](core::MapId id, const core::Map& m) {
    if (m.in_kernel) read_map_status(id);
  });
  execute_actions();
  phases_.maps = now();

  if (!commands_.open()) {
    err.set("cannot create the command channel: %s", std::strerror(errno));
    return false;
  }
  if (!watch(epoll_fd_, commands_.commands_fd(), tag(Source::Commands), err)) return false;
  service_ = std::make_unique<ipc::Service>();
  ipc::ServiceOptions service_options;
  service_options.dbus.enabled = platform_.dbus;
  service_options.dbus.log = [](int priority, const char* text) {
    log_write(static_cast<LogLevel>(priority), "dbus", "%s", text);
  };
  if (!service_->init(config_, snapshots_, commands_, err, service_options)) return false;
  service_->set_config_text(dump_config_yaml(config_));
  service_thread_ = std::thread([this] {
    prefault_stack(256 * 1024);
    service_->run(stop_);
  });

  seal();
  return true;
}

bool Daemon::open_checkers(core::Error& err) {
  for (core::CheckerKind kind : {core::CheckerKind::Tur, core::CheckerKind::DirectIo, core::CheckerKind::State,
                                 core::CheckerKind::None}) {
    auto c = platform_.make_checker(kind);
    if (!c) {
      err.set("no checker for kind %d", static_cast<int>(kind));
      return false;
    }
    checkers::CheckerOptions opts;
    opts.io_timeout = std::chrono::duration_cast<core::Millis>(config_.timing.checker_timeout);
    c->configure(opts);
    if (!c->init(config_.limits.max_paths, err)) return false;
    checkers_[static_cast<size_t>(kind)] = std::move(c);
  }
  return true;
}

bool Daemon::open_loop(core::Error& err) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);  // threads created later inherit the mask
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (epoll_fd_ < 0 || timer_fd_ < 0 || signal_fd_ < 0) {
    err.set("cannot create the event loop: %s", std::strerror(errno));
    return false;
  }
  if (!watch(epoll_fd_, timer_fd_, tag(Source::Timer), err) ||
      !watch(epoll_fd_, signal_fd_, tag(Source::Signal), err) ||
      !watch(epoll_fd_, dm_->event_fd(), tag(Source::DmEvents), err) ||
      !watch(epoll_fd_, udev_->monitor_fd(), tag(Source::Udev), err))
    return false;
  for (size_t i = 0; i < checkers_.size(); ++i) {
    int fd = checkers_[i]->completion_fd();
    if (fd >= 0 && !watch(epoll_fd_, fd, tag(Source::Checker, static_cast<uint32_t>(i)), err)) return false;
  }
  return dm_->arm_events(err);
}

void Daemon::seal() {
  prefault_stack(256 * 1024);
  if (platform_.process_setup) reserve_heap(config_.limits.heap_reserve_bytes);
  publish_snapshot(true);
  at_ready_ = measure_self();
  ready_ = true;
  char text[160];
  std::snprintf(text, sizeof text, "checking %u paths in %u maps", engine_.paths().used(), engine_.maps().used());
  notify_.ready(text);
  log_info("daemon", "ready: %s; %u threads, %llu KiB locked", text, at_ready_.threads,
           static_cast<unsigned long long>(at_ready_.locked_bytes / 1024));
  auto ms = [](core::Duration d) { return static_cast<long long>(d.count() / 1000000); };
  const core::MonoTime t = now();
  log_info("daemon", "ready %lld ms after start: memory %lld ms, discovery %lld ms, maps %lld ms, service %lld ms",
           ms(t - started_), ms(phases_.memory - started_), ms(phases_.discovery - phases_.memory),
           ms(phases_.maps - phases_.discovery), ms(t - phases_.maps));
  publish_snapshot(true);
}

int Daemon::run() {
  arm_timer();
  while (running_) {
    if (!step(-1)) return 1;
  }
  log_info("daemon", "stopping; maps are left as they are (queueing maps keep queueing)");
  stop_ = true;
  service_->wake();
  if (service_thread_.joinable()) service_thread_.join();
  log_stop();
  return 0;
}

bool Daemon::step(int timeout_ms) {
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return true;
    log_error("daemon", "epoll_wait: %s", std::strerror(errno));
    return false;
  }
  for (int i = 0; i < n; ++i) {
    auto source = static_cast<Source>(events[i].data.u64 >> 32);
    auto index = static_cast<uint32_t>(events[i].data.u64);
    switch (source) {
      case Source::Timer: on_timer(); break;
      case Source::Signal: on_signal(); break;
      case Source::DmEvents: on_dm_event(); break;
      case Source::Udev: on_udev(); break;
      case Source::Commands: on_commands(); break;
      case Source::Checker: on_checker(*checkers_[index]); break;
    }
  }
  engine_.tick(now());
  execute_actions();
  publish_snapshot(false);
  arm_timer();
  return true;
}

void Daemon::arm_timer() {
  MonoTime next = engine_.next_wakeup();
  MonoTime t = now();
  // Readers see a change within kPublishInterval, and counters every second.
  next = std::min(next, last_publish_ + (dirty_ ? kPublishInterval : std::chrono::seconds(1)));
  if (notify_.watchdog_usec())
    next = std::min(next, last_watchdog_ + std::chrono::microseconds(notify_.watchdog_usec() / 2));
  next = std::max(next, t + kTimerQuantum);
  // Round up to the quantum so that checks due close together run together.
  int64_t q = kTimerQuantum.count();
  int64_t ns = (next.count() + q - 1) / q * q;
  // Unchanged and still ahead (once it fires, the next deadline is later):
  // one system call less per turn.
  if (ns == timer_armed_ns_) return;
  timer_armed_ns_ = ns;
  itimerspec spec{};
  spec.it_value.tv_sec = ns / 1000000000;
  spec.it_value.tv_nsec = ns % 1000000000;
  ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void Daemon::on_timer() {
  uint64_t expirations;
  ssize_t n = ::read(timer_fd_, &expirations, sizeof expirations);
  (void)n;
  MonoTime t = now();
  if (notify_.watchdog_usec() && t - last_watchdog_ >= std::chrono::microseconds(notify_.watchdog_usec() / 2)) {
    notify_.watchdog();  // from the loop itself: a stalled loop stops pinging
    last_watchdog_ = t;
  }
}

void Daemon::on_signal() {
  signalfd_siginfo si{};
  while (::read(signal_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo == SIGHUP) {
      core::Error err;
      if (!reconfigure(err)) log_error("config", "reconfigure refused, the running configuration stays: %s", err.c_str());
    } else {
      running_ = false;
    }
  }
}

// ------------------------------------------------------------- data plane

void Daemon::execute_actions() {
  // Carrying out an action may decide more (a check that answers at once), so
  // walk the queue by index until it is empty.
  for (size_t i = 0; i < engine_.actions().size(); ++i) {
    const Action a = engine_.actions()[i];
    MonoTime t = now();
    core::Error err;
    char msg[64];
    core::FixedWriter w(msg);
    switch (a.kind) {
      case Action::Kind::StartCheck: {
        const core::Path& p = engine_.paths().at(a.path);
        checkers::Checker& c = *checkers_[static_cast<size_t>(p.checker)];
        checkers::StartResult r = c.start(a.path, t);
        switch (r.kind) {
          case checkers::StartResult::Kind::Done:
            engine_.on_check_started(a.path, t);
            engine_.on_check_result(a.path, to_core(r.verdict), t);
            break;
          case checkers::StartResult::Kind::InFlight: engine_.on_check_started(a.path, t); break;
          case checkers::StartResult::Kind::Busy: engine_.on_check_busy(a.path, t); break;
          case checkers::StartResult::Kind::Failed:
            engine_.on_check_started(a.path, t);
            engine_.on_check_result(a.path, core::CheckVerdict::Down, t);
            break;
        }
        continue;
      }
      case Action::Kind::ProbeTransport: {
        const core::Path& p = engine_.paths().at(a.path);
        checkers::TransportState ts = checkers_[static_cast<size_t>(p.checker)]->transport_state(a.path);
        if (ts != checkers::TransportState::Unknown) {
          const bool back = p.transport_down && ts == checkers::TransportState::Up;
          engine_.on_transport_state(a.path, ts == checkers::TransportState::Up, t);
          if (back) {
            std::string_view map = p.map != core::kNoSlot ? engine_.maps().at(p.map).name.view() : std::string_view();
            // The check it asked for starts at the next turn (within kTimerQuantum):
            // no tick of every path here for each path that returns.
            log_path(LogLevel::Info, "path", map, p.dev.view(), p.wwid.view(), "%s: transport back, checking now",
                     p.dev.c_str());
          }
        }
        continue;
      }
      case Action::Kind::FailPath:
      case Action::Kind::ReinstatePath: {
        const core::Path& p = engine_.paths().at(a.path);
        w.text(a.kind == Action::Kind::FailPath ? "fail_path " : "reinstate_path ");
        w.number(p.devt.major).ch(':').number(p.devt.minor);
        const core::Map& m = engine_.maps().at(a.map);
        log_path(LogLevel::Notice, "path", m.name.view(), p.dev.view(), p.wwid.view(), "%s: %s %s (checker says %.*s)",
                 m.name.c_str(), a.kind == Action::Kind::FailPath ? "failing" : "reinstating", p.dev.c_str(),
                 static_cast<int>(core::path_state_name(p.state).size()), core::path_state_name(p.state).data());
        break;
      }
      case Action::Kind::QueueIfNoPath: w.text("queue_if_no_path"); break;
      case Action::Kind::FailIfNoPath:
        w.text("fail_if_no_path");
        if (const core::Map& m = engine_.maps().at(a.map); m.queueing_disabled_by_admin) {
          log_map(LogLevel::Notice, "map", m.name.view(), m.wwid.view(),
                  "%s: queueing disabled by an operator: I/O fails while no path is usable", m.name.c_str());
        } else {
          log_map(LogLevel::Warning, "map", m.name.view(), m.wwid.view(),
                  "%s: no usable path and no_path_retry is spent: failing I/O", m.name.c_str());
        }
        break;
      case Action::Kind::SwitchGroup: w.text("switch_group ").number(a.group); break;
    }
    const core::Map& m = engine_.maps().at(a.map);
    if (!dm_->message(m.name.view(), w.view(), err)) {
      ++dm_errors_;
      engine_.on_action_failed(a, t);
      log_error("dm", "%s: message \"%.*s\" failed: %s", m.name.c_str(), static_cast<int>(w.size()), msg,
                err.c_str());
    }
    dirty_ = true;
  }
  engine_.clear_actions();
}

void Daemon::on_checker(checkers::Checker& c) {
  size_t n;
  do {
    n = c.reap({completions_.get(), completion_capacity_});
    MonoTime t = now();
    for (size_t i = 0; i < n; ++i) engine_.on_check_result(completions_[i].path, to_core(completions_[i].verdict), t);
    execute_actions();
  } while (n == completion_capacity_);
}

void Daemon::on_dm_event() {
  core::Error err;
  if (!dm_->arm_events(err)) log_error("dm", "re-arming events: %s", err.c_str());
  size_t count = 0;
  if (!dm_->list({dm_maps_.get(), dm_map_capacity_}, count, err)) {
    log_error("dm", "listing maps: %s", err.c_str());
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    core::MapId id = engine_.find_map_by_name(dm_maps_[i].name);
    if (id == core::kNoSlot) continue;
    if (engine_.maps().at(id).event_nr != dm_maps_[i].event_nr) read_map_status(id);
  }
}

void Daemon::read_map_status(core::MapId id) {
  const core::Map& m = engine_.maps().at(id);
  core::Error err;
  std::string_view params;
  uint32_t event_nr = 0;
  uint64_t sectors = 0;
  // Table first: it tells whether the kernel queues now (queue_if_no_path).
  if (!dm_->table(m.name.view(), params, sectors, err)) {
    ++dm_errors_;
    log_error("dm", "%s: reading the table: %s", m.name.c_str(), err.c_str());
    return;
  }
  core::MultipathTable table;
  const uint32_t max_paths = config_.limits.max_paths_per_map;
  core::ParseResult r = core::parse_multipath_table(params, {table_groups_.get(), max_paths},
                                                    {table_paths_.get(), max_paths}, table);
  if (!r) {
    ++dm_errors_;
    log_error("dm", "%s: table not understood (%s at offset %zu)", m.name.c_str(), r.what, r.offset);
    return;
  }
  const bool queueing = table.features.queue_if_no_path;
  if (!dm_->status(m.name.view(), params, event_nr, err)) {
    ++dm_errors_;
    log_error("dm", "%s: reading the status: %s", m.name.c_str(), err.c_str());
    return;
  }
  core::MultipathStatus status;
  r = core::parse_multipath_status(params, {status_groups_.get(), config_.limits.max_groups_per_map},
                                   {status_paths_.get(), max_paths}, status);
  if (!r) {
    ++dm_errors_;
    log_error("dm", "%s: status not understood (%s at offset %zu)", m.name.c_str(), r.what, r.offset);
    return;
  }
  engine_.record_event_nr(id, event_nr);
  engine_.on_status(id, status, queueing, now());
  dirty_ = true;
}

void Daemon::on_udev() {
  udev_->receive([this](const adapters::BlockDevice& d) { on_block_device(d); },
                 [this](const adapters::TransportEvent& e) {
                   if (e.devpath.empty()) {
                     // The uevent socket overflowed: what was lost is found by looking again.
                     core::Error err;
                     log_warning("udev", "uevents were lost; enumerating devices again");
                     udev_->enumerate([this](const adapters::BlockDevice& d) { on_block_device(d); }, err);
                   }
                   // A session changed: every iSCSI path may have; checking is cheap.
                   MonoTime t = now();
                   engine_.paths().for_each([&](core::PathId id, const core::Path&) {
                     if (path_extra_[id].transport == checkers::Transport::Iscsi) engine_.request_check(id, t);
                   });
                 });
}

void Daemon::on_commands() {
  ipc::Command c;
  while (commands_.pop(c)) {
    ipc::CommandResult r;
    r.token = c.token;
    MonoTime t = now();
    char text[512];
    core::FixedWriter w(text);
    switch (c.kind) {
      case ipc::Command::Kind::FailPath:
      case ipc::Command::Kind::ReinstatePath: {
        core::PathId p = engine_.find_path(c.target.view());
        bool fail = c.kind == ipc::Command::Kind::FailPath;
        r.ok = p != core::kNoSlot && (fail ? engine_.admin_fail(p, t) : engine_.admin_reinstate(p, t));
        if (r.ok) {
          w.text(fail ? "failed " : "reinstated ").text(c.target.view());
          log_notice("admin", "path %s %s by an operator", c.target.c_str(), fail ? "failed" : "reinstated");
        } else {
          w.text("no such path: ").text(c.target.view());
        }
        break;
      }
      case ipc::Command::Kind::SwitchGroup: {
        core::MapId m = engine_.find_map_by_name(c.target.view());
        core::Error err;
        char msg[32];
        core::FixedWriter mw(msg);
        mw.text("switch_group ").number(c.group);
        if (m == core::kNoSlot) {
          w.text("no such map: ").text(c.target.view());
        } else if (c.group == 0 || c.group > engine_.maps().at(m).group_count) {
          w.text("map ").text(c.target.view()).text(" has no group ").number(c.group);
        } else if (!dm_->message(c.target.view(), mw.view(), err)) {
          w.text("switch_group failed: ").text(err.view());
        } else {
          r.ok = true;
          w.text("switched ").text(c.target.view()).text(" to group ").number(c.group);
        }
        break;
      }
      case ipc::Command::Kind::DisableQueueing:
      case ipc::Command::Kind::RestoreQueueing: {
        bool disable = c.kind == ipc::Command::Kind::DisableQueueing;
        unsigned changed = 0;
        engine_.maps().for_each([&](core::MapId id, const core::Map& m) {
          if (c.all || m.name == c.target.view()) changed += engine_.set_queueing_disabled(id, disable, t) ? 1 : 0;
        });
        r.ok = changed > 0;
        if (r.ok) {
          w.text(disable ? "queueing disabled on " : "queueing restored on ").number(changed).text(" map(s)");
        } else {
          w.text("no such map: ").text(c.target.view());
        }
        break;
      }
      case ipc::Command::Kind::Reconfigure: {
        core::Error err;
        r.ok = reconfigure(err);
        if (r.ok) {
          w.text("configuration reloaded");
        } else {
          w.text("configuration refused, the running one stays: ").text(err.view());
        }
        break;
      }
    }
    r.message.assign(w.view());
    execute_actions();
    commands_.reply(r);
    dirty_ = true;
  }
}

}  // namespace pk::daemon
