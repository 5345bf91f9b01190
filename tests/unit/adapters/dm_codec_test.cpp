// The DM ioctl codec against buffers written byte by byte the way the kernel
// (drivers/md/dm-ioctl.c) lays them out.
#include "adapters/dm_codec.h"

#include <gtest/gtest.h>
#include <linux/dm-ioctl.h>
#include <sys/sysmacros.h>

#include <array>
#include <cstring>
#include <string>

#include "tests/unit/adapters/dm_kernel_sim.h"

using namespace pk::adapters;
using pk::core::DevT;
using pk::core::Error;
using pk::test::get;
using pk::test::put;
namespace off = pk::test::dmoff;

namespace {

struct Buffer {
  alignas(8) std::array<std::byte, 8192> bytes{};
  std::span<std::byte> span() { return bytes; }
  std::byte* at(size_t o) { return bytes.data() + o; }
  void str(size_t o, const char* s) { std::memcpy(at(o), s, std::strlen(s) + 1); }
  std::string string_at(size_t o) { return reinterpret_cast<const char*>(at(o)); }
  // A kernel answer's header: version 4.47.0, payload at 312.
  void answer_header(uint32_t data_size, uint32_t flags = 0, uint32_t targets = 0) {
    put<uint32_t>(at(0), off::kVersion, 4);
    put<uint32_t>(at(0), off::kVersion + 4, 47);
    put<uint32_t>(at(0), off::kDataSize, data_size);
    put<uint32_t>(at(0), off::kDataStart, 312);
    put<uint32_t>(at(0), off::kTargetCount, targets);
    put<uint32_t>(at(0), off::kFlags, flags);
  }
};

dmio::Header header_of(Buffer& b) {
  dmio::Header h;
  Error err;
  EXPECT_TRUE(dmio::decode_header(b.span(), h, err)) << err.c_str();
  return h;
}

}  // namespace

TEST(DmCodec, DevNumbersUseTheKernelsHugeEncoding) {
  EXPECT_EQ(dmio::encode_dev({8, 16}), 0x810u);
  EXPECT_EQ(dmio::encode_dev({253, 0}), 0xfd00u);
  // Minors above 255 spread over bits 20 and up (new_encode_dev).
  EXPECT_EQ(dmio::encode_dev({259, 300}), 0x2cu | (259u << 8) | (0x100u << 12));
  for (DevT d : {DevT{8, 0}, DevT{65, 250}, DevT{259, 300}, DevT{253, 70000}, DevT{4095, 1048575}}) {
    EXPECT_EQ(dmio::decode_dev(dmio::encode_dev(d)), d);
    // Same value as glibc's dev_t for these ranges.
    EXPECT_EQ(dmio::encode_dev(d), makedev(d.major, d.minor));
  }
}

TEST(DmCodec, TargetMessageIsExactlyAsLargeAsItsText) {
  Buffer b;
  std::memset(b.bytes.data(), 0xaa, b.bytes.size());
  Error err;
  size_t n = dmio::encode_target_msg(b.span(), "mp0", "fail_path 8:16", err);
  // header 312 + dm_target_msg.sector 8 + 14 characters + NUL = 335 -> 336
  ASSERT_EQ(n, 336u) << err.c_str();
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kVersion), 4u);
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kVersion + 4), 37u);
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kVersion + 8), 0u);
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kDataSize), 336u);
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kDataStart), 312u);
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kFlags), 0u);
  EXPECT_EQ(b.string_at(off::kName), "mp0");
  EXPECT_EQ(b.string_at(off::kUuid), "");
  EXPECT_EQ(get<uint64_t>(b.at(0), 312), 0u);  // sector 0
  EXPECT_EQ(b.string_at(320), "fail_path 8:16");
  EXPECT_EQ(b.bytes[335], std::byte{0});     // padding zeroed
  EXPECT_EQ(b.bytes[336], std::byte{0xaa});  // nothing written past data_size
}

TEST(DmCodec, RefusesNamesAndTextsThatDoNotFit) {
  Buffer b;
  Error err;
  std::string long_name(128, 'x');
  EXPECT_EQ(dmio::encode_target_msg(b.span(), long_name, "fail_path 8:0", err), 0u);
  EXPECT_NE(err.view().find("longer than 127"), std::string_view::npos) << err.c_str();
  EXPECT_EQ(dmio::encode_target_msg(b.span(), "", "fail_path 8:0", err), 0u);
  EXPECT_EQ(dmio::encode_target_msg(b.span(), "mp0", "", err), 0u);
  std::string huge(9000, 'a');
  EXPECT_EQ(dmio::encode_target_msg(b.span(), "mp0", huge, err), 0u);
  EXPECT_NE(err.view().find("8192-byte DM buffer"), std::string_view::npos) << err.c_str();
  std::string name127(127, 'n');
  EXPECT_GT(dmio::encode_table_status(b.span(), name127, false, 1024, err), 0u);
  EXPECT_EQ(b.string_at(off::kName), name127);
}

