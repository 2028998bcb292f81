// The integer evaluator computes isa's grouped matmul exactly; the float Hadamard transform is
// isa's fwht scaled by 1/sqrt(n); weight quantisation keeps accumulators inside int32.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "mamba2/Eval/Gemm.h"
#include "mamba2/Quant/Hadamard.h"
#include "mamba2/Quant/QuantEvaluator.h"
#include "mamba2/Quant/Quantize.h"
#include "mamba2/isa/Reference.h"

using namespace mamba2;
namespace ref = mamba2::isa::ref;

namespace {

/// groupedMatmul against ref::matmulGrouped, with int8 weights and with int4 weights packed
/// for the reference and unpacked for the evaluator.
void checkGrouped(const std::vector<int8_t> &act, const std::vector<int8_t> &w,
                  const std::vector<int32_t> &scl, int64_t M, int64_t K, int64_t N, int64_t group,
                  int shift, bool int4) {
  std::vector<int32_t> got(static_cast<size_t>(M * N)), want(got.size());
  quant::groupedMatmul(act.data(), w.data(), scl.data(), got.data(), M, K, N, group, shift);
  std::vector<uint8_t> packed;
  if (int4) {
    packed.assign(static_cast<size_t>(N * K / 2), 0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        packed[n * (K / 2) + k / 2] |= static_cast<uint8_t>((w[n * K + k] & 0xF) << (4 * (k & 1)));
  } else {
    packed.assign(w.begin(), w.end());
  }
  ref::matmulGrouped(act.data(), packed.data(), int4, scl.data(), want.data(), unsigned(M),
                     unsigned(K), unsigned(N), unsigned(group), shift, false);
  EXPECT_EQ(got, want);
}

} // namespace

TEST(QuantTest, GroupedMatmulEqualsIsaReferenceOnRandomValues) {
  std::mt19937 gen(5);
  const int64_t M = 3, K = 256, N = 7, group = 64;
  std::vector<int8_t> act(M * K), w8(N * K), w4(N * K);
  std::uniform_int_distribution<int> a(-128, 127), b(-8, 7);
  for (auto &v : act)
    v = static_cast<int8_t>(a(gen));
  for (auto &v : w8)
    v = static_cast<int8_t>(a(gen));
  for (auto &v : w4)
    v = static_cast<int8_t>(b(gen));
  std::vector<int32_t> scl(N * (K / group));
  std::uniform_int_distribution<int32_t> s(0, 1 << 24);
  for (auto &v : scl)
    v = s(gen);
  for (int shift : {0, 10, 24, -3}) {
    checkGrouped(act, w8, scl, M, K, N, group, shift, false);
    checkGrouped(act, w4, scl, M, K, N, group, shift, true);
  }
}

TEST(QuantTest, GroupedMatmulEqualsIsaReferenceOnAdversarialValues) {
  // All -128 / +-127 operands: the largest partial sums, where a 16-bit intermediate would
  // saturate; and scales that make the int32 accumulator saturate.
  const int64_t M = 2, K = 512, N = 4, group = 128;
  for (int8_t av : {int8_t(-128), int8_t(127)})
    for (int8_t wv : {int8_t(-128), int8_t(127), int8_t(-127)}) {
      std::vector<int8_t> act(M * K, av), w(N * K, wv);
      std::vector<int32_t> scl(N * (K / group), INT32_MAX);
      checkGrouped(act, w, scl, M, K, N, group, 0, false);
      checkGrouped(act, w, scl, M, K, N, group, 20, false);
      std::vector<int32_t> exact(M * N);
      eval::gemmS8(M, N, K, act.data(), K, w.data(), K, exact.data(), N);
      for (int32_t v : exact)
        EXPECT_EQ(v, int32_t(K) * av * wv);
    }
}

TEST(QuantTest, HadamardIsIsaFwhtScaled) {
  std::mt19937 gen(3);
  std::uniform_int_distribution<int> d(-1000, 1000);
  for (int64_t n : {1, 2, 8, 12, 48, 40, 160, 256, 768, 1536, 2560, 5120}) {
    ASSERT_TRUE(quant::hadamardSizeOk(n)) << n;
    std::vector<int32_t> xi(n);
    std::vector<double> xd(n);
    for (int64_t i = 0; i < n; ++i)
      xd[i] = xi[i] = d(gen);
    ref::fwht(xi.data(), unsigned(n));
    double norm0 = 0, norm1 = 0;
    for (double v : xd)
      norm0 += v * v;
    quant::hadamardInPlace(xd.data(), n, 0);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(xd[i] * std::sqrt(double(n)), double(xi[i]), 1e-6 * n) << n << " " << i;
      norm1 += xd[i] * xd[i];
    }
    EXPECT_NEAR(norm1, norm0, 1e-9 * norm0) << n;
  }
  EXPECT_FALSE(quant::hadamardSizeOk(20));
  EXPECT_FALSE(quant::hadamardSizeOk(24 * 3));
}

