// The control socket protocol, version pk1 (documented in ipc/protocol.md).
//
// A Unix stream socket carries frames: a 4-byte little-endian payload length,
// then the payload. A request's payload is at most kMaxRequestBytes.
//
//   request payload:  words separated by NUL bytes, the first one "pk1":
//                       "pk1\0show\0paths"   "pk1\0switch\0group\0mpatha\0002"
//   reply payload:    a status line, then a JSON document (ipc/json-schema.md):
//                       "pk1 ok\n{...}"   "pk1 error not-found\n{...}"
//
// A client may send several requests on one connection, one at a time: each
// gets its reply before the next request is read.
//
// Threads: any. Blocking: never. Allocation: never (results point into the
// caller's buffers, messages live in fixed buffers). Safe on arbitrary bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/error.h"
#include "core/text.h"

namespace pk::ipc {

inline constexpr std::string_view kProtocolWord = "pk1";
inline constexpr size_t kFrameHeaderBytes = 4;
inline constexpr size_t kMaxRequestBytes = 4096;
inline constexpr size_t kMaxRequestWords = 8;
inline constexpr size_t kMaxTargetBytes = 127;  // Command::target holds this much

enum class RequestKind : uint8_t {
  ShowPaths,        // show paths
  ShowMaps,         // show maps
  ShowTopology,     // show topology
  ShowMap,          // show map NAME
  ShowPath,         // show path DEV
  ShowStatus,       // status | show status
  ShowConfig,       // show config
  FailPath,         // fail path DEV
  ReinstatePath,    // reinstate path DEV
  ClearMarginal,    // clear marginal DEV
  SwitchGroup,      // switch group MAP N
  DisableQueueing,  // disable queueing MAP|--all
  RestoreQueueing,  // restore queueing MAP|--all
  Reconfigure,      // reconfigure
  RemoveMap,        // remove map NAME|--all
  RemovePath,       // remove path DEV
  AddPath,          // add path DEV
  ResizeMap,        // resize map NAME
};

// True for the commands that change state (they need authorisation and go
// to the loop); false for the ones answered from the snapshot.
bool changes_state(RequestKind k);

struct Request {
  RequestKind kind = RequestKind::ShowPaths;
  std::string_view target;  // DEV or MAP; points into the parsed payload
  uint16_t group = 0;       // SwitchGroup: 1-based
  bool all = false;         // Disable/RestoreQueueing --all, RemoveMap --all
};

// The error codes of an error reply (the word after "error").
enum class ErrorCode : uint8_t {
  Usage,        // usage: the request is not a command this daemon knows
  Version,      // version: another protocol version
  TooLarge,     // too-large: request over kMaxRequestBytes (the connection is closed)
  NotFound,     // not-found: no such path or map
  Denied,       // denied: the peer may not change state
  Busy,         // busy: too many clients, or the command queue is full
  Failed,       // failed: the loop carried the command out and it failed
  Timeout,      // timeout: the loop did not answer in time
  Unavailable,  // unavailable: the daemon cannot answer this yet
  Internal,     // internal: the reply does not fit the reserved buffer, or similar
};
std::string_view error_code_name(ErrorCode c);
bool parse_error_code(std::string_view word, ErrorCode& out);

struct RequestError {
  ErrorCode code = ErrorCode::Usage;
  core::Error message;  // for people; names the offending word
};

// Parses one request payload (without the frame header).
bool parse_request(std::string_view payload, Request& out, RequestError& err);

// --- Frames ---

void put_le32(uint32_t v, char* out);
uint32_t get_le32(const char* in);

enum class FrameState : uint8_t {
  NeedMore,  // fewer bytes than the header or the payload it announces
  Complete,  // header and whole payload present
  Empty,     // the header announces 0 bytes
  TooLarge,  // the header announces more than max_payload
};
// Looks at the bytes received so far (header first). `payload_len` is set as
// soon as the header is complete.
FrameState check_frame(std::string_view received, size_t max_payload, size_t& payload_len);

// Writes header and payload of a request made of `words` (the "pk1" word is
// added). Returns the bytes written, 0 when a word is empty, contains a NUL
// or the request does not fit `out` or kMaxRequestBytes.
size_t encode_request(std::span<const std::string_view> words, std::span<char> out);

// --- Replies ---

// Starts a reply frame: 4 bytes for the header (patched by finish_reply),
// then the status line. The caller writes the JSON body after it.
void begin_reply(core::FixedWriter& w, bool ok, ErrorCode code = ErrorCode::Internal);
// Patches the header with the payload length; false when `w` overflowed.
bool finish_reply(core::FixedWriter& w, std::span<char> buffer);

// A whole error reply: status line and {"version":1,"error":{"code","message"}}.
bool write_error_reply(std::span<char> buffer, ErrorCode code, std::string_view message, size_t& length);

struct ReplyHead {
  bool ok = false;
  ErrorCode code = ErrorCode::Internal;  // when !ok
  std::string_view body;                 // the JSON document
};
// Splits a reply payload into status and body; false when it is not pk1.
bool parse_reply(std::string_view payload, ReplyHead& out);

}  // namespace pk::ipc