TEST(DmCodec, TableStatusRequestOffersItsWindowAndNeverFlushes) {
  Buffer b;
  Error err;
  ASSERT_EQ(dmio::encode_table_status(b.span(), "mp0", false, 1024, err), 1024u);
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kDataSize), 1024u);
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kFlags), uint32_t{DM_NOFLUSH_FLAG});
  ASSERT_EQ(dmio::encode_table_status(b.span(), "mp0", true, 1024, err), 1024u);
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kFlags), uint32_t{DM_NOFLUSH_FLAG | DM_STATUS_TABLE_FLAG});
  // Clamped to the buffer, and to whole 8-byte units.
  EXPECT_EQ(dmio::encode_table_status(b.span(), "mp0", true, 100000, err), 8192u);
  EXPECT_EQ(dmio::encode_table_status(b.span(), "mp0", true, 1021, err), 1016u);
  // Too small for even one target spec.
  EXPECT_EQ(dmio::encode_table_status(b.span(), "mp0", true, 340, err), 0u);
}

TEST(DmCodec, ArmPollAndVersionCarryNoPayload) {
  Buffer b;
  ASSERT_EQ(dmio::encode_arm_poll(b.span()), 312u);
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kDataSize), 312u);
  EXPECT_EQ(b.string_at(off::kName), "");
  ASSERT_EQ(dmio::encode_version(b.span(), 4, 0), 312u);
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kVersion + 4), 0u);
}

TEST(DmCodec, ListRequestAsksForUuidsAndZeroesThePayload) {
  Buffer b;
  std::memset(b.bytes.data(), 0xaa, b.bytes.size());
  ASSERT_EQ(dmio::encode_list_devices(b.span(), 4096, true), 4096u);
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kFlags), uint32_t{DM_UUID_FLAG});
  EXPECT_EQ(get<uint32_t>(b.at(0), off::kDataSize), 4096u);
  for (size_t i = 312; i < 4096; ++i) ASSERT_EQ(b.bytes[i], std::byte{0}) << i;
  EXPECT_EQ(b.bytes[4096], std::byte{0xaa});
}

TEST(DmCodec, ReadsAStatusAnswer) {
  Buffer b;
  const char* params = "2 1 0 0 1 1 E 0 2 2 8:0 F 1 0 1 8:16 A 0 0 1";
  size_t len = std::strlen(params);
  b.answer_header(static_cast<uint32_t>(312 + 40 + len + 1), DM_ACTIVE_PRESENT_FLAG, 1);
  put<uint32_t>(b.at(0), off::kEventNr, 7);
  put<uint64_t>(b.at(0), off::kDev, 0xfd00);
  b.str(off::kName, "mp0");
  b.str(off::kUuid, "mpath-naa.33333330000007d0");
  put<uint64_t>(b.at(312), off::kSpecStart, 0);
  put<uint64_t>(b.at(312), off::kSpecLength, 32768);
  put<uint32_t>(b.at(312), off::kSpecNext, static_cast<uint32_t>(pk::test::align_val(40 + len + 1)));
  b.str(312 + off::kSpecType, "multipath");
  b.str(352, params);

  dmio::Header h = header_of(b);
  EXPECT_EQ(h.version[1], 47u);
  EXPECT_EQ(h.event_nr, 7u);
  EXPECT_EQ(h.dev, (DevT{253, 0}));
  EXPECT_EQ(h.name, "mp0");
  EXPECT_EQ(h.uuid, "mpath-naa.33333330000007d0");
  EXPECT_FALSE(h.buffer_full());
  dmio::TargetReply t;
  Error err;
  ASSERT_TRUE(dmio::decode_first_target(b.span(), h, t, err)) << err.c_str();
  EXPECT_EQ(t.target_count, 1u);
  EXPECT_EQ(t.start, 0u);
  EXPECT_EQ(t.length, 32768u);
  EXPECT_EQ(t.type, "multipath");
  EXPECT_EQ(t.params, params);
}

TEST(DmCodec, StatusOfAMapWithoutTableIsEmpty) {
  Buffer b;
  b.answer_header(305, 0, 0);  // no live table: the header alone comes back
  dmio::Header h = header_of(b);
  dmio::TargetReply t;
  Error err;
  ASSERT_TRUE(dmio::decode_first_target(b.span(), h, t, err));
  EXPECT_EQ(t.target_count, 0u);
  EXPECT_TRUE(t.params.empty());
}

TEST(DmCodec, RejectsParamsWithoutTheirNul) {
  Buffer b;
  b.answer_header(312 + 40 + 8, 0, 1);
  b.str(312 + off::kSpecType, "multipath");
  std::memcpy(b.at(352), "12345678", 8);  // no NUL before data_size
  b.bytes[360] = std::byte{0};
  dmio::Header h = header_of(b);
  dmio::TargetReply t;
  Error err;
  EXPECT_FALSE(dmio::decode_first_target(b.span(), h, t, err));
  EXPECT_NE(err.view().find("NUL"), std::string_view::npos);
}