// m2-rotate transforms many vectors side by side (hadamardBatch); each result must be bit for
// bit the one-vector transform's, for every small factor (1, 12, 40), with and without signs,
// for any number of vectors side by side.
TEST(QuantTest, HadamardBatchIsBitExactPerVector) {
  std::mt19937 gen(7);
  std::normal_distribution<double> dist(0.0, 3.0);
  for (int64_t n : {64, 96, 2560, 40 * 128})
    for (uint64_t seed : {uint64_t(0), uint64_t(5)})
      for (int64_t count : {1, 3, 16}) {
        std::vector<double> batch(static_cast<size_t>(n * count));
        for (double &v : batch)
          v = static_cast<float>(dist(gen)); // the weights are floats
        std::vector<std::vector<double>> one(static_cast<size_t>(count));
        for (int64_t j = 0; j < count; ++j) {
          for (int64_t k = 0; k < n; ++k)
            one[j].push_back(batch[k * count + j]);
          quant::hadamardInPlace(one[j].data(), n, seed);
        }
        quant::hadamardBatch(batch.data(), n, count, seed);
        for (int64_t j = 0; j < count; ++j)
          for (int64_t k = 0; k < n; ++k)
            ASSERT_EQ(std::memcmp(&batch[k * count + j], &one[j][k], sizeof(double)), 0)
                << "n " << n << " seed " << seed << " count " << count << " vector " << j
                << " element " << k;
      }
}

TEST(QuantTest, RandomisedHadamardIsSeededAndOrthogonal) {
  auto s1 = quant::hadamardSigns(64, 9), s2 = quant::hadamardSigns(64, 9);
  EXPECT_EQ(s1, s2);
  EXPECT_NE(s1, quant::hadamardSigns(64, 10));
  EXPECT_EQ(quant::hadamardSigns(8, 0), std::vector<int8_t>(8, 1));
  // Columns of the transform are orthonormal: transforming unit vectors gives an orthogonal set.
  const int64_t n = 48;
  std::vector<std::vector<double>> cols;
  for (int64_t j = 0; j < n; ++j) {
    std::vector<double> e(n, 0.0);
    e[j] = 1;
    quant::hadamardInPlace(e.data(), n, 9);
    cols.push_back(e);
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0;
      for (int64_t k = 0; k < n; ++k)
        dot += cols[i][k] * cols[j][k];
      EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-12);
    }
}

