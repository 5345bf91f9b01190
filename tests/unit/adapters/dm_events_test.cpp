// DmEventWatcher over a scripted Dm: arm before list, and the comparison.
#include "adapters/dm_events.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace pk::adapters;
using pk::core::DevT;
using pk::core::Error;

namespace {

DmMapInfo map(const char* name, uint32_t event_nr, uint32_t minor = 0) {
  DmMapInfo m;
  std::snprintf(m.name, sizeof m.name, "%s", name);
  std::snprintf(m.uuid, sizeof m.uuid, "mpath-%s", name);
  m.devt = DevT{253, minor};
  m.event_nr = event_nr;
  m.multipath = true;
  return m;
}

class ScriptedDm : public Dm {
 public:
  std::vector<DmMapInfo> maps;
  std::vector<std::string> calls;
  bool fail_list = false;

  bool open(size_t, Error&) override { return true; }
  bool message(std::string_view, std::string_view, Error&) override { return true; }
  bool status(std::string_view, std::string_view&, uint32_t&, Error&) override { return true; }
  bool table(std::string_view, std::string_view&, uint64_t&, Error&) override { return true; }
  bool open_count(std::string_view, int32_t& count, Error&) override {
    count = 0;
    return true;
  }
  bool list(std::span<DmMapInfo> out, size_t& count, Error& err) override {
    calls.push_back("list");
    if (fail_list) {
      err.set("list failed");
      return false;
    }
    if (maps.size() > out.size()) {
      err.set("more DM devices than the capacity of %zu", out.size());
      return false;
    }
    std::copy(maps.begin(), maps.end(), out.begin());
    count = maps.size();
    return true;
  }
  int event_fd() const override { return -1; }
  bool arm_events(Error&) override {
    calls.push_back("arm");
    return true;
  }
  bool create(std::string_view, std::string_view, uint64_t, std::string_view, Error&) override {
    return true;
  }
  bool reload(std::string_view, uint64_t, std::string_view, Error&) override { return true; }
  bool remove(std::string_view, Error&) override { return true; }
  bool rename(std::string_view, std::string_view, Error&) override { return true; }
};

std::string describe(const DmEventWatcher& w) {
  std::string s;
  for (const auto& c : w.changes()) {
    if (!s.empty()) s += ' ';
    s += c.kind == DmEventWatcher::Kind::Appeared   ? "+"
         : c.kind == DmEventWatcher::Kind::Vanished ? "-"
                                                    : "~";
    s += c.map->name;
    if (c.kind == DmEventWatcher::Kind::Changed) {
      s += ":" + std::to_string(c.previous_event_nr) + "->" + std::to_string(c.map->event_nr);
    }
  }
  return s;
}

}  // namespace

TEST(DmEventWatcher, ArmsBeforeEveryList) {
  ScriptedDm dm;
  DmEventWatcher w;
  Error err;
  ASSERT_TRUE(w.init(8, err));
  ASSERT_TRUE(w.start(dm, err));
  ASSERT_TRUE(w.update(dm, err));
  EXPECT_EQ(dm.calls, (std::vector<std::string>{"arm", "list", "arm", "list"}));
}

TEST(DmEventWatcher, ReportsChangedAppearedAndVanishedMaps) {
  ScriptedDm dm;
  dm.maps = {map("mpb", 1, 1), map("mpa", 0, 0), map("mpc", 5, 2)};  // not sorted
  DmEventWatcher w;
  Error err;
  ASSERT_TRUE(w.init(8, err));
  ASSERT_TRUE(w.start(dm, err));
  EXPECT_TRUE(w.changes().empty());
  EXPECT_EQ(w.maps().size(), 3u);

  ASSERT_TRUE(w.update(dm, err));
  EXPECT_EQ(describe(w), "");

  dm.maps = {map("mpa", 0, 0), map("mpb", 2, 1), map("mpd", 0, 3)};
  ASSERT_TRUE(w.update(dm, err));
  EXPECT_EQ(describe(w), "~mpb:1->2 -mpc +mpd");
  // A vanished map still shows what it was.
  for (const auto& c : w.changes()) {
    if (c.kind == DmEventWatcher::Kind::Vanished) {
      EXPECT_EQ(c.map->event_nr, 5u);
      EXPECT_STREQ(c.map->uuid, "mpath-mpc");
    }
  }
}

TEST(DmEventWatcher, AMapMadeAgainUnderItsNameIsNotTheSameMap) {
  ScriptedDm dm;
  dm.maps = {map("mp0", 4, 0)};
  DmEventWatcher w;
  Error err;
  ASSERT_TRUE(w.init(4, err));
  ASSERT_TRUE(w.start(dm, err));
  dm.maps = {map("mp0", 0, 7)};
  ASSERT_TRUE(w.update(dm, err));
  EXPECT_EQ(describe(w), "-mp0 +mp0");
}

TEST(DmEventWatcher, AFailedUpdateKeepsTheBaseline) {
  ScriptedDm dm;
  dm.maps = {map("mp0", 1)};
  DmEventWatcher w;
  Error err;
  ASSERT_TRUE(w.init(4, err));
  ASSERT_TRUE(w.start(dm, err));
  dm.maps = {map("mp0", 2)};
  dm.fail_list = true;
  EXPECT_FALSE(w.update(dm, err));
  EXPECT_TRUE(w.changes().empty());
  dm.fail_list = false;
  ASSERT_TRUE(w.update(dm, err));
  EXPECT_EQ(describe(w), "~mp0:1->2");
}

TEST(DmEventWatcher, EverythingAppearsAndVanishesAtCapacity) {
  ScriptedDm dm;
  for (uint32_t i = 0; i < 4; ++i) {
    dm.maps.push_back(map(("a" + std::to_string(i)).c_str(), 0, i));
  }
  DmEventWatcher w;
  Error err;
  ASSERT_TRUE(w.init(4, err));
  ASSERT_TRUE(w.start(dm, err));
  dm.maps.clear();
  for (uint32_t i = 0; i < 4; ++i) {
    dm.maps.push_back(map(("b" + std::to_string(i)).c_str(), 0, 10 + i));
  }
  ASSERT_TRUE(w.update(dm, err));
  EXPECT_EQ(w.changes().size(), 8u);
  dm.maps.push_back(map("b9", 0, 99));
  EXPECT_FALSE(w.update(dm, err));
  EXPECT_NE(err.view().find("capacity of 4"), std::string_view::npos);
}

TEST(DmEventWatcher, NeedsInit) {
  ScriptedDm dm;
  DmEventWatcher w;
  Error err;
  EXPECT_FALSE(w.start(dm, err));
  EXPECT_FALSE(w.init(0, err));
}