TEST(DmCodec, RejectsHeadersPointingOutsideTheBuffer) {
  Buffer b;
  b.answer_header(9000);
  dmio::Header h;
  Error err;
  EXPECT_FALSE(dmio::decode_header(b.span(), h, err));
  EXPECT_NE(err.view().find("9000"), std::string_view::npos);
}

TEST(DmCodec, ReadsAListWithUuids) {
  // Ioctl 4.45+ with DM_UUID_FLAG. Offsets are relative to the payload at 312.
  Buffer b;
  std::byte* p = b.at(312);
  // Record 0 at 0: dev, next, "mp0\0" at 12; event_nr/flags at align8(16) = 16;
  // uuid "mpath-abc\0" at 24..33; the next record at align8(34) = 40.
  put<uint64_t>(p, 0, 0xfd00);
  put<uint32_t>(p, 8, 40);
  std::memcpy(p + 12, "mp0", 4);
  put<uint32_t>(p, 16, 3);
  put<uint32_t>(p, 20, DM_NAME_LIST_FLAG_HAS_UUID);
  std::memcpy(p + 24, "mpath-abc", 10);
  // Record 1 at 40: "vg-lv\0" at 52..57; event_nr/flags at align8(58) = 64.
  put<uint64_t>(p, 40, 0xfd01);
  put<uint32_t>(p, 48, 0);
  std::memcpy(p + 52, "vg-lv", 6);
  put<uint32_t>(p, 64, 0);
  put<uint32_t>(p, 68, DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID);
  b.answer_header(312 + 72);

  dmio::Header h = header_of(b);
  dmio::NameListReader r(b.span(), h);
  dmio::NameEntry e;
  ASSERT_TRUE(r.next(e));
  EXPECT_EQ(e.name, "mp0");
  EXPECT_EQ(e.devt, (DevT{253, 0}));
  EXPECT_EQ(e.event_nr, 3u);
  EXPECT_TRUE(e.uuid_known);
  EXPECT_EQ(e.uuid, "mpath-abc");
  ASSERT_TRUE(r.next(e));
  EXPECT_EQ(e.name, "vg-lv");
  EXPECT_EQ(e.devt, (DevT{253, 1}));
  EXPECT_TRUE(e.uuid_known);
  EXPECT_EQ(e.uuid, "");
  EXPECT_FALSE(r.next(e));
  EXPECT_FALSE(r.failed());
}

TEST(DmCodec, ReadsAListFromBeforeUuids) {
  // Ioctl 4.37-4.44: event_nr, then padding (left zero by the request), no uuid.
  Buffer b;
  std::byte* p = b.at(312);
  put<uint64_t>(p, 0, 0x810);
  put<uint32_t>(p, 8, 24);
  std::memcpy(p + 12, "mp0", 4);
  put<uint32_t>(p, 16, 5);  // event_nr; 20..23 padding
  put<uint64_t>(p, 24, 0xfd02);
  std::memcpy(p + 36, "b", 2);
  put<uint32_t>(p, 40, 9);
  b.answer_header(312 + 48);

  dmio::Header h = header_of(b);
  dmio::NameListReader r(b.span(), h);
  dmio::NameEntry e;
  ASSERT_TRUE(r.next(e));
  EXPECT_EQ(e.name, "mp0");
  EXPECT_EQ(e.devt, (DevT{8, 16}));
  EXPECT_EQ(e.event_nr, 5u);
  EXPECT_FALSE(e.uuid_known);
  ASSERT_TRUE(r.next(e));
  EXPECT_EQ(e.name, "b");
  EXPECT_EQ(e.event_nr, 9u);
  EXPECT_FALSE(r.next(e));
  EXPECT_FALSE(r.failed());
}

TEST(DmCodec, ReadsAnEmptyList) {
  Buffer b;
  b.answer_header(312);  // needed == 0: data_size == data_start
  dmio::Header h = header_of(b);
  dmio::NameListReader r(b.span(), h);
  dmio::NameEntry e;
  EXPECT_FALSE(r.next(e));
  EXPECT_FALSE(r.failed());
}

TEST(DmCodec, StopsAtMalformedLists) {
  Buffer b;
  std::byte* p = b.at(312);
  put<uint64_t>(p, 0, 0xfd00);
  put<uint32_t>(p, 8, 4000);  // next record beyond the answer
  std::memcpy(p + 12, "mp0", 4);
  b.answer_header(312 + 24);
  dmio::Header h = header_of(b);
  dmio::NameListReader r(b.span(), h);
  dmio::NameEntry e;
  EXPECT_FALSE(r.next(e));
  EXPECT_TRUE(r.failed());

  Buffer c;
  p = c.at(312);
  put<uint64_t>(p, 0, 0xfd00);
  std::memset(p + 12, 'x', 20);  // name runs to the end of the answer
  c.answer_header(312 + 32);
  dmio::Header h2 = header_of(c);
  dmio::NameListReader r2(c.span(), h2);
  EXPECT_FALSE(r2.next(e));
  EXPECT_TRUE(r2.failed());
  EXPECT_NE(std::string_view(r2.why()).find("NUL"), std::string_view::npos);
}
