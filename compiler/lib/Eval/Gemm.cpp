// Host matrix products. See Gemm.h.
#include "mamba2/Eval/Gemm.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "mamba2/Eval/ThreadPool.h"

namespace mamba2::eval {
namespace {

/// Columns per block: the unit of work of the thread pool and of one library call. Fixed, so
/// that every output element is computed by the same call whatever the thread count.
constexpr int64_t kBlockN = 256;

int64_t numBlocks(int64_t n) { return (n + kBlockN - 1) / kBlockN; }

/// oneDNN computes each block on the calling thread (its OpenMP team would otherwise take
/// every core from inside each of our workers); our pool spreads the blocks.
void useOneThreadForDnnl() {
  thread_local bool done = false;
  if (!done) {
    omp_set_num_threads(1);
    done = true;
  }
}

/// Runs fn(n0, n1) on every column block, on `pool` when there is one.
template <typename Fn> void forBlocks(ThreadPool *pool, int64_t n, const Fn &fn) {
  auto run = [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      fn(b * kBlockN, std::min(n, (b + 1) * kBlockN));
  };
  if (pool)
    pool->parallelFor(numBlocks(n), run);
  else
    run(0, numBlocks(n));
}

// fp32 -------------------------------------------------------------------------------------

// One row times a (K, N) row-major matrix: y[n] = sum_k x[k] * B[k][n], each y[n] summed in k
// order (fused multiply-adds on AVX-512; a multiply and an add elsewhere, as std::fma without
// hardware FMA is a slow library call). Whole rows of B are streamed (a block of columns would
// read B in short strided pieces, which halves the bandwidth), and the result does not depend
// on how columns are split.
void gemvNNPortable(int64_t K, const float *x, const float *B, int64_t ldb, float *y, int64_t n0,
                    int64_t n1) {
  std::fill(y + n0, y + n1, 0.0f);
  for (int64_t k = 0; k < K; ++k) {
    const float xk = x[k], *b = B + k * ldb;
    for (int64_t n = n0; n < n1; ++n)
      y[n] += xk * b[n];
  }
}

/// y[n0..n1) = fma(x[k + R - 1], B[k + R - 1][n], ... fma(x[k], B[k][n], y[n])): rows k..k+R of
/// B, each streamed contiguously; y (in L1) is loaded and stored once per R fused multiply-adds,
/// which still go in k order. The column tail is masked.
template <int R>
__attribute__((target("avx512f"))) void gemvNNRows(int64_t k, const float *x, const float *B,
                                                   int64_t ldb, float *y, int64_t n0, int64_t n1) {
  __m512 xs[R];
  const float *b[R];
  for (int r = 0; r < R; ++r) {
    xs[r] = _mm512_set1_ps(x[k + r]);
    b[r] = B + (k + r) * ldb;
  }
  int64_t n = n0;
  for (; n + 16 <= n1; n += 16) {
    __m512 acc = _mm512_loadu_ps(y + n);
    for (int r = 0; r < R; ++r)
      acc = _mm512_fmadd_ps(xs[r], _mm512_loadu_ps(b[r] + n), acc);
    _mm512_storeu_ps(y + n, acc);
  }
  if (n < n1) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n1 - n)) - 1);
    __m512 acc = _mm512_maskz_loadu_ps(m, y + n);
    for (int r = 0; r < R; ++r)
      acc = _mm512_fmadd_ps(xs[r], _mm512_maskz_loadu_ps(m, b[r] + n), acc);
    _mm512_mask_storeu_ps(y + n, m, acc);
  }
}

void gemvNNAvx512(int64_t K, const float *x, const float *B, int64_t ldb, float *y, int64_t n0,
                  int64_t n1) {
  std::fill(y + n0, y + n1, 0.0f);
  int64_t k = 0;
  for (; k + 4 <= K; k += 4)
    gemvNNRows<4>(k, x, B, ldb, y, n0, n1);
  for (; k < K; ++k)
    gemvNNRows<1>(k, x, B, ldb, y, n0, n1);
}

