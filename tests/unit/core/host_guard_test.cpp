// The host's protection: which BDI knobs a map's cap writes on which kernel,
// never during an outage, and dm_multipath's backstop from the maps' bounds.
#include "core/host_guard.h"

#include <gtest/gtest.h>

#include <string>

using namespace pk::core;

namespace {

constexpr BdiKnobs kLinux61{true, false, false};
constexpr BdiKnobs kLinux612{true, true, true};

DirtyLimit percent(uint32_t p) { return {DirtyLimit::Kind::Percent, p, 0}; }
DirtyLimit bytes(uint64_t b) { return {DirtyLimit::Kind::Bytes, 0, b}; }

std::string writes(const DirtyCapPlan& p) {
  std::string s;
  for (uint8_t i = 0; i < p.count; ++i)
    s += std::string(p.writes[i].knob) + "=" + std::to_string(p.writes[i].value) + " ";
  return s;
}

NoPathRetry checks(uint32_t n) { return {NoPathRetry::Kind::Checks, n, Seconds{0}}; }
NoPathRetry seconds(int64_t s) { return {NoPathRetry::Kind::Time, 0, Seconds{s}}; }
NoPathRetry queue() { return {NoPathRetry::Kind::Queue, 0, Seconds{0}}; }

Config config_with(NoPathRetry defaults) {
  Config c;
  c.timing.polling_interval = Seconds{5};
  c.timing.checker_timeout = Millis{10000};
  c.defaults.no_path_retry = defaults;
  return c;
}

MapConfig map_with(std::string alias, NoPathRetry r) {
  MapConfig m;
  m.wwid = "3600" + alias;
  m.alias = std::move(alias);
  m.settings.no_path_retry = r;
  return m;
}

}  // namespace

TEST(DirtyCap, StrictWhereTheKernelHasStrictLimit) {
  DirtyCapPlan p = plan_dirty_cap(percent(10), kLinux612, false);
  EXPECT_EQ(p.kind, DirtyCapPlan::Kind::Write);
  EXPECT_EQ(writes(p), "max_ratio=10 strict_limit=1 ");
  EXPECT_TRUE(p.strict);

  p = plan_dirty_cap(bytes(64ull << 20), kLinux612, false);
  EXPECT_EQ(writes(p), "max_bytes=67108864 strict_limit=1 ");
  EXPECT_TRUE(p.strict);
}

TEST(DirtyCap, OnLinux61OnlyMaxRatioAndSaysItIsNotStrict) {
  DirtyCapPlan p = plan_dirty_cap(percent(5), kLinux61, false);
  EXPECT_EQ(p.kind, DirtyCapPlan::Kind::Write);
  EXPECT_EQ(writes(p), "max_ratio=5 ");
  EXPECT_FALSE(p.strict);
  EXPECT_NE(std::string(p.reason).find("strict_limit"), std::string::npos) << p.reason;

  // A size has no knob before 6.2: nothing is written, and why is said.
  p = plan_dirty_cap(bytes(64ull << 20), kLinux61, false);
  EXPECT_EQ(p.kind, DirtyCapPlan::Kind::Unsupported);
  EXPECT_EQ(p.count, 0);
  EXPECT_NE(std::string(p.reason).find("6.2"), std::string::npos) << p.reason;
}

TEST(DirtyCap, NeverWrittenDuringAnOutage) {
  for (BdiKnobs k : {kLinux61, kLinux612}) {
    for (DirtyLimit l : {percent(10), bytes(1ull << 30)}) {
      DirtyCapPlan p = plan_dirty_cap(l, k, true);
      EXPECT_EQ(p.kind, DirtyCapPlan::Kind::Deferred);
      EXPECT_EQ(p.count, 0);
    }
  }
}

TEST(DirtyCap, OffWritesNothingAndNoBdiIsUnsupported) {
  DirtyLimit off{DirtyLimit::Kind::Off, 0, 0};
  EXPECT_EQ(plan_dirty_cap(off, kLinux612, false).kind, DirtyCapPlan::Kind::Off);
  EXPECT_EQ(plan_dirty_cap(off, kLinux612, false).count, 0);
  EXPECT_EQ(plan_dirty_cap(percent(10), BdiKnobs{}, false).kind, DirtyCapPlan::Kind::Unsupported);
}

TEST(DirtyCap, TheSettingIsShownAsWritten) {
  char buf[64];
  auto shown = [&](DirtyLimit l) {
    FixedWriter w(buf);
    write_dirty_limit(w, l);
    return std::string(w.view());
  };
  EXPECT_EQ(shown(percent(10)), "10%");
  EXPECT_EQ(shown(bytes(64ull << 20)), "64 MiB");
  EXPECT_EQ(shown(bytes(2ull << 30)), "2 GiB");
  EXPECT_EQ(shown(bytes(1000)), "1000 bytes");
  EXPECT_EQ(shown({DirtyLimit::Kind::Off, 0, 0}), "off");
}

TEST(Backstop, LongestBoundPlusMarginWhenEveryMapIsBounded) {
  Config c = config_with(checks(12));  // 12 x 5 s = 60 s
  c.maps.push_back(map_with("db", seconds(90)));
  c.maps.push_back(map_with("scratch", NoPathRetry{NoPathRetry::Kind::Fail, 0, Seconds{0}}));
  BackstopPlan p = plan_backstop(c, true);
  EXPECT_EQ(p.kind, BackstopPlan::Kind::Bounded);
  EXPECT_EQ(backstop_margin_seconds(c.timing), 5u + 10u + 5u);
  EXPECT_EQ(p.seconds, 90u + 20u);
  EXPECT_NE(p.reason.view().find("db"), std::string_view::npos) << p.reason.view();

  // The margin follows the checks' pace, so a live daemon always acts first.
  c.timing.polling_interval = Seconds{20};
  c.timing.checker_timeout = Millis{30500};
  p = plan_backstop(c, true);
  EXPECT_EQ(p.seconds, 240u + 20u + 31u + 5u);  // defaults' 12 checks are 240 s now
  EXPECT_NE(p.reason.view().find("defaults"), std::string_view::npos) << p.reason.view();
}

TEST(Backstop, ZeroWhenAnyMapQueuesForever) {
  Config c = config_with(seconds(300));
  c.maps.push_back(map_with("archive", queue()));
  BackstopPlan p = plan_backstop(c, true);
  EXPECT_EQ(p.kind, BackstopPlan::Kind::Unbounded);
  EXPECT_EQ(p.seconds, 0u);
  EXPECT_NE(p.reason.view().find("archive"), std::string_view::npos) << p.reason.view();

  p = plan_backstop(config_with(queue()), true);
  EXPECT_EQ(p.kind, BackstopPlan::Kind::Unbounded);
  EXPECT_NE(p.reason.view().find("defaults"), std::string_view::npos) << p.reason.view();
}

TEST(Backstop, UnavailableWithoutTheParameter) {
  BackstopPlan p = plan_backstop(config_with(seconds(300)), false);
  EXPECT_EQ(p.kind, BackstopPlan::Kind::Unavailable);
  EXPECT_EQ(p.seconds, 0u);
  EXPECT_NE(p.reason.view().find("5.6"), std::string_view::npos);
}

TEST(Backstop, TheEnginesBoundIsTheSame) {
  Timing t;
  t.polling_interval = Seconds{7};
  EXPECT_EQ(queue_bound(checks(3), t), Millis{21000});
  EXPECT_EQ(queue_bound(seconds(45), t), Millis{45000});
  EXPECT_EQ(queue_bound(queue(), t), Millis::max());
}
