// pk-dmprobe: drives the DM and udev adapters by hand on a real kernel (the
// lab guest), one command per run. A developer tool, not installed.
//
//   pk-dmprobe list
//   pk-dmprobe status MAP
//   pk-dmprobe table MAP
//   pk-dmprobe message MAP TEXT...
//   pk-dmprobe create NAME UUID SECTORS PARAMS...
//   pk-dmprobe reload NAME SECTORS PARAMS...
//   pk-dmprobe remove NAME
//   pk-dmprobe wait-event [SECONDS [COUNT]]   arm, poll, print which maps changed
//   pk-dmprobe devices                        udev enumeration, one line per disk
//   pk-dmprobe monitor [SECONDS]              udev monitor, one line per uevent
//   pk-dmprobe status-loop MAP N              N status calls: time and heap growth
//
// Environment: PK_DM_BUFFER (bytes, default 262144), PK_DM_CAPACITY (devices
// listed, default 1024).
#include <malloc.h>
#include <poll.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/dm.h"
#include "adapters/dm_events.h"
#include "adapters/udev.h"
#include "adapters/udev_parse.h"
#include "core/devt.h"
#include "core/error.h"

namespace {

using pk::adapters::BlockDevice;
using pk::adapters::DeviceAction;
using pk::adapters::DmEventWatcher;
using pk::adapters::DmMapInfo;
using pk::core::Error;

int usage() {
  std::fputs(
      "usage: pk-dmprobe list | status MAP | table MAP | message MAP TEXT...\n"
      "       | create NAME UUID SECTORS PARAMS... | reload NAME SECTORS PARAMS...\n"
      "       | remove NAME | wait-event [SECONDS [COUNT]] | devices | monitor [SECONDS]\n"
      "       | status-loop MAP N\n",
      stderr);
  return 2;
}

size_t env_size(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

std::string join(int argc, char** argv, int from) {
  std::string s;
  for (int i = from; i < argc; ++i) {
    if (!s.empty()) s += ' ';
    s += argv[i];
  }
  return s;
}

bool parse_u64(const char* s, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(s, &end, 10);
  return errno == 0 && end && *end == '\0' && end != s;
}

std::string devt_text(pk::core::DevT d) {
  char b[32];
  size_t n = pk::core::format_devt(d, b);
  return std::string(b, n);
}

int fail(const char* what, const Error& err) {
  std::fprintf(stderr, "pk-dmprobe: %s: %s\n", what, err.c_str());
  return 1;
}

double now_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void print_map(const char* prefix, const DmMapInfo& m) {
  std::printf("%s%s uuid=%s dev=%s event_nr=%u multipath=%d\n", prefix, m.name, m.uuid[0] ? m.uuid : "-",
              devt_text(m.devt).c_str(), m.event_nr, m.multipath ? 1 : 0);
}

const char* action_name(DeviceAction a) {
  switch (a) {
    case DeviceAction::Add:
      return "add";
    case DeviceAction::Change:
      return "change";
    case DeviceAction::Remove:
      return "remove";
  }
  return "?";
}

void print_device(const BlockDevice& d) {
  auto s = [](std::string_view v) { return std::string(v.empty() ? "-" : v); };
  std::printf(
      "%s %s %s transport=%s wwid=%s vendor=%s product=%s alua=%d dm_name=%s "
      "dm_uuid=%s dm_action=%s dm_path=%s properties=%zu\n",
      action_name(d.action), s(d.name).c_str(), devt_text(d.devt).c_str(),
      std::string(pk::core::transport_name(d.transport)).c_str(), s(d.wwid).c_str(), s(d.vendor).c_str(),
      s(d.product).c_str(), d.alua ? 1 : 0, s(d.dm_name).c_str(), s(d.dm_uuid).c_str(),
      s(d.dm_action).c_str(), s(d.dm_path).c_str(), d.property_names.size());
}

int udev_command(const std::string& cmd, int argc, char** argv) {
  auto src = pk::adapters::make_udev_source();
  Error err;
  if (!src->open(err)) return fail("udev open", err);
  if (cmd == "devices") {
    size_t n = 0;
    if (!src->enumerate(
            [&](const BlockDevice& d) {
              print_device(d);
              ++n;
            },
            err)) {
      return fail("udev enumerate", err);
    }
    std::printf("%zu disks\n", n);
    return 0;
  }
  // monitor
  double seconds = argc > 2 ? std::atof(argv[2]) : 10.0;
  double end = now_seconds() + seconds;
  size_t total = 0;
  for (;;) {
    double left = end - now_seconds();
    if (left <= 0) break;
    pollfd p{src->monitor_fd(), POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (r < 0 && errno != EINTR) {
      std::perror("poll");
      return 1;
    }
    if (r <= 0) continue;
    total += src->receive(
        [](const BlockDevice& d) {
          std::printf("[%.3f] block ", now_seconds());
          print_device(d);
        },
        [](const pk::adapters::TransportEvent& t) {
          if (t.devpath.empty()) {
            std::printf("[%.3f] transport: EVENTS LOST\n", now_seconds());
          } else {
            std::printf("[%.3f] transport %.*s\n", now_seconds(), static_cast<int>(t.devpath.size()),
                        t.devpath.data());
          }
        });
    std::fflush(stdout);
  }
  std::printf("%zu uevents\n", total);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string cmd = argv[1];
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (cmd == "devices" || cmd == "monitor") return udev_command(cmd, argc, argv);

  auto dm = pk::adapters::make_kernel_dm();
  Error err;
  if (!dm->open(env_size("PK_DM_BUFFER", 256 * 1024), err)) return fail("open", err);
  size_t capacity = env_size("PK_DM_CAPACITY", 1024);

  if (cmd == "list") {
    std::vector<DmMapInfo> maps(capacity);
    size_t n = 0;
    if (!dm->list(maps, n, err)) return fail("list", err);
    for (size_t i = 0; i < n; ++i) print_map("", maps[i]);
    std::printf("%zu devices\n", n);
    return 0;
  }
  if ((cmd == "status" || cmd == "table") && argc == 3) {
    std::string_view params;
    if (cmd == "status") {
      uint32_t event_nr = 0;
      if (!dm->status(argv[2], params, event_nr, err)) return fail("status", err);
      std::printf("event_nr=%u\n", event_nr);
    } else {
      uint64_t sectors = 0;
      if (!dm->table(argv[2], params, sectors, err)) return fail("table", err);
      std::printf("sectors=%llu\n", static_cast<unsigned long long>(sectors));
    }
    std::printf("%.*s\n", static_cast<int>(params.size()), params.data());
    return 0;
  }
  if (cmd == "message" && argc >= 4) {
    std::string text = join(argc, argv, 3);
    if (!dm->message(argv[2], text, err)) return fail("message", err);
    std::printf("ok\n");
    return 0;
  }
  if (cmd == "create" && argc >= 6) {
    uint64_t sectors = 0;
    if (!parse_u64(argv[4], sectors)) return usage();
    if (!dm->create(argv[2], argv[3], sectors, join(argc, argv, 5), err)) {
      return fail("create", err);
    }
    std::printf("ok\n");
    return 0;
  }
  if (cmd == "reload" && argc >= 5) {
    uint64_t sectors = 0;
    if (!parse_u64(argv[3], sectors)) return usage();
    if (!dm->reload(argv[2], sectors, join(argc, argv, 4), err)) return fail("reload", err);
    std::printf("ok\n");
    return 0;
  }
  if (cmd == "remove" && argc == 3) {
    if (!dm->remove(argv[2], err)) return fail("remove", err);
    std::printf("ok\n");
    return 0;
  }
  if (cmd == "wait-event") {
    double seconds = argc > 2 ? std::atof(argv[2]) : 10.0;
    long rounds = argc > 3 ? std::atol(argv[3]) : 1;
    DmEventWatcher watcher;
    if (!watcher.init(capacity, err)) return fail("watcher", err);
    if (!watcher.start(*dm, err)) return fail("arm/list", err);
    std::printf("[%.3f] armed, %zu devices\n", now_seconds(), watcher.maps().size());
    for (long r = 0; r < rounds; ++r) {
      pollfd p{dm->event_fd(), POLLIN, 0};
      int pr = poll(&p, 1, static_cast<int>(seconds * 1000));
      if (pr < 0) {
        std::perror("poll");
        return 1;
      }
      if (pr == 0) {
        std::printf("[%.3f] timeout: no DM event in %.1f s\n", now_seconds(), seconds);
        return 3;
      }
      if (!watcher.update(*dm, err)) return fail("update", err);
      std::printf("[%.3f] event: %zu changes\n", now_seconds(), watcher.changes().size());
      for (const auto& c : watcher.changes()) {
        const char* kind = c.kind == DmEventWatcher::Kind::Appeared  ? "appeared"
                           : c.kind == DmEventWatcher::Kind::Changed ? "changed"
                                                                     : "vanished";
        std::printf("  %s %s event_nr %u -> %u\n", kind, c.map->name, c.previous_event_nr,
                    c.kind == DmEventWatcher::Kind::Vanished ? c.previous_event_nr : c.map->event_nr);
      }
    }
    return 0;
  }
  if (cmd == "status-loop" && argc == 4) {
    long n = std::atol(argv[3]);
    std::string_view params;
    uint32_t event_nr = 0;
    if (!dm->status(argv[2], params, event_nr, err)) return fail("status", err);  // warm up
    struct mallinfo2 before = mallinfo2();
    double t0 = now_seconds();
    for (long i = 0; i < n; ++i) {
      if (!dm->status(argv[2], params, event_nr, err)) return fail("status", err);
    }
    double t1 = now_seconds();
    struct mallinfo2 after = mallinfo2();
    std::printf(
        "%ld status calls: %.2f us each; heap in use %zu -> %zu bytes, arena %zu -> "
        "%zu\n",
        n, (t1 - t0) * 1e6 / static_cast<double>(n ? n : 1), before.uordblks, after.uordblks, before.arena,
        after.arena);
    return 0;
  }
  return usage();
}
