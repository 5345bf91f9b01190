#include "ipc/ctl/args.h"

#include <charconv>
#include <cmath>

#include "pk_build_config.h"

namespace pk::ctl {

namespace {

bool parse_seconds(std::string_view option, std::string_view text, std::chrono::milliseconds& out,
                   std::string& error) {
  double s = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), s);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || !std::isfinite(s) || s <= 0 ||
      s > 86400) {
    error = std::string(option) + " '" + std::string(text) + "' is not a number of seconds (0 < S <= 86400)";
    return false;
  }
  out = std::chrono::milliseconds(std::max<int64_t>(1, std::llround(s * 1000)));
  return true;
}

// "--name VALUE" or "--name=VALUE"; advances i past what it used.
bool option_value(std::span<const std::string_view> args, size_t& i, std::string_view name,
                  std::string_view& value, std::string& error) {
  std::string_view a = args[i];
  if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=') {
    value = a.substr(name.size() + 1);
    return true;
  }
  if (i + 1 >= args.size()) {
    error = std::string(name) + " needs a value";
    return false;
  }
  value = args[++i];
  return true;
}

bool parse_count(std::string_view option, std::string_view text, uint64_t& out, std::string& error) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
    error = std::string(option) + " '" + std::string(text) + "' is not a number of records";
    return false;
  }
  return true;
}

bool is_option(std::string_view a, std::string_view name) {
  return a == name || (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=');
}

}  // namespace

bool check_request(const std::vector<std::string>& words, ipc::RequestKind& kind, std::string& error) {
  std::vector<std::string_view> views(words.begin(), words.end());
  for (size_t i = 0; i < views.size(); ++i) {
    if (views[i].empty()) {
      error = "word " + std::to_string(i + 1) + " of the command is empty";
      return false;
    }
  }
  std::vector<char> frame(ipc::kFrameHeaderBytes + ipc::kMaxRequestBytes);
  size_t n = ipc::encode_request(views, frame);
  if (n == 0) {
    error = "the command is longer than " + std::to_string(ipc::kMaxRequestBytes) + " bytes";
    return false;
  }
  ipc::Request r;
  ipc::RequestError e;
  if (!ipc::parse_request({frame.data() + ipc::kFrameHeaderBytes, n - ipc::kFrameHeaderBytes}, r, e)) {
    error = std::string(e.message.view());
    return false;
  }
  kind = r.kind;
  return true;
}

