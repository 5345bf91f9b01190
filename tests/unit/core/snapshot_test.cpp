#include "core/snapshot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace pk::core;

TEST(SnapshotExchange, TheReaderSeesTheNewestPublishedSnapshot) {
  SnapshotExchange x;
  x.init(4, 2);
  EXPECT_EQ(x.latest().generation, 0u);
  x.back().generation = 1;
  x.publish();
  x.back().generation = 2;
  x.publish();
  EXPECT_EQ(x.latest().generation, 2u);
  EXPECT_EQ(x.latest().generation, 2u) << "no new snapshot: the same one stays";
  x.back().generation = 3;
  x.publish();
  EXPECT_EQ(x.latest().generation, 3u);
}

TEST(SnapshotExchange, AWriterAndAReaderNeverShareABuffer) {
  // Every snapshot is written whole (all records equal its generation); the
  // reader must never see a mix, and generations never go back.
  SnapshotExchange x;
  x.init(64, 1);
  constexpr uint64_t kRounds = 200000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t g = 1; g <= kRounds; ++g) {
      Snapshot& s = x.back();
      s.generation = g;
      s.path_count = 64;
      for (uint32_t i = 0; i < 64; ++i) s.paths[i].checks = g;
      x.publish();
    }
    done = true;
  });
  uint64_t last = 0, torn = 0, reads = 0;
  while (!done || last < kRounds) {
    const Snapshot& s = x.latest();
    ++reads;
    ASSERT_GE(s.generation, last);
    last = s.generation;
    for (uint32_t i = 0; i < s.path_count; ++i) torn += s.paths[i].checks != s.generation;
  }
  writer.join();
  EXPECT_EQ(torn, 0u);
  EXPECT_EQ(last, kRounds);
  EXPECT_GT(reads, 0u);
}
