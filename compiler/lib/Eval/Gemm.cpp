// Plain-loop matrix products (see Gemm.h).
#include "mamba2/Eval/Gemm.h"

namespace mamba2::eval {

void gemmS8(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda, const int8_t *B,
            int64_t ldb, int32_t *C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const int8_t *a = A + m * lda, *b = B + n * ldb;
      int32_t s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += int32_t(a[k]) * int32_t(b[k]);
      C[m * ldc + n] = s;
    }
}

void sgemmNT(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
             int64_t ldb, float *C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const float *a = A + m * lda, *b = B + n * ldb;
      float s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += a[k] * b[k];
      C[m * ldc + n] = s;
    }
}

} // namespace mamba2::eval
