// Matrix, conv1d, SSM and reduction references against direct formulas in wider arithmetic.
#include "mamba2/isa/PwlBuild.h"
#include "mamba2/isa/Reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

using namespace mamba2::isa::ref;

TEST(Matmul, Int8MatchesDirectSum) {
  std::mt19937 g(2);
  const unsigned M = 3, K = 37, N = 5;
  std::vector<int8_t> a(M * K), w(N * K);
  for (auto &v : a)
    v = int8_t(g());
  for (auto &v : w)
    v = int8_t(g());
  a[0] = -128;
  w[0] = -128;
  std::vector<int32_t> acc(M * N, 7);
  matmulI8(a.data(), w.data(), acc.data(), M, K, N, true);
  for (unsigned m = 0; m < M; ++m)
    for (unsigned n = 0; n < N; ++n) {
      int64_t s = 7;
      for (unsigned k = 0; k < K; ++k)
        s += int64_t(a[m * K + k]) * w[n * K + k];
      EXPECT_EQ(acc[m * N + n], s);
    }
  matmulI8(a.data(), w.data(), acc.data(), M, K, N, false);
  int64_t s = 0;
  for (unsigned k = 0; k < K; ++k)
    s += int64_t(a[k]) * w[k];
  EXPECT_EQ(acc[0], s);
}

TEST(Matmul, Int4UnpacksLowNibbleFirst) {
  const unsigned M = 2, K = 6, N = 2;
  std::vector<int8_t> a = {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6};
  // weights n=0: 1 -1 7 -8 0 2 ; n=1: -8 ... packed low nibble = even k
  std::vector<int8_t> w0 = {1, -1, 7, -8, 0, 2, -8, 7, -1, 1, 3, -3};
  std::vector<uint8_t> packed(N * K / 2);
  for (unsigned i = 0; i < N * K; i += 2)
    packed[i / 2] = uint8_t((w0[i] & 0xF) | ((w0[i + 1] & 0xF) << 4));
  std::vector<int32_t> acc4(M * N), acc8(M * N);
  matmulI4(a.data(), packed.data(), acc4.data(), M, K, N, false);
  matmulI8(a.data(), w0.data(), acc8.data(), M, K, N, false);
  EXPECT_EQ(acc4, acc8);
}

TEST(Matmul, AccumulatorWrapsModulo2To32) {
  std::vector<int8_t> a = {127}, w = {127};
  std::vector<int32_t> acc = {INT32_MAX};
  matmulI8(a.data(), w.data(), acc.data(), 1, 1, 1, true);
  EXPECT_EQ(acc[0], int32_t(uint32_t(INT32_MAX) + 127u * 127u));
}

TEST(Conv4, MatchesFullCausalConvolutionOverASequence) {
  std::mt19937 g(3);
  const unsigned C = 5, T = 9;
  std::vector<int8_t> w(C * 4), x(C * T), state(C * 3, 0);
  std::vector<int32_t> bias(C);
  for (auto &v : w)
    v = int8_t(g());
  for (auto &v : x)
    v = int8_t(g());
  for (auto &v : bias)
    v = int32_t(g() % 2001) - 1000;
  for (unsigned t = 0; t < T; ++t) {
    std::vector<int8_t> xt(C);
    for (unsigned c = 0; c < C; ++c)
      xt[c] = x[t * C + c];
    std::vector<int32_t> y(C);
    conv4Step(xt.data(), w.data(), bias.data(), state.data(), y.data(), C);
    for (unsigned c = 0; c < C; ++c) {
      int64_t want = bias[c];
      for (unsigned j = 0; j < 4; ++j) { // tap j sees x[t - 3 + j], zero before the start
        int tt = int(t) - 3 + int(j);
        if (tt >= 0)
          want += int64_t(w[c * 4 + j]) * x[tt * C + c];
      }
      ASSERT_EQ(y[c], want) << "t=" << t << " c=" << c;
    }
  }
}

