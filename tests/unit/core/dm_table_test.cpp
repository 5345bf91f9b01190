#include "core/dm_table.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

using namespace pk::core;

namespace {

std::string format(const MultipathTable& t) {
  std::array<char, 512> buf{};
  size_t n = format_multipath_table(t, buf);
  return std::string(buf.data(), n);
}

}  // namespace

TEST(DmTable, FormatsOneGroupServiceTimeWithAlua) {
  std::array<DevT, 2> paths{{{8, 0}, {8, 16}}};
  std::array<TableGroup, 1> groups{{{Selector::ServiceTime, 0, 2}}};
  MultipathTable t;
  t.features.queue_if_no_path = true;
  t.hw_handler = "alua";
  t.groups = groups;
  t.paths = paths;
  // The line verified on a 6.1 kernel (shared notes, lab).
  EXPECT_EQ(format(t), "1 queue_if_no_path 1 alua 1 1 service-time 0 2 2 8:0 1 1 8:16 1 1");
}

TEST(DmTable, FormatsFailoverGroupsAndFeatures) {
  std::array<DevT, 2> paths{{{8, 32}, {65, 0}}};
  std::array<TableGroup, 2> groups{{{Selector::RoundRobin, 0, 1}, {Selector::QueueLength, 1, 1}}};
  MultipathTable t;
  t.features.queue_if_no_path = true;
  t.features.retain_attached_hw_handler = true;
  t.features.pg_init_retries = 50;
  t.initial_group = 2;
  t.groups = groups;
  t.paths = paths;
  EXPECT_EQ(format(t),
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 2 2 "
            "round-robin 0 1 1 8:32 1 queue-length 0 1 1 65:0 1");
}

TEST(DmTable, RefusesInvalidOrOversizedTables) {
  std::array<DevT, 2> paths{{{8, 0}, {8, 16}}};
  std::array<TableGroup, 1> gap{{{Selector::ServiceTime, 0, 1}}};  // path 8:16 in no group
  MultipathTable t;
  t.groups = gap;
  t.paths = paths;
  EXPECT_EQ(format(t), "");

  std::array<TableGroup, 1> all{{{Selector::ServiceTime, 0, 2}}};
  t.groups = all;
  t.initial_group = 2;  // only one group
  EXPECT_EQ(format(t), "");

  t.initial_group = 1;
  std::array<char, 10> tiny{};
  EXPECT_EQ(format_multipath_table(t, tiny), 0u);
}

TEST(DmTable, ParsesWhatItFormats) {
  std::array<DevT, 3> paths{{{8, 0}, {8, 16}, {8, 32}}};
  std::array<TableGroup, 2> groups{{{Selector::ServiceTime, 0, 2}, {Selector::ServiceTime, 2, 1}}};
  MultipathTable t;
  t.features.queue_if_no_path = true;
  t.features.pg_init_retries = 50;
  t.hw_handler = "alua";
  t.groups = groups;
  t.paths = paths;
  std::string text = format(t);

  std::array<TableGroup, 4> group_store;
  std::array<DevT, 8> path_store;
  MultipathTable parsed;
  ParseResult r = parse_multipath_table(text, group_store, path_store, parsed);
  ASSERT_TRUE(r) << r.what << " at " << r.offset;
  EXPECT_TRUE(same_topology(t, parsed));
  EXPECT_EQ(parsed.initial_group, 1);
  EXPECT_EQ(parsed.hw_handler, "alua");
}

TEST(DmTable, ParsesTheTableMultipathdWrites) {
  // From the peer's notes: the table as multipathd loads it.
  std::array<TableGroup, 4> group_store;
  std::array<DevT, 8> path_store;
  MultipathTable parsed;
  ASSERT_TRUE(parse_multipath_table(
      "2 queue_if_no_path retain_attached_hw_handler 1 alua 1 1 service-time 0 1 1 8:48 1", group_store,
      path_store, parsed));
  EXPECT_TRUE(parsed.features.queue_if_no_path);
  EXPECT_TRUE(parsed.features.retain_attached_hw_handler);
  ASSERT_EQ(parsed.paths.size(), 1u);
  EXPECT_EQ(parsed.paths[0], (DevT{8, 48}));
}

TEST(DmTable, ReportsWhatIsWrongAndWhere) {
  std::array<TableGroup, 1> group_store;
  std::array<DevT, 1> path_store;
  MultipathTable parsed;

  ParseResult r =
      parse_multipath_table("1 bogus 0 1 1 service-time 0 1 1 8:0 1 1", group_store, path_store, parsed);
  EXPECT_STREQ(r.what, "unknown feature");
  EXPECT_EQ(r.offset, 2u);

  r = parse_multipath_table("0 0 1 1 fancy 0 1 1 8:0 1", group_store, path_store, parsed);
  EXPECT_STREQ(r.what, "unknown path selector");

  r = parse_multipath_table("0 0 1 1 service-time 0 2 1 8:0 1 8:16 1", group_store, path_store, parsed);
  EXPECT_STREQ(r.what, "more paths than the capacity");

  r = parse_multipath_table("0 0 1 1 service-time 0 1 2 8:0 1", group_store, path_store, parsed);
  EXPECT_STREQ(r.what, "per-path arguments are cut short");

  r = parse_multipath_table("0 0 1 1 service-time 0 1 1 8-0 1", group_store, path_store, parsed);
  EXPECT_STREQ(r.what, "path is not major:minor");

  r = parse_multipath_table("0 0 1 1 service-time 0 1 1 8:0 1 extra", group_store, path_store, parsed);
  EXPECT_STREQ(r.what, "unexpected words after the last path");
}

// The kernel reports features in its own order (lab, pathkeeperd-iscsi,
// fixtures/pk-table.txt); adoption compares tables regardless of that order.
TEST(DmTableFromTheLab, KernelOrderOfFeaturesMatchesWhatWasLoaded) {
  std::array<TableGroup, 2> group_store;
  std::array<DevT, 4> path_store;
  MultipathTable kernel;
  ASSERT_TRUE(
      parse_multipath_table("4 queue_if_no_path pg_init_retries 50 retain_attached_hw_handler 0 1 1 "
                            "service-time 0 2 2 8:0 1 1 8:16 1 1",
                            group_store, path_store, kernel));

  std::array<DevT, 2> paths{{{8, 0}, {8, 16}}};
  std::array<TableGroup, 1> groups{{{Selector::ServiceTime, 0, 2}}};
  MultipathTable loaded;
  loaded.features.queue_if_no_path = true;
  loaded.features.retain_attached_hw_handler = true;
  loaded.features.pg_init_retries = 50;
  loaded.groups = groups;
  loaded.paths = paths;
  EXPECT_TRUE(same_topology(loaded, kernel));
  loaded.paths = std::span<const DevT>(paths.data(), 1);
  loaded.groups = std::span<const TableGroup>();
  EXPECT_FALSE(same_topology(loaded, kernel));
}