// One row times an (N, K) row-major matrix: y[n] = dot(x, B[n]). Each dot keeps 16 lane sums
// over K (masked tail) and adds them in a fixed tree; four rows share each load of x. Rows are
// independent, so the result does not depend on how they are split.
template <int R>
__attribute__((target("avx512f"))) void gemvNTRows(int64_t K, const float *x, const float *B,
                                                   int64_t ldb, float *y) {
  __m512 acc[R];
  for (int r = 0; r < R; ++r)
    acc[r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 16) {
    const __mmask16 m =
        K - k >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (K - k)) - 1);
    const __m512 xv = _mm512_maskz_loadu_ps(m, x + k);
    for (int r = 0; r < R; ++r)
      acc[r] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, B + r * ldb + k), acc[r]);
  }
  for (int r = 0; r < R; ++r) {
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, acc[r]);
    for (int w = 8; w >= 1; w /= 2)
      for (int i = 0; i < w; ++i)
        lanes[i] += lanes[i + w];
    y[r] = lanes[0];
  }
}

void gemvNTPortable(int64_t K, const float *x, const float *B, int64_t ldb, float *y, int64_t n0,
                    int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    float acc = 0;
    for (int64_t k = 0; k < K; ++k)
      acc += x[k] * B[n * ldb + k];
    y[n] = acc;
  }
}

void gemvNTAvx512(int64_t K, const float *x, const float *B, int64_t ldb, float *y, int64_t n0,
                  int64_t n1) {
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4)
    gemvNTRows<4>(K, x, B + n * ldb, ldb, y + n);
  for (; n < n1; ++n)
    gemvNTRows<1>(K, x, B + n * ldb, ldb, y + n);
}

/// Columns per share of a one-row product over the pool: whole vectors.
constexpr int64_t kGemvGrain = 16;

/// A one-row product, its columns spread over the pool in whole vectors.
void gemv(ThreadPool *pool, bool transB, int64_t K, const float *x, const float *B, int64_t ldb,
          float *y, int64_t N) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  auto run = [&](int64_t c0, int64_t c1) {
    const int64_t n0 = c0 * kGemvGrain, n1 = std::min(N, c1 * kGemvGrain);
    if (transB)
      (avx512 ? gemvNTAvx512 : gemvNTPortable)(K, x, B, ldb, y, n0, n1);
    else
      (avx512 ? gemvNNAvx512 : gemvNNPortable)(K, x, B, ldb, y, n0, n1);
  };
  const int64_t chunks = (N + kGemvGrain - 1) / kGemvGrain;
  if (pool)
    pool->parallelFor(chunks, run);
  else
    run(0, chunks);
}

void sgemmBlocks(ThreadPool *pool, bool transB, int64_t M, int64_t N, int64_t K, const float *A,
                 int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
  if (M <= 0 || N <= 0)
    return;
  if (K <= 0) {
    for (int64_t m = 0; m < M; ++m)
      std::fill(C + m * ldc, C + m * ldc + N, 0.0f);
    return;
  }
  if (M == 1) {
    gemv(pool, transB, K, A, B, ldb, C, N);
    return;
  }
  forBlocks(pool, N, [&](int64_t n0, int64_t n1) {
    // Columns n0..n1 of C: rows n0..n1 of the (N, K) layout of B, columns n0..n1 of (K, N).
    useOneThreadForDnnl();
    dnnl_status_t st = dnnl_sgemm('N', transB ? 'T' : 'N', M, n1 - n0, K, 1.0f, A, lda,
                                  transB ? B + n0 * ldb : B + n0, ldb, 0.0f, C + n0, ldc);
    if (st != dnnl_success) { // only for invalid arguments, which the callers never pass
      std::fprintf(stderr, "dnnl_sgemm failed: %s\n", dnnl_status2str(st));
      std::abort();
    }
  });
}

// int8 -------------------------------------------------------------------------------------

void s8Portable(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda, const int8_t *B,
                int64_t ldb, int32_t *C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int32_t acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += int32_t{A[m * lda + k]} * int32_t{B[n * ldb + k]};
      C[m * ldc + n] = acc;
    }
}

