#include "core/dm_status.h"

#include <gtest/gtest.h>

#include <array>

using namespace pk::core;

namespace {

struct Parsed {
  std::array<StatusGroup, 8> groups;
  std::array<StatusPath, 16> paths;
  MultipathStatus status;
  ParseResult result;

  explicit Parsed(std::string_view text) { result = parse_multipath_status(text, groups, paths, status); }
};

}  // namespace

TEST(DmStatus, ParsesTwoActivePathsFromAKernel) {
  // dmsetup status on a 6.1 kernel, service-time, two scsi_debug paths.
  Parsed p("2 1 0 0 1 1 E 0 2 2 8:0 A 0 0 1 8:16 A 0 0 1");
  ASSERT_TRUE(p.result) << p.result.what;
  EXPECT_TRUE(p.status.queue_io);
  EXPECT_EQ(p.status.next_group, 1);
  ASSERT_EQ(p.status.groups.size(), 1u);
  EXPECT_EQ(p.status.groups[0].state, GroupState::Enabled);
  ASSERT_EQ(p.status.paths.size(), 2u);
  EXPECT_EQ(p.status.paths[1].devt, (DevT{8, 16}));
  EXPECT_EQ(p.status.active_paths(), 2u);
}

TEST(DmStatus, ParsesAFailedPath) {
  Parsed p("2 1 0 0 1 1 E 0 2 2 8:0 F 1 0 1 8:16 A 0 0 1");
  ASSERT_TRUE(p.result);
  EXPECT_FALSE(p.status.paths[0].active);
  EXPECT_EQ(p.status.paths[0].fail_count, 1u);
  EXPECT_EQ(p.status.active_paths(), 1u);
}

TEST(DmStatus, ParsesSeveralGroupsWithHandlerStatus) {
  Parsed p("2 0 3 1 alua 2 2 A 0 1 2 8:0 A 0 0 1 D 0 1 2 8:16 F 4 0 1");
  ASSERT_TRUE(p.result) << p.result.what << " at " << p.result.offset;
  EXPECT_EQ(p.status.pg_init_count, 3u);
  EXPECT_EQ(p.status.next_group, 2);
  ASSERT_EQ(p.status.groups.size(), 2u);
  EXPECT_EQ(p.status.groups[0].state, GroupState::Active);
  EXPECT_EQ(p.status.groups[1].state, GroupState::Disabled);
  EXPECT_EQ(p.status.paths[1].group, 1);
  EXPECT_EQ(p.status.paths[1].fail_count, 4u);
}

TEST(DmStatus, RejectsMalformedStatus) {
  EXPECT_STREQ(Parsed("").result.what, "status feature count is not 2 or more");
  EXPECT_STREQ(Parsed("2 1 0 0 1 1 X 0 1 2 8:0 A 0 0 1").result.what, "group state is not A, D or E");
  EXPECT_STREQ(Parsed("2 1 0 0 1 1 E 0 1 2 8:0 Q 0 0 1").result.what, "path state is not A or F");
  EXPECT_STREQ(Parsed("2 1 0 0 1 1 E 0 1 2 8:0 A 0 0").result.what, "path selector info is cut short");
  EXPECT_STREQ(Parsed("2 1 0 0 9 1 E 0 1 2 8:0 A 0 0 1").result.what, "more path groups than the capacity");
  // Found by fuzz_dm_status: a next group that is not a group.
  EXPECT_STREQ(Parsed("2 0 0 0 0 1").result.what, "next group is not one of the groups");
  EXPECT_STREQ(Parsed("2 1 0 0 1 2 E 0 1 2 8:0 A 0 0 1").result.what, "next group is not one of the groups");
  Parsed trailing("2 1 0 0 1 1 E 0 1 2 8:0 A 0 0 1 junk");
  EXPECT_STREQ(trailing.result.what, "unexpected words after the last path");
  EXPECT_EQ(trailing.result.offset, 32u);  // where "junk" starts
}

// Lines taken from the lab (Debian's 6.1 kernel), scenario pathkeeperd-iscsi
// and pathkeeperd-scsi-debug, fixtures/*.txt.
TEST(DmStatusFromTheLab, IscsiAllPathsDownWithIoInFlight) {
  Parsed p("2 0 0 0 1 1 A 0 2 2 8:0 F 1 16384 1 8:16 F 2 20480 1");
  ASSERT_TRUE(p.result) << p.result.what;
  EXPECT_EQ(p.status.active_paths(), 0u);
  EXPECT_EQ(p.status.paths[1].fail_count, 2u);
  EXPECT_EQ(p.status.groups[0].state, GroupState::Active);
}

TEST(DmStatusFromTheLab, ScsiDebugAluaTwoGroups) {
  Parsed p("2 0 1 0 2 1 A 0 1 2 8:0 A 0 0 1 E 0 1 2 8:128 A 0 0 1");
  ASSERT_TRUE(p.result) << p.result.what;
  EXPECT_EQ(p.status.pg_init_count, 1u);
  ASSERT_EQ(p.status.groups.size(), 2u);
  EXPECT_EQ(p.status.groups[1].state, GroupState::Enabled);
  EXPECT_EQ(p.status.paths[1].devt, (DevT{8, 128}));
  EXPECT_EQ(p.status.paths[1].group, 1);
}
