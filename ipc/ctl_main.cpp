// pathkeeperctl: asks pathkeeperd through its control socket (ipc/protocol.md).
// Exit status: 0 done, 1 refused or failed, 2 usage error, 3 daemon not reachable.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ipc/ctl/args.h"
#include "ipc/ctl/client.h"
#include "ipc/ctl/log_view.h"
#include "ipc/ctl/tables.h"
#include "pk_build_config.h"

namespace {

using namespace pk;

enum Exit { kOk = 0, kFailed = 1, kUsage = 2, kUnreachable = 3 };

struct Outcome {
  Exit exit = kOk;
  std::string body;   // the daemon's JSON, as it came
  std::string table;  // the same for people (when it is a success)
  std::string err;    // what went wrong, for stderr
};

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

// One request and its reply, in both forms.
Outcome ask(const ctl::Invocation& inv) {
  Outcome o;
  ctl::Reply reply;
  if (!ctl::call_daemon(inv.socket, inv.words, inv.effective_timeout(), reply, o.err)) {
    o.exit = kUnreachable;
    return o;
  }
  o.body = reply.body;
  try {
    nlohmann::json doc = nlohmann::json::parse(reply.body);
    if (!reply.ok) {
      o.exit = reply.code == ipc::ErrorCode::Usage ? kUsage : kFailed;
      o.err = ctl::error_message(doc);
      return o;
    }
    o.table = ctl::format_reply(inv.kind, doc);
  } catch (const nlohmann::json::exception& e) {
    o.exit = kFailed;
    o.err = std::string("pathkeeperd's reply is not what this pathkeeperctl expects: ") + e.what();
  }
  return o;
}

void print(const ctl::Invocation& inv, const Outcome& o) {
  if (inv.json && !o.body.empty()) std::cout << o.body << "\n";
  if (!inv.json) std::cout << o.table;
  if (!o.err.empty()) std::cerr << "pathkeeperctl: " << o.err << "\n";
}

// Repeats the request; redraws when what people would see changes (the JSON
// itself changes with every age counter).
int watch(const ctl::Invocation& inv) {
  bool tty = ::isatty(STDOUT_FILENO);
  std::string shown;
  for (bool first = true;; first = false) {
    Outcome o = ask(inv);
    if (first && o.exit != kOk) {
      print(inv, o);
      return o.exit;
    }
    std::string seen = o.exit == kOk ? o.table : "pathkeeperctl: " + o.err + "\n";
    if (seen != shown) {
      shown = seen;
      if (inv.json) {
        print(inv, o);
      } else {
        std::time_t now = std::time(nullptr);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%F %T", std::localtime(&now));
        if (tty) std::cout << "\033[H\033[2J";
        std::cout << "pathkeeperctl " << join(inv.words) << "  (every "
                  << static_cast<double>(inv.interval.count()) / 1000.0 << " s)  " << stamp << "\n\n"
                  << seen << (tty ? "" : "\n");
      }
      std::cout.flush();
    }
    std::this_thread::sleep_for(inv.interval);
  }
}

// `log`: the log file itself, read directly (the daemon need not be running).
// The log file: --log-file, else the one the running daemon uses, else the default.
std::string log_file(const ctl::Invocation& inv) {
  if (!inv.log_file.empty()) return inv.log_file;
  ctl::Reply reply;
  std::string ignored;
  if (ctl::call_daemon(inv.socket, {"show", "config"}, std::chrono::milliseconds(1000), reply, ignored) &&
      reply.ok) {
    try {
      std::string file =
          ctl::log_file_from_config(nlohmann::json::parse(reply.body)["config"]["yaml"].get<std::string>());
      if (!file.empty()) return file;
    } catch (const nlohmann::json::exception&) {
    }
  }
  return PK_LOGDIR "/pathkeeperd.log";
}

int show_log(const ctl::Invocation& inv) {
  ctl::LogFileReader reader;
  std::string error;
  if (!reader.open(log_file(inv), error)) {
    std::cerr << "pathkeeperctl: " << error << "\n";
    return kFailed;
  }
  std::optional<uint64_t> last = inv.lines;
  if (!last && inv.follow) last = 10;
  for (const auto& r : reader.read_all(last)) std::cout << ctl::format_log_record(r) << "\n";
  std::cout.flush();
  while (inv.follow) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    uint64_t skipped = 0;
    std::vector<core::LogRecord> fresh = reader.poll(skipped);
    if (skipped > 0)
      std::cout << "-- " << skipped << " log records were overwritten before they could be shown --\n";
    for (const auto& r : fresh) std::cout << ctl::format_log_record(r) << "\n";
    std::cout.flush();
    if (!std::cout) return kFailed;  // the reader went away
  }
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  ctl::Invocation inv;
  std::string error;
  if (!ctl::parse_args(args, inv, error)) {
    std::cerr << "pathkeeperctl: " << error << "\n(pathkeeperctl --help lists the commands)\n";
    return kUsage;
  }
  if (inv.help) {
    std::cout << ctl::usage_text();
    return kOk;
  }
  if (inv.version) {
    std::cout << "pathkeeperctl " << PK_VERSION << "\n";
    return kOk;
  }
  if (inv.log) return show_log(inv);
  if (inv.watch) return watch(inv);
  Outcome o = ask(inv);
  print(inv, o);
  return o.exit;
}