// AVX2: 16 bytes of K at a time, sign-extended to 16 bits; vpmaddwd sums pairs of products
// (at most 2 * 128^2 in magnitude) into int32 lanes. Tiles of MR rows of A by NR rows of B keep
// MR * NR accumulators in registers.
__attribute__((target("avx2"))) inline int32_t hsum256(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

template <int MR, int NR>
__attribute__((target("avx2"))) void s8Avx2Tile(int64_t K, const int8_t *A, int64_t lda,
                                                const int8_t *B, int64_t ldb, int32_t *C,
                                                int64_t ldc) {
  __m256i acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      acc[i][j] = _mm256_setzero_si256();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m256i b[NR];
    for (int j = 0; j < NR; ++j)
      b[j] =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i *>(B + j * ldb + k)));
    for (int i = 0; i < MR; ++i) {
      __m256i a =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i *>(A + i * lda + k)));
      for (int j = 0; j < NR; ++j)
        acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(a, b[j]));
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      int32_t s = hsum256(acc[i][j]);
      for (int64_t kk = k; kk < K; ++kk)
        s += int32_t{A[i * lda + kk]} * int32_t{B[j * ldb + kk]};
      C[i * ldc + j] = s;
    }
}

/// Tiles of MR x NR, then the edges with smaller tiles (each a specialisation).
template <int MR, int NR, template <int, int> class Tile>
void tiled(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda, const int8_t *B,
           int64_t ldb, int32_t *C, int64_t ldc) {
  for (int64_t n0 = 0; n0 < N; n0 += NR) {
    const int64_t nr = std::min<int64_t>(NR, N - n0);
    for (int64_t m0 = 0; m0 < M; m0 += MR) {
      const int64_t mr = std::min<int64_t>(MR, M - m0);
      const int8_t *a = A + m0 * lda, *b = B + n0 * ldb;
      int32_t *c = C + m0 * ldc + n0;
      if (mr == MR && nr == NR) {
        Tile<MR, NR>::run(K, a, lda, b, ldb, c, ldc);
      } else {
        // Edge: one row of A by one row of B at a time.
        for (int64_t i = 0; i < mr; ++i)
          for (int64_t j = 0; j < nr; ++j)
            Tile<1, 1>::run(K, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc);
      }
    }
  }
}

template <int MR, int NR> struct Avx2Tile {
  static void run(int64_t K, const int8_t *A, int64_t lda, const int8_t *B, int64_t ldb, int32_t *C,
                  int64_t ldc) {
    s8Avx2Tile<MR, NR>(K, A, lda, B, ldb, C, ldc);
  }
};

void s8Avx2(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda, const int8_t *B,
            int64_t ldb, int32_t *C, int64_t ldc) {
  if (M == 1)
    tiled<1, 4, Avx2Tile>(M, N, K, A, lda, B, ldb, C, ldc);
  else
    tiled<2, 4, Avx2Tile>(M, N, K, A, lda, B, ldb, C, ldc);
}

// AVX-512 VNNI: vpdpbusd multiplies unsigned by signed bytes and adds groups of four products
// into int32 lanes without saturation. B (the weights, streamed) is made unsigned by adding 128
// (flipping its sign bit), which adds 128 * sum_k a to each dot product of row a; that sum is
// computed once per row of A and subtracted at the end. The sums wrap modulo 2^32, which leaves
// the exact result whenever it fits in int32. The K tail is loaded with a byte mask (a is zero
// there, whatever b becomes).
/// Sum of the 16 lanes modulo 2^32 (through memory: GCC 12's _mm512_reduce_add_epi32 trips
/// its own -Wuninitialized).
__attribute__((target("avx512f"))) inline uint32_t hsum512(__m512i v) {
  alignas(64) uint32_t lanes[16];
  _mm512_store_si512(lanes, v);
  uint32_t s = 0;
  for (uint32_t x : lanes)
    s += x;
  return s;
}

// The masked forms with every lane set: GCC 12's unmasked ones pass an undefined vector that
// its own -Wuninitialized reports.
constexpr __mmask16 all16 = 0xFFFF;
constexpr __mmask8 all8 = 0xFF;

