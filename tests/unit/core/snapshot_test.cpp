#include "core/snapshot.h"

#include <gtest/gtest.h>

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

TEST(SnapshotExchange, InitSizesEveryBuffer) {
  // The exchange is a triple buffer (core/triple_buffer.h, tested on its
  // own); what it adds is sizing each snapshot for the limits.
  SnapshotExchange x;
  x.init(16, 4);
  for (int i = 0; i < 3; ++i) {
    Snapshot& s = x.back();
    ASSERT_NE(s.paths, nullptr);
    ASSERT_NE(s.maps, nullptr);
    s.paths[15].checks = 7;  // the last slot of each exists
    s.maps[3].path_faults = 7;
    s.generation = static_cast<uint64_t>(i) + 1;
    x.publish();
  }
  EXPECT_EQ(x.latest().generation, 3u);
  EXPECT_EQ(x.latest().paths[15].checks, 7u);
}
