// Matrix products of the evaluators, in the [out][in] weight layout.
#pragma once

#include <cstdint>

namespace mamba2::eval {
// C[m*ldc+n] = sum_k A[m*lda+k] * B[n*ldb+k]  (B is N x K row-major, the [out][in] weight layout);
// exact int32.
void gemmS8(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda, const int8_t *B,
            int64_t ldb, int32_t *C, int64_t ldc);
// fp32 with the same layout: C = A * B^T.
void sgemmNT(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
             int64_t ldb, float *C, int64_t ldc);
} // namespace mamba2::eval