/// The lane sums of four accumulators, each modulo 2^32 (a reduction tree: the sums wrap, so
/// the order does not change them), in four lanes: [v0, v1, v2, v3].
__attribute__((target("avx512f"))) inline __m512i sums4(const __m512i *v) {
  // In each 128-bit lane: [v0 + , v1 + , v0 + , v1 + ], then [v0, v1, v2, v3] partial sums.
  const __m512i s01 = _mm512_add_epi32(_mm512_maskz_unpacklo_epi32(all16, v[0], v[1]),
                                       _mm512_maskz_unpackhi_epi32(all16, v[0], v[1]));
  const __m512i s23 = _mm512_add_epi32(_mm512_maskz_unpacklo_epi32(all16, v[2], v[3]),
                                       _mm512_maskz_unpackhi_epi32(all16, v[2], v[3]));
  return _mm512_add_epi32(_mm512_maskz_unpacklo_epi64(all8, s01, s23),
                          _mm512_maskz_unpackhi_epi64(all8, s01, s23));
}

/// Stores the lane sums of v[0..3] to c[0..3] (the reduction of hsum512, four at once: a
/// one-row product of K = 768 spends as many instructions in sixteen-lane sums through memory
/// as in its products).
__attribute__((target("avx512f"))) inline void hsum4x512(const __m512i *v, int32_t *c) {
  const __m512i s = sums4(v); // four 128-bit lanes of [v0, v1, v2, v3] partial sums
  const __m512i z =
      _mm512_add_epi32(_mm512_maskz_shuffle_i32x4(all16, s, s, _MM_SHUFFLE(3, 2, 3, 2)), s);
  const __m512i t =
      _mm512_add_epi32(_mm512_maskz_shuffle_i32x4(all16, z, z, _MM_SHUFFLE(1, 1, 1, 1)), z);
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, t);
  std::memcpy(c, lanes, 4 * sizeof(int32_t));
}

/// Stores the lane sums of v[0..7] to c[0..7].
__attribute__((target("avx512f"))) inline void hsum8x512(const __m512i *v, int32_t *c) {
  const __m512i lo = sums4(v), hi = sums4(v + 4); // 128-bit lanes: [v0..v3], [v4..v7]
  // Lanes [lo0 + lo1, lo2 + lo3, hi0 + hi1, hi2 + hi3], then [lo, hi, lo, hi] totals.
  const __m512i z =
      _mm512_add_epi32(_mm512_maskz_shuffle_i32x4(all16, lo, hi, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_maskz_shuffle_i32x4(all16, lo, hi, _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512i t =
      _mm512_add_epi32(_mm512_maskz_shuffle_i32x4(all16, z, z, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_maskz_shuffle_i32x4(all16, z, z, _MM_SHUFFLE(3, 1, 3, 1)));
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, t);
  std::memcpy(c, lanes, 8 * sizeof(int32_t));
}

template <int MR, int NR>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void
s8VnniTile(int64_t K, const int8_t *A, int64_t lda, const int8_t *B, int64_t ldb, int32_t *C,
           int64_t ldc) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      acc[i][j] = _mm512_setzero_si512();
  for (int64_t k = 0; k < K; k += 64) {
    const __mmask64 mask = K - k >= 64 ? ~__mmask64{0} : (__mmask64{1} << (K - k)) - 1;
    __m512i b[NR];
    for (int j = 0; j < NR; ++j)
      b[j] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, B + j * ldb + k), flip);
    for (int i = 0; i < MR; ++i) {
      const __m512i a = _mm512_maskz_loadu_epi8(mask, A + i * lda + k);
      for (int j = 0; j < NR; ++j)
        acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], b[j], a);
    }
  }
  // Without the correction (s8Vnni subtracts it): sum_k (b + 128) * a modulo 2^32.
  for (int i = 0; i < MR; ++i) {
    if constexpr (NR == 8)
      hsum8x512(acc[i], C + i * ldc);
    else if constexpr (NR == 4)
      hsum4x512(acc[i], C + i * ldc);
    else
      for (int j = 0; j < NR; ++j)
        C[i * ldc + j] = static_cast<int32_t>(hsum512(acc[i][j]));
  }
}

template <int MR, int NR> struct VnniTile {
  static void run(int64_t K, const int8_t *A, int64_t lda, const int8_t *B, int64_t ldb, int32_t *C,
                  int64_t ldc) {
    s8VnniTile<MR, NR>(K, A, lda, B, ldb, C, ldc);
  }
};

