// pathkeeperctl's command line: global options, then the command words that
// go to the daemon as they are (validated here with the daemon's own parser,
// so a typo is a usage error before anything is sent).
//
//   pathkeeperctl [--socket PATH] [--json] [--timeout S] COMMAND
//   pathkeeperctl watch [--interval S] [READ-COMMAND]
//   pathkeeperctl log [-f] [-n N] [--log-file PATH]   (reads the log file, not the socket)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/protocol.h"

namespace pk::ctl {

inline constexpr std::chrono::milliseconds kReadTimeout{5000};      // show, status
inline constexpr std::chrono::milliseconds kCommandTimeout{35000};  // the daemon gives the loop 30 s

struct Invocation {
  std::string socket;
  bool json = false;
  std::optional<std::chrono::milliseconds> timeout;  // --timeout; else by kind
  bool help = false;
  bool version = false;
  bool watch = false;
  std::chrono::milliseconds interval{2000};  // watch --interval
  bool log = false;                          // `log`: read the log file
  bool follow = false;                       // log -f
  std::optional<uint64_t> lines;             // log -n N
  std::string log_file;            // log --log-file; "" = the daemon's, else PK_LOGDIR/pathkeeperd.log
  std::vector<std::string> words;  // the request, without "pk1"
  ipc::RequestKind kind = ipc::RequestKind::ShowTopology;

  std::chrono::milliseconds effective_timeout() const {
    return timeout ? *timeout : ipc::changes_state(kind) ? kCommandTimeout : kReadTimeout;
  }
};

// False with a message naming the offending word (exit code 2).
bool parse_args(std::span<const std::string_view> args, Invocation& out, std::string& error);

// Checks `words` as the daemon would; on success sets `kind`.
bool check_request(const std::vector<std::string>& words, ipc::RequestKind& kind, std::string& error);

std::string usage_text();

}  // namespace pk::ctl
