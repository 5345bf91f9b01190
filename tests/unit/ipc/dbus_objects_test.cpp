// The D-Bus service's pure helpers: object path labels (checked against
// libsystemd's own sd_bus_path_encode / sd_bus_path_decode), D-Bus-safe
// strings, no_path_retry text. None of them allocates.
#include "ipc/dbus_objects.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "tests/support/heap_guard.h"

using namespace pk;
using namespace pk::ipc::dbus;
using namespace std::string_view_literals;

namespace {

std::string systemd_encode(std::string_view prefix, std::string_view id) {
  char* out = nullptr;
  std::string p(prefix), i(id);
  EXPECT_GE(sd_bus_path_encode(p.c_str(), i.c_str(), &out), 0);
  std::string s = out ? out : "";
  std::free(out);
  return s;
}

std::string systemd_decode(std::string_view path, std::string_view prefix) {
  char* out = nullptr;
  std::string p(path), pre(prefix);
  int r = sd_bus_path_decode(p.c_str(), pre.c_str(), &out);
  std::string s = r > 0 && out ? out : "<none>";
  std::free(out);
  return s;
}

std::string ours(std::string_view prefix, std::string_view id) {
  char buf[kObjectPathBytes];
  if (!object_path(prefix, id, buf)) return "<does not fit>";
  return buf;
}

// Every name a path or map may have that sd-bus can take (no NUL).
const char* const kNames[] = {
    "sdb",
    "nvme0n1",
    "nbd0",
    "dm-3",
    "mpatha",
    "360014051234abcd",
    "3600a0b80005ad1d700002dde4fa32ca8",
    "nbd-export1",
    "my map",
    "a_b",
    "_",
    "__",
    "x/y",
    "Ünïcode",
    "9",
    "ATA \"odd\" \\disk\t1",
    "\x7f\xff\x01",
    "",
};

}  // namespace

TEST(DbusObjects, LabelsAreThoseOfSdBusPathEncode) {
  for (const char* name : kNames) {
    EXPECT_EQ(ours(kPathPrefix, name), systemd_encode(kPathPrefix, name)) << "name '" << name << "'";
    EXPECT_EQ(ours(kMapPrefix, name), systemd_encode(kMapPrefix, name)) << "name '" << name << "'";
  }
  EXPECT_EQ(ours(kPathPrefix, "sdb"), "/org/pathkeeper/PathKeeper1/path/sdb");
  // A leading digit is escaped too.
  EXPECT_EQ(ours(kMapPrefix, "360014051234abcd"), "/org/pathkeeper/PathKeeper1/map/_3360014051234abcd");
  EXPECT_EQ(ours(kMapPrefix, "nbd-export1"), "/org/pathkeeper/PathKeeper1/map/nbd_2dexport1");
  EXPECT_EQ(ours(kMapPrefix, ""), "/org/pathkeeper/PathKeeper1/map/_");
}

TEST(DbusObjects, ObjectIdReversesObjectPathLikeSdBusPathDecode) {
  for (const char* name : kNames) {
    std::string path = ours(kPathPrefix, name);
    char buf[kMaxIdBytes + 1];
    std::string_view id;
    ASSERT_TRUE(object_id(path, kPathPrefix, buf, id)) << path;
    EXPECT_EQ(id, std::string_view(name));
    EXPECT_EQ(std::string(id), systemd_decode(path, kPathPrefix));
  }
  // sd-bus takes an '_' without two hex digits as itself: so do we.
  for (const char* label : {"a_", "a_g1", "_x", "a_4", "A_4A"}) {
    std::string path = std::string(kMapPrefix) + "/" + label;
    char buf[kMaxIdBytes + 1];
    std::string_view id;
    ASSERT_TRUE(object_id(path, kMapPrefix, buf, id)) << path;
    EXPECT_EQ(std::string(id), systemd_decode(path, kMapPrefix)) << path;
  }
}

TEST(DbusObjects, ObjectIdTakesOnlyDirectChildrenOfItsPrefix) {
  char buf[kMaxIdBytes + 1];
  std::string_view id;
  EXPECT_FALSE(object_id(kMapPrefix, kMapPrefix, buf, id));
  EXPECT_FALSE(object_id("/org/pathkeeper/PathKeeper1/map/", kMapPrefix, buf, id));
  EXPECT_FALSE(object_id("/org/pathkeeper/PathKeeper1/map/a/b", kMapPrefix, buf, id));
  EXPECT_FALSE(object_id("/org/pathkeeper/PathKeeper1/mapx/a", kMapPrefix, buf, id));
  EXPECT_FALSE(object_id("/org/pathkeeper/PathKeeper1/path/sdb", kMapPrefix, buf, id));
  // A name longer than any map's does not fit the caller's buffer.
  std::string long_label = std::string(kMapPrefix) + "/" + std::string(kMaxIdBytes + 2, 'a');
  EXPECT_FALSE(object_id(long_label, kMapPrefix, buf, id));
}

