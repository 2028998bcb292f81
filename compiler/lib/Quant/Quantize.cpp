// Weight quantisation: round to nearest and GPTQ (see Quantize.h).
#include "mamba2/Quant/Quantize.h"

#include <functional>

#include "mamba2/Eval/ThreadPool.h"

#include <algorithm>
#include <cmath>

namespace mamba2::quant {

namespace {

/// In-place Cholesky factor (lower) of the symmetric positive definite a (k x k); false when
/// it is not positive definite.
bool cholesky(std::vector<double> &a, int64_t k) {
  for (int64_t j = 0; j < k; ++j) {
    double d = a[j * k + j];
    for (int64_t p = 0; p < j; ++p)
      d -= a[j * k + p] * a[j * k + p];
    if (!(d > 0))
      return false;
    d = std::sqrt(d);
    a[j * k + j] = d;
    for (int64_t i = j + 1; i < k; ++i) {
      double s = a[i * k + j];
      for (int64_t p = 0; p < j; ++p)
        s -= a[i * k + p] * a[j * k + p];
      a[i * k + j] = s / d;
    }
    for (int64_t i = 0; i < j; ++i)
      a[i * k + j] = 0;
  }
  return true;
}

/// The upper Cholesky factor U of H^-1 (H^-1 = U^T U), H damped; empty when H is singular.
std::vector<double> inverseCholeskyUpper(const std::vector<float> &hf, int64_t k,
                                         std::vector<bool> &dead) {
  std::vector<double> h(hf.begin(), hf.end());
  double mean = 0;
  for (int64_t i = 0; i < k; ++i)
    mean += h[i * k + i];
  mean /= static_cast<double>(k);
  dead.assign(static_cast<size_t>(k), false);
  for (int64_t i = 0; i < k; ++i) {
    if (h[i * k + i] == 0) {
      dead[i] = true;
      h[i * k + i] = 1;
    }
    h[i * k + i] += 0.01 * (mean > 0 ? mean : 1);
  }
  if (!cholesky(h, k)) // h = L L^T
    return {};
  // Linv = L^-1 (lower), then Hinv = Linv^T Linv.
  std::vector<double> linv(static_cast<size_t>(k * k), 0.0);
  for (int64_t j = 0; j < k; ++j) {
    linv[j * k + j] = 1.0 / h[j * k + j];
    for (int64_t i = j + 1; i < k; ++i) {
      double s = 0;
      for (int64_t p = j; p < i; ++p)
        s -= h[i * k + p] * linv[p * k + j];
      linv[i * k + j] = s / h[i * k + i];
    }
  }
  std::vector<double> hinv(static_cast<size_t>(k * k), 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0;
      for (int64_t p = i; p < k; ++p)
        s += linv[p * k + i] * linv[p * k + j];
      hinv[i * k + j] = hinv[j * k + i] = s;
    }
  if (!cholesky(hinv, k)) // hinv = M M^T, U = M^T
    return {};
  std::vector<double> u(static_cast<size_t>(k * k), 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j <= i; ++j)
      u[j * k + i] = hinv[i * k + j];
  return u;
}

} // namespace

QuantizedWeight quantizeWeight(const std::vector<float> &w, int64_t n, int64_t k, int bits,
                               int64_t group, int actBits, const std::vector<float> &hessian,
                               eval::ThreadPool *pool) {
  const int qw = bits == 8 ? 127 : 7, qa = actBits == 8 ? 127 : 7;
  const int64_t G = k / group;
  QuantizedWeight q;
  q.values.assign(static_cast<size_t>(n * k), 0);
  q.scales.assign(static_cast<size_t>(n * G), 0);
  q.outScale.assign(static_cast<size_t>(n), 0.0f);
  // Rows [r0, r1) at a time: each row's scales and values depend on that row only.
  auto rows = [&](const std::function<void(int64_t, int64_t)> &fn) {
    if (pool)
      pool->parallelFor(n, fn);
    else
      fn(0, n);
  };
  // Group scales from the weights as given.
  std::vector<double> s(static_cast<size_t>(n * G), 1.0);
  rows([&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t g = 0; g < G; ++g) {
        // The max |w| of the group (in four lanes: the same maximum in any order).
        double lane[4] = {0, 0, 0, 0};
        int64_t c = g * group;
        for (; c + 4 <= (g + 1) * group; c += 4)
          for (int j = 0; j < 4; ++j)
            lane[j] = std::max(lane[j], std::fabs(static_cast<double>(w[r * k + c + j])));
        for (; c < (g + 1) * group; ++c)
          lane[0] = std::max(lane[0], std::fabs(static_cast<double>(w[r * k + c])));
        const double m = std::max({lane[0], lane[1], lane[2], lane[3]});
        s[r * G + g] = m > 0 ? m / qw : 1.0;
      }
  });
  auto round = [&](double v, double sc) {
    return static_cast<int8_t>(std::clamp(std::round(v / sc), double(-qw), double(qw)));
  };
  std::vector<double> u;
  std::vector<bool> dead;
  if (!hessian.empty())
    u = inverseCholeskyUpper(hessian, k, dead);
  if (u.empty()) {
    // round(v / sc) as std::round computes it (half away from zero), inline: |v / sc| <= qw
    // (plus rounding), so the truncation through int32 is exact, and v / sc - trunc is exact.
    rows([&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t g = 0; g < G; ++g) {
          const double sc = s[r * G + g];
          const float *in = w.data() + r * k + g * group;
          int8_t *out = q.values.data() + r * k + g * group;
          for (int64_t c = 0; c < group; ++c) {
            const double x = static_cast<double>(in[c]) / sc;
            const double t = static_cast<double>(static_cast<int32_t>(x)), f = x - t;
            const double rx = t + (f >= 0.5 ? 1.0 : 0.0) - (f <= -0.5 ? 1.0 : 0.0);
            out[c] = static_cast<int8_t>(std::clamp(rx, double(-qw), double(qw)));
          }
        }
    });
  } else {
    rows([&](int64_t r0, int64_t r1) {
      std::vector<double> row(static_cast<size_t>(k));
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = 0; c < k; ++c)
          row[c] = dead[c] ? 0.0 : w[r * k + c];
        for (int64_t c = 0; c < k; ++c) {
          double sc = s[r * G + c / group];
          int8_t v = round(row[c], sc);
          q.values[r * k + c] = v;
          double err = (row[c] - v * sc) / u[c * k + c];
          for (int64_t j = c + 1; j < k; ++j)
            row[j] -= err * u[c * k + j];
        }
      }
    });
  }
  // Fixed-point group scales and the accumulator's fraction bits.
  const double worst = static_cast<double>(k) * qa * qw;
  int frac = 0;
  while (frac < 24 && worst * std::ldexp(1.0, frac + 1) < std::ldexp(1.0, 30))
    ++frac;
  q.shift = 24 - frac;
  for (int64_t r = 0; r < n; ++r) {
    double smax = 0;
    for (int64_t g = 0; g < G; ++g)
      smax = std::max(smax, s[r * G + g]);
    for (int64_t g = 0; g < G; ++g)
      q.scales[r * G + g] = static_cast<int32_t>(std::llround(s[r * G + g] / smax * 0x1p24));
    q.outScale[r] = static_cast<float>(smax * std::ldexp(1.0, -frac));
  }
  return q;
}

} // namespace mamba2::quant
