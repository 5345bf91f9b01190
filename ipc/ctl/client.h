// pathkeeperctl's side of the control socket: one request, one reply, within
// a deadline. Blocking (it is the CLI), allocation: yes.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "ipc/protocol.h"

namespace pk::ctl {

struct Reply {
  bool ok = false;
  ipc::ErrorCode code = ipc::ErrorCode::Internal;  // when !ok
  std::string body;                                // the JSON document
};

// Sends `words` (without "pk1") to the daemon at `socket_path` and reads its
// reply. False when the daemon is not reachable: no socket, nobody answering,
// no whole answer before `timeout`, or an answer that is not pk1; `error`
// then says which, for people.
bool call_daemon(const std::string& socket_path, const std::vector<std::string>& words,
                 std::chrono::milliseconds timeout, Reply& out, std::string& error);

}  // namespace pk::ctl
