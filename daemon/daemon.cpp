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
#include <system_error>
#include <tuple>

#include "adapters/dm_kernel.h"
#include "core/text.h"
#include "daemon/config/config_loader.h"
#include "daemon/log.h"
#include "ipc/service.h"

namespace pk::daemon {

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

// What the loop reads from its signalfd: stop, stop, reconfigure.
sigset_t loop_signals() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  return mask;
}

// The loop wakes at most this often for timers: checks due within one quantum
// start together, which keeps the loop cheap with thousands of paths.
constexpr core::Duration kTimerQuantum = std::chrono::milliseconds(10);
// The daemon's own threads (service, log writer, log file I/O): each prefaults
// at most 256 KiB of it; sd-bus and rendering run on the service thread.
constexpr uint64_t kThreadStackBytes = 1 << 20;

}  // namespace

core::MonoTime Context::now() const {
  if (platform.clock) return platform.clock->now();
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return MonoTime(int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec);
}

Daemon::Daemon(Platform platform) { ctx_.platform = std::move(platform); }

Daemon::~Daemon() {
  stop_ = true;
  if (service_) service_->wake();
  if (service_thread_.joinable()) service_thread_.join();
  for (int fd : {epoll_fd_, timer_fd_, signal_fd_, ctx_.dev_fd, ctx_.sysfs.root_fd()})
    if (fd >= 0) ::close(fd);
}