TEST(DbusObjects, TheLongestNameFitsAndTooSmallBuffersAreRefused) {
  std::string worst(kMaxIdBytes, '-');  // every byte escaped: three characters each
  char buf[kObjectPathBytes];
  ASSERT_TRUE(object_path(kPathPrefix, worst, buf));
  EXPECT_EQ(std::string(buf), systemd_encode(kPathPrefix, worst));
  char small[8];
  EXPECT_EQ(encode_label("abcdefgh", small), 0u);
  EXPECT_EQ(encode_label("abcdefg", small), 7u);
  EXPECT_FALSE(object_path(kPathPrefix, "sdb", small));
}

TEST(DbusObjects, DbusStringsAreValidUtf8WithoutNul) {
  char buf[dbus_string_bytes(64)];
  EXPECT_STREQ(dbus_string("sdb", buf), "sdb");
  EXPECT_STREQ(dbus_string("Ünïcode ✓ 𝄞", buf), "Ünïcode ✓ 𝄞");  // valid UTF-8 stays
  EXPECT_STREQ(dbus_string("a\xff"
                           "b",
                           buf),
               "a\xc3\xbf"
               "b");                                                           // a stray byte: Latin-1
  EXPECT_STREQ(dbus_string("\xc3", buf), "\xc3\x83");                          // cut sequence
  EXPECT_STREQ(dbus_string("\xc0\xaf", buf), "\xc3\x80\xc2\xaf");              // overlong '/'
  EXPECT_STREQ(dbus_string("\xed\xa0\x80", buf), "\xc3\xad\xc2\xa0\xc2\x80");  // surrogate
  EXPECT_STREQ(dbus_string("\xef\xbf\xbe", buf), "\xc3\xaf\xc2\xbf\xc2\xbe");  // U+FFFE, refused by sd-bus
  EXPECT_STREQ(dbus_string("a\0b"sv, buf),
               "a\xef\xbf\xbd"
               "b");  // NUL: U+FFFD
  // sd-bus takes whatever comes out.
  const char* nasty[] = {"\x80\x81\xfe\xff", "\xf4\x90\x80\x80", "\xef\xb7\x90", "x\xe2\x82"};
  // A bus over a socketpair is enough to build messages.
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  sd_bus* bus = nullptr;
  ASSERT_GE(sd_bus_new(&bus), 0);
  ASSERT_GE(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
  ASSERT_GE(sd_bus_start(bus), 0);
  for (const char* n : nasty) {
    sd_bus_message* m = nullptr;
    ASSERT_GE(sd_bus_message_new_signal(bus, &m, "/a", "a.b", "C"), 0);
    EXPECT_GE(sd_bus_message_append(m, "s", dbus_string(n, buf)), 0) << n;
    EXPECT_LT(sd_bus_message_append(m, "s", n), 0) << "sd-bus should refuse " << n;
    sd_bus_message_unref(m);
  }
  sd_bus_close_unref(bus);
  ::close(fds[1]);
}

TEST(DbusObjects, DbusStringsAreCutAtACharacterBoundary) {
  char buf[6];
  EXPECT_STREQ(dbus_string("abcdefgh", buf), "abcde");
  EXPECT_STREQ(dbus_string("abcd✓", buf), "abcd");  // ✓ is three bytes: it does not fit
  EXPECT_STREQ(dbus_string("abcd\xff", buf), "abcd");
}

TEST(DbusObjects, NoPathRetryInTheConfigurationsWords) {
  char buf[24];
  core::NoPathRetry r;
  r.kind = core::NoPathRetry::Kind::Queue;
  EXPECT_STREQ(no_path_retry_text(r, buf), "queue");
  r.kind = core::NoPathRetry::Kind::Fail;
  EXPECT_STREQ(no_path_retry_text(r, buf), "fail");
  r.kind = core::NoPathRetry::Kind::Checks;
  r.checks = 12;
  EXPECT_STREQ(no_path_retry_text(r, buf), "12");
  r.kind = core::NoPathRetry::Kind::Time;
  r.duration = core::Seconds(300);
  EXPECT_STREQ(no_path_retry_text(r, buf), "300s");
}

TEST(DbusObjects, HelpersAllocateNothing) {
  char path[kObjectPathBytes];
  char id_buf[kMaxIdBytes + 1];
  char text[dbus_string_bytes(256)];
  char npr[24];
  std::string_view id;
  core::NoPathRetry r;
  test::heap_guard::arm();
  for (int i = 0; i < 100; ++i) {
    object_path(kMapPrefix, "3600a0b80005ad1d700002dde4fa32ca8", path);
    object_id(path, kMapPrefix, id_buf, id);
    dbus_string("ATA \xff odd", text);
    no_path_retry_text(r, npr);
  }
  test::heap_guard::disarm();
  EXPECT_EQ(test::heap_guard::count(), 0u) << "first heap call from " << test::heap_guard::first_caller();
  EXPECT_EQ(id, "3600a0b80005ad1d700002dde4fa32ca8");
}
