// Protocol pk1: request parsing (valid, malformed, oversized, wrong version),
// frames, replies, the authorisation decision; none of it allocates.
#include "ipc/protocol.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ipc/auth.h"
#include "tests/support/heap_guard.h"

using namespace pk::ipc;

namespace {

// "pk1" and the words joined by NUL bytes.
std::string payload(std::initializer_list<std::string_view> words) {
  std::string p(kProtocolWord);
  for (std::string_view w : words) {
    p += '\0';
    p += w;
  }
  return p;
}

struct Parsed {
  bool ok;
  Request request;
  RequestError error;
};
Parsed parse(std::string_view p) {
  Parsed r{};
  r.ok = parse_request(p, r.request, r.error);
  return r;
}

TEST(ParseRequest, ReadCommands) {
  struct Case {
    std::initializer_list<std::string_view> words;
    RequestKind kind;
    std::string_view target;
  } cases[] = {
      {{"show", "paths"}, RequestKind::ShowPaths, ""},
      {{"show", "maps"}, RequestKind::ShowMaps, ""},
      {{"show", "topology"}, RequestKind::ShowTopology, ""},
      {{"show", "map", "mpatha"}, RequestKind::ShowMap, "mpatha"},
      {{"show", "path", "sdb"}, RequestKind::ShowPath, "sdb"},
      {{"status"}, RequestKind::ShowStatus, ""},
      {{"show", "status"}, RequestKind::ShowStatus, ""},
      {{"show", "config"}, RequestKind::ShowConfig, ""},
      {{"show", "map", "a map with spaces"}, RequestKind::ShowMap, "a map with spaces"},
  };
  for (const Case& c : cases) {
    std::string p = payload(c.words);
    Parsed r = parse(p);
    ASSERT_TRUE(r.ok) << r.error.message.c_str();
    EXPECT_EQ(r.request.kind, c.kind);
    EXPECT_EQ(r.request.target, c.target);
    EXPECT_FALSE(changes_state(r.request.kind));
  }
}

TEST(ParseRequest, CommandsThatChangeState) {
  std::string p;  // the request points into it
  Parsed r = parse(p = payload({"fail", "path", "sdb"}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.request.kind, RequestKind::FailPath);
  EXPECT_EQ(r.request.target, "sdb");

  r = parse(p = payload({"reinstate", "path", "nbd0"}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.request.kind, RequestKind::ReinstatePath);
  EXPECT_EQ(r.request.target, "nbd0");

  r = parse(p = payload({"switch", "group", "mpatha", "2"}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.request.kind, RequestKind::SwitchGroup);
  EXPECT_EQ(r.request.target, "mpatha");
  EXPECT_EQ(r.request.group, 2);

  r = parse(p = payload({"disable", "queueing", "mpatha"}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.request.kind, RequestKind::DisableQueueing);
  EXPECT_EQ(r.request.target, "mpatha");
  EXPECT_FALSE(r.request.all);

  r = parse(p = payload({"restore", "queueing", "--all"}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.request.kind, RequestKind::RestoreQueueing);
  EXPECT_TRUE(r.request.all);
  EXPECT_EQ(r.request.target, "");

  r = parse(p = payload({"reconfigure"}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.request.kind, RequestKind::Reconfigure);

  for (RequestKind k :
       {RequestKind::FailPath, RequestKind::ReinstatePath, RequestKind::SwitchGroup,
        RequestKind::DisableQueueing, RequestKind::RestoreQueueing, RequestKind::Reconfigure,
        RequestKind::RemoveMap, RequestKind::RemovePath, RequestKind::AddPath, RequestKind::ResizeMap})
    EXPECT_TRUE(changes_state(k));
}

TEST(ParseRequest, TheMapLifecycle) {
  std::string p;
  Parsed r = parse(p = payload({"remove", "map", "mpatha"}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.request.kind, RequestKind::RemoveMap);
  EXPECT_EQ(r.request.target, "mpatha");
  EXPECT_FALSE(r.request.all);
  r = parse(p = payload({"remove", "map", "--all"}));
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.request.all);
  EXPECT_EQ(r.request.target, "");
  r = parse(p = payload({"remove", "path", "sdb"}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.request.kind, RequestKind::RemovePath);
  EXPECT_EQ(r.request.target, "sdb");
  r = parse(p = payload({"add", "path", "sdb"}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.request.kind, RequestKind::AddPath);
  r = parse(p = payload({"resize", "map", "mpatha"}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.request.kind, RequestKind::ResizeMap);
  EXPECT_EQ(r.request.target, "mpatha");

  struct Bad {
    std::string payload;
    const char* message;
  };
  const Bad bad[] = {
      {payload({"remove"}), "'remove' needs 'map NAME', 'map --all' or 'path DEV'"},
      {payload({"remove", "maps"}), "cannot remove 'maps': expected 'map NAME', 'map --all' or 'path DEV'"},
      {payload({"remove", "map"}), "'remove map' needs a map NAME or --all"},
      {payload({"remove", "map", "a", "b"}), "unexpected word 'b' after 'remove map NAME'"},
      {payload({"add", "map", "a"}), "cannot add 'map': expected 'path DEV'"},
      {payload({"add", "path"}), "'add path' needs a path DEV"},
      {payload({"resize"}), "'resize' needs 'map NAME'"},
      {payload({"resize", "map", "a", "now"}), "unexpected word 'now' after 'resize map NAME'"},
  };
  for (const Bad& b : bad) {
    Parsed e = parse(b.payload);
    EXPECT_FALSE(e.ok) << b.message;
    EXPECT_EQ(e.error.code, ErrorCode::Usage);
    EXPECT_EQ(e.error.message.view(), b.message);
  }
}

TEST(ParseRequest, MalformedRequestsSayWhatIsWrong) {
  struct Case {
    std::string payload;
    std::string_view message;
  } cases[] = {
      {"", "not a pathkeeper request: it must start with \"pk1\""},
      {"pk1", "empty request: a command must follow pk1"},
      {payload({"shwo", "paths"}), "unknown command 'shwo'"},
      {payload({"show"}),
       "'show' needs what to show: paths, maps, topology, map NAME, path DEV, status or config"},
      {payload({"show", "pathz"}),
       "cannot show 'pathz': expected paths, maps, topology, map NAME, path DEV, status or config"},
      {payload({"show", "paths", "now"}), "unexpected word 'now' after 'show paths'"},
      {payload({"show", "map"}), "'show map' needs a map NAME"},
      {payload({"show", "path", "sda", "sdb"}), "unexpected word 'sdb' after 'show path DEV'"},
      {payload({"fail", "sdb"}), "expected 'path' after 'fail', not 'sdb'"},
      {payload({"fail"}), "'fail' needs 'path' next"},
      {payload({"reinstate", "path"}), "'reinstate path' needs a path DEV"},
      {payload({"switch", "group", "mpatha"}), "'switch group MAP' needs a group number"},
      {payload({"switch", "group", "mpatha", "x"}), "group 'x' is not a number from 1 to 65535"},
      {payload({"switch", "group", "mpatha", "0"}), "group '0' is not a number from 1 to 65535"},
      {payload({"switch", "group", "mpatha", "65536"}), "group '65536' is not a number from 1 to 65535"},
      {payload({"switch", "group", "mpatha", "-1"}), "group '-1' is not a number from 1 to 65535"},
      {payload({"disable", "queue", "mpatha"}), "expected 'queueing' after 'disable', not 'queue'"},
      {payload({"restore", "queueing"}), "'restore queueing' needs a map NAME or --all"},
      {payload({"reconfigure", "now"}), "unexpected word 'now' after 'reconfigure'"},
      {"pk1 show paths", "words are separated by NUL bytes, not blanks"},
      {std::string("pk1\0show\0\0paths", 15), "word 3 is empty (two NUL bytes in a row?)"},
      {std::string("pk1\0show\0paths\0", 15), "word 4 is empty (two NUL bytes in a row?)"},
      {payload({"show", "path", "sd\x01"}), "word 4 contains a control character"},
      {payload({"show", "path", "sd\x7f"}), "word 4 contains a control character"},
      {payload({"show", "paths", "a", "b", "c", "d", "e", "f"}), "too many words: a request has at most 8"},
      {payload({std::string(200, 'x')}), "unknown command 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"},
      {payload({"show", "map", std::string(128, 'm')}),
       "name 'mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm...' is longer than 127 bytes"},
  };
  for (const Case& c : cases) {
    Parsed r = parse(c.payload);
    EXPECT_FALSE(r.ok) << c.message;
    EXPECT_EQ(r.error.code, ErrorCode::Usage) << c.message;
    EXPECT_EQ(r.error.message.view(), c.message);
  }
}

TEST(ParseRequest, ATargetOfExactly127BytesIsAccepted) {
  std::string name(kMaxTargetBytes, 'm');
  std::string p = payload({"show", "map", name});
  Parsed r = parse(p);
  ASSERT_TRUE(r.ok) << r.error.message.c_str();
  EXPECT_EQ(r.request.target.size(), kMaxTargetBytes);
}

TEST(ParseRequest, AnotherProtocolVersionIsAVersionError) {
  for (std::string_view v : {"pk2", "pk0", "pk10"}) {
    std::string p(v);
    p += std::string_view("\0show\0paths", 11);
    Parsed r = parse(p);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error.code, ErrorCode::Version) << v;
    EXPECT_EQ(r.error.message.view(),
              "protocol " + std::string(v) + " is not spoken here: this daemon speaks pk1");
  }
  Parsed r = parse(std::string_view("PK1\0status", 10));
  EXPECT_EQ(r.error.code, ErrorCode::Usage) << "not a version word at all";
  r = parse(std::string_view("GET / HTTP/1.1\r\n", 16));
  EXPECT_FALSE(r.ok);
}

TEST(ParseRequest, AnOversizedPayloadIsRefusedUnread) {
  std::string p = payload({"show", "map", std::string(kMaxRequestBytes, 'm')});
  Parsed r = parse(p);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, ErrorCode::TooLarge);
}

TEST(ParseRequest, TheRequestPointsIntoThePayload) {
  std::string p = payload({"show", "path", "sdb"});
  Parsed r = parse(p);
  ASSERT_TRUE(r.ok);
  EXPECT_GE(r.request.target.data(), p.data());
  EXPECT_LE(r.request.target.data() + r.request.target.size(), p.data() + p.size());
}

TEST(Frames, CheckFrameFollowsTheHeader) {
  size_t len = 99;
  EXPECT_EQ(check_frame("", 4096, len), FrameState::NeedMore);
  EXPECT_EQ(check_frame(std::string_view("\x05\0\0", 3), 4096, len), FrameState::NeedMore);
  EXPECT_EQ(check_frame(std::string_view("\x05\0\0\0abc", 7), 4096, len), FrameState::NeedMore);
  EXPECT_EQ(len, 5u);
  EXPECT_EQ(check_frame(std::string_view("\x05\0\0\0abcde", 9), 4096, len), FrameState::Complete);
  EXPECT_EQ(check_frame(std::string_view("\0\0\0\0", 4), 4096, len), FrameState::Empty);
  EXPECT_EQ(check_frame(std::string_view("\x01\x10\0\0", 4), 4096, len), FrameState::TooLarge);
  EXPECT_EQ(len, 4097u);
  EXPECT_EQ(check_frame(std::string_view("\0\x10\0\0", 4), 4096, len), FrameState::NeedMore)
      << "exactly 4096";
  EXPECT_EQ(check_frame("\xff\xff\xff\xff", 4096, len), FrameState::TooLarge);
  EXPECT_EQ(len, 0xFFFFFFFFu);
}

TEST(Frames, LittleEndianBothWays) {
  char b[4];
  put_le32(0x12345678, b);
  EXPECT_EQ(std::string_view(b, 4), "\x78\x56\x34\x12");
  EXPECT_EQ(get_le32(b), 0x12345678u);
  put_le32(0xFFFFFFFF, b);
  EXPECT_EQ(get_le32(b), 0xFFFFFFFFu);
}

TEST(Frames, EncodeRequestRoundTrips) {
  std::vector<std::string_view> words = {"switch", "group", "my map", "2"};
  char out[kFrameHeaderBytes + kMaxRequestBytes];
  size_t n = encode_request(words, out);
  ASSERT_GT(n, kFrameHeaderBytes);
  size_t len = 0;
  ASSERT_EQ(check_frame({out, n}, kMaxRequestBytes, len), FrameState::Complete);
  EXPECT_EQ(len + kFrameHeaderBytes, n);
  Parsed r = parse({out + kFrameHeaderBytes, len});
  ASSERT_TRUE(r.ok) << r.error.message.c_str();
  EXPECT_EQ(r.request.target, "my map");
  EXPECT_EQ(r.request.group, 2);

  std::vector<std::string_view> bad = {"show", ""};
  EXPECT_EQ(encode_request(bad, out), 0u) << "empty word";
  std::vector<std::string_view> nul = {"show", std::string_view("a\0b", 3)};
  EXPECT_EQ(encode_request(nul, out), 0u) << "NUL inside a word";
  std::string huge(kMaxRequestBytes, 'x');
  std::vector<std::string_view> big = {"show", "map", huge};
  EXPECT_EQ(encode_request(big, out), 0u) << "over 4 KiB";
  char tiny[8];
  EXPECT_EQ(encode_request(words, tiny), 0u) << "does not fit the buffer";
}

TEST(Replies, AnErrorReplyParsesBack) {
  char buf[1024];
  size_t len = 0;
  ASSERT_TRUE(write_error_reply(buf, ErrorCode::NotFound, "no map named \"x\"\n", len));
  size_t plen = 0;
  ASSERT_EQ(check_frame({buf, len}, UINT32_MAX, plen), FrameState::Complete);
  ReplyHead head;
  ASSERT_TRUE(parse_reply({buf + kFrameHeaderBytes, plen}, head));
  EXPECT_FALSE(head.ok);
  EXPECT_EQ(head.code, ErrorCode::NotFound);
  auto doc = nlohmann::json::parse(head.body);
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["error"]["code"], "not-found");
  EXPECT_EQ(doc["error"]["message"], "no map named \"x\"\n");
  EXPECT_EQ(std::string_view(buf + kFrameHeaderBytes, 24), "pk1 error not-found\n{\"ve");

  char small[16];
  EXPECT_FALSE(write_error_reply(small, ErrorCode::Busy, "too many clients", len));
}

TEST(Replies, StatusLines) {
  ReplyHead head;
  ASSERT_TRUE(parse_reply("pk1 ok\n{}", head));
  EXPECT_TRUE(head.ok);
  EXPECT_EQ(head.body, "{}");
  ASSERT_TRUE(parse_reply("pk1 error busy\n{}", head));
  EXPECT_FALSE(head.ok);
  EXPECT_EQ(head.code, ErrorCode::Busy);
  EXPECT_FALSE(parse_reply("pk1 ok", head)) << "no newline";
  EXPECT_FALSE(parse_reply("pk2 ok\n{}", head));
  EXPECT_FALSE(parse_reply("pk1 error nonsense\n{}", head));
  EXPECT_FALSE(parse_reply("pk1 fine\n{}", head));
  EXPECT_FALSE(parse_reply("", head));
}

TEST(Replies, EveryErrorCodeHasAName) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::Internal); ++i) {
    auto code = static_cast<ErrorCode>(i);
    ErrorCode back{};
    ASSERT_TRUE(parse_error_code(error_code_name(code), back)) << i;
    EXPECT_EQ(back, code);
  }
  EXPECT_EQ(error_code_name(ErrorCode::TooLarge), "too-large");
}

TEST(Authorisation, RootAlwaysOthersOnlyThroughTheControlGroup) {
  ControlPolicy root_only;
  ControlPolicy storage{true, 4242};
  std::vector<gid_t> none;
  std::vector<gid_t> member = {100, 4242};
  std::vector<gid_t> other = {100, 4243};
  EXPECT_TRUE(may_change_state(0, 0, none, root_only));
  EXPECT_TRUE(may_change_state(0, 5, none, storage));
  EXPECT_FALSE(may_change_state(1000, 1000, member, root_only)) << "no group configured: root only";
  EXPECT_TRUE(may_change_state(1000, 1000, member, storage)) << "supplementary group";
  EXPECT_TRUE(may_change_state(1000, 4242, none, storage)) << "primary group";
  EXPECT_FALSE(may_change_state(1000, 1000, other, storage));
  EXPECT_FALSE(may_change_state(1000, 0, none, storage)) << "gid 0 alone is not root";
}

TEST(Authorisation, ControlGroupResolvesByNameOrNumber) {
  ControlPolicy p;
  pk::core::Error err;
  ASSERT_TRUE(resolve_control_policy("", p, err));
  EXPECT_FALSE(p.group_set);
  ASSERT_TRUE(resolve_control_policy("root", p, err)) << err.c_str();
  EXPECT_TRUE(p.group_set);
  EXPECT_EQ(p.gid, 0u);
  ASSERT_TRUE(resolve_control_policy("4242", p, err));
  EXPECT_EQ(p.gid, 4242u);
  EXPECT_FALSE(resolve_control_policy("no-such-group-here", p, err));
  EXPECT_EQ(err.view(), "control_group 'no-such-group-here' is not a group on this system");
}

TEST(NoAllocation, ParsingFramingAndErrorRepliesAllocateNothing) {
  std::vector<std::string> payloads = {
      payload({"show", "paths"}),
      payload({"switch", "group", "mpatha", "2"}),
      payload({"shwo"}),
      payload({"switch", "group", "m", "x"}),
      std::string(5000, 'x'),
      "pk2",
      payload({"show", "map", std::string(300, 'm')}),
  };
  char reply[1024];
  pk::test::heap_guard::arm();
  for (int round = 0; round < 100; ++round) {
    for (const std::string& p : payloads) {
      Request r;
      RequestError e;
      if (!parse_request(p, r, e)) {
        size_t len;
        write_error_reply(reply, e.code, e.message.view(), len);
      }
      size_t n;
      check_frame(p, kMaxRequestBytes, n);
      ReplyHead h;
      parse_reply(p, h);
    }
    std::string_view words[] = {"show", "paths"};
    encode_request(words, reply);
  }
  pk::test::heap_guard::disarm();
  EXPECT_EQ(pk::test::heap_guard::count(), 0u)
      << "first heap call from " << pk::test::heap_guard::first_caller();
}

}  // namespace
