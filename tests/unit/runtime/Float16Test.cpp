// fp16 and bfloat16 conversions of lathe/support/Float16.h, checked over every 16-bit value.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "lathe/support/Float16.h"

namespace lathe {
namespace {

float bitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

bool isNaNHalf(uint16_t half) { return (half & 0x7c00u) == 0x7c00u && (half & 0x3ffu) != 0; }

TEST(Float16, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t bits = 0; bits <= 0xffffu; ++bits) {
    const uint16_t half = static_cast<uint16_t>(bits);
    const float value = halfToFloat(half);
    if (isNaNHalf(half)) {
      EXPECT_TRUE(std::isnan(value)) << bits;
      EXPECT_TRUE(isNaNHalf(floatToHalf(value))) << bits;
    } else {
      EXPECT_EQ(floatToHalf(value), half) << bits;
    }
  }
}

TEST(Float16, KnownValues) {
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(floatToHalf(0.1f), 0x2e66);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(floatToHalf(1e6f), 0x7c00);
  EXPECT_EQ(floatToHalf(-1e6f), 0xfc00);
  EXPECT_EQ(floatToHalf(1e-10f), 0x0000);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -149)), 0x0000);  // smallest f32 subnormal
}

// Between two neighbouring halves, values below the midpoint round down, above
// it up, and the midpoint itself to the even one.
TEST(Float16, RoundsToNearestEven) {
  for (uint32_t bits = 0; bits < 0x7c00u; ++bits) {
    const uint16_t low = static_cast<uint16_t>(bits), high = static_cast<uint16_t>(bits + 1);
    const float a = halfToFloat(low), b = halfToFloat(high);  // b may be inf for the last
    const double mid = (static_cast<double>(a) + (std::isinf(b) ? 65536.0 : static_cast<double>(b))) / 2;
    const float midpoint = static_cast<float>(mid);  // exact: fp16 midpoints fit in f32
    ASSERT_EQ(static_cast<double>(midpoint), mid) << bits;
    uint32_t mid_bits;
    std::memcpy(&mid_bits, &midpoint, sizeof mid_bits);
    EXPECT_EQ(floatToHalf(bitsToFloat(mid_bits - 1)), low) << bits;
    EXPECT_EQ(floatToHalf(bitsToFloat(mid_bits + 1)), high) << bits;
    EXPECT_EQ(floatToHalf(midpoint), (low & 1u) ? high : low) << bits;
    EXPECT_EQ(floatToHalf(-midpoint), ((low & 1u) ? high : low) | 0x8000u) << bits;
  }
}

// bfloat16 is the upper half of a binary32: every value widens exactly, so
// truncating the f32 back gives the same bits (NaNs included).
TEST(Float16, EveryBfloat16WidensExactly) {
  for (uint32_t bits = 0; bits <= 0xffffu; ++bits) {
    const float value = bfloat16ToFloat(static_cast<uint16_t>(bits));
    uint32_t widened;
    std::memcpy(&widened, &value, sizeof widened);
    EXPECT_EQ(widened, bits << 16) << bits;
  }
  EXPECT_EQ(bfloat16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bfloat16ToFloat(0xc040), -3.0f);
  EXPECT_EQ(bfloat16ToFloat(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bfloat16ToFloat(0x7fc0)));
  EXPECT_EQ(bfloat16ToFloat(0x0001), std::ldexp(1.0f, -133));  // smallest bfloat16 subnormal
}

}  // namespace
}  // namespace lathe
