#include "tests/daemon/harness.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "daemon/config/config_loader.h"
#include "daemon/log.h"

namespace pk::behaviour {

using namespace std::chrono_literals;

namespace {

// VPD page 0x83 with one designator: the target port group (type 5,
// association target port).
std::string vpd83_with_tpg(uint16_t tpg) {
  const char page[] = {0x00,
                       static_cast<char>(0x83),
                       0x00,
                       0x08,
                       0x61,
                       static_cast<char>(0x95),
                       0x00,
                       0x04,
                       0x00,
                       0x00,
                       static_cast<char>(tpg >> 8),
                       static_cast<char>(tpg & 0xff)};
  return std::string(page, sizeof page);
}

}  // namespace

Harness::Harness() {
  config = daemon::default_config();
  config.timing.polling_interval = 2s;
  config.timing.failed_polling_interval = 1s;
  config.timing.checker_timeout = 3000ms;
  config.limits.max_paths = 32;
  config.limits.max_maps = 8;
  config.limits.max_paths_per_map = 8;
  config.limits.max_groups_per_map = 8;
  config.limits.max_clients = 2;
  config.limits.heap_reserve_bytes = 0;
  config.logging.journal = false;
  config.logging.level = "debug";
  char tmpl[] = "/tmp/pk-behaviour-XXXXXX";
  sysfs_ = ::mkdtemp(tmpl);
  config.control_socket = sysfs_ + "/control.sock";
  config.logging.file = sysfs_ + "/pathkeeperd.log";
  config.bindings_file = sysfs_ + "/var/bindings";
  config.wwids_file = sysfs_ + "/etc/wwids";
  name_files.multipath_bindings = sysfs_ + "/etc/multipath-bindings";
  name_files.retry_first_ns = 20'000'000;
  name_files.retry_max_ns = 100'000'000;
  world.sysfs_root.assign(sysfs_);
}

Harness::~Harness() {
  daemon_.reset();
  daemon::log_stop();  // the log is the process's: the next test starts it again
  std::filesystem::remove_all(sysfs_);
}

void Harness::add_disk(std::string_view dev, uint32_t minor, std::string_view wwid, core::AluaState alua,
                       uint16_t tpg) {
  world.add_path(dev, core::DevT{8, minor}, wwid);
  steady::FakePath* p = world.path(dev);
  p->alua = alua;
  p->tpg = tpg;
}

void Harness::leave_map(std::string_view name, std::string_view uuid, std::string_view table,
                        bool multipath) {
  steady::FakeDm dm(world);
  core::Error err;
  if (!dm.create(name, uuid, 2048, table, err)) std::fprintf(stderr, "leave_map: %s\n", err.c_str());
  world.map(name)->multipath = multipath;
  world.counts = {};
}

bool Harness::start() {
  std::filesystem::create_directories(sysfs_ + "/block");
  for (uint32_t i = 0; i < world.path_count; ++i) {
    const steady::FakePath& p = world.paths[i];
    std::string dir = sysfs_ + "/block/" + std::string(p.dev.view());
    std::filesystem::create_directories(dir + "/device");
    write_file(dir + "/size", "2048\n");
    // The kernel's identity of the disk (from VPD page 0x83), and the file a
    // write asks udev for a change event through.
    write_file(dir + "/device/wwid", "naa." + std::string(p.wwid.view()) + "\n");
    write_file(dir + "/uevent", "");
    if (p.alua == core::AluaState::None) continue;
    write_file(dir + "/device/access_state", std::string(core::alua_state_name(p.alua)) + "\n");
    write_file(dir + "/device/preferred_path", "0\n");
    write_file(dir + "/device/vpd_pg83", vpd83_with_tpg(p.tpg));
  }
  daemon::Platform platform;
  platform.make_dm = [this] { return std::make_unique<steady::FakeDm>(world); };
  platform.make_devices = [this] { return std::make_unique<steady::FakeDevices>(world); };
  platform.make_checker = [this](core::CheckerKind k) {
    return std::make_unique<steady::FakeChecker>(world, k);
  };
  platform.clock = &clock;
  platform.process_setup = false;
  platform.dbus = false;
  platform.lock_memory = lock_memory;
  daemon_ = std::make_unique<daemon::Daemon>(std::move(platform));
  daemon::Options options;
  options.sysfs_root = sysfs_;
  options.dev_root = "/dev";
  options.config_path = sysfs_ + "/pathkeeper.yaml";  // written by reconfigure()
  options.name_files = name_files;
  core::Error err;
  if (!daemon_->init(config, options, err)) {
    std::fprintf(stderr, "daemon init: %s\n", err.c_str());
    return false;
  }
  return true;
}

void Harness::reconfigure(const core::Config& next) {
  // The tests run without a heap reserve, which a file may not ask for;
  // limits change only at a restart anyway.
  core::Config file = next;
  file.limits.heap_reserve_bytes = 16ull << 20;
  write_file(sysfs_ + "/pathkeeper.yaml", daemon::dump_config_yaml(file));
  ::kill(::getpid(), SIGHUP);  // blocked in every thread: the loop's signalfd takes it
  run(1);
}

void Harness::run(int turns, core::Duration dt) {
  for (int i = 0; i < turns; ++i) {
    clock.advance(dt);
    daemon_->step(0);
  }
}

std::string Harness::table(std::string_view map) {
  steady::FakeMap* m = world.map(map);
  if (!m) return "";
  char buf[1024];
  size_t n = core::format_multipath_table(m->table, buf);
  return std::string(buf, n);
}

std::vector<std::string> Harness::active_group_devs(std::string_view map) {
  std::vector<std::string> devs;
  steady::FakeMap* m = world.map(map);
  if (!m || m->active_group == 0 || m->active_group > m->table.groups.size()) return devs;
  const core::TableGroup& g = m->table.groups[m->active_group - 1];
  for (size_t k = g.first_path; k < size_t{g.first_path} + g.path_count; ++k)
    for (uint32_t i = 0; i < world.path_count; ++i)
      if (world.paths[i].devt == m->paths[k]) devs.emplace_back(world.paths[i].dev.view());
  return devs;
}

bool Harness::active_group_is(std::string_view map, std::string_view dev) {
  steady::FakeMap* m = world.map(map);
  steady::FakePath* p = world.path(dev);
  if (!m || !p || m->active_group == 0 || m->active_group > m->table.groups.size()) return false;
  const core::TableGroup& g = m->table.groups[m->active_group - 1];
  return g.path_count == 1 && m->paths[g.first_path] == p->devt;
}

bool Harness::has_map(std::string_view name) { return world.map(name) != nullptr; }

std::string Harness::command(std::string_view words) {
  std::string payload = "pk1";
  for (char c : words) payload += c == ' ' ? '\0' : c;
  if (!words.empty()) payload.insert(3, 1, '\0');
  std::string frame(4, '\0');
  const auto n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  frame += payload;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", config.control_socket.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size())) {
    ::close(fd);
    return "";
  }
  std::string reply;
  char buf[4096];
  for (int turn = 0; turn < 500; ++turn) {
    run(1);  // the loop takes the command and answers it
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    ssize_t got = ::recv(fd, buf, sizeof buf, 0);
    if (got <= 0) break;
    reply.append(buf, static_cast<size_t>(got));
    if (reply.size() >= 4) {
      uint32_t want = 0;
      for (int i = 0; i < 4; ++i) want |= uint32_t{static_cast<unsigned char>(reply[i])} << (8 * i);
      if (reply.size() >= 4 + want) break;
    }
  }
  ::close(fd);
  return reply.size() > 4 ? reply.substr(4) : "";
}

bool Harness::restart() {
  daemon_.reset();
  daemon::log_stop();
  return start();
}

bool Harness::files_settled() {
  for (int i = 0; i < 500; ++i) {
    if (daemon_->names().settled()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

std::string Harness::read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void Harness::write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace pk::behaviour
