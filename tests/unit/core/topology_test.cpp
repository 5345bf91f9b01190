// The planner's rules, from pure inputs to decisions, with exact table texts.
#include "core/topology.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

using namespace pk::core;

namespace {

constexpr std::string_view kWwid = "36001405aaaaaaaaaaaaaaaaaaaaaaaaa";

Alua alua(AluaState s, uint16_t tpg = 0, bool preferred = false) {
  Alua a;
  a.state = s;
  a.settled = s == AluaState::Transitioning ? AluaState::Unknown : s;
  a.group_id = tpg;
  a.group_id_known = tpg != 0;
  a.preferred = preferred;
  return a;
}

// Storage for one plan of up to 8 paths.
struct Planner {
  std::array<GroupInput, 8> inputs{};
  std::array<TableGroup, 8> groups{}, current_groups{};
  std::array<DevT, 8> paths{}, current_paths{};
  std::array<uint16_t, 8> path_group{};
  std::array<char, 1024> text{};
  MapPlanStorage storage() {
    return {inputs, groups, paths, path_group, current_groups, current_paths, text};
  }
  MapPlan plan(const MapSettings& s, std::vector<MemberFacts> members, KernelMap kernel = {}) {
    return plan_map(s, members, kernel, storage());
  }
};

// A bindings table, names DM has, and the planner's naming calls over them.
struct Names {
  BindingTable bindings;
  std::vector<std::string> taken;
  char scratch[128] = {};
  explicit Names(size_t capacity = 16) { bindings.init(capacity); }
  auto is_taken() {
    return [this](std::string_view n) { return std::find(taken.begin(), taken.end(), n) != taken.end(); };
  }
  NameChoice choose(const Config& c, std::string_view wwid) {
    return choose_map_name(c, bindings, wwid, is_taken(), scratch);
  }
  NameChoice rename_choice(const Config& before, const Config& after, std::string_view wwid,
                           std::string_view current = kWwid) {
    return plan_rename(before, after, bindings, wwid, current, is_taken(), scratch);
  }
  std::string rename(const Config& before, const Config& after, std::string_view current) {
    return std::string(rename_choice(before, after, kWwid, current).name);
  }
};

MemberFacts member(uint32_t minor, Alua a, uint64_t sectors = 2048) { return {{8, minor}, a, sectors}; }

DiscoveredDevice device(std::string_view name, std::string_view wwid, Transport t = Transport::Iscsi,
                        uint64_t sectors = 2048) {
  DiscoveredDevice d;
  d.id.devnode = name;
  d.id.wwid = wwid;
  d.devt = {8, 0};
  d.transport = t;
  d.sectors = sectors;
  return d;
}

}  // namespace

// ------------------------------------------------------------ devices

TEST(PlanDevice, AcceptsADiskWithAWwidAndPicksItsChecker) {
  Config c;
  DeviceDecision d = plan_device(device("sda", kWwid), c);
  EXPECT_EQ(d.kind, DeviceDecision::Kind::Accept);
  EXPECT_EQ(d.wwid, kWwid);
  EXPECT_EQ(d.checker, CheckerKind::Tur);
  // TUR needs SCSI: an NBD or NVMe disk is read instead.
  EXPECT_EQ(plan_device(device("nbd0", kWwid, Transport::Nbd), c).checker, CheckerKind::DirectIo);
  EXPECT_EQ(plan_device(device("nvme0n1", kWwid, Transport::Nvme), c).checker, CheckerKind::DirectIo);
}

TEST(PlanDevice, RefusesBlacklistedAndUnidentifiedDisksAndWaitsForASize) {
  Config c;
  c.blacklist.push_back({DeviceRule::Field::Devnode, "sd[ab]", "", "c.yaml:3:5"});
  DeviceDecision d = plan_device(device("sda", kWwid), c);
  EXPECT_EQ(d.kind, DeviceDecision::Kind::Ignore);
  EXPECT_STREQ(d.reason, "blacklisted");
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->file_position, "c.yaml:3:5");
  // An exception wins over the blacklist.
  c.blacklist_exceptions.push_back({DeviceRule::Field::Wwid, std::string(kWwid), "", "c.yaml:6:5"});
  EXPECT_EQ(plan_device(device("sda", kWwid), c).kind, DeviceDecision::Kind::Accept);

  EXPECT_STREQ(plan_device(device("sdc", ""), c).reason, "no WWID and in no configured map");
  DeviceDecision empty = plan_device(device("sdc", kWwid, Transport::Scsi, 0), c);
  EXPECT_EQ(empty.kind, DeviceDecision::Kind::NotYet);
  EXPECT_STREQ(empty.reason, "size 0");
}

