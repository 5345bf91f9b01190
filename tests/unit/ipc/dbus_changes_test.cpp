// Change detection for the D-Bus signals: which path and map properties
// changed between two snapshots, which objects came and went, matched by
// name whatever the slot order; and no allocation while comparing.
#include "ipc/dbus_changes.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/support/heap_guard.h"
#include "tests/unit/ipc/sample_snapshot.h"

using namespace pk;
using namespace pk::ipc;
using core::DmState;
using core::PathState;

namespace {

// Records what it is told into fixed storage (so that it allocates nothing
// itself); `text()` turns it into strings afterwards.
class Recorder final : public ChangeSink {
 public:
  void path_added(std::string_view dev) override { put('P', '+', dev, 0); }
  void path_removed(std::string_view dev) override { put('P', '-', dev, 0); }
  void path_changed(std::string_view dev, uint8_t what) override { put('P', '~', dev, what); }
  void map_added(std::string_view name) override { put('M', '+', name, 0); }
  void map_removed(std::string_view name) override { put('M', '-', name, 0); }
  void map_changed(std::string_view name, uint8_t what) override { put('M', '~', name, what); }
  void manager_changed(uint8_t what) override { put('D', '~', "", what); }

  std::vector<std::string> text() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < count; ++i) {
      const Event& e = events[i];
      std::string s{e.kind, e.op};
      s += e.name.view();
      if (e.op == '~') s += ":" + std::to_string(e.what);
      out.push_back(s);
    }
    return out;
  }
  void clear() { count = 0; }
  size_t size() const { return count; }

 private:
  struct Event {
    char kind, op;
    core::FixedString<128> name;
    uint8_t what;
  };
  void put(char kind, char op, std::string_view name, uint8_t what) {
    if (count == 64) return;
    Event& e = events[count++];
    e.kind = kind;
    e.op = op;
    e.name.assign(name);
    e.what = what;
  }
  Event events[64];
  size_t count = 0;
};

using Events = std::vector<std::string>;

class ChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    snap.init(16, 4);
    test::fill_sample(snap);
    tracker.init(16, 4);
  }
  core::PathRecord& path(std::string_view dev) {
    for (uint32_t i = 0; i < snap.path_count; ++i)
      if (snap.paths[i].dev == dev) return snap.paths[i];
    ADD_FAILURE() << "no path " << dev;
    return snap.paths[0];
  }
  core::MapRecord& map(std::string_view name) {
    for (uint32_t i = 0; i < snap.map_count; ++i)
      if (snap.maps[i].name == name) return snap.maps[i];
    ADD_FAILURE() << "no map " << name;
    return snap.maps[0];
  }
  Events compare() {
    snap.generation += 3;
    sink.clear();
    tracker.compare(snap, sink);
    return sink.text();
  }

  core::Snapshot snap;
  ChangeTracker tracker;
  Recorder sink;
};

}  // namespace

TEST_F(ChangesTest, TheFirstSnapshotIsOnlyRecorded) {
  EXPECT_FALSE(tracker.primed());
  EXPECT_EQ(compare(), Events{});
  EXPECT_TRUE(tracker.primed());
  EXPECT_EQ(tracker.generation(), snap.generation);
  EXPECT_EQ(compare(), Events{});  // nothing changed
}

TEST_F(ChangesTest, PathStateAndDmStateChanges) {
  compare();
  path("sdb").state = PathState::Down;
  EXPECT_EQ(compare(), (Events{"P~sdb:1"}));
  path("sdb").dm_state = DmState::Failed;
  EXPECT_EQ(compare(), (Events{"P~sdb:2"}));
  path("sdc").state = PathState::Timeout;
  path("sdc").dm_state = DmState::Failed;
  EXPECT_EQ(compare(), (Events{"P~sdc:3"}));
}

TEST_F(ChangesTest, FieldsThatAreNotSignalledAreNotReported) {
  compare();
  path("sdb").checks += 10;
  path("sdb").state_age_ms += 1000;
  path("sdb").priority = 10;
  map("mpatha").path_faults += 1;
  map("mpatha").paths_usable = 1;
  snap.status.uptime_ms += 1000;
  EXPECT_EQ(compare(), Events{});
}

TEST_F(ChangesTest, MapQueueingPathsActiveAndAllPathsDown) {
  compare();
  map("mpatha").paths_active = 1;
  EXPECT_EQ(compare(), (Events{"M~mpatha:2"}));
  map("mpatha").paths_active = 0;
  map("mpatha").all_down = true;
  EXPECT_EQ(compare(), (Events{"M~mpatha:6"}));
  map("nbd-export1").queueing = false;
  EXPECT_EQ(compare(), (Events{"M~nbd-export1:1"}));
}

