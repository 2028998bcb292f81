// Matrix unit reference: plain triple loop, int32 wrapping accumulate.
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

} // namespace mamba2::isa::ref
