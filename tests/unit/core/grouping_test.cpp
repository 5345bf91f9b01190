#include "core/grouping.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

using namespace pk::core;

namespace {

struct Built {
  std::array<TableGroup, 8> groups{};
  std::array<DevT, 8> paths{};
  std::array<uint16_t, 8> path_group{};
  MultipathTable table;
  std::string text;

  Built(const MapSettings& s, std::span<const GroupInput> in) {
    table = build_table(s, in, groups, paths, path_group);
    std::array<char, 512> buf{};
    text.assign(buf.data(), format_multipath_table(table, buf));
  }
};

const std::array<GroupInput, 3> kAluaPaths{{
    {{8, 32}, alua_priority("active/non-optimized"), true},
    {{8, 0}, alua_priority("active/optimized"), true},
    {{8, 16}, alua_priority("active/optimized"), true},
}};

}  // namespace

TEST(Grouping, GroupByPrioPutsTheOptimizedPathsFirst) {
  MapSettings s;  // group_by_prio, service-time, queue for 300 s
  Built b(s, kAluaPaths);
  EXPECT_EQ(b.text,
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 1 alua 2 1 "
            "service-time 0 2 2 8:0 1 1 8:16 1 1 service-time 0 1 2 8:32 1 1");
  EXPECT_EQ(b.path_group[0], 2);
  EXPECT_EQ(b.path_group[1], 1);
  EXPECT_EQ(b.path_group[2], 1);
}

TEST(Grouping, MultibusAndFailover) {
  MapSettings s;
  s.grouping = Grouping::Multibus;
  s.selector = Selector::RoundRobin;
  s.hw_handler = HwHandler::None;
  Built multibus(s, kAluaPaths);
  EXPECT_EQ(multibus.table.groups.size(), 1u);
  EXPECT_EQ(multibus.table.hw_handler, "");

  s.grouping = Grouping::Failover;
  Built failover(s, kAluaPaths);
  ASSERT_EQ(failover.table.groups.size(), 3u);
  EXPECT_EQ(failover.table.paths[0], (DevT{8, 0}));
  EXPECT_EQ(failover.table.paths[2], (DevT{8, 32}));
}

TEST(Grouping, WithoutAluaAllPathsShareOneGroupAndNoHandler) {
  std::array<GroupInput, 2> plain{
      {{{43, 0}, alua_priority(""), false}, {{43, 32}, alua_priority(""), false}}};
  MapSettings s;
  s.no_path_retry.kind = NoPathRetry::Kind::Fail;
  Built b(s, plain);
  EXPECT_EQ(b.text,
            "3 retain_attached_hw_handler pg_init_retries 50 0 1 1 service-time 0 2 2 43:0 1 1 43:32 1 1");
}

TEST(Grouping, AluaPriorities) {
  EXPECT_GT(alua_priority("active/optimized"), alua_priority("active/non-optimized"));
  EXPECT_GT(alua_priority("active/non-optimized"), alua_priority("standby"));
  EXPECT_EQ(alua_priority("unavailable"), 0);
  EXPECT_EQ(alua_priority("transitioning"), 0);
}