bool parse_args(std::span<const std::string_view> args, Invocation& out, std::string& error) {
  out = Invocation{};
  out.socket = PK_RUNSTATEDIR "/control.sock";
  std::vector<std::string> words;
  bool interval_given = false;
  std::string_view log_option;  // the first option that goes with `log` only
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    std::string_view value;
    if (a == "-h" || a == "--help") {
      out.help = true;
    } else if (a == "--version") {
      out.version = true;
    } else if (a == "--json") {
      out.json = true;
    } else if (is_option(a, "--socket")) {
      if (!option_value(args, i, "--socket", value, error)) return false;
      if (value.empty()) {
        error = "--socket needs a path";
        return false;
      }
      out.socket = std::string(value);
    } else if (is_option(a, "--timeout")) {
      std::chrono::milliseconds t{};
      if (!option_value(args, i, "--timeout", value, error) || !parse_seconds("--timeout", value, t, error))
        return false;
      out.timeout = t;
    } else if (is_option(a, "--interval")) {
      if (!option_value(args, i, "--interval", value, error) ||
          !parse_seconds("--interval", value, out.interval, error))
        return false;
      interval_given = true;
    } else if (a == "-f" || a == "--follow") {
      out.follow = true;
      if (log_option.empty()) log_option = a;
    } else if (a == "-n" || is_option(a, "--lines") || (a.size() > 2 && a.substr(0, 2) == "-n")) {
      std::string_view name = a.substr(0, 2) == "-n" ? "-n" : "--lines";
      if (a.size() > 2 && name == "-n") {
        value = a.substr(2);
      } else if (!option_value(args, i, name, value, error)) {
        return false;
      }
      uint64_t n = 0;
      if (!parse_count(name, value, n, error)) return false;
      out.lines = n;
      if (log_option.empty()) log_option = name;
    } else if (is_option(a, "--log-file")) {
      if (!option_value(args, i, "--log-file", value, error)) return false;
      if (value.empty()) {
        error = "--log-file needs a path";
        return false;
      }
      out.log_file = std::string(value);
      if (log_option.empty()) log_option = "--log-file";
    } else if ((a.size() > 2 && a.substr(0, 2) == "--" && a != "--all") ||
               (a.size() > 1 && a[0] == '-' && a[1] != '-')) {
      error = "unknown option '" + std::string(a) + "'";
      return false;
    } else {
      words.emplace_back(a);
    }
  }
  if (out.help || out.version) return true;
  if (words.empty()) {
    error = "no command given";
    return false;
  }
  if (words[0] == "watch") {
    if (!log_option.empty()) {
      error = std::string(log_option) + " goes with log only";
      return false;
    }
    out.watch = true;
    words.erase(words.begin());
    if (words.empty()) words = {"show", "topology"};
    if (!check_request(words, out.kind, error)) return false;
    if (ipc::changes_state(out.kind)) {
      error = "watch repeats a show command; '" + words[0] + "' changes state";
      return false;
    }
  } else {
    if (interval_given) {
      error = "--interval goes with watch only";
      return false;
    }
    if (words[0] == "log") {
      if (words.size() > 1) {
        error = "log takes options only (-f, -n N, --log-file PATH), not '" + words[1] + "'";
        return false;
      }
      out.log = true;
      out.words = std::move(words);
      return true;
    }
    if (!check_request(words, out.kind, error)) return false;
  }
  if (!log_option.empty()) {
    error = std::string(log_option) + " goes with log only";
    return false;
  }
  out.words = std::move(words);
  return true;
}

std::string usage_text() {
  return R"(Usage: pathkeeperctl [OPTIONS] COMMAND

Ask pathkeeperd about paths and maps, or tell it to change them.

Commands that read (anyone):
  show paths                 every path: state, checker, map, group
  show maps                  every map: size, paths, queueing
  show topology              maps with their groups and paths (like multipath -ll)
  show map NAME              one map with its groups and paths
  show path DEV              one path
  status                     the daemon: readiness, memory, pools, counters
  show config                the effective configuration (YAML)
  watch [--interval S] [CMD] repeat CMD (default: show topology), redraw on change
  log [-f] [-n N]            the daemon's log file, oldest first, read directly
                             (works without the daemon); -f: follow, -n: last N

Commands that change state (root or the configured control_group):
  fail path DEV              fail a path until it is reinstated
  reinstate path DEV         give an administratively failed path back
  clear marginal DEV         reinstate a path held back for failing too often
  switch group MAP N         send I/O of MAP to its path group N (1-based)
  disable queueing MAP|--all fail I/O when no path is left instead of queueing
  restore queueing MAP|--all queue again as no_path_retry says
  reconfigure                reload the configuration file
  remove map NAME|--all      remove a map nothing holds open: queueing off,
                             its kpartx partitions, then the map (multipath -f/-F)
  remove path DEV            stop using a path until add path
  add path DEV               use a block device as a path again
  resize map NAME            read the paths' sizes again and grow the map

Options:
  --socket PATH   the daemon's control socket (default )" PK_RUNSTATEDIR R"(/control.sock)
  --json          print the daemon's JSON reply as it is (schema version 1)
  --timeout S     give up after S seconds (default 5, 35 for commands that change state)
  --interval S    watch: seconds between two looks (default 2)
  -f, --follow    log: keep printing records as they are written
  -n, --lines N   log: only the last N records (with -f, default 10)
  --log-file PATH log: the log file (default: the running daemon's logging.file,
                  else )" PK_LOGDIR R"(/pathkeeperd.log)
  -h, --help      this text
  --version       the version

Exit status: 0 done, 1 the daemon refused or the command failed, 2 usage error,
3 the daemon is not reachable (no socket, nobody answers, or no answer in time).
)";
}

}  // namespace pk::ctl
