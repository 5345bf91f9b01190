// pathkeeperd: command line, configuration, then the daemon.
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "daemon/config/config_loader.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "pk_build_config.h"

namespace {

constexpr const char* kUsage =
    "Usage: pathkeeperd [OPTIONS]\n"
    "Discovers the paths to network disks, builds dm-multipath maps over them,\n"
    "checks every path and keeps I/O queued while all paths are down.\n"
    "\n"
    "  --config FILE            configuration (default: " PK_SYSCONFDIR
    "/pathkeeper/pathkeeper.yaml if it\n"
    "                           exists, else built-in defaults)\n"
    "  --check-config FILE      validate FILE, print the problems, exit 0 if it is valid\n"
    "  --foreground             stay attached to the terminal and log to stderr\n"
    "  --log-level LEVEL        error, warning, notice, info (default) or debug\n"
    "  --allow-unlocked-memory  accepted for old scripts: memory that cannot be locked never\n"
    "                           stops the daemon (it starts, and says so in status)\n"
    "  --version                print the version\n"
    "  --help                   print this help\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "pathkeeperd: %s\nTry 'pathkeeperd --help'.\n", message.c_str());
  return 2;
}

int check_config(const std::string& path) {
  pk::core::Config config;
  auto r = pk::daemon::load_config_file(path, config);
  for (const std::string& w : r.warnings) std::fprintf(stderr, "%s\n", w.c_str());
  if (!r.ok) {
    std::fprintf(stderr, "%s\n", r.error.c_str());
    return 1;
  }
  std::printf("%s: valid (%zu map(s), %zu blacklist rule(s))\n", path.c_str(), config.maps.size(),
              config.blacklist.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  pk::daemon::Options options;
  bool config_given = false;
  bool level_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)name;
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("pathkeeperd %s\n", PK_VERSION);
      return 0;
    } else if (a == "--check-config") {
      const char* file = value("--check-config");
      if (!file) return usage_error("--check-config needs a FILE");
      return check_config(file);
    } else if (a == "--config") {
      const char* file = value("--config");
      if (!file) return usage_error("--config needs a FILE");
      options.config_path = file;
      config_given = true;
    } else if (a == "--foreground") {
      options.foreground = true;
    } else if (a == "--allow-unlocked-memory") {
      options.allow_unlocked_memory = true;
    } else if (a == "--log-level") {
      const char* level = value("--log-level");
      pk::daemon::LogLevel l;
      if (!level || !pk::daemon::log_parse_level(level, l))
        return usage_error(std::string("--log-level wants error, warning, notice, info or debug, not '") +
                           (level ? level : "") + "'");
      pk::daemon::log_set_level(l);
      level_given = true;
    } else {
      return usage_error(std::string("unknown option '") + argv[i] + "'");
    }
  }

  if (!config_given) {
    std::string standard = pk::daemon::default_config_path();
    if (::access(standard.c_str(), F_OK) == 0) options.config_path = standard;
  }
  pk::core::Config config = pk::daemon::default_config();
  if (!options.config_path.empty()) {
    auto r = pk::daemon::load_config_file(options.config_path, config);
    for (const std::string& w : r.warnings) log_warning("config", "%s", w.c_str());
    if (!r.ok) {
      // An explicit file that does not load stops the daemon: maps built
      // from defaults instead could be grouped, named or queue otherwise
      // than the host expects (core/startup.h, StartupStep::Configuration).
      std::fprintf(stderr, "pathkeeperd: %s\n", r.error.c_str());
      return 1;
    }
  }
  // The configuration's level, unless --log-level said otherwise.
  pk::daemon::LogLevel level;
  if (!level_given && pk::daemon::log_parse_level(config.logging.level.c_str(), level))
    pk::daemon::log_set_level(level);

  // Under systemd (Type=notify) or with --foreground the process stays where
  // it is; otherwise it detaches now, long before it is sealed.
  if (!options.foreground && std::getenv("NOTIFY_SOCKET") == nullptr && ::daemon(0, 0) != 0) {
    std::perror("pathkeeperd: daemon");
    return 1;
  }

  // Each path holds a few descriptors open (its sg node, its state file):
  // with thousands of paths the usual soft limit of 1024 is short. The hard
  // limit is ours to take (the unit sets LimitNOFILE).
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &files) != 0)
      log_warning("daemon", "cannot raise the open files limit: %s", std::strerror(errno));
  }

  pk::daemon::Daemon daemon;
  pk::core::Error err;
  if (!daemon.init(config, options, err)) {
    // Only what maps cannot do without stops the daemon (core/startup.h).
    const pk::core::StartupRule* rule = daemon.stopped_at();
    const char* effect = rule ? rule->effect : "";
    log_error("daemon", "cannot start: %s%s%s%s", err.c_str(), rule ? " (" : "", effect, rule ? ")" : "");
    std::fprintf(stderr, "pathkeeperd: cannot start: %s%s%s%s\n", err.c_str(), rule ? " (" : "", effect,
                 rule ? ")" : "");
    return 1;
  }
  return daemon.run();
}