TEST(PlanDevice, AConfiguredMapClaimsItsDevicesAndNamesTheWwid) {
  Config c;
  MapConfig m;
  m.wwid = "nbd-export1";
  m.alias = "data";
  m.paths = {"nbd0", "nbd1"};
  m.settings.checker = CheckerKind::State;
  c.maps.push_back(m);
  DeviceDecision d = plan_device(device("nbd1", "", Transport::Nbd), c);
  EXPECT_EQ(d.kind, DeviceDecision::Kind::Accept);
  EXPECT_EQ(d.wwid, "nbd-export1");
  EXPECT_EQ(d.checker, CheckerKind::State);
  BindingTable none;
  none.init(1);
  EXPECT_EQ(map_name_for(c, none, "nbd-export1"), "data");
  EXPECT_EQ(map_name_for(c, none, kWwid), kWwid) << "without an alias, the WWID names the map";
}

bool maps(const Config& c, uint32_t seen, bool known = false, bool released = false) {
  return wants_map(c, kWwid, seen, known, released).kind == MapWish::Kind::Map;
}

TEST(WantsMap, OnMapsMinPathsAConfiguredMapOrAKnownWwid) {
  Config c;  // find_multipaths on, min_paths 2
  EXPECT_EQ(c.find_multipaths, FindMultipaths::On) << "the default";
  EXPECT_FALSE(maps(c, 1));
  EXPECT_EQ(wants_map(c, kWwid, 1, false, false).kind, MapWish::Kind::NoMap) << "on never holds";
  EXPECT_TRUE(maps(c, 2));
  EXPECT_TRUE(maps(c, 1, true)) << "a WWID made into a map before comes back with one path at boot";
  c.min_paths_for_map = 3;
  EXPECT_FALSE(maps(c, 2));
  EXPECT_TRUE(maps(c, 3));
  MapConfig m;
  m.wwid = std::string(kWwid);
  c.maps.push_back(m);
  EXPECT_TRUE(maps(c, 1)) << "a configured map is made with one path";
}

TEST(WantsMap, StrictMapsOnlyConfiguredAndKnownWwids) {
  Config c;
  c.find_multipaths = FindMultipaths::Strict;
  EXPECT_FALSE(maps(c, 1));
  EXPECT_FALSE(maps(c, 8)) << "however many paths";
  EXPECT_TRUE(maps(c, 1, true));
  MapConfig m;
  m.wwid = std::string(kWwid);
  c.maps.push_back(m);
  EXPECT_TRUE(maps(c, 1));
}

TEST(WantsMap, GreedyMapsEveryDisk) {
  Config c;
  c.find_multipaths = FindMultipaths::Greedy;
  EXPECT_TRUE(maps(c, 1));
  EXPECT_TRUE(maps(c, 1, false, true)) << "a release of smart does not bind greedy";
}

TEST(WantsMap, SmartHoldsASinglePathThenMapsNothingOnceReleased) {
  Config c;
  c.find_multipaths = FindMultipaths::Smart;
  EXPECT_EQ(wants_map(c, kWwid, 1, false, false).kind, MapWish::Kind::Hold);
  EXPECT_TRUE(maps(c, 2)) << "a second path within the wait";
  EXPECT_EQ(wants_map(c, kWwid, 1, false, true).kind, MapWish::Kind::NoMap);
  EXPECT_FALSE(maps(c, 2, false, true)) << "released: a late path makes no map (the disk may be in use)";
  EXPECT_TRUE(maps(c, 1, true, true)) << "a known WWID is a map whatever smart did";
}

// ------------------------------------------------------------ DM devices

TEST(DmOwnership, OnlyMultipathTargetsWithOurUuidAreOurs) {
  DmOwnership o = dm_ownership("mpath-3600a0", true);
  EXPECT_TRUE(o.ours);
  EXPECT_EQ(o.wwid, "3600a0");
  EXPECT_FALSE(dm_ownership("mpath-3600a0", false).ours);
  EXPECT_STREQ(dm_ownership("mpath-3600a0", false).reason, "not a multipath target");
  EXPECT_FALSE(dm_ownership("LVM-abc", true).ours);
  EXPECT_FALSE(dm_ownership("", true).ours);
  EXPECT_FALSE(dm_ownership("mpath-", true).ours);
}

