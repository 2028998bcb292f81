// Tests of the host matrix products (Gemm.h): the int8 kernels are exact on adversarial values
// (every product at its extreme, K up to 8192, where a saturating 16-bit path would be off),
// the fp32 products agree with a double-precision reference, and results do not depend on the
// thread count or on row strides.
#include "mamba2/Eval/Gemm.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "mamba2/Eval/ThreadPool.h"

using namespace mamba2;
using eval::S8Kernel;

namespace {

/// C = A * B^T in int64 (B is N x K).
std::vector<int64_t> referenceS8(int64_t M, int64_t N, int64_t K, const std::vector<int8_t> &A,
                                 int64_t lda, const std::vector<int8_t> &B, int64_t ldb) {
  std::vector<int64_t> C(static_cast<size_t>(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int64_t s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += int64_t{A[m * lda + k]} * int64_t{B[n * ldb + k]};
      C[m * N + n] = s;
    }
  return C;
}

/// How the test fills an operand.
enum class Fill { MinusMax, PlusMax, Alternating, Random };

std::vector<int8_t> fill(Fill how, size_t n, std::mt19937 &rng, bool second) {
  std::vector<int8_t> v(n);
  std::uniform_int_distribution<int> u(-128, 127);
  for (size_t i = 0; i < n; ++i) {
    switch (how) {
    case Fill::MinusMax: // (-128) * (-128): the largest product, 2 * 128^2 per pair
      v[i] = -128;
      break;
    case Fill::PlusMax: // 127 * (-128) or 127 * 127
      v[i] = second ? -128 : 127;
      break;
    case Fill::Alternating:
      v[i] = static_cast<int8_t>(i % 2 ? -128 : 127);
      break;
    case Fill::Random:
      v[i] = static_cast<int8_t>(u(rng));
      break;
    }
  }
  return v;
}

std::vector<S8Kernel> supportedKernels() {
  std::vector<S8Kernel> ks;
  for (S8Kernel k : {S8Kernel::Portable, S8Kernel::Avx2, S8Kernel::Avx512Vnni})
    if (eval::s8KernelSupported(k))
      ks.push_back(k);
  return ks;
}

TEST(Gemm, Int8KernelsAreExactOnAdversarialValues) {
  std::mt19937 rng(7);
  struct Case {
    int64_t M, N, K;
  };
  for (Case c : {Case{1, 9, 8192}, Case{5, 13, 4099}, Case{4, 8, 64}, Case{3, 17, 65},
                 Case{2, 3, 1}, Case{1, 130, 1536}, Case{6, 5, 63}}) {
    for (Fill how : {Fill::MinusMax, Fill::PlusMax, Fill::Alternating, Fill::Random}) {
      // Row strides wider than K, with garbage in the padding that must not be read.
      const int64_t lda = c.K + 3, ldb = c.K + 5, ldc = c.N + 2;
      auto A = fill(how, static_cast<size_t>(c.M * lda), rng, false);
      auto B = fill(how, static_cast<size_t>(c.N * ldb), rng, true);
      for (int64_t m = 0; m < c.M; ++m)
        for (int64_t k = c.K; k < lda; ++k)
          A[m * lda + k] = 99;
      for (int64_t n = 0; n < c.N; ++n)
        for (int64_t k = c.K; k < ldb; ++k)
          B[n * ldb + k] = -77;
      auto want = referenceS8(c.M, c.N, c.K, A, lda, B, ldb);
      auto check = [&](const std::vector<int32_t> &C, const std::string &what) {
        for (int64_t m = 0; m < c.M; ++m)
          for (int64_t n = 0; n < c.N; ++n)
            ASSERT_EQ(int64_t{C[m * ldc + n]}, want[m * c.N + n])
                << what << " M " << c.M << " N " << c.N << " K " << c.K << " fill "
                << static_cast<int>(how) << " at (" << m << ", " << n << ")";
      };
      for (S8Kernel k : supportedKernels()) {
        std::vector<int32_t> C(static_cast<size_t>(c.M * ldc), -1);
        eval::gemmS8With(k, c.M, c.N, c.K, A.data(), lda, B.data(), ldb, C.data(), ldc);
        check(C, eval::s8KernelName(k));
      }
      std::vector<int32_t> C(static_cast<size_t>(c.M * ldc), -1);
      eval::gemmS8(c.M, c.N, c.K, A.data(), lda, B.data(), ldb, C.data(), ldc);
      check(C, "gemmS8");
      eval::ThreadPool pool(3);
      std::vector<int32_t> P(static_cast<size_t>(c.M * ldc), -1);
      eval::gemmS8(pool, c.M, c.N, c.K, A.data(), lda, B.data(), ldb, P.data(), ldc);
      check(P, "gemmS8 on 3 threads");
    }
  }
}

TEST(Gemm, Int8KernelsCoverThisMachine) {
  // The portable kernel always runs; the best kernel is one this CPU supports.
  EXPECT_TRUE(eval::s8KernelSupported(S8Kernel::Portable));
  EXPECT_TRUE(eval::s8KernelSupported(eval::bestS8Kernel()));
}

/// C = A * B (transB false: B is K x N) or A * B^T (B is N x K), in double.
std::vector<double> referenceF32(bool transB, int64_t M, int64_t N, int64_t K,
                                 const std::vector<float> &A, const std::vector<float> &B) {
  std::vector<double> C(static_cast<size_t>(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += double(A[m * K + k]) * double(transB ? B[n * K + k] : B[k * N + n]);
      C[m * N + n] = s;
    }
  return C;
}

TEST(Gemm, Fp32ProductsMatchTheReferenceForAnyThreadCount) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  struct Case {
    int64_t M, N, K;
  };
  for (Case c : {Case{1, 300, 200}, Case{7, 129, 33}, Case{33, 260, 70}, Case{2, 1, 5}}) {
    std::vector<float> A(static_cast<size_t>(c.M * c.K)), B(static_cast<size_t>(c.N * c.K));
    for (float &v : A)
      v = u(rng);
    for (float &v : B)
      v = u(rng);
    for (bool transB : {false, true}) {
      auto want = referenceF32(transB, c.M, c.N, c.K, A, B);
      auto run = [&](eval::ThreadPool *pool) {
        std::vector<float> C(static_cast<size_t>(c.M * c.N), NAN);
        int64_t ldb = transB ? c.K : c.N;
        if (transB && pool)
          eval::sgemmNT(*pool, c.M, c.N, c.K, A.data(), c.K, B.data(), ldb, C.data(), c.N);
        else if (transB)
          eval::sgemmNT(c.M, c.N, c.K, A.data(), c.K, B.data(), ldb, C.data(), c.N);
        else if (pool)
          eval::sgemmNN(*pool, c.M, c.N, c.K, A.data(), c.K, B.data(), ldb, C.data(), c.N);
        else
          eval::sgemmNN(c.M, c.N, c.K, A.data(), c.K, B.data(), ldb, C.data(), c.N);
        return C;
      };
      auto one = run(nullptr);
      for (size_t i = 0; i < one.size(); ++i)
        ASSERT_NEAR(one[i], want[i], 1e-4 * std::sqrt(double(c.K)))
            << (transB ? "NT" : "NN") << " element " << i;
      for (int threads : {1, 2, 3, 5}) {
        eval::ThreadPool pool(threads);
        EXPECT_EQ(run(&pool), one) << (transB ? "NT " : "NN ") << threads << " threads";
      }
    }
  }
}

} // namespace