void s8Vnni(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda, const int8_t *B,
            int64_t ldb, int32_t *C, int64_t ldc) {
  if (M == 1) // decode: eight rows of B streamed at once
    tiled<1, 8, VnniTile>(M, N, K, A, lda, B, ldb, C, ldc);
  else
    tiled<4, 4, VnniTile>(M, N, K, A, lda, B, ldb, C, ldc);
  for (int64_t m = 0; m < M; ++m) {
    uint32_t asum = 0;
    for (int64_t k = 0; k < K; ++k)
      asum += static_cast<uint32_t>(int32_t{A[m * lda + k]});
    const uint32_t comp = asum << 7;
    for (int64_t n = 0; n < N; ++n)
      C[m * ldc + n] = static_cast<int32_t>(static_cast<uint32_t>(C[m * ldc + n]) - comp);
  }
}

void s8Run(S8Kernel k, int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda,
           const int8_t *B, int64_t ldb, int32_t *C, int64_t ldc) {
  switch (k) {
  case S8Kernel::Avx512Vnni:
    return s8Vnni(M, N, K, A, lda, B, ldb, C, ldc);
  case S8Kernel::Avx2:
    return s8Avx2(M, N, K, A, lda, B, ldb, C, ldc);
  case S8Kernel::Portable:
    return s8Portable(M, N, K, A, lda, B, ldb, C, ldc);
  }
}

void gemmS8Blocks(ThreadPool *pool, int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda,
                  const int8_t *B, int64_t ldb, int32_t *C, int64_t ldc) {
  if (M <= 0 || N <= 0)
    return;
  const S8Kernel k = bestS8Kernel();
  forBlocks(pool, N, [&](int64_t n0, int64_t n1) {
    s8Run(k, M, n1 - n0, K, A, lda, B + n0 * ldb, ldb, C + n0, ldc);
  });
}

} // namespace

const char *s8KernelName(S8Kernel k) {
  switch (k) {
  case S8Kernel::Portable:
    return "portable";
  case S8Kernel::Avx2:
    return "avx2";
  case S8Kernel::Avx512Vnni:
    return "avx512-vnni";
  }
  return "?";
}

bool s8KernelSupported(S8Kernel k) {
  switch (k) {
  case S8Kernel::Portable:
    return true;
  case S8Kernel::Avx2:
    return __builtin_cpu_supports("avx2");
  case S8Kernel::Avx512Vnni:
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

S8Kernel bestS8Kernel() {
  static const S8Kernel best = s8KernelSupported(S8Kernel::Avx512Vnni) ? S8Kernel::Avx512Vnni
                               : s8KernelSupported(S8Kernel::Avx2)     ? S8Kernel::Avx2
                                                                       : S8Kernel::Portable;
  return best;
}

void gemmS8With(S8Kernel k, int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda,
                const int8_t *B, int64_t ldb, int32_t *C, int64_t ldc) {
  if (M > 0 && N > 0)
    s8Run(k, M, N, K, A, lda, B, ldb, C, ldc);
}

void gemmS8(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda, const int8_t *B,
            int64_t ldb, int32_t *C, int64_t ldc) {
  gemmS8Blocks(nullptr, M, N, K, A, lda, B, ldb, C, ldc);
}
void gemmS8(ThreadPool &pool, int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda,
            const int8_t *B, int64_t ldb, int32_t *C, int64_t ldc) {
  gemmS8Blocks(&pool, M, N, K, A, lda, B, ldb, C, ldc);
}
void sgemmNT(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
             int64_t ldb, float *C, int64_t ldc) {
  sgemmBlocks(nullptr, true, M, N, K, A, lda, B, ldb, C, ldc);
}
void sgemmNT(ThreadPool &pool, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
             const float *B, int64_t ldb, float *C, int64_t ldc) {
  sgemmBlocks(&pool, true, M, N, K, A, lda, B, ldb, C, ldc);
}
void sgemmNN(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
             int64_t ldb, float *C, int64_t ldc) {
  sgemmBlocks(nullptr, false, M, N, K, A, lda, B, ldb, C, ldc);
}
void sgemmNN(ThreadPool &pool, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
             const float *B, int64_t ldb, float *C, int64_t ldc) {
  sgemmBlocks(&pool, false, M, N, K, A, lda, B, ldb, C, ldc);
}

} // namespace mamba2::eval