// ------------------------------------------------------------ ALUA

TEST(AluaAfterCheck, TheAnswersSenseWinsOverSysfs) {
  Alua before = alua(AluaState::Optimized);
  // The array moved the port to standby; sysfs has not caught up.
  Alua a =
      alua_after_check(before, CheckVerdict::Ghost, {AluaState::Standby, true}, AluaState::Optimized, false);
  EXPECT_EQ(a.state, AluaState::Standby);
  EXPECT_EQ(a.settled, AluaState::Standby);
}

TEST(AluaAfterCheck, GoodThroughAPortSysfsCallsStandbyIsActive) {
  Alua before = alua(AluaState::Standby);
  Alua a = alua_after_check(before, CheckVerdict::Up, {}, AluaState::Standby, false);
  EXPECT_EQ(a.state, AluaState::NonOptimized) << "active, and not known to be optimized yet";
  // Once sysfs catches up, its word counts.
  a = alua_after_check(a, CheckVerdict::Up, {}, AluaState::Optimized, true);
  EXPECT_EQ(a.state, AluaState::Optimized);
  EXPECT_TRUE(a.preferred);
}

TEST(AluaAfterCheck, TransitioningKeepsTheSettledStateAndADownPathKeepsItsState) {
  Alua before = alua(AluaState::Optimized);
  Alua a = alua_after_check(before, CheckVerdict::Pending, {AluaState::Transitioning, false},
                            AluaState::Optimized, false);
  EXPECT_EQ(a.state, AluaState::Transitioning);
  EXPECT_EQ(a.settled, AluaState::Optimized);
  EXPECT_EQ(path_priority(a), path_priority(before)) << "no reorder for a state about to change";
  Alua down = alua_after_check(before, CheckVerdict::Down, {}, AluaState::Unknown, false);
  EXPECT_EQ(down, before);
  // A LUN without ALUA stays so whatever the answer.
  Alua none;
  EXPECT_EQ(alua_after_check(none, CheckVerdict::Ghost, {AluaState::Standby, true}, AluaState::Unknown, false)
                .state,
            AluaState::None);
}

TEST(AluaFromSysfs, AnUnreadableStateKeepsTheLastKnownOne) {
  Alua before = alua(AluaState::NonOptimized);
  EXPECT_EQ(alua_from_sysfs(before, AluaState::Unknown, false), before);
  EXPECT_EQ(alua_from_sysfs(before, AluaState::Optimized, false).state, AluaState::Optimized);
}

TEST(PathPriority, AsMultipathToolsAluaPrioritizer) {
  EXPECT_EQ(path_priority(alua(AluaState::Optimized)), 50);
  EXPECT_EQ(path_priority(alua(AluaState::NonOptimized)), 10);
  EXPECT_EQ(path_priority(alua(AluaState::LbaDependent)), 5);
  EXPECT_EQ(path_priority(alua(AluaState::Standby)), 1);
  EXPECT_EQ(path_priority(alua(AluaState::Unavailable)), 0);
  EXPECT_EQ(path_priority(alua(AluaState::Optimized, 1, true)), 130);
  EXPECT_EQ(path_priority(Alua{}), 1) << "no ALUA: all paths alike";
}

TEST(TpgFromVpd83, FindsTheTargetPortGroupDesignator) {
  // LIO's page 0x83: an NAA designator (type 3), a relative target port
  // (type 4) and the target port group (type 5, association 1), id 0x0014.
  const std::array<uint8_t, 36> page{0x00, 0x83, 0x00, 0x20,
                                     // NAA, 16 bytes, association 0
                                     0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x50, 0x00, 0x00, 0x00, 0x00,
                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
                                     // relative target port 2
                                     0x61, 0x94, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02,
                                     // target port group 0x14
                                     0x61, 0x95, 0x00, 0x04};
  uint16_t tpg = 0;
  EXPECT_FALSE(tpg_from_vpd83(page, tpg)) << "the designator's bytes run past the page";
  std::vector<uint8_t> whole(page.begin(), page.end());
  whole[3] = 0x24;
  for (uint8_t b : {0x00, 0x00, 0x00, 0x14}) whole.push_back(b);
  ASSERT_TRUE(tpg_from_vpd83(whole, tpg));
  EXPECT_EQ(tpg, 0x14);
  whole[1] = 0x80;
  EXPECT_FALSE(tpg_from_vpd83(whole, tpg)) << "not page 0x83";
}