bool Daemon::init(const core::Config& config, const Options& options, core::Error& err) {
  // Before any thread exists (the log's come next): every thread inherits the
  // mask, so SIGTERM and SIGHUP reach the loop's signalfd and never a thread
  // whose default action would end the process.
  sigset_t mask = loop_signals();
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  ctx_.config = config;
  ctx_.options = options;
  started_ = ctx_.now();

  // Memory first, so every later allocation comes from locked, present pages.
  // Each of these protects recovery under memory pressure; without one the
  // daemon still builds and checks maps, so it starts and says so.
  core::Error why;
  if (ctx_.platform.process_setup) {
    prepare_heap();
    set_thread_stack_size(kThreadStackBytes);
  }
  std::function<bool(core::Error&)> lock = ctx_.platform.lock_memory;
  if (!lock && ctx_.platform.process_setup) lock = lock_memory;
  if (lock && !lock(why)) degrade(core::StartupStep::MemoryLock, why);
  if (ctx_.platform.process_setup) {
    if (!mark_io_flusher(why)) degrade(core::StartupStep::IoFlusher, why);
    if (!protect_from_oom(why)) degrade(core::StartupStep::OomProtection, why);
  }

  phases_.memory = ctx_.now();

  // From here on log records go through the preallocated ring to the file,
  // journald and (in the foreground) stderr. A log file that cannot be had
  // (a full or read-only disk, a file on a multipath map, which could
  // deadlock the daemon) is left out.
  if (!log_start(ctx_.config.logging, ctx_.config.limits.log_records, ctx_.options.foreground, err))
    return stop(core::StartupStep::EventLoop);
  if (!log_degraded().file.empty()) degrade(core::StartupStep::LogFile, log_degraded().file);
  if (!log_degraded().writer.empty()) degrade(core::StartupStep::LogWriter, log_degraded().writer);

  const core::Limits& lim = ctx_.config.limits;
  ctx_.engine.init(lim, ctx_.config.timing);
  actions_.init(lim);
  if (!topology_.init(err)) return stop(core::StartupStep::DeviceMapper);
  // Names first (adoption and discovery name maps), and the writer thread of
  // their files, like every thread, before READY.
  ctx_.names.open(ctx_.config, ctx_.options.name_files);
  if (!ctx_.names.friendly_refused().empty()) {
    degrade(core::StartupStep::BindingsFile, ctx_.names.friendly_refused());
    ctx_.config.user_friendly_names = false;  // what the planner reads
  }
  if (!ctx_.names.start(why)) degrade(core::StartupStep::NameFilesWriter, why);
  publisher_.init(lim, started_);
  completion_capacity_ = 256;
  completions_ = std::make_unique<checkers::Completion[]>(completion_capacity_);

  int sysfs = ::open(ctx_.options.sysfs_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ctx_.dev_fd = ::open(ctx_.options.dev_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sysfs < 0 || ctx_.dev_fd < 0) {
    err.set("cannot open %s or %s: %s", ctx_.options.sysfs_root.c_str(), ctx_.options.dev_root.c_str(),
            std::strerror(errno));
    if (sysfs >= 0) ::close(sysfs);
    return stop(core::StartupStep::SystemTrees);
  }
  ctx_.sysfs = adapters::Sysfs(sysfs);
  if (!ctx_.alua.init(lim.max_paths, sysfs, err)) return stop(core::StartupStep::SystemTrees);
  if (!ctx_.identity.init(lim.max_paths, sysfs, err)) return stop(core::StartupStep::SystemTrees);

  // Large enough to list every DM device the host may have, or to read the
  // status of a full map, whichever is more.
  ctx_.dm = ctx_.platform.make_dm();
  if (!ctx_.dm->open(adapters::dm_buffer_bytes(lim.max_maps + 256, lim.max_paths_per_map), err))
    return stop(core::StartupStep::DeviceMapper);
  ctx_.udev = ctx_.platform.make_devices();
  if (!ctx_.udev->open(err)) return stop(core::StartupStep::DeviceDiscovery);
  if (!open_checkers(err)) return stop(core::StartupStep::Checkers);
  if (!open_loop(err)) return stop(core::StartupStep::EventLoop);

  ctx_.notify.open();
  ctx_.notify.status("discovering paths");
  topology_.adopt_existing_maps();
  if (!ctx_.udev->enumerate([this](const adapters::BlockDevice& d) { topology_.on_block_device(d); }, err))
    return stop(core::StartupStep::DeviceDiscovery);
  phases_.discovery = ctx_.now();
  topology_.resolve_maps();
  ctx_.engine.maps().for_each([this](core::MapId id, const core::Map& m) {
    if (m.in_kernel) actions_.read_map_status(id);
  });
  actions_.run();
  host_guard_.apply_backstop();
  phases_.maps = ctx_.now();

  if (!commands_.open()) {
    err.set("cannot create the command channel: %s", std::strerror(errno));
    return stop(core::StartupStep::EventLoop);
  }
  if (!watch(epoll_fd_, commands_.commands_fd(), tag(Source::Commands), err))
    return stop(core::StartupStep::EventLoop);
  command_handler_.set_reconfigure([this](core::Error& e) { return reconfigure(e); });
  service_ = std::make_unique<ipc::Service>();
  ipc::ServiceOptions service_options;
  service_options.dbus.enabled = ctx_.platform.dbus;
  service_options.dbus.log = [](int priority, const char* text) {
    log_write(static_cast<LogLevel>(priority), "dbus", "%s", text);
  };
  if (!service_->init(ctx_.config, publisher_.exchange(), commands_, err, service_options))
    return stop(service_->problems().another_daemon ? core::StartupStep::AnotherDaemon
                                                    : core::StartupStep::EventLoop);
  const ipc::Service::Problems& service_problems = service_->problems();
  if (!service_problems.socket.empty()) degrade(core::StartupStep::ControlSocket, service_problems.socket);
  if (!service_problems.group.empty()) degrade(core::StartupStep::ControlGroup, service_problems.group);
  service_->set_config_text(dump_config_yaml(ctx_.config));
  publisher_.set_service(service_.get());
  try {
    service_thread_ = std::thread([this] {
      prefault_stack(256 * 1024);
      service_->run(stop_);
    });
  } catch (const std::system_error& e) {
    // Maps are built and checked without it; only operators lose their way in.
    why.set("cannot start the service thread (control socket and D-Bus): %s", e.what());
    degrade(core::StartupStep::ControlSocket, why);
  }

  seal();
  return true;
}

void Daemon::degrade(core::StartupStep step, const core::Error& why) {
  const core::StartupRule& rule = core::startup_rule(step);
  if (ctx_.startup.failed(step, why.view()) == core::StartupVerdict::Degrade)
    log_warning("daemon", "starting without %s: %s; %s", rule.what, why.c_str(), rule.effect);
}

bool Daemon::stop(core::StartupStep step) {
  stopped_at_ = &core::startup_rule(step);
  return false;
}

bool Daemon::open_checkers(core::Error& err) {
  for (core::CheckerKind kind : {core::CheckerKind::Tur, core::CheckerKind::DirectIo,
                                 core::CheckerKind::State, core::CheckerKind::None}) {
    auto c = ctx_.platform.make_checker(kind);
    if (!c) {
      err.set("no checker for kind %d", static_cast<int>(kind));
      return false;
    }
    checkers::CheckerOptions opts;
    opts.io_timeout = std::chrono::duration_cast<core::Millis>(ctx_.config.timing.checker_timeout);
    c->configure(opts);
    if (!c->init(ctx_.config.limits.max_paths, err)) return false;
    ctx_.checkers[static_cast<size_t>(kind)] = std::move(c);
  }
  return true;
}

bool Daemon::open_loop(core::Error& err) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  sigset_t mask = loop_signals();  // blocked since init began
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (epoll_fd_ < 0 || timer_fd_ < 0 || signal_fd_ < 0) {
    err.set("cannot create the event loop: %s", std::strerror(errno));
    return false;
  }
  if (!watch(epoll_fd_, timer_fd_, tag(Source::Timer), err) ||
      !watch(epoll_fd_, signal_fd_, tag(Source::Signal), err) ||
      !watch(epoll_fd_, ctx_.dm->event_fd(), tag(Source::DmEvents), err) ||
      !watch(epoll_fd_, ctx_.udev->monitor_fd(), tag(Source::Udev), err))
    return false;
  for (size_t i = 0; i < ctx_.checkers.size(); ++i) {
    int fd = ctx_.checkers[i]->completion_fd();
    if (fd >= 0 && !watch(epoll_fd_, fd, tag(Source::Checker, static_cast<uint32_t>(i)), err)) return false;
  }
  return true;  // the DM event fd is armed by the topology's watcher (adopt_existing_maps)
}