TEST(Ssm, UpdateAndOutputFollowTheRecurrence) {
  const unsigned P = 3, N = 4;
  std::vector<int32_t> S(P * N);
  for (unsigned i = 0; i < P * N; ++i)
    S[i] = int32_t(i * 1000) - 5000;
  std::vector<int32_t> dtx = {100, -200, 300};
  std::vector<int8_t> B = {1, -2, 3, -4}, C = {5, 6, -7, 8};
  const int32_t decay = 29491; // 0.9 in Q15
  std::vector<int32_t> S0 = S;
  ssmUpdate(S.data(), dtx.data(), B.data(), decay, P, N, 15, 2);
  for (unsigned p = 0; p < P; ++p)
    for (unsigned n = 0; n < N; ++n)
      EXPECT_EQ(S[p * N + n],
                rnd(int64_t(S0[p * N + n]) * decay, 15) + rnd(int64_t(dtx[p]) * B[n], 2));
  std::vector<int32_t> y(P);
  ssmOutput(S.data(), C.data(), y.data(), P, N, 3);
  for (unsigned p = 0; p < P; ++p) {
    int64_t s = 0;
    for (unsigned n = 0; n < N; ++n)
      s += int64_t(S[p * N + n]) * C[n];
    EXPECT_EQ(y[p], rnd(s, 3));
  }
}

// ssmStep (the fused micro-op) is ssmUpdate on every row, then ssmOutput, bit for bit,
// including saturated states and outputs.
TEST(Ssm, StepEqualsUpdateThenOutput) {
  std::mt19937 g(5);
  for (int trial = 0; trial < 50; ++trial) {
    const unsigned P = 1 + g() % 9, N = 1 + g() % 33;
    std::vector<int32_t> S(P * N), dtx(P);
    std::vector<int8_t> B(N), C(N);
    for (auto &v : S)
      v = g() % 5 == 0 ? (g() % 2 ? INT32_MAX : INT32_MIN) : int32_t(g());
    for (auto &v : dtx)
      v = int32_t(g());
    for (unsigned n = 0; n < N; ++n) {
      B[n] = int8_t(g());
      C[n] = int8_t(g());
    }
    const int32_t decay = int32_t(g() % 70000) - 2000;
    const int ds = int(g() % 20), is = int(g() % 12), os = int(g() % 40);
    std::vector<int32_t> S1 = S, y1(P), S2 = S, y2 = dtx;
    ssmUpdate(S1.data(), dtx.data(), B.data(), decay, P, N, ds, is);
    ssmOutput(S1.data(), C.data(), y1.data(), P, N, os);
    ssmStep(S2.data(), y2.data(), B.data(), C.data(), decay, P, N, ds, is, os);
    EXPECT_EQ(S2, S1) << "trial " << trial;
    EXPECT_EQ(y2, y1) << "trial " << trial;
  }
}

TEST(Ssm, StateSaturatesInsteadOfWrapping) {
  std::vector<int32_t> S = {INT32_MAX};
  std::vector<int32_t> dtx = {INT32_MAX};
  std::vector<int8_t> B = {127};
  ssmUpdate(S.data(), dtx.data(), B.data(), 1 << 15, 1, 1, 15, 0);
  EXPECT_EQ(S[0], INT32_MAX);
}

// mulsumsq: the product written (rounded, saturated) and its sum of squares, as mulsh32
// then sumsq; broadcast uses b[0].
TEST(MulSumsq, ProductThenItsSumOfSquares) {
  std::vector<int32_t> a = {3, -5, 7, 100}, b = {2, 2, -3, 1}, y(4);
  // products 6, -10, -21, 100; shift 1: 3, -5, -11 (-10.5 away from zero), 50
  EXPECT_EQ(mulSumsq(a.data(), b.data(), false, y.data(), 4, 1, 0), 9 + 25 + 121 + 2500);
  EXPECT_EQ(y, (std::vector<int32_t>{3, -5, -11, 50}));
  EXPECT_EQ(mulSumsq(a.data(), b.data(), true, y.data(), 4, 0, 2),
            (36 + 100 + 196 + 40000 + 2) / 4);
  EXPECT_EQ(y, (std::vector<int32_t>{6, -10, 14, 200}));
  // A product beyond int32 saturates before it is squared: (2^31 - 1)^2 per element.
  std::vector<int32_t> big(3, INT32_MIN);
  EXPECT_EQ(mulSumsq(big.data(), big.data(), false, y.data(), 3, 0, 62),
            sumsq(std::vector<int32_t>(3, INT32_MAX).data(), 3, 62));
  EXPECT_EQ(y[0], INT32_MAX);
}