// ------------------------------------------------------------ maps

TEST(PlanMap, ANewMapIsCreatedWithTheOptimizedGroupFirst) {
  Planner p;
  MapSettings s;  // group_by_prio, service-time, queue for 300 s, alua
  MapPlan plan = p.plan(s, {member(16, alua(AluaState::Standby)), member(0, alua(AluaState::Optimized))});
  EXPECT_EQ(plan.kind, MapPlan::Kind::Create);
  EXPECT_STREQ(plan.reason, "new map");
  EXPECT_EQ(plan.table,
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 1 alua 2 1 "
            "service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:16 1 1");
  EXPECT_EQ(plan.sectors, 2048u);
  EXPECT_EQ(p.path_group[0], 2);  // the standby path
  EXPECT_EQ(p.path_group[1], 1);
}

TEST(PlanMap, TheSameTableIsKeptAndTheKernelsQueueingChoiceStays) {
  Planner p;
  MapSettings s;
  std::vector<MemberFacts> m{member(0, alua(AluaState::Optimized)), member(16, alua(AluaState::Standby))};
  // no_path_retry has turned queueing off in the kernel: not a difference.
  KernelMap k{true, false,
              "3 retain_attached_hw_handler pg_init_retries 50 1 alua 2 1 "
              "service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:16 1 1",
              2048};
  MapPlan plan = p.plan(s, m, k);
  EXPECT_EQ(plan.kind, MapPlan::Kind::Keep);
  EXPECT_STREQ(plan.reason, "already matches");
  EXPECT_EQ(plan.table.substr(0, 2), "3 ") << "the table keeps queue_if_no_path off";
}

TEST(PlanMap, AnAluaFlipReloadsWithTheGroupsReordered) {
  Planner p;
  MapSettings s;
  // The kernel has 8:0 (was optimized) first; the array swapped the states.
  KernelMap k{true, true,
              "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 1 alua 2 1 "
              "service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:16 1 1",
              2048};
  MapPlan plan = p.plan(s, {member(0, alua(AluaState::Standby)), member(16, alua(AluaState::Optimized))}, k);
  EXPECT_EQ(plan.kind, MapPlan::Kind::Reload);
  EXPECT_STREQ(plan.reason, "group order changed");
  EXPECT_EQ(plan.table,
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 1 alua 2 1 "
            "service-time 0 1 2 8:16 1 1 service-time 0 1 2 8:0 1 1");
  // A change that keeps the order (optimized to non-optimized, the other
  // still standby) needs no reload.
  MapPlan same =
      p.plan(s, {member(0, alua(AluaState::NonOptimized)), member(16, alua(AluaState::Standby))}, k);
  EXPECT_EQ(same.kind, MapPlan::Kind::Keep);
}

TEST(PlanMap, APathAddedOrRemovedReloadsAndSoDoesAnUnreadableTable) {
  Planner p;
  MapSettings s;
  s.grouping = Grouping::Multibus;
  s.hw_handler = HwHandler::None;
  KernelMap k{true, true, "3 queue_if_no_path pg_init_retries 50 0 1 1 service-time 0 1 2 8:0 1 1", 2048};
  // (retain_attached_hw_handler is always asked for: the table differs in features too)
  MapPlan added = p.plan(s, {member(0, {}), member(16, {})}, k);
  EXPECT_EQ(added.kind, MapPlan::Kind::Reload);
  EXPECT_STREQ(added.reason, "features differ");
  k.table =
      "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 service-time 0 1 2 8:0 1 1";
  EXPECT_STREQ(p.plan(s, {member(0, {}), member(16, {})}, k).reason, "paths differ");
  EXPECT_EQ(p.plan(s, {member(0, {})}, k).kind, MapPlan::Kind::Keep);
  k.sectors = 4096;
  EXPECT_EQ(p.plan(s, {member(0, {})}, k).kind, MapPlan::Kind::Keep) << "a live map keeps its size";
  k.sectors = 2048;
  k.table = "garbage";
  EXPECT_STREQ(p.plan(s, {member(0, {})}, k).reason, "the kernel's table is not understood");
  EXPECT_EQ(p.plan(s, {}, k).kind, MapPlan::Kind::None);
}

