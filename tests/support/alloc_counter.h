// Counts heap allocations made through operator new in a test binary that
// links alloc_counter.cpp, so a test can prove a call allocates nothing:
//   uint64_t before = pk::test::allocations(); call(); EXPECT_EQ(pk::test::allocations(), before);
#pragma once

#include <cstdint>

namespace pk::test {
uint64_t allocations();
}