void Daemon::seal() {
  prefault_stack(256 * 1024);
  if (ctx_.platform.process_setup && !reserve_heap(ctx_.config.limits.heap_reserve_bytes)) {
    core::Error why;
    why.set("cannot allocate the heap reserve of %llu KiB",
            static_cast<unsigned long long>(ctx_.config.limits.heap_reserve_bytes / 1024));
    degrade(core::StartupStep::HeapReserve, why);
  }
  publisher_.publish(true);
  publisher_.seal();
  ctx_.ready = true;
  const SelfMeasure& at_ready = publisher_.measured_at_ready();
  char text[1024];
  core::FixedWriter w(std::span<char>(text, sizeof text - 1));
  w.text("checking ").number(ctx_.engine.paths().used()).text(" paths in ").number(ctx_.engine.maps().used());
  w.text(" maps");
  if (ctx_.startup.degraded()) {
    w.text("; ");
    ctx_.startup.describe(w);
  }
  text[w.size()] = '\0';
  ctx_.notify.ready(w.view());
  log_info("daemon", "ready: checking %u paths in %u maps; %u threads, %llu KiB locked",
           ctx_.engine.paths().used(), ctx_.engine.maps().used(), at_ready.threads,
           static_cast<unsigned long long>(at_ready.locked_bytes / 1024));
  // Said again at READY, where an operator looks first.
  for (size_t i = 0; i < ctx_.startup.size(); ++i) {
    const core::Degradation& d = ctx_.startup[i];
    const core::StartupRule& rule = core::startup_rule(d.step);
    log_warning("daemon", "ready without %s: %s; %s", rule.what, d.reason.c_str(), rule.effect);
  }
  auto ms = [](core::Duration d) { return static_cast<long long>(d.count() / 1000000); };
  const core::MonoTime t = ctx_.now();
  log_info("daemon",
           "ready %lld ms after start: memory %lld ms, discovery %lld ms, maps %lld ms, service %lld ms",
           ms(t - started_), ms(phases_.memory - started_), ms(phases_.discovery - phases_.memory),
           ms(phases_.maps - phases_.discovery), ms(t - phases_.maps));
  publisher_.publish(true);
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
  ctx_.names.stop();
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
      case Source::Timer:
        on_timer();
        break;
      case Source::Signal:
        on_signal();
        break;
      case Source::DmEvents:
        topology_.on_dm_event();
        break;
      case Source::Udev:
        on_udev();
        break;
      case Source::Commands:
        command_handler_.handle();
        break;
      case Source::Checker:
        on_checker(*ctx_.checkers[index]);
        break;
    }
  }
  ctx_.engine.tick(ctx_.now());
  actions_.run();
  topology_.release_held();
  topology_.replan_changed();
  topology_.retry_kept_maps();
  host_guard_.apply_caps();
  actions_.run();
  publisher_.publish(false);
  arm_timer();
  return true;
}

