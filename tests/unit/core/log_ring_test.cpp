// The log ring and its records: fixed size, truncation marked, wrap-around,
// drops counted when full, many producers at once, no allocation.
#include "core/log_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/heap_guard.h"

namespace pk::core {
namespace {

void fill(LogRecord& r, LogLevel level, std::string_view sub, const LogIdentity& id, const char* format, ...)
    __attribute__((format(printf, 5, 6)));
void fill(LogRecord& r, LogLevel level, std::string_view sub, const LogIdentity& id, const char* format,
          ...) {
  va_list args;
  va_start(args, format);
  fill_log_record(r, 1234, level, sub, id, format, args);
  va_end(args);
}

bool push(LogRing& ring, const char* text) {
  LogRing::Claim c = ring.try_claim();
  if (!c) return false;
  fill_log_record_text(*c.record, 0, LogLevel::Info, "test", {}, text);
  ring.commit(c);
  return true;
}

std::string pop(LogRing& ring) {
  const LogRecord* r = ring.front();
  if (r == nullptr) return "<empty>";
  std::string s(r->message());
  ring.pop();
  return s;
}

TEST(LogRecord, HoldsEveryFieldInFixedSpace) {
  LogRecord r;
  fill(r, LogLevel::Notice, "path", {"mpatha", "sdb", "3600140512"}, "%s is %d", "sdb", 42);
  EXPECT_EQ(r.realtime_ns, 1234);
  EXPECT_EQ(r.log_level(), LogLevel::Notice);
  EXPECT_EQ(r.subsystem(), "path");
  EXPECT_EQ(r.map(), "mpatha");
  EXPECT_EQ(r.path(), "sdb");
  EXPECT_EQ(r.wwid(), "3600140512");
  EXPECT_EQ(r.message(), "sdb is 42");
  EXPECT_EQ(r.flags, 0);
  EXPECT_TRUE(r.lengths_valid());
  EXPECT_EQ(sizeof r, 512u);
}

TEST(LogRecord, LongMessageIsCutAndMarked) {
  std::string big(2000, 'x');
  LogRecord r;
  fill(r, LogLevel::Info, "daemon", {}, "%s", big.c_str());
  EXPECT_TRUE(r.flags & LogRecord::kTruncated);
  EXPECT_FALSE(r.flags & LogRecord::kIdentityTruncated);
  EXPECT_EQ(r.message().size(), LogRecord::kTextCapacity - std::string_view("daemon").size() - 1);
  EXPECT_EQ(r.message().substr(r.message().size() - 3), "...");
  EXPECT_TRUE(r.lengths_valid());

  LogRecord t;
  fill_log_record_text(t, 0, LogLevel::Info, "daemon", {}, big);
  EXPECT_TRUE(t.flags & LogRecord::kTruncated);
  EXPECT_EQ(t.message().substr(t.message().size() - 3), "...");

  LogRecord exact;
  fill(exact, LogLevel::Info, "d", {}, "%s", std::string(LogRecord::kTextCapacity - 2, 'y').c_str());
  EXPECT_EQ(exact.flags, 0) << "a message that fits is not marked";
}

TEST(LogRecord, LongIdentityIsCutAndMarkedButLeavesRoomForTheMessage) {
  std::string wwid(255, 'w'), map(127, 'm');
  LogRecord r;
  fill(r, LogLevel::Warning, "map", {map, "sdb", wwid}, "the message");
  EXPECT_TRUE(r.flags & LogRecord::kIdentityTruncated);
  EXPECT_FALSE(r.flags & LogRecord::kTruncated);
  EXPECT_EQ(r.map(), map);
  EXPECT_EQ(r.path(), "sdb");
  EXPECT_LT(r.wwid().size(), wwid.size());
  EXPECT_EQ(r.message(), "the message");
  EXPECT_GE(LogRecord::kTextCapacity - r.identity_bytes(), LogRecord::kMessageReserve);

  LogRecord too_long_path;
  fill(too_long_path, LogLevel::Warning, "map", {"", std::string(40, 'p'), ""}, "m");
  EXPECT_EQ(too_long_path.path().size(), LogRecord::kPathMax);
  EXPECT_TRUE(too_long_path.flags & LogRecord::kIdentityTruncated);
}

TEST(LogRecord, StderrLine) {
  LogRecord r;
  fill(r, LogLevel::Error, "dm", {"mpatha", "sdb", "36001"}, "reinstate failed");
  char line[256];
  size_t n = format_log_line(r, line, sizeof line);
  EXPECT_EQ(std::string(line, n), "<3>error dm: [mpatha sdb] reinstate failed\n");
  fill(r, LogLevel::Info, "daemon", {}, "ready");
  n = format_log_line(r, line, sizeof line);
  EXPECT_EQ(std::string(line, n), "<6>info daemon: ready\n");
  n = format_log_line(r, line, 8);
  EXPECT_EQ(std::string(line, n), "<6>info\n") << "cut to fit, still a line";
}

TEST(LogRecord, Levels) {
  LogLevel l{};
  EXPECT_TRUE(parse_log_level("debug", l));
  EXPECT_EQ(l, LogLevel::Debug);
  EXPECT_FALSE(parse_log_level("verbose", l));
  EXPECT_STREQ(log_level_name(LogLevel::Warning), "warning");
  EXPECT_STREQ(log_level_name(static_cast<LogLevel>(9)), "?");
}

TEST(LogRing, FifoThroughManyWrapArounds) {
  LogRing ring;
  ring.init(5);  // not a power of two on purpose
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 40; ++round) {
    int burst = round % 6;  // sometimes fills the ring, sometimes not
    for (int i = 0; i < burst; ++i) {
      if (push(ring, std::to_string(next_in).c_str())) ++next_in;
    }
    int take = (round * 7) % 5 + 1;
    for (int i = 0; i < take && ring.front() != nullptr; ++i) {
      EXPECT_EQ(pop(ring), std::to_string(next_out));
      ++next_out;
    }
  }
  while (ring.front() != nullptr) EXPECT_EQ(pop(ring), std::to_string(next_out++));
  EXPECT_EQ(next_in, next_out);
  EXPECT_GT(next_in, 20) << "the ring went round several times";
  EXPECT_EQ(ring.accepted(), static_cast<uint64_t>(next_in));
}

TEST(LogRing, FullRingDropsAndCounts) {
  LogRing ring;
  ring.init(4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(push(ring, "kept"));
  EXPECT_EQ(ring.used(), 4u);
  EXPECT_FALSE(push(ring, "dropped"));
  EXPECT_FALSE(push(ring, "dropped"));
  EXPECT_EQ(ring.dropped(), 2u);
  EXPECT_EQ(ring.accepted(), 4u);
  EXPECT_EQ(ring.high_water(), 4u);
  EXPECT_EQ(pop(ring), "kept");
  EXPECT_TRUE(push(ring, "after"));  // one slot free again
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pop(ring), "kept");
  EXPECT_EQ(pop(ring), "after");
  EXPECT_EQ(pop(ring), "<empty>");
  EXPECT_EQ(ring.used(), 0u);
}

TEST(LogRing, AClaimedSlotHoldsTheConsumerUntilCommitted) {
  LogRing ring;
  ring.init(4);
  LogRing::Claim slow = ring.try_claim();
  ASSERT_TRUE(slow);
  EXPECT_TRUE(push(ring, "second"));
  EXPECT_EQ(ring.front(), nullptr) << "the first record is still being written";
  fill_log_record_text(*slow.record, 0, LogLevel::Info, "t", {}, "first");
  ring.commit(slow);
  EXPECT_EQ(pop(ring), "first");
  EXPECT_EQ(pop(ring), "second");
}

// Producers on several threads, a consumer on another: every record arrives
// once, each producer's records in its order, and accepted + dropped adds up.
TEST(LogRing, ConcurrentProducersAndOneConsumer) {
  constexpr int kProducers = 4;
  constexpr int kEach = 50000;
  LogRing ring;
  ring.init(256);
  std::atomic<bool> done{false};
  std::vector<int> last(kProducers, -1);
  uint64_t received = 0;
  bool in_order = true;
  std::thread consumer([&] {
    for (;;) {
      const LogRecord* r = ring.front();
      if (r == nullptr) {
        if (done.load()) {
          if (ring.front() == nullptr) break;
          continue;
        }
        std::this_thread::yield();
        continue;
      }
      int p = 0, n = 0;
      std::string msg(r->message());
      if (std::sscanf(msg.c_str(), "p%d n%d", &p, &n) != 2 || p < 0 || p >= kProducers || n <= last[p]) {
        in_order = false;
      } else {
        last[p] = n;
      }
      ++received;
      ring.pop();
    }
  });
  std::vector<std::thread> producers;
  producers.reserve(kProducers);
  std::atomic<uint64_t> refused{0};
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int n = 0; n < kEach; ++n) {
        LogRing::Claim c = ring.try_claim();
        if (!c) {
          refused.fetch_add(1);
          continue;
        }
        char text[32];
        int len = std::snprintf(text, sizeof text, "p%d n%d", p, n);
        fill_log_record_text(*c.record, n, LogLevel::Debug, "load", {}, std::string_view(text, len));
        ring.commit(c);
      }
    });
  }
  for (auto& t : producers) t.join();
  done = true;
  consumer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(ring.accepted() + ring.dropped(), uint64_t{kProducers} * kEach);
  EXPECT_EQ(ring.dropped(), refused.load());
  EXPECT_EQ(received, ring.accepted());
  EXPECT_LE(ring.high_water(), 256u);
  std::printf("concurrent: %llu accepted, %llu dropped\n", static_cast<unsigned long long>(ring.accepted()),
              static_cast<unsigned long long>(ring.dropped()));
}

TEST(LogRing, ProducingAndConsumingAllocateNothing) {
  LogRing ring;
  ring.init(64);
  test::heap_guard::arm();
  for (int i = 0; i < 10000; ++i) {
    LogRing::Claim c = ring.try_claim();
    if (c) {
      LogRecord& r = *c.record;
      fill_log_record_text(r, i, LogLevel::Info, "x", {"map", "sdb", "wwid"}, "message");
      ring.commit(c);
    }
    if (i % 3 == 0) {
      while (ring.front() != nullptr) ring.pop();
    }
  }
  test::heap_guard::disarm();
  EXPECT_EQ(test::heap_guard::count(), 0u) << "first heap call from " << test::heap_guard::first_caller();
}

}  // namespace
}  // namespace pk::core
