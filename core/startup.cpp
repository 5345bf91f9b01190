#include "core/startup.h"

namespace pk::core {

namespace {

using S = StartupStep;
constexpr StartupVerdict kStop = StartupVerdict::Stop;
constexpr StartupVerdict kDegrade = StartupVerdict::Degrade;

constexpr StartupRule kRules[] = {
    {S::Configuration, kStop, "configuration", "the configuration file",
     "an operator asked for this file: maps built from defaults instead could group, name or queue "
     "differently from what the host expects"},
    {S::DeviceMapper, kStop, "device_mapper", "device-mapper", "no map can be built, read or adopted"},
    {S::DeviceDiscovery, kStop, "device_discovery", "device discovery (udev)",
     "no path would be found, added or removed"},
    {S::SystemTrees, kStop, "system_trees", "/sys or /dev", "no path can be identified or opened"},
    {S::Checkers, kStop, "checkers", "a path checker",
     "paths could not be checked: a failed path would never be failed over or brought back"},
    {S::EventLoop, kStop, "event_loop", "the event loop", "nothing would be checked or answered"},
    {S::AnotherDaemon, kStop, "another_daemon", "the control socket",
     "another daemon runs: two daemons would fight over the same maps"},
    {S::LogFile, kDegrade, "log_file", "the log file",
     "logging goes on to journald (and stderr in the foreground) and the in-memory ring; restart once the "
     "file can be made"},
    {S::LogWriter, kDegrade, "log_writer", "the log writer thread",
     "log records go straight to stderr, without waiting (lost when it is full)"},
    {S::MemoryLock, kDegrade, "memory_lock", "locked memory",
     "memory may be paged out: with every path down and memory short, bringing a path back may wait for "
     "memory"},
    {S::HeapReserve, kDegrade, "heap_reserve", "the heap reserve",
     "control-plane work (new maps, reconfigure) may fault pages in after READY"},
    {S::IoFlusher, kDegrade, "io_flusher", "PR_SET_IO_FLUSHER",
     "the daemon's allocations may wait on writeback to the disks it rescues"},
    {S::OomProtection, kDegrade, "oom_protection", "OOM protection", "the OOM killer may choose the daemon"},
    {S::BindingsFile, kDegrade, "bindings_file", "the bindings file",
     "friendly names are off this run: new maps are named by their WWID, adopted maps keep their names, the "
     "file is not written"},
    {S::NameFilesWriter, kDegrade, "name_files_writer", "the name files' writer thread",
     "the bindings and wwids files are not written this run"},
    {S::ControlSocket, kDegrade, "control_socket", "the control socket",
     "pathkeeperctl cannot reach the daemon; D-Bus, journald and STATUS= still can"},
    {S::ControlGroup, kDegrade, "control_group", "control.group",
     "only root may change state through the control socket and D-Bus"},
};

static_assert(sizeof kRules / sizeof kRules[0] == static_cast<size_t>(S::ControlGroup) + 1,
              "one rule per step, in order");

constexpr bool rules_in_order() {
  for (size_t i = 0; i < sizeof kRules / sizeof kRules[0]; ++i)
    if (static_cast<size_t>(kRules[i].step) != i) return false;
  return true;
}
static_assert(rules_in_order(), "kRules follows StartupStep's order");

// A reason that does not fit keeps its start and ends in "...".
void assign_cut(FixedString<256>& out, std::string_view text) {
  constexpr size_t kMax = FixedString<256>::kCapacity;
  if (text.size() <= kMax) {
    out.assign(text);
    return;
  }
  char buf[kMax + 1];
  FixedWriter w(buf);
  w.text(text.substr(0, kMax - 3)).text("...");
  out.assign(w.view());
}

}  // namespace

std::span<const StartupRule> startup_rules() { return kRules; }

const StartupRule& startup_rule(StartupStep step) { return kRules[static_cast<size_t>(step)]; }

StartupVerdict StartupReport::failed(StartupStep step, std::string_view reason) {
  const StartupRule& rule = startup_rule(step);
  if (rule.verdict == kStop) return kStop;
  if (find(step) != nullptr || count_ == kCapacity) return kDegrade;
  Degradation& d = items_[count_++];
  d.step = step;
  assign_cut(d.reason, reason);
  return kDegrade;
}

const Degradation* StartupReport::find(StartupStep step) const {
  for (size_t i = 0; i < count_; ++i)
    if (items_[i].step == step) return &items_[i];
  return nullptr;
}

void StartupReport::describe(FixedWriter& w) const {
  for (size_t i = 0; i < count_; ++i) {
    w.text(i == 0 ? "started without " : "; without ").text(startup_rule(items_[i].step).what);
    w.text(" (").text(items_[i].reason.view()).ch(')');
  }
}

}  // namespace pk::core
