// Host matrix products of the evaluators: fp32 through oneDNN (dnnl_sgemm); one-row fp32
// products (decode) through matrix-vector kernels that stream the weights once (AVX-512, or
// portable C++); int8 x int8 -> int32 through an exact hand-vectorised kernel (AVX-512 VNNI,
// AVX2, or portable C++, chosen at run time).
//
// Every product is computed as a fixed grid of column blocks (the same for any thread count),
// each by one single-threaded call, so C does not depend on the number of threads: the
// ThreadPool variants only spread the same blocks over threads. A one-row product fixes the
// order of each output's sum itself (in k order for B (K, N); 16 lane sums and a fixed tree for
// B (N, K)), so any split of its columns gives the same result; it may differ in the last bits
// from the same row computed inside a larger product.
//
// int8: each product a*b fits in 15 bits and the sum over K is kept in int32, so the result is
// the exact integer sum for K < 2^17 (2^31 / 128^2), in any order. The kernels never use
// saturating 16-bit intermediates (vpmaddubsw): AVX-512 VNNI uses vpdpbusd on b + 128 (an
// unsigned byte) and subtracts 128 * sum_k a, AVX2 sign-extends to 16 bits and uses vpmaddwd.
#pragma once

#include <cstdint>

namespace mamba2::eval {

class ThreadPool;

// C[m*ldc+n] = sum_k A[m*lda+k] * B[n*ldb+k]  (B is N x K row-major, the [out][in] weight
// layout); exact int32.
void gemmS8(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda, const int8_t *B,
            int64_t ldb, int32_t *C, int64_t ldc);
// fp32 with the same layout: C = A * B^T.
void sgemmNT(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
             int64_t ldb, float *C, int64_t ldc);
// fp32 with B K x N row-major (the (in, out) layout of m2.linear and ONNX MatMul): C = A * B.
void sgemmNN(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
             int64_t ldb, float *C, int64_t ldc);

// The same products with their column blocks spread over `pool`; results are bit-identical to
// the functions above.
void gemmS8(ThreadPool &pool, int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda,
            const int8_t *B, int64_t ldb, int32_t *C, int64_t ldc);
void sgemmNT(ThreadPool &pool, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
             const float *B, int64_t ldb, float *C, int64_t ldc);
void sgemmNN(ThreadPool &pool, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
             const float *B, int64_t ldb, float *C, int64_t ldc);

/// The int8 kernels. gemmS8 uses the best one this CPU runs; tests and benchmarks name one.
enum class S8Kernel { Portable, Avx2, Avx512Vnni };
/// "portable", "avx2", "avx512-vnni".
const char *s8KernelName(S8Kernel k);
/// Whether this CPU runs `k`.
bool s8KernelSupported(S8Kernel k);
S8Kernel bestS8Kernel();
/// gemmS8 with kernel `k`, which this CPU must run (single-threaded).
void gemmS8With(S8Kernel k, int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda,
                const int8_t *B, int64_t ldb, int32_t *C, int64_t ldc);

} // namespace mamba2::eval
