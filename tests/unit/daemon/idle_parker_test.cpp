// The idle/wake hand-off (daemon/idle_parker.h): a lost wake-up would leave
// the parked thread asleep until its longest sleep (kMaxSleepNs) ends, so a
// fast ping-pong between a giver and the parked thread shows one as a slow
// round trip.
#include "daemon/idle_parker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono_literals;
using pk::daemon::IdleParker;

namespace {
using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}
}  // namespace

TEST(IdleParker, ParkReturnsAtOnceWhenThereIsWork) {
  IdleParker parker;
  pk::core::Error err;
  ASSERT_TRUE(parker.open(err)) << err.c_str();
  auto t0 = Clock::now();
  parker.park(-1, [] { return true; });
  EXPECT_LT(ms_since(t0), 200);
}

TEST(IdleParker, SleepEndsAtItsDeadlineOrWhenWoken) {
  IdleParker parker;
  pk::core::Error err;
  ASSERT_TRUE(parker.open(err)) << err.c_str();
  auto t0 = Clock::now();
  parker.sleep(20'000'000);
  EXPECT_GE(ms_since(t0), 19);
  parker.wake();
  t0 = Clock::now();
  parker.sleep(-1);
  EXPECT_LT(ms_since(t0), 200) << "a wake before the sleep ends it at once";
}

TEST(IdleParker, UnderStressNoWakeUpIsLost) {
  IdleParker parker;
  pk::core::Error err;
  ASSERT_TRUE(parker.open(err)) << err.c_str();
  constexpr uint64_t kRounds = 20000;
  std::atomic<uint64_t> given{0}, taken{0};
  std::atomic<bool> stop{false};
  std::thread sleeper([&] {
    while (!stop.load(std::memory_order_acquire)) {
      uint64_t g = given.load(std::memory_order_acquire);
      if (g != taken.load(std::memory_order_relaxed)) {
        taken.store(g, std::memory_order_release);
        continue;
      }
      parker.park(-1, [&] {
        return given.load(std::memory_order_acquire) != taken.load(std::memory_order_relaxed) ||
               stop.load(std::memory_order_acquire);
      });
    }
  });
  int64_t slowest_ms = 0;
  auto start = Clock::now();
  for (uint64_t i = 1; i <= kRounds; ++i) {
    auto t0 = Clock::now();
    given.store(i, std::memory_order_release);
    parker.wake_if_idle();
    while (taken.load(std::memory_order_acquire) != i) {
      if (i % 2 == 0) std::this_thread::yield();  // half the rounds find the sleeper asleep, half awake
    }
    slowest_ms = std::max(slowest_ms, ms_since(t0));
  }
  stop.store(true, std::memory_order_release);
  parker.wake();
  sleeper.join();
  std::printf("%llu round trips in %lld ms, the slowest %lld ms\n", static_cast<unsigned long long>(kRounds),
              static_cast<long long>(ms_since(start)), static_cast<long long>(slowest_ms));
  EXPECT_LT(slowest_ms, IdleParker::kMaxSleepNs / 1'000'000 / 2) << "a wake-up was lost";
}
