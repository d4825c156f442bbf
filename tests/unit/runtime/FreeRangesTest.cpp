// The GPU sub-allocators' free-range bookkeeping (runtime/src/FreeRanges.h).
#include <gtest/gtest.h>

#include "FreeRanges.h"

namespace lathe::runtime {
namespace {

TEST(FreeRanges, TakesFirstFitAtTheAlignment) {
  FreeRanges ranges(1000);
  EXPECT_EQ(ranges.take(10), 0u);
  EXPECT_EQ(ranges.take(100, 64), 64u);  // [10, 64) stays free
  EXPECT_EQ(ranges.take(54), 10u);       // fits the gap exactly
  EXPECT_EQ(ranges.take(837), std::nullopt);  // the rest, [164, 1000), holds 836
  EXPECT_EQ(ranges.take(836), 164u);
  EXPECT_EQ(ranges.take(1), std::nullopt);
}

TEST(FreeRanges, GiveCoalescesWithBothNeighbours) {
  FreeRanges ranges(300);
  const auto a = ranges.take(100), b = ranges.take(100), c = ranges.take(100);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(ranges.take(1), std::nullopt);
  ranges.give(*a, 100);
  ranges.give(*c, 100);
  EXPECT_EQ(ranges.take(150), std::nullopt);  // two separate 100-byte holes
  ranges.give(*b, 100);
  EXPECT_TRUE(ranges.empty());
  EXPECT_EQ(ranges.take(300), 0u);
}

TEST(FreeRanges, EmptyOnlyWhenNothingIsTaken) {
  FreeRanges ranges(64);
  EXPECT_TRUE(ranges.empty());
  const auto offset = ranges.take(8, 16);
  EXPECT_FALSE(ranges.empty());
  ranges.give(*offset, 8);
  EXPECT_TRUE(ranges.empty());
}

}  // namespace
}  // namespace lathe::runtime