TEST(PlanMap, GroupByTpgMakesOneGroupPerPortGroupBestFirst) {
  Planner p;
  MapSettings s;
  s.grouping = Grouping::GroupByTpg;
  // Port group 10: an optimized and a standby path (a mixed state, as in a
  // transition); port group 20: two non-optimized paths.
  MapPlan plan =
      p.plan(s, {member(0, alua(AluaState::Standby, 10)), member(16, alua(AluaState::NonOptimized, 20)),
                 member(32, alua(AluaState::Optimized, 10)), member(48, alua(AluaState::NonOptimized, 20))});
  EXPECT_EQ(plan.table,
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 1 alua 2 1 "
            "service-time 0 2 2 8:32 1 1 8:0 1 1 service-time 0 2 2 8:16 1 1 8:48 1 1");
  // With group_by_prio the same paths make three groups.
  s.grouping = Grouping::GroupByPrio;
  MapPlan by_prio =
      p.plan(s, {member(0, alua(AluaState::Standby, 10)), member(16, alua(AluaState::NonOptimized, 20)),
                 member(32, alua(AluaState::Optimized, 10)), member(48, alua(AluaState::NonOptimized, 20))});
  EXPECT_EQ(by_prio.table,
            "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 1 alua 3 1 "
            "service-time 0 1 2 8:32 1 1 service-time 0 2 2 8:16 1 1 8:48 1 1 service-time 0 1 2 8:0 1 1");
}

TEST(TableDifference, NamesWhatDiffers) {
  std::array<TableGroup, 4> g1{}, g2{};
  std::array<DevT, 4> p1{}, p2{};
  MultipathTable a, b;
  ASSERT_TRUE(
      parse_multipath_table("0 0 2 1 service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:16 1 1", g1, p1, a));
  ASSERT_TRUE(parse_multipath_table("0 0 1 1 service-time 0 2 2 8:0 1 1 8:16 1 1", g2, p2, b));
  EXPECT_STREQ(table_difference(a, b), "path groups differ");
  EXPECT_EQ(table_difference(a, a), nullptr);
  ASSERT_TRUE(
      parse_multipath_table("0 0 2 1 round-robin 0 1 1 8:0 1 service-time 0 1 2 8:16 1 1", g2, p2, b));
  EXPECT_STREQ(table_difference(a, b), "path groups differ") << "another selector";
}

TEST(PlanRename, OnlyAMapCarryingTheOldConfiguredNameIsRenamed) {
  Config before, after;
  MapConfig m;
  m.wwid = std::string(kWwid);
  m.alias = "oradata";
  before.maps.push_back(m);
  m.alias = "oralogs";
  after.maps.push_back(m);
  Names n;
  EXPECT_EQ(n.rename(before, after, "oradata"), "oralogs");
  EXPECT_EQ(n.rename(before, after, "mpatha"), "") << "adopted under another name: kept";
  EXPECT_EQ(n.rename(before, before, "oradata"), "");
  // The alias removed: the map goes back to its WWID.
  EXPECT_EQ(n.rename(before, Config{}, "oradata"), kWwid);
}

TEST(PlanRename, FriendlyNamesTurnedOnOrOffRenameAsMultipathdDoes) {
  Config off, on;
  on.user_friendly_names = true;
  Names n;
  NameChoice c = n.rename_choice(off, on, kWwid);
  EXPECT_EQ(c.name, "mpatha");
  EXPECT_EQ(c.source, NameChoice::Source::NewBinding);
  n.bindings.add("mpatha", kWwid);
  EXPECT_EQ(n.rename(on, off, "mpatha"), kWwid);
  EXPECT_EQ(n.rename(on, on, "mpatha"), "");
  on.alias_prefix = "san";
  EXPECT_EQ(n.rename(on, on, "mpatha"), "") << "a bound name stays bound under another prefix";
}

// ------------------------------------------------------------ friendly names

TEST(ChooseMapName, WithoutFriendlyNamesTheWwidOrTheAlias) {
  Config c;
  Names n;
  n.bindings.add("mpathb", kWwid);
  EXPECT_EQ(n.choose(c, kWwid).name, kWwid) << "bindings are kept but not used";
  EXPECT_EQ(n.choose(c, kWwid).source, NameChoice::Source::Wwid);
  EXPECT_STREQ(n.choose(c, kWwid).why, "");
}

