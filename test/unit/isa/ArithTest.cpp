// Rounding, saturation and requantisation: the integer contract of every unit.
#include "mamba2/isa/Arith.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace mamba2::isa::ref;

TEST(Arith, RoundShiftTiesAwayFromZero) {
  EXPECT_EQ(rnd(5, 1), 3);
  EXPECT_EQ(rnd(-5, 1), -3);
  EXPECT_EQ(rnd(4, 1), 2);
  EXPECT_EQ(rnd(-4, 1), -2);
  EXPECT_EQ(rnd(-1, 1), -1);
  EXPECT_EQ(rnd(1, 1), 1);
  EXPECT_EQ(rnd(1, 2), 0);
  EXPECT_EQ(rnd(-6, 2), -2); // -1.5 -> -2
  EXPECT_EQ(rnd(7, 0), 7);
  EXPECT_EQ(rnd(7, -3), 7); // negative shifts act as 0
}

TEST(Arith, RoundShiftExtremes) {
  EXPECT_EQ(rnd(INT64_MIN, 63), -1);
  EXPECT_EQ(rnd(INT64_MAX, 63), 1);
  EXPECT_EQ(rnd(INT64_MIN, 1), INT64_MIN / 2);
  EXPECT_EQ(rnd(INT64_MAX, 200), rnd(INT64_MAX, 63)); // clamped
}

TEST(Arith, RoundShiftMatchesRealDivision) {
  std::mt19937_64 g(1);
  for (int i = 0; i < 20000; ++i) {
    int64_t x = int64_t(g() >> 20) - (int64_t(1) << 43);
    int s = int(g() % 20);
    long double q = static_cast<long double>(x) / std::ldexp(1.0L, s);
    long double want = q < 0 ? -std::floor(-q + 0.5L) : std::floor(q + 0.5L);
    ASSERT_EQ(rnd(x, s), static_cast<int64_t>(want)) << x << " >> " << s;
  }
}

TEST(Arith, Saturation) {
  EXPECT_EQ(sat8(128), 127);
  EXPECT_EQ(sat8(-129), -128);
  EXPECT_EQ(sat8(-128), -128);
  EXPECT_EQ(sat32(int64_t(INT32_MAX) + 1), INT32_MAX);
  EXPECT_EQ(sat32(int64_t(INT32_MIN) - 1), INT32_MIN);
}

TEST(Arith, Shift32NegativeIsSaturatingLeftShift) {
  EXPECT_EQ(shift32(3, -2), 12);
  EXPECT_EQ(shift32(1 << 30, -2), INT32_MAX);
  EXPECT_EQ(shift32(-(1 << 30), -2), INT32_MIN);
  EXPECT_EQ(shift32(-7, 1), -4);
  EXPECT_EQ(shift32(1, -100), INT32_MAX); // clamped to -31
}

TEST(Arith, Requant8PerChannel) {
  // 1000 * 0.75 (mult 3 << 29, shift 31) = 750 -> saturates
  EXPECT_EQ(requant8(1000, 3 << 29, 31), 127);
  EXPECT_EQ(requant8(100, 3 << 29, 31), 75);
  EXPECT_EQ(requant8(-100, 3 << 29, 31), -75);
  EXPECT_EQ(requant8(-1000, 3 << 29, 31), -128);
  EXPECT_EQ(requant8(3, 1 << 30, 31), 2); // 1.5 rounds away from zero
  EXPECT_EQ(requant8(-3, 1 << 30, 31), -2);
  EXPECT_EQ(requant8(INT32_MIN, INT32_MIN, 0), 127);
}

TEST(Arith, Int4Nibbles) {
  EXPECT_EQ(int4At(0x7F, false), -1);
  EXPECT_EQ(int4At(0x7F, true), 7);
  EXPECT_EQ(int4At(0x80, true), -8);
  EXPECT_EQ(int4At(0x08, false), -8);
}

TEST(Arith, WrapAddHasNoOverflowUb) {
  EXPECT_EQ(wrapAdd(INT32_MAX, 1), INT32_MIN);
  EXPECT_EQ(wrapSub(INT32_MIN, 1), INT32_MAX);
}