// Round to nearest rounds halves away from zero (std::round), the same with a pool of threads:
// a group whose max is qmax has the scale 1, so its weights are the quotients themselves.
TEST(QuantTest, RoundToNearestIsStdRoundForAnyThreadCount) {
  const int64_t n = 5, k = 16;
  std::vector<float> w = {127,   2.5f,   -2.5f,        0.5f,        -0.5f,      1.5f,
                          -1.5f, 126.5f, -0.49999997f, 0.49999997f, 3.4999998f, -3.5f,
                          0,     -0.0f,  64.5f,        -64.5f};
  std::mt19937 gen(3);
  std::normal_distribution<float> nd(0, 40);
  for (int64_t i = k; i < n * k; ++i)
    w.push_back(i % k == 0 ? 127.0f : std::round(nd(gen) * 2) / 2); // halves and integers
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      w[r * k + c] = std::clamp(w[r * k + c], -127.0f, 127.0f);
  auto q = quant::quantizeWeight(w, n, k, 8, k, 8, {});
  for (int64_t i = 0; i < n * k; ++i)
    ASSERT_EQ(int(q.values[i]), int(std::round(double(w[i])))) << i << ": " << w[i];
  for (int threads : {1, 2, 3}) {
    eval::ThreadPool pool(threads);
    auto p = quant::quantizeWeight(w, n, k, 8, k, 8, {}, &pool);
    EXPECT_EQ(p.values, q.values);
    EXPECT_EQ(p.scales, q.scales);
    EXPECT_EQ(p.outScale, q.outScale);
  }
}

TEST(QuantTest, QuantizedWeightReconstructsAndFitsInt32) {
  std::mt19937 gen(1);
  std::normal_distribution<float> nd(0, 1);
  const int64_t n = 16, k = 256;
  std::vector<float> w(n * k);
  for (auto &v : w)
    v = nd(gen);
  for (int bits : {8, 4})
    for (int64_t group : {int64_t(64), k}) {
      auto q = quant::quantizeWeight(w, n, k, bits, group, 8, {});
      const int qmax = bits == 8 ? 127 : 7;
      double maxErr = 0;
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < k; ++c) {
          int8_t v = q.values[r * k + c];
          EXPECT_LE(std::abs(int(v)), qmax);
          // The real value of one weight unit: scale / 2^24 * smax; smax from out_scale.
          double smax = q.outScale[r] * std::ldexp(1.0, 24 - q.shift);
          double real = v * smax * q.scales[r * (k / group) + c / group] / 0x1p24;
          maxErr = std::max(maxErr, std::fabs(real - w[r * k + c]) / smax);
        }
      EXPECT_LE(maxErr, 0.5 + 1e-3) << bits << " " << group; // half a unit of the group scale
      // Worst case accumulator: k * 127 * qmax * 2^F < 2^30.
      EXPECT_LT(double(k) * 127 * qmax * std::ldexp(1.0, 24 - q.shift), std::ldexp(1.0, 30));
    }
}

TEST(QuantTest, GptqLowersTheOutputErrorOfCorrelatedInputs) {
  // Inputs with strongly correlated channels: GPTQ's error feedback must beat round to nearest
  // on E[(x.(w - q))^2] = (w - q)^T H (w - q).
  std::mt19937 gen(2);
  std::normal_distribution<double> nd(0, 1);
  const int64_t n = 8, k = 64, tokens = 2000;
  std::vector<double> h(k * k, 0.0);
  for (int64_t t = 0; t < tokens; ++t) {
    double common = nd(gen);
    std::vector<double> x(k);
    for (int64_t i = 0; i < k; ++i)
      x[i] = common + 0.3 * nd(gen);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        h[i * k + j] += x[i] * x[j] / tokens;
  }
  std::vector<float> hf(h.begin(), h.end()), w(n * k);
  for (auto &v : w)
    v = static_cast<float>(nd(gen));
  auto err = [&](const quant::QuantizedWeight &q) {
    double total = 0;
    for (int64_t r = 0; r < n; ++r) {
      double smax = q.outScale[r] * std::ldexp(1.0, 24 - q.shift);
      std::vector<double> d(k);
      for (int64_t c = 0; c < k; ++c)
        d[c] = w[r * k + c] - q.values[r * k + c] * smax * q.scales[r] / 0x1p24;
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j)
          total += d[i] * h[i * k + j] * d[j];
    }
    return total;
  };
  double rtn = err(quant::quantizeWeight(w, n, k, 4, k, 8, {}));
  double gptq = err(quant::quantizeWeight(w, n, k, 4, k, 8, hf));
  EXPECT_LT(gptq, 0.5 * rtn) << "rtn " << rtn << " gptq " << gptq;
}