TEST(ChooseMapName, TheBindingFirstElseTheLowestFreeName) {
  Config c;
  c.user_friendly_names = true;
  Names n;
  n.bindings.add("mpathc", kWwid);
  n.bindings.add("mpatha", "other");
  NameChoice bound = n.choose(c, kWwid);
  EXPECT_EQ(bound.name, "mpathc");
  EXPECT_EQ(bound.source, NameChoice::Source::Binding);
  NameChoice fresh = n.choose(c, "new");
  EXPECT_EQ(fresh.name, "mpathb");
  EXPECT_EQ(fresh.source, NameChoice::Source::NewBinding);
  c.alias_prefix = "san";
  EXPECT_EQ(n.choose(c, "new").name, "sana");
}

TEST(ChooseMapName, AnAliasInMapsWins) {
  Config c;
  c.user_friendly_names = true;
  MapConfig m;
  m.wwid = std::string(kWwid);
  m.alias = "oradata";
  c.maps.push_back(m);
  Names n;
  n.bindings.add("mpatha", kWwid);
  EXPECT_EQ(n.choose(c, kWwid).name, "oradata");
  EXPECT_EQ(n.choose(c, kWwid).source, NameChoice::Source::Alias);
  EXPECT_EQ(map_name_for(c, n.bindings, kWwid), "oradata");
}

TEST(ChooseMapName, ABindingWhoseAliasMapsGivesToAnotherWwidGivesWay) {
  Config c;
  c.user_friendly_names = true;
  MapConfig m;
  m.wwid = "the-configured-one";
  m.alias = "mpatha";
  c.maps.push_back(m);
  Names n;
  n.bindings.add("mpatha", kWwid);
  NameChoice x = n.choose(c, kWwid);
  EXPECT_EQ(x.source, NameChoice::Source::NewBinding);
  EXPECT_EQ(x.name, "mpathb") << "mpatha is the configured alias of another map";
  ASSERT_NE(x.gave_way, nullptr);
  EXPECT_EQ(x.gave_way->alias.view(), "mpatha");
  EXPECT_EQ(map_name_for(c, n.bindings, kWwid), kWwid);
  EXPECT_EQ(n.choose(c, "new").name, "mpathb") << "nor is a configured alias ever given";
}

TEST(ChooseMapName, ABoundNameAnotherDeviceCarriesLeavesTheWwid) {
  Config c;
  c.user_friendly_names = true;
  Names n;
  n.bindings.add("mpatha", kWwid);
  n.taken = {"mpatha", "mpathb"};
  NameChoice x = n.choose(c, kWwid);
  EXPECT_EQ(x.source, NameChoice::Source::Wwid);
  EXPECT_EQ(x.name, kWwid);
  EXPECT_STREQ(x.why, "its bound name is taken by another device");
  EXPECT_EQ(n.choose(c, "new").name, "mpathc") << "names DM has for other WWIDs are skipped";
}

TEST(ChooseMapName, AFullTableLeavesTheWwidAndSaysWhy) {
  Config c;
  c.user_friendly_names = true;
  Names n(1);
  n.bindings.add("mpatha", "other");
  NameChoice x = n.choose(c, kWwid);
  EXPECT_EQ(x.source, NameChoice::Source::Wwid);
  EXPECT_EQ(x.name, kWwid);
  EXPECT_NE(std::string(x.why).find("full"), std::string::npos);
}

TEST(AluaReorder, WorthwhileOnlyOnceSomePortCanServe) {
  std::vector<MemberFacts> m{member(0, alua(AluaState::Standby)), member(16, alua(AluaState::Standby))};
  EXPECT_FALSE(alua_reorder_worthwhile(m)) << "between two steps of an upgrade";
  m[1].alua = alua(AluaState::Transitioning);
  EXPECT_FALSE(alua_reorder_worthwhile(m));
  m[1].alua = alua(AluaState::NonOptimized);
  EXPECT_TRUE(alua_reorder_worthwhile(m));
  EXPECT_TRUE(alua_reorder_worthwhile(std::vector<MemberFacts>{member(0, {})})) << "no ALUA";
}

TEST(LunReplaced, OnlyAnAcceptedDeviceWithAnotherWwidIsAnotherLun) {
  DeviceDecision now;
  now.kind = DeviceDecision::Kind::Accept;
  now.wwid = "36001405b";
  EXPECT_TRUE(lun_replaced("36001405a", now));
  EXPECT_FALSE(lun_replaced("36001405b", now));
  now.wwid = "";
  EXPECT_FALSE(lun_replaced("36001405a", now)) << "no WWID read: nothing is known to have changed";
  now.wwid = "36001405b";
  now.kind = DeviceDecision::Kind::NotYet;
  EXPECT_FALSE(lun_replaced("36001405a", now));
}

