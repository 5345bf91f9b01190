// find_multipaths smart's wait, on a manual clock: held, then released once
// find_multipaths_timeout has passed; the loop's next wake-up is the
// earliest deadline; nothing allocates after init.
#include "core/held_wwids.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/heap_guard.h"

using namespace pk::core;
using namespace std::chrono_literals;

namespace {

using State = HeldWwids::State;
using Hold = HeldWwids::Hold;

struct Held : ::testing::Test {
  HeldWwids held;
  ManualClock clock;
  std::vector<std::pair<std::string, Duration>> released;
  void SetUp() override { held.init(4); }
  size_t due() {
    return held.release_due(clock.now(), [&](std::string_view w, Duration waited) {
      released.emplace_back(std::string(w), waited);
    });
  }
};

TEST_F(Held, ASinglePathWwidIsReleasedWhenTheTimeoutHasPassedNotBefore) {
  EXPECT_EQ(held.next_deadline(), MonoTime::max()) << "nothing held: no wake-up";
  const MonoTime start = clock.now();
  EXPECT_EQ(held.hold("a", clock.now(), 10s), Hold::Started);
  EXPECT_EQ(held.state("a"), State::Held);
  EXPECT_EQ(held.next_deadline(), start + 10s) << "the loop wakes when the wait ends";
  clock.advance(5s);
  EXPECT_EQ(held.hold("a", clock.now(), 10s), Hold::Waiting) << "a later ask does not restart the wait";
  clock.advance(4999ms);
  EXPECT_EQ(due(), 0u);
  EXPECT_EQ(held.state("a"), State::Held);
  clock.advance(1ms);
  EXPECT_EQ(due(), 1u);
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].first, "a");
  EXPECT_EQ(released[0].second, 10s);
  EXPECT_EQ(held.state("a"), State::Released);
  EXPECT_EQ(held.hold("a", clock.now(), 10s), Hold::Released) << "released stays released";
  EXPECT_EQ(held.next_deadline(), MonoTime::max());
  clock.advance(1h);
  EXPECT_EQ(due(), 0u) << "released once";
}

TEST_F(Held, EachWwidWaitsFromItsOwnFirstSight) {
  held.hold("a", clock.now(), 10s);
  clock.advance(3s);
  const MonoTime b_seen = clock.now();
  held.hold("b", clock.now(), 10s);
  EXPECT_EQ(held.next_deadline(), b_seen + 7s) << "a's, the earlier";
  clock.advance(7s);
  EXPECT_EQ(due(), 1u);
  EXPECT_EQ(held.next_deadline(), b_seen + 10s);
  clock.advance(3s);
  EXPECT_EQ(due(), 1u);
  ASSERT_EQ(released.size(), 2u);
  EXPECT_EQ(released[1].first, "b");
}

TEST_F(Held, AWwidForgottenIsWaitedForAnew) {
  held.hold("a", clock.now(), 10s);
  held.forget("a");  // a second path came: it got a map
  EXPECT_EQ(held.state("a"), State::None);
  EXPECT_EQ(held.next_deadline(), MonoTime::max());
  clock.advance(20s);
  EXPECT_EQ(due(), 0u);
  EXPECT_EQ(held.hold("a", clock.now(), 10s), Hold::Started);
}

TEST_F(Held, AFullTableHoldsNothingMore) {
  for (const char* w : {"a", "b", "c", "d"}) EXPECT_EQ(held.hold(w, clock.now(), 1s), Hold::Started);
  EXPECT_EQ(held.hold("e", clock.now(), 1s), Hold::Full);
  EXPECT_EQ(held.state("e"), State::None);
  held.forget("b");
  EXPECT_EQ(held.hold("e", clock.now(), 1s), Hold::Started) << "a freed entry is used again";
  EXPECT_EQ(held.state("c"), State::Held) << "the others stay";
}

TEST_F(Held, HoldingAndReleasingNeverAllocate) {
  pk::test::heap_guard::arm();
  held.hold("a", clock.now(), 10s);
  held.hold("b", clock.now(), 10s);
  clock.advance(10s);
  size_t n = held.release_due(clock.now(), [](std::string_view, Duration) {});
  held.forget("a");
  MonoTime next = held.next_deadline();
  pk::test::heap_guard::disarm();
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(next, MonoTime::max());
  EXPECT_EQ(pk::test::heap_guard::count(), 0u)
      << "first heap call from " << pk::test::heap_guard::first_caller();
}

}  // namespace