// conv4pwl: conv4Step, the per-channel multiply, the table, as the three reference functions.
TEST(Conv4Pwl, ConvThenMultiplyThenTable) {
  const std::vector<int32_t> silu = mamba2::isa::buildPwl("silu", mamba2::isa::PwlSpec{});
  std::vector<int8_t> x = {5, -7, 100}, w = {1, 2, 3, 4, -1, -2, -3, -4, 9, 9, 9, 9};
  std::vector<int32_t> bias = {10, -20, 30000}, mult = {1 << 20, 3 << 20, -(1 << 22)};
  std::vector<int8_t> st = {1, 2, 3, -4, -5, -6, 7, 8, 9}, st2 = st;
  std::vector<int32_t> y(3), want(3);
  conv4Pwl(x.data(), w.data(), bias.data(), mult.data(), 16, silu.data(), st.data(), y.data(), 3);
  conv4Step(x.data(), w.data(), bias.data(), st2.data(), want.data(), 3);
  for (unsigned c = 0; c < 3; ++c)
    want[c] = pwl(silu.data(), sat32(rnd(int64_t(want[c]) * mult[c], 16)));
  EXPECT_EQ(y, want);
  EXPECT_EQ(st, st2);
}

// addsumsq: the saturated sums (b per element or broadcast) and their sum of squares.
TEST(AddSumsq, SumsThenTheirSquares) {
  std::vector<int32_t> a = {3, -4, INT32_MAX, -7}, b = {1, 2, 5, -1}, y(4);
  EXPECT_EQ(addSumsq(a.data(), b.data(), false, y.data(), 4, 0),
            sumsq(std::vector<int32_t>{4, -2, INT32_MAX, -8}.data(), 4, 0));
  EXPECT_EQ(y, (std::vector<int32_t>{4, -2, INT32_MAX, -8}));
  EXPECT_EQ(addSumsq(a.data(), b.data(), true, y.data(), 2, 1), (16 + 9 + 1) / 2); // 12.5 -> 13
  EXPECT_EQ(y[0], 4);
  EXPECT_EQ(y[1], -3);
}

// pwlmulpwl: the first table, the multiply (rounded, saturated), the second table; m per
// element or broadcast.
TEST(PwlMulPwl, TableThenMultiplyThenTable) {
  const std::vector<int32_t> sp = mamba2::isa::buildPwl("softplus", mamba2::isa::PwlSpec{});
  const std::vector<int32_t> ex = mamba2::isa::buildPwl("exp", mamba2::isa::PwlSpec{});
  std::vector<int32_t> x = {-300000, 0, 70000, 1 << 20},
                       m = {-(1 << 16), -(3 << 15), -1, INT32_MIN};
  std::vector<int32_t> s(4), y(4), yb(4);
  std::vector<int32_t> yp(4);
  pwlMulPwl(sp.data(), ex.data(), x.data(), m.data(), false, 0, 16, s.data(), y.data(), 4);
  pwlMulPwl(sp.data(), ex.data(), x.data(), m.data(), true, 0, 16, s.data(), yb.data(), 4);
  pwlMulPwl(sp.data(), ex.data(), x.data(), m.data(), false, 3, 16, s.data(), yp.data(), 4);
  for (unsigned i = 0; i < 4; ++i) {
    EXPECT_EQ(s[i], pwl(sp.data(), x[i]));
    EXPECT_EQ(y[i], pwl(ex.data(), sat32(rnd(int64_t(s[i]) * m[i], 16))));
    EXPECT_EQ(yb[i], pwl(ex.data(), sat32(rnd(int64_t(s[i]) * m[0], 16))));
    EXPECT_EQ(yp[i], pwl(ex.data(), sat32(rnd(int64_t(s[i]) * m[i % 3], 16))));
  }
  EXPECT_NE(y, yb);
  EXPECT_NE(y, yp); // the fourth takes m[0]
}

