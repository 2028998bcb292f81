// Matrix unit reference: plain loops; int32 wrapping accumulate, group-scaled sums saturate.
#include "mamba2/isa/Reference.h"

namespace mamba2::isa::ref {

void matmulI8(const int8_t *act, const int8_t *wgt, int32_t *acc, unsigned M, unsigned K,
              unsigned N, bool accumulate) {
  for (unsigned m = 0; m < M; ++m)
    for (unsigned n = 0; n < N; ++n) {
      int32_t s = accumulate ? acc[m * N + n] : 0;
      for (unsigned k = 0; k < K; ++k)
        s = wrapAdd(s, int32_t(act[m * K + k]) * int32_t(wgt[n * K + k]));
      acc[m * N + n] = s;
    }
}

void matmulI4(const int8_t *act, const uint8_t *wgt, int32_t *acc, unsigned M, unsigned K,
              unsigned N, bool accumulate) {
  const unsigned rowBytes = K / 2; // [N][K/2]
  for (unsigned m = 0; m < M; ++m)
    for (unsigned n = 0; n < N; ++n) {
      int32_t s = accumulate ? acc[m * N + n] : 0;
      for (unsigned k = 0; k < K; ++k)
        s = wrapAdd(s, int32_t(act[m * K + k]) * int32_t(int4At(wgt[n * rowBytes + k / 2], k & 1)));
      acc[m * N + n] = s;
    }
}

void matmulGrouped(const int8_t *act, const uint8_t *wgt, bool int4, const int32_t *scl,
                   int32_t *acc, unsigned M, unsigned K, unsigned N, unsigned group, int shift,
                   bool accumulate) {
  const unsigned G = K / group;
  auto w = [&](unsigned n, unsigned k) -> int32_t {
    return int4 ? int4At(wgt[n * (K / 2) + k / 2], k & 1) : int8_t(wgt[n * K + k]);
  };
  for (unsigned m = 0; m < M; ++m)
    for (unsigned n = 0; n < N; ++n) {
      int32_t s = accumulate ? acc[m * N + n] : 0;
      for (unsigned g = 0; g < G; ++g) {
        int32_t p = 0;
        for (unsigned k = g * group; k < (g + 1) * group; ++k)
          p = wrapAdd(p, int32_t(act[m * K + k]) * w(n, k));
        s = sat32(int64_t(s) + scaleGroup(p, scl[n * G + g], shift));
      }
      acc[m * N + n] = s;
    }
}

} // namespace mamba2::isa::ref
