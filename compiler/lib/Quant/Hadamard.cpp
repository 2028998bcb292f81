// Floating-point Hadamard transform with isa's matrix and element order (see Hadamard.h).
#include "mamba2/Quant/Hadamard.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <random>

#include "mamba2/isa/Reference.h"

namespace mamba2::quant {

bool hadamardSizeOk(int64_t n) {
  return n > 0 && n <= (int64_t(1) << 30) && isa::ref::fwhtSizeOk(static_cast<unsigned>(n));
}

std::vector<int8_t> hadamardSigns(int64_t n, uint64_t seed) {
  std::vector<int8_t> s(static_cast<size_t>(n), 1);
  if (seed == 0)
    return s;
  std::mt19937 gen(static_cast<std::mt19937::result_type>(seed));
  for (int8_t &v : s)
    v = (gen() & 1u) ? -1 : 1;
  return s;
}

template <typename T> static void transform(T *x, int64_t n, uint64_t seed) {
  if (seed != 0) {
    std::vector<int8_t> s = hadamardSigns(n, seed);
    for (int64_t i = 0; i < n; ++i)
      x[i] *= s[i];
  }
  // The small factor h, as isa's fwht chooses it.
  const int64_t h = isa::ref::fwhtSmallFactor(static_cast<unsigned>(n));
  assert(h != 0 && "requires hadamardSizeOk(n)");
  const int64_t p = n / h;
  // Butterflies along b inside each block a, then the dense H_h along a (ref::fwht's order).
  for (int64_t a = 0; a < h; ++a) {
    T *v = x + a * p;
    for (int64_t len = 1; len < p; len <<= 1)
      for (int64_t i = 0; i < p; i += 2 * len)
        for (int64_t j = i; j < i + len; ++j) {
          T u = v[j], w = v[j + len];
          v[j] = u + w;
          v[j + len] = u - w;
        }
  }
  if (h > 1) {
    const std::vector<int8_t> &H = isa::ref::hadamardSmall(static_cast<unsigned>(h));
    std::vector<T> col(static_cast<size_t>(h));
    for (int64_t b = 0; b < p; ++b) {
      for (int64_t a = 0; a < h; ++a)
        col[a] = x[a * p + b];
      for (int64_t r = 0; r < h; ++r) {
        T s = 0;
        for (int64_t a = 0; a < h; ++a)
          s += H[r * h + a] > 0 ? col[a] : -col[a];
        x[r * p + b] = s;
      }
    }
  }
  const T norm = static_cast<T>(1.0 / std::sqrt(static_cast<double>(n)));
  for (int64_t i = 0; i < n; ++i)
    x[i] *= norm;
}

// Built twice, for AVX2 and the baseline, the one the CPU has chosen at load time: adds,
// subtractions and products only (no multiply-add to contract), so both give the same bits.
__attribute__((target_clones("avx2", "default"))) void hadamardBatch(double *x, int64_t n,
                                                                     int64_t count, uint64_t seed) {
  const int64_t m = count;
  if (seed != 0) {
    std::vector<int8_t> s = hadamardSigns(n, seed);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j)
        x[i * m + j] *= s[i];
  }
  const int64_t h = isa::ref::fwhtSmallFactor(static_cast<unsigned>(n));
  assert(h != 0 && "requires hadamardSizeOk(n)");
  const int64_t p = n / h;
  // transform()'s steps, each on all vectors: the butterflies inside each block a...
  for (int64_t a = 0; a < h; ++a) {
    double *v = x + a * p * m;
    for (int64_t len = 1; len < p; len <<= 1)
      for (int64_t i = 0; i < p; i += 2 * len)
        for (int64_t k = i; k < i + len; ++k) {
          double *u = v + k * m, *w = v + (k + len) * m;
          for (int64_t j = 0; j < m; ++j) {
            double a0 = u[j], b0 = w[j];
            u[j] = a0 + b0;
            w[j] = a0 - b0;
          }
        }
  }
  // ...then the dense H_h along a: each sum from 0 over a in order, as transform() adds.
  if (h > 1) {
    const std::vector<int8_t> &H = isa::ref::hadamardSmall(static_cast<unsigned>(h));
    std::vector<double> out(static_cast<size_t>(h * m));
    for (int64_t b = 0; b < p; ++b) {
      std::fill(out.begin(), out.end(), 0.0);
      if (m == kHadamardBatch) {
        // The same sums with the accumulators in registers (a fixed count the compiler unrolls).
        for (int64_t r = 0; r < h; ++r) {
          double acc[kHadamardBatch] = {};
          for (int64_t a = 0; a < h; ++a) {
            const double *c = x + (a * p + b) * m;
            if (H[r * h + a] > 0)
              for (int64_t j = 0; j < kHadamardBatch; ++j)
                acc[j] += c[j];
            else
              for (int64_t j = 0; j < kHadamardBatch; ++j)
                acc[j] += -c[j];
          }
          std::copy(acc, acc + kHadamardBatch, out.data() + r * m);
        }
        for (int64_t r = 0; r < h; ++r)
          std::copy(out.data() + r * m, out.data() + (r + 1) * m, x + (r * p + b) * m);
        continue;
      }
      for (int64_t r = 0; r < h; ++r) {
        double *o = out.data() + r * m;
        for (int64_t a = 0; a < h; ++a) {
          const double *c = x + (a * p + b) * m;
          if (H[r * h + a] > 0)
            for (int64_t j = 0; j < m; ++j)
              o[j] += c[j];
          else
            for (int64_t j = 0; j < m; ++j)
              o[j] += -c[j];
        }
      }
      for (int64_t r = 0; r < h; ++r)
        std::copy(out.data() + r * m, out.data() + (r + 1) * m, x + (r * p + b) * m);
    }
  }
  const double norm = 1.0 / std::sqrt(static_cast<double>(n));
  for (int64_t i = 0; i < n * m; ++i)
    x[i] *= norm;
}

void hadamardInPlace(double *x, int64_t n, uint64_t seed) { transform(x, n, seed); }
void hadamardInPlace(float *x, int64_t n, uint64_t seed) { transform(x, n, seed); }

} // namespace mamba2::quant
