// Piecewise-linear evaluation rules and the accuracy of the built tables.
#include "mamba2/isa/PwlBuild.h"
#include "mamba2/isa/Reference.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mamba2::isa;

TEST(Pwl, SegmentSelectionAndExtrapolation) {
  // Two segments of width 4 starting at -4: y = 10 + 2*(x+4) on the first, 100 - (x) on the second.
  std::vector<int32_t> t = {-4, 2, 2, 0, 10, 2, 100, -1};
  EXPECT_EQ(ref::pwl(t.data(), -4), 10);
  EXPECT_EQ(ref::pwl(t.data(), -1), 16);
  EXPECT_EQ(ref::pwl(t.data(), 0), 100);
  EXPECT_EQ(ref::pwl(t.data(), 3), 97);
  EXPECT_EQ(ref::pwl(t.data(), 10), 90);  // right end extrapolates
  EXPECT_EQ(ref::pwl(t.data(), -10), -2); // left end extrapolates
  EXPECT_EQ(ref::pwl(t.data(), INT32_MIN), ref::sat32(10 + 2 * (int64_t(INT32_MIN) + 4)));
}

TEST(Pwl, HeaderIsClampedSoAnyBitsAreSafe) {
  std::vector<int32_t> t(4 + 2 * 256, 1);
  t[1] = 1000;      // segShift -> 31
  t[2] = -5;        // n -> 1
  t[3] = INT32_MAX; // slopeShift -> 63
  ref::PwlHeader h = ref::pwlHeader(t.data());
  EXPECT_EQ(h.segShift, 31);
  EXPECT_EQ(h.n, 1u);
  EXPECT_EQ(h.slopeShift, 63);
  EXPECT_EQ(ref::pwlTableBytes(h), 24u);
  EXPECT_EQ(ref::pwl(t.data(), 12345), 1);
}

struct Fn {
  const char *name;
  double lo, hi, tol; // tolerance in output units (real)
};
class PwlFunction : public ::testing::TestWithParam<Fn> {};
TEST_P(PwlFunction, TableTracksTheFunction) {
  Fn f = GetParam();
  PwlSpec s;
  s.lo = f.lo;
  s.hi = f.hi;
  s.segments = 64;
  auto t = buildPwl(f.name, s);
  double worst = 0;
  for (int i = 0; i < 3001; ++i) {
    double x = f.lo + i * (f.hi - f.lo) / 3001;
    int32_t xi = int32_t(std::lround(x * 65536));
    double y = ref::pwl(t.data(), xi) / 65536.0;
    worst = std::max(worst, std::fabs(y - pwlFunction(f.name, xi / 65536.0)));
  }
  EXPECT_LT(worst, f.tol) << f.name;
}
INSTANTIATE_TEST_SUITE_P(Functions, PwlFunction,
                         ::testing::Values(Fn{"exp", -8, 0, 2e-3}, Fn{"softplus", -8, 8, 3e-3},
                                           Fn{"sigmoid", -8, 8, 2e-3}, Fn{"silu", -8, 8, 5e-3}));

TEST(Pwl, UnknownFunctionIsRejected) {
  EXPECT_FALSE(pwlKnownFunction("tanh"));
  EXPECT_THROW(buildPwl("tanh", PwlSpec{}), std::invalid_argument);
  PwlSpec bad;
  bad.segments = 0;
  EXPECT_THROW(buildPwl("exp", bad), std::invalid_argument);
}

TEST(Rsqrt, RelativeErrorSmallOverTheWholeRange) {
  auto t = buildRsqrtTable(30, 64);
  double worst = 0;
  for (int64_t x = 1; x < INT32_MAX; x = x * 5 / 4 + 1) {
    double want = std::ldexp(1.0, 30) / std::sqrt(double(x));
    double got = ref::rsqrt(t.data(), int32_t(x));
    if (want > INT32_MAX) {
      EXPECT_EQ(got, INT32_MAX);
      continue;
    }
    worst = std::max(worst, std::fabs(got - want) / want);
  }
  EXPECT_LT(worst, 2e-3);
  EXPECT_EQ(ref::rsqrt(t.data(), 0), INT32_MAX);
  EXPECT_EQ(ref::rsqrt(t.data(), -5), INT32_MAX);
}
