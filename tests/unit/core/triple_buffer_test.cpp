// The triple buffer (core/triple_buffer.h) between a writer thread that
// publishes as fast as it can and a reader that takes the newest value.
#include "core/triple_buffer.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <thread>

using pk::core::TripleBuffer;

namespace {

// A value written whole: every word equals seq.
struct Value {
  uint64_t seq = 0;
  std::array<uint64_t, 32> words{};

  void fill(uint64_t s) {
    seq = s;
    words.fill(s);
  }
  bool whole() const {
    for (uint64_t w : words)
      if (w != seq) return false;
    return true;
  }
};

}  // namespace

TEST(TripleBuffer, TheReaderGetsTheNewestValueAndKeepsItUntilItAsksAgain) {
  TripleBuffer<Value> tb;
  EXPECT_EQ(tb.latest().seq, 0u) << "nothing published: a default value";
  tb.back().fill(1);
  tb.publish();
  tb.back().fill(2);
  tb.publish();
  const Value& held = tb.latest();
  EXPECT_EQ(held.seq, 2u);
  for (uint64_t s = 3; s < 10; ++s) {
    tb.back().fill(s);
    tb.publish();
    EXPECT_NE(&tb.back(), &held) << "the writer never gets the buffer the reader holds";
  }
  EXPECT_EQ(held.seq, 2u);
  EXPECT_EQ(tb.latest().seq, 9u);
  EXPECT_EQ(tb.latest().seq, 9u) << "nothing new: the same value";
}

TEST(TripleBuffer, UnderStressTheReaderSeesWholeValuesInOrderAndTheLastOne) {
  TripleBuffer<Value> tb;
  constexpr uint64_t kValues = 300000;
  std::atomic<bool> go{false}, done{false};
  std::thread writer([&] {
    while (!go.load()) std::this_thread::yield();
    for (uint64_t s = 1; s <= kValues; ++s) {
      tb.back().fill(s);
      tb.publish();
      if (s % 256 == 0) std::this_thread::yield();  // let the reader in, even on one core
    }
    done.store(true, std::memory_order_release);
  });
  uint64_t last = 0, torn = 0, backwards = 0, changed_while_held = 0, distinct = 0;
  go = true;
  for (;;) {
    bool finished = done.load(std::memory_order_acquire);
    const Value& v = tb.latest();
    uint64_t seq = v.seq;
    torn += !v.whole();
    backwards += seq < last;
    distinct += seq != last;
    last = seq;
    std::this_thread::yield();  // the writer runs on while the reader holds v
    changed_while_held += v.seq != seq || !v.whole();
    if (finished) break;
  }
  writer.join();
  EXPECT_EQ(torn, 0u);
  EXPECT_EQ(backwards, 0u);
  EXPECT_EQ(changed_while_held, 0u);
  EXPECT_EQ(last, kValues) << "after the last publish, the reader gets the last value";
  std::printf("the reader took %llu of %llu values\n", static_cast<unsigned long long>(distinct),
              static_cast<unsigned long long>(kValues));
}