TEST_F(ChangesTest, AddedAndRemovedPathsAreMatchedByNameNotPosition) {
  compare();
  // sdc goes away: every later path moves up one slot; sdd changes too.
  uint32_t at = 0;
  while (!(snap.paths[at].dev == "sdc")) ++at;
  for (uint32_t i = at; i + 1 < snap.path_count; ++i) snap.paths[i] = snap.paths[i + 1];
  --snap.path_count;
  path("sdd").state = PathState::Up;
  EXPECT_EQ(compare(), (Events{"P-sdc", "P~sdd:1", "D~:2"}));

  // sdc comes back in a slot at the front, sdf is new at the end.
  for (uint32_t i = snap.path_count; i > 0; --i) snap.paths[i] = snap.paths[i - 1];
  ++snap.path_count;
  test::add_path(snap, "sdf", {8, 80}, "360014051234abcd", "mpatha", 2, 10, PathState::Up, DmState::Active,
                 false, 0, 0);
  snap.paths[0] = snap.paths[snap.path_count - 1];
  snap.paths[0].dev.assign("sdc");
  EXPECT_EQ(compare(), (Events{"P+sdc", "P+sdf", "D~:2"}));
}

TEST_F(ChangesTest, MapsComeAndGo) {
  compare();
  snap.maps[0] = snap.maps[1];  // mpatha goes, nbd-export1 moves to slot 0
  snap.map_count = 1;
  EXPECT_EQ(compare(), (Events{"M-mpatha", "D~:4"}));
  core::MapRecord& m = snap.maps[snap.map_count++];
  m = core::MapRecord{};
  m.name.assign("mpathb");
  EXPECT_EQ(compare(), (Events{"M+mpathb", "D~:4"}));
}

TEST_F(ChangesTest, ManagerReadyIsReported) {
  snap.status.ready = false;
  compare();
  snap.status.ready = true;
  EXPECT_EQ(compare(), (Events{"D~:1"}));
}

TEST_F(ChangesTest, ResetStartsOverWithoutReporting) {
  compare();
  path("sdb").state = PathState::Down;
  tracker.reset();
  EXPECT_EQ(compare(), Events{});
  path("sdb").state = PathState::Up;
  EXPECT_EQ(compare(), (Events{"P~sdb:1"}));
}

TEST_F(ChangesTest, RecordsBeyondTheLimitsAreIgnored) {
  ChangeTracker small;
  small.init(2, 1);
  small.compare(snap, sink);
  sink.clear();
  snap.paths[4].state = PathState::Down;  // beyond the first two
  small.compare(snap, sink);
  EXPECT_EQ(sink.text(), Events{});
}

TEST_F(ChangesTest, ComparingAllocatesNothing) {
  // At full size: 4096 paths in 1024 maps, names in slot order.
  constexpr uint32_t kPaths = 4096, kMaps = 1024;
  core::Snapshot big;
  big.init(kPaths, kMaps);
  for (uint32_t i = 0; i < kPaths; ++i) {
    char dev[16];
    std::snprintf(dev, sizeof dev, "sd%u", i);
    big.paths[i].dev.assign(dev);
    big.paths[i].state = PathState::Up;
  }
  for (uint32_t i = 0; i < kMaps; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "mpath%u", i);
    big.maps[i].name.assign(name);
  }
  big.path_count = kPaths;
  big.map_count = kMaps;
  ChangeTracker t;
  t.init(kPaths, kMaps);
  t.compare(big, sink);

  test::heap_guard::arm();
  // Changes in place (the one-pass case).
  big.paths[7].state = PathState::Down;
  big.maps[3].queueing = true;
  sink.clear();
  t.compare(big, sink);
  size_t in_place = sink.size();
  // A path goes away and everything after it moves (the sorting case), twice.
  for (uint32_t i = 100; i + 1 < kPaths; ++i) big.paths[i] = big.paths[i + 1];
  big.path_count = kPaths - 1;
  sink.clear();
  t.compare(big, sink);
  size_t shifted = sink.size();
  big.path_count = kPaths;
  big.paths[kPaths - 1].dev.assign("sdz");
  sink.clear();
  t.compare(big, sink);
  test::heap_guard::disarm();
  EXPECT_EQ(test::heap_guard::count(), 0u) << "first heap call from " << test::heap_guard::first_caller();

  EXPECT_EQ(in_place, 2u);
  EXPECT_EQ(shifted, 2u);  // sd100 removed, path count changed
  EXPECT_EQ(sink.text(), (Events{"P+sdz", "D~:2"}));
}
