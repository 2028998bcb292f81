// Hadamard matrices of order 12 and 40 and the fast transform for n = h * 2^k.
#include "mamba2/isa/Reference.h"

#include <gtest/gtest.h>

#include <random>

using namespace mamba2::isa::ref;

class HadamardOrder : public ::testing::TestWithParam<unsigned> {};

TEST_P(HadamardOrder, RowsAreOrthogonal) {
  unsigned h = GetParam();
  const auto &H = hadamardSmall(h);
  ASSERT_EQ(H.size(), h * h);
  for (unsigned i = 0; i < h; ++i)
    for (unsigned j = 0; j < h; ++j) {
      int dot = 0;
      for (unsigned k = 0; k < h; ++k) {
        ASSERT_TRUE(H[i * h + k] == 1 || H[i * h + k] == -1);
        dot += H[i * h + k] * H[j * h + k];
      }
      EXPECT_EQ(dot, i == j ? int(h) : 0) << "rows " << i << "," << j;
    }
}
INSTANTIATE_TEST_SUITE_P(Orders, HadamardOrder, ::testing::Values(1u, 2u, 12u, 20u, 40u));

TEST(Hadamard, UnknownOrderThrows) { EXPECT_THROW(hadamardSmall(28), std::invalid_argument); }

TEST(Fwht, SizesAccepted) {
  for (unsigned n : {1u, 2u, 64u, 12u, 24u, 1536u, 40u, 5120u, 40960u})
    EXPECT_TRUE(fwhtSizeOk(n)) << n;
  for (unsigned n : {0u, 3u, 20u, 36u, 1000u, 48000u})
    EXPECT_FALSE(fwhtSizeOk(n)) << n;
  std::vector<int32_t> x(20);
  EXPECT_THROW(fwht(x.data(), 20), std::invalid_argument);
}

// The fast transform equals the dense Kronecker product H_h (x) H_2^k.
class FwhtSize : public ::testing::TestWithParam<unsigned> {};
TEST_P(FwhtSize, EqualsDenseKroneckerProduct) {
  unsigned n = GetParam();
  unsigned h = n % 40 == 0 && ((n / 40) & (n / 40 - 1)) == 0   ? 40
               : n % 12 == 0 && ((n / 12) & (n / 12 - 1)) == 0 ? 12
                                                               : 1;
  unsigned p = n / h;
  std::mt19937 g(n);
  std::vector<int32_t> x(n);
  for (auto &v : x)
    v = int32_t(g() % 255) - 127;
  std::vector<int32_t> y = x;
  fwht(y.data(), n);
  const auto &H = hadamardSmall(h);
  for (unsigned r = 0; r < n; ++r) {
    int64_t s = 0;
    for (unsigned c = 0; c < n; ++c) {
      unsigned ra = r / p, rb = r % p, ca = c / p, cb = c % p;
      int sylvester = (__builtin_popcount(rb & cb) & 1) ? -1 : 1;
      s += int64_t(H[ra * h + ca]) * sylvester * x[c];
    }
    ASSERT_EQ(y[r], s) << "n=" << n << " row " << r;
  }
  // The transform is orthogonal up to n: H^T (H x) = n x (H_12 is not symmetric, so not H H).
  for (unsigned c = 0; c < n; ++c) {
    int64_t s = 0;
    for (unsigned r = 0; r < n; ++r) {
      unsigned ra = r / p, rb = r % p, ca = c / p, cb = c % p;
      int sylvester = (__builtin_popcount(rb & cb) & 1) ? -1 : 1;
      s += int64_t(H[ra * h + ca]) * sylvester * y[r];
    }
    ASSERT_EQ(s, int64_t(n) * x[c]);
  }
}
INSTANTIATE_TEST_SUITE_P(Sizes, FwhtSize,
                         ::testing::Values(1u, 2u, 8u, 64u, 12u, 48u, 40u, 160u, 1536u));