// ------------------------------------------------------------ resize

namespace {
MemberFacts sized(uint32_t minor, uint64_t sectors, bool usable = true) {
  MemberFacts m = member(minor, {}, sectors);
  m.usable = usable;
  return m;
}
}  // namespace

TEST(PlanResize, GrowthEveryUsablePathAgreesOnIsAppliedByDefault) {
  std::vector<MemberFacts> m{sized(0, 4096), sized(16, 4096)};
  ResizeDecision d = plan_resize(2048, m, AutoResize::Grow, false);
  EXPECT_EQ(d.kind, ResizeDecision::Kind::Grow);
  EXPECT_EQ(d.sectors, 4096u);
  EXPECT_EQ(plan_resize(4096, m, AutoResize::Grow, false).kind, ResizeDecision::Kind::Same);
}

TEST(PlanResize, WithAutoResizeOffGrowthWaitsForTheOperator) {
  std::vector<MemberFacts> m{sized(0, 4096), sized(16, 4096)};
  EXPECT_EQ(plan_resize(2048, m, AutoResize::Off, false).kind, ResizeDecision::Kind::Waits);
  ResizeDecision asked = plan_resize(2048, m, AutoResize::Off, true);
  EXPECT_EQ(asked.kind, ResizeDecision::Kind::Grow);
  EXPECT_EQ(asked.sectors, 4096u);
}

TEST(PlanResize, ShrinkingIsNeverAppliedNotEvenWhenAsked) {
  std::vector<MemberFacts> m{sized(0, 1024), sized(16, 1024)};
  EXPECT_EQ(plan_resize(2048, m, AutoResize::Grow, false).kind, ResizeDecision::Kind::Shrink);
  ResizeDecision d = plan_resize(2048, m, AutoResize::Grow, true);
  EXPECT_EQ(d.kind, ResizeDecision::Kind::Shrink);
  EXPECT_EQ(d.sectors, 1024u);
}

TEST(PlanResize, UsablePathsThatDisagreeAreNamedAndNothingChanges) {
  // sdb rescanned, sdc not yet: the first rescan of a grown LUN looks so.
  std::vector<MemberFacts> m{sized(0, 4096), sized(16, 2048), sized(32, 4096)};
  ResizeDecision d = plan_resize(2048, m, AutoResize::Grow, true);
  EXPECT_EQ(d.kind, ResizeDecision::Kind::Disagree);
  EXPECT_EQ(d.first, 0u);
  EXPECT_EQ(d.other, 1u);
}

TEST(PlanResize, APathNotUsableIsNotAskedButASmallerOneStopsTheGrowth) {
  // A failed path's size is not the array's word now: it does not vote...
  std::vector<MemberFacts> m{sized(0, 4096), sized(16, 8192, false)};
  EXPECT_EQ(plan_resize(2048, m, AutoResize::Grow, false).kind, ResizeDecision::Kind::Grow);
  // ...but the kernel refuses a table longer than any of its devices.
  m[1].sectors = 2048;
  ResizeDecision d = plan_resize(2048, m, AutoResize::Grow, false);
  EXPECT_EQ(d.kind, ResizeDecision::Kind::TooSmall);
  EXPECT_EQ(d.first, 1u);
  // A size that could not be read (0) neither votes nor stops.
  m[1].sectors = 0;
  EXPECT_EQ(plan_resize(2048, m, AutoResize::Grow, false).kind, ResizeDecision::Kind::Grow);
}

TEST(PlanResize, NoUsablePathDecidesNothing) {
  std::vector<MemberFacts> m{sized(0, 4096, false), sized(16, 0)};
  EXPECT_EQ(plan_resize(2048, m, AutoResize::Grow, true).kind, ResizeDecision::Kind::NoSize);
  EXPECT_EQ(plan_resize(2048, {}, AutoResize::Grow, true).kind, ResizeDecision::Kind::NoSize);
}