void Daemon::arm_timer() {
  MonoTime next = std::min(ctx_.engine.next_wakeup(), topology_.next_wakeup());
  MonoTime t = ctx_.now();
  // Readers see a change within the publisher's interval, and counters every second.
  next = std::min(next, publisher_.next_due());
  const uint64_t wd = ctx_.notify.watchdog_usec();
  if (wd) next = std::min(next, last_watchdog_ + std::chrono::microseconds(wd / 2));
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
  MonoTime t = ctx_.now();
  const uint64_t wd = ctx_.notify.watchdog_usec();
  if (wd && t - last_watchdog_ >= std::chrono::microseconds(wd / 2)) {
    ctx_.notify.watchdog();  // from the loop itself: a stalled loop stops pinging
    last_watchdog_ = t;
  }
}

void Daemon::on_signal() {
  signalfd_siginfo si{};
  while (::read(signal_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo == SIGHUP) {
      core::Error err;
      if (!reconfigure(err))
        log_error("config", "reconfigure refused, the running configuration stays: %s", err.c_str());
    } else {
      running_ = false;
    }
  }
}

// Check results: the engine decides; the ALUA state the answers carry may
// reorder a map (replanned before the turn ends).
void Daemon::on_checker(checkers::Checker& c) {
  size_t n;
  do {
    n = c.reap({completions_.get(), completion_capacity_});
    MonoTime t = ctx_.now();
    for (size_t i = 0; i < n; ++i) {
      // ALUA first: a map whose group order changed is reloaded before the
      // engine's failback looks at the groups, so it never switches to a
      // group whose port just went to standby.
      const checkers::Completion& done = completions_[i];
      // A path whose LUN is another one now leaves its map before its
      // answer could reinstate it: the answer came from the wrong LUN.
      if (topology_.identity_changed(done.path)) continue;
      topology_.after_check(done.path, done.verdict, done.alua);
      topology_.replan_changed();
      ctx_.engine.on_check_result(done.path, done.verdict, t, done.lun_gone);
    }
    actions_.run();
  } while (n == completion_capacity_);
}

void Daemon::on_udev() {
  ctx_.udev->receive([this](const adapters::BlockDevice& d) { topology_.on_block_device(d); },
                     [this](const adapters::TransportEvent& e) { topology_.on_transport_event(e); });
}

bool Daemon::reconfigure(core::Error& err) {
  // With no --config, the standard file is read if it has appeared since the start.
  Options& options = ctx_.options;
  if (options.config_path.empty() && ::access(default_config_path().c_str(), F_OK) == 0)
    options.config_path = default_config_path();
  core::Config fresh = default_config();
  // Validated against the running limits (they change only at a restart);
  // a changed limit comes back as a warning naming its line.
  LoadOptions load_options;
  load_options.running_limits = &ctx_.config.limits;
  LoadResult r = options.config_path.empty() ? LoadResult{true, {}, {}}
                                             : load_config_file(options.config_path, fresh, load_options);
  for (const std::string& w : r.warnings) log_warning("config", "%s", w.c_str());
  if (!r.ok) {
    err.set("%s", r.error.c_str());
    ctx_.last_error = err;
    return false;
  }
  fresh.limits = ctx_.config.limits;
  fresh.source = ctx_.config.source;
  // The files' places are the writer's since start-up: a restart moves them.
  for (auto [now, run, key] :
       {std::tuple{&fresh.bindings_file, &ctx_.config.bindings_file, "naming.bindings_file"},
        std::tuple{&fresh.wwids_file, &ctx_.config.wwids_file, "naming.wwids_file"}}) {
    if (*now != *run)
      log_warning("config", "%s changes at the next start; %s stays in use", key, run->c_str());
    *now = *run;
  }
  if (fresh.user_friendly_names && !ctx_.names.friendly_refused().empty()) {
    log_warning("config", "user_friendly_names stays off until a restart: %s",
                ctx_.names.friendly_refused().c_str());
    fresh.user_friendly_names = false;
  }
  core::Config before = std::move(ctx_.config);
  ctx_.config = std::move(fresh);
  topology_.apply_config(before);
  host_guard_.apply_backstop();
  ++ctx_.reconfigures;
  if (service_) service_->set_config_text(dump_config_yaml(ctx_.config));
  log_notice("config", "reconfigured from %s",
             options.config_path.empty() ? "built-in defaults" : options.config_path.c_str());
  return true;
}

}  // namespace pk::daemon
