// The wired daemon over the fakes of the kernel (tests/steady/fakes.h), a
// fake sysfs tree and a manual clock: what the behaviour suite drives. Each
// test describes the storage (paths, WWIDs, ALUA states, maps left by an
// earlier daemon), starts the daemon and turns its loop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "daemon/daemon.h"
#include "tests/steady/fakes.h"

namespace pk::behaviour {

class Harness {
 public:
  Harness();
  ~Harness();

  // Before start(): a disk of the storage (ALUA None: a LUN without ALUA).
  void add_disk(std::string_view dev, uint32_t minor, std::string_view wwid,
                core::AluaState alua = core::AluaState::None, uint16_t tpg = 0);
  // Before start(): a DM device an earlier daemon (or another tool) left.
  void leave_map(std::string_view name, std::string_view uuid, std::string_view table, bool multipath = true);

  // Builds the fake sysfs and starts the daemon with `config` (or defaults
  // tuned for tests). False with the error printed when init fails.
  bool start();
  // Writes `next` as the configuration file and sends SIGHUP, as an admin
  // does; the next turn of the loop reconfigures.
  void reconfigure(const core::Config& next);
  // The daemon gone as SIGKILL leaves it (its maps stay in the kernel), and a
  // new one started over the same storage, configuration and files.
  bool restart();
  // Turns of the loop, `dt` of manual time each.
  void run(int turns, core::Duration dt = std::chrono::milliseconds(100));

  // An operator's command over the control socket, as pathkeeperctl sends
  // it ("remove map mpatha"): the loop turns until the reply comes. The
  // reply's status line and JSON ("pk1 ok\n{...}"), or "" when none came.
  std::string command(std::string_view words);

  // The table the kernel has for `map` ("" when there is none).
  std::string table(std::string_view map);
  // The devices of the group the kernel sends I/O to.
  std::vector<std::string> active_group_devs(std::string_view map);
  // Whether the group the kernel sends I/O to is exactly `dev`: no heap use,
  // for loops under the allocation guard.
  bool active_group_is(std::string_view map, std::string_view dev);
  bool has_map(std::string_view name);

  // The test's folder (fake sysfs, configuration, name files).
  const std::string& folder() const { return sysfs_; }
  // Waits, in real time (at most 5 s), until the name files' writer thread
  // has written everything handed to it.
  bool files_settled();
  static std::string read_file(const std::string& path);
  static void write_file(const std::string& path, const std::string& text);

  const daemon::Daemon& daemon() const { return *daemon_; }

  steady::FakeStorage world;
  core::ManualClock clock;
  core::Config config;
  daemon::NameFilesOptions name_files;            // in the test's folder, quick retries
  std::function<bool(core::Error&)> lock_memory;  // a failing mlockall; empty: none is tried

 private:
  std::unique_ptr<daemon::Daemon> daemon_;
  std::string sysfs_;
};

}  // namespace pk::behaviour