TEST(PlanJoin, APathJoinsOnlyAMapOfItsOwnSize) {
  EXPECT_TRUE(plan_join(2048, 2048).join);
  JoinDecision smaller = plan_join(2048, 1024);
  EXPECT_FALSE(smaller.join);
  EXPECT_NE(std::string_view(smaller.reason).find("smaller"), std::string_view::npos);
  JoinDecision larger = plan_join(2048, 4096);
  EXPECT_FALSE(larger.join);
  EXPECT_NE(std::string_view(larger.reason).find("larger"), std::string_view::npos);
}

TEST(PlanJoin, AnUnknownSizeRefusesNothing) {
  EXPECT_TRUE(plan_join(0, 1024).join) << "a map not in the kernel yet";
  EXPECT_TRUE(plan_join(2048, 0).join) << "a path whose size could not be read";
}

TEST(PlanMap, ALiveMapChangesSizeOnlyByTheResizeDecision) {
  Planner p;
  MapSettings s;
  s.grouping = Grouping::Multibus;
  s.hw_handler = HwHandler::None;
  KernelMap k{
      true, true,
      "4 queue_if_no_path retain_attached_hw_handler pg_init_retries 50 0 1 1 service-time 0 1 2 8:0 1 1",
      2048};
  // The path already says 4096 (read at a change uevent): a reload for
  // another reason keeps the map's size.
  MapPlan keep = p.plan(s, {member(0, {}, 4096)}, k);
  EXPECT_EQ(keep.kind, MapPlan::Kind::Keep);
  EXPECT_EQ(keep.sectors, 2048u);
  MapPlan grown = plan_map(s, std::vector<MemberFacts>{member(0, {}, 4096)}, k, p.storage(), 4096);
  EXPECT_EQ(grown.kind, MapPlan::Kind::Reload);
  EXPECT_STREQ(grown.reason, "the LUN grew");
  EXPECT_EQ(grown.sectors, 4096u);
  EXPECT_EQ(grown.table, k.table) << "the same table, longer";
}

// ------------------------------------------------------------ removal

TEST(Partitions, AKpartxPartitionIsKnownByItsUuid) {
  EXPECT_TRUE(is_partition_of("part1-mpath-36001405aaaa", "36001405aaaa"));
  EXPECT_TRUE(is_partition_of("part12-mpath-36001405aaaa", "36001405aaaa"));
  EXPECT_FALSE(is_partition_of("part1-mpath-36001405aaaab", "36001405aaaa")) << "another WWID";
  EXPECT_FALSE(is_partition_of("mpath-36001405aaaa", "36001405aaaa")) << "the map itself";
  EXPECT_FALSE(is_partition_of("part-mpath-36001405aaaa", "36001405aaaa")) << "no number";
  EXPECT_FALSE(is_partition_of("partx1-mpath-36001405aaaa", "36001405aaaa"));
  EXPECT_FALSE(is_partition_of("LVM-abcdef", "36001405aaaa"));
  EXPECT_FALSE(is_partition_of("part1-mpath-", ""));
}

TEST(PlanRemoval, AMapNothingHoldsIsRemovedWithItsPartitions) {
  EXPECT_EQ(plan_removal(0, {}).kind, RemovalPlan::Kind::Remove);
  // Two partitions, each opening the map once, neither open itself.
  std::vector<PartitionFacts> parts{{"mpatha-part1", 0}, {"mpatha-part2", 0}};
  EXPECT_EQ(plan_removal(2, parts).kind, RemovalPlan::Kind::Remove);
}

TEST(PlanRemoval, AnOpenMapOrAnOpenPartitionKeepsTheMapAndSaysWhy) {
  RemovalPlan mounted = plan_removal(1, {});
  EXPECT_EQ(mounted.kind, RemovalPlan::Kind::Keep);
  EXPECT_EQ(mounted.holders, 1);
  EXPECT_NE(std::string(mounted.reason).find("open"), std::string::npos);
  std::vector<PartitionFacts> parts{{"mpatha-part1", 0}, {"mpatha-part2", 1}};
  RemovalPlan part = plan_removal(2, parts);
  EXPECT_EQ(part.kind, RemovalPlan::Kind::Keep);
  EXPECT_EQ(part.partition, "mpatha-part2");
  // The map itself held (LVM on the whole disk) next to an unused partition.
  RemovalPlan lvm = plan_removal(2, std::vector<PartitionFacts>{{"mpatha-part1", 0}});
  EXPECT_EQ(lvm.kind, RemovalPlan::Kind::Keep);
  EXPECT_EQ(lvm.holders, 1);
  EXPECT_TRUE(lvm.partition.empty());
}
