// Fuzz entry point for the control socket's parsers of outside input: the
// request frame and payload (what any local user can send to the daemon) and
// the reply status line (what pathkeeperctl reads back). Besides "does not
// crash", it checks what the service relies on:
//   - a parsed request points into the input and its target fits Command::target;
//   - parsing the words again gives the same request;
//   - every error message fits a client's small reply buffer as JSON.
// Built as a libFuzzer target with -Dfuzz=true (clang) and, in every build,
// into fuzz_request_driver (driver_main.cpp). See README.md.
#include <cstdint>
#include <string_view>

#include "ipc/protocol.h"
#include "tests/fuzz/fuzz_check.h"

using pk::fuzz::check;

namespace {

void parse_payload(std::string_view in) {
  using namespace pk::ipc;
  Request r;
  RequestError e;
  if (!parse_request(in, r, e)) {
    check(!e.message.empty());
    char reply[4096];  // the size of a client slot's small reply buffer
    size_t len = 0;
    check(write_error_reply(reply, e.code, e.message.view(), len));
    return;
  }
  check(in.size() <= kMaxRequestBytes);
  check(r.target.size() <= kMaxTargetBytes);
  if (!r.target.empty())
    check(r.target.data() >= in.data() && r.target.data() + r.target.size() <= in.data() + in.size());
  if (r.kind == RequestKind::SwitchGroup) check(r.group != 0);
  if (r.all) check(r.target.empty());

  // The same words, encoded again, parse to the same request.
  std::string_view words[kMaxRequestWords];
  size_t n = 0;
  size_t start = in.find('\0');
  while (start != std::string_view::npos) {
    size_t end = in.find('\0', start + 1);
    check(n < kMaxRequestWords);
    words[n++] =
        in.substr(start + 1, end == std::string_view::npos ? std::string_view::npos : end - start - 1);
    start = end;
  }
  char frame[kFrameHeaderBytes + kMaxRequestBytes];
  size_t flen = encode_request({words, n}, frame);
  check(flen == kFrameHeaderBytes + in.size());
  Request again;
  check(parse_request({frame + kFrameHeaderBytes, flen - kFrameHeaderBytes}, again, e));
  check(again.kind == r.kind && again.target == r.target && again.group == r.group && again.all == r.all);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pk::ipc;
  std::string_view in = pk::fuzz::text(data, size);

  // The bytes as one payload.
  parse_payload(in);

  // The bytes as a stream of frames, as the service reads them.
  std::string_view rest = in;
  for (;;) {
    size_t len = 0;
    FrameState st = check_frame(rest, kMaxRequestBytes, len);
    if (st != FrameState::Complete) {
      if (st == FrameState::TooLarge) check(len > kMaxRequestBytes);
      break;
    }
    check(len >= 1 && len <= kMaxRequestBytes && kFrameHeaderBytes + len <= rest.size());
    parse_payload(rest.substr(kFrameHeaderBytes, len));
    rest.remove_prefix(kFrameHeaderBytes + len);
  }

  // The bytes as a reply payload, as pathkeeperctl reads it.
  ReplyHead head;
  if (parse_reply(in, head)) check(head.body.data() >= in.data() && head.body.size() < in.size());
  return 0;
}
