// The Hadamard rotation of the quantisation passes, in floating point, with the matrix and the
// element order of isa's fwht (ref::fwht, ref::hadamardSmall): one definition of the transform.
#pragma once

#include <cstdint>
#include <vector>

namespace mamba2::quant {

/// Whether isa's fwht accepts n (n = h * 2^k, h in {1, 12, 40}).
bool hadamardSizeOk(int64_t n);
/// Signs of the randomised transform: all +1 for seed 0, else bit 0 of successive
/// std::mt19937(seed) outputs (1 -> -1).
std::vector<int8_t> hadamardSigns(int64_t n, uint64_t seed);
/// x <- H (s * x) / sqrt(n) in place (H as ref::fwht, s = hadamardSigns(n, seed)). The matrix
/// H / sqrt(n) is orthogonal, so y . y = x . x. Requires hadamardSizeOk(n).
void hadamardInPlace(double *x, int64_t n, uint64_t seed);
void hadamardInPlace(float *x, int64_t n, uint64_t seed);
/// hadamardInPlace of `count` vectors at once, element k of vector j at x[k * count + j]: every
/// vector's result is bit for bit hadamardInPlace's (the same operations in the same order on
/// each vector), with the vectors side by side so that the loops run over them.
void hadamardBatch(double *x, int64_t n, int64_t count, uint64_t seed);
/// The count hadamardBatch is fastest at (m2-rotate's block of rows or columns).
inline constexpr int64_t kHadamardBatch = 16;

} // namespace mamba2::quant