TEST(Sumsq, ShiftsAndSaturates) {
  std::vector<int32_t> x = {3, -4, 12};
  EXPECT_EQ(sumsq(x.data(), 3, 0), 169);
  EXPECT_EQ(sumsq(x.data(), 3, 1), 85);   // 84.5 rounds away from zero
  std::vector<int32_t> big(5, INT32_MIN); // 5 * 2^62 saturates at 2^63 - 1
  EXPECT_EQ(sumsq(big.data(), 5, 0), INT32_MAX);
  EXPECT_EQ(sumsq(big.data(), 5, 62), 2); // (2^63 - 1) / 2^62 = 1.99.. -> 2
  EXPECT_EQ(sumsq(big.data(), 0, 0), 0);
}

TEST(Transpose, Int8AndInt32WithPitches) {
  const unsigned R = 3, C = 5, sp = 7, dp = 4;
  std::vector<int8_t> a(R * sp, 99), t(C * dp, 77);
  for (unsigned r = 0; r < R; ++r)
    for (unsigned c = 0; c < C; ++c)
      a[r * sp + c] = int8_t(r * 16 + c - 40);
  transpose(a.data(), t.data(), R, C, 1, sp, dp);
  for (unsigned c = 0; c < C; ++c) {
    for (unsigned r = 0; r < R; ++r)
      EXPECT_EQ(t[c * dp + r], int8_t(r * 16 + c - 40));
    EXPECT_EQ(t[c * dp + R], 77); // the pitch's padding is not written
  }
  std::vector<int32_t> b(R * C), u(C * R);
  for (unsigned i = 0; i < R * C; ++i)
    b[i] = int32_t(i) * -100003;
  transpose(b.data(), u.data(), R, C, 4, C, R);
  for (unsigned r = 0; r < R; ++r)
    for (unsigned c = 0; c < C; ++c)
      EXPECT_EQ(u[c * R + r], b[r * C + c]);
}

TEST(SegDecay, SegmentProductsRoundedRowByRow) {
  const unsigned Q = 6;
  const int sh = 15;
  const int32_t a[Q] = {32768, 30000, 16384, 1, 32000, 29000};
  std::vector<int32_t> out((Q + 1) * Q, -1);
  segDecay(a, out.data(), Q, sh);
  for (unsigned t = 0; t < Q; ++t)
    for (unsigned c = 0; c <= Q; ++c) {
      int64_t want;
      if (c > t + 1)
        want = 0;
      else if (c == t + 1)
        want = 1 << sh;
      else { // c = 0: factors 0 .. t; c = s + 1: factors s + 1 .. t; rounded after each
        want = 1 << sh;
        for (unsigned r = c; r <= t; ++r)
          want = rnd(want * a[r], sh);
      }
      EXPECT_EQ(out[t * (Q + 1) + c], want) << "t " << t << " c " << c;
    }
  EXPECT_EQ(out[0], 32768);               // a_0 = 1.0
  EXPECT_EQ(out[2 * (Q + 1) + 1], 15000); // a_1 * a_2 from s = 0: 30000/32768 * 0.5
}

TEST(Split16, HalvesRebuildTheRoundedValue) {
  const std::vector<int32_t> x = {0,     1,     127,   128,    -128,   -129,      255,
                                  32639, 32640, 32767, -32768, -40000, INT32_MAX, INT32_MIN,
                                  1000,  -1000, 65535, 12345,  -12345};
  for (int sh : {0, 1, 4}) {
    std::vector<int8_t> hi(x.size()), lo(x.size());
    split16(x.data(), hi.data(), lo.data(), unsigned(x.size()), sh);
    for (size_t i = 0; i < x.size(); ++i) {
      const int64_t v = std::clamp<int64_t>(rnd(int64_t(x[i]), sh), -32768, 32639);
      EXPECT_EQ(256 * int64_t(hi[i]) + lo[i], v) << x[i] << " >> " << sh;
    }
  }
}
