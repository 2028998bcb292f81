// Weight quantisation for the integer matrix product of isa's grouped matmul.
#pragma once

#include <cstdint>
#include <vector>

namespace mamba2::eval {
class ThreadPool;
} // namespace mamba2::eval

namespace mamba2::quant {

struct QuantizedWeight {
  std::vector<int8_t> values;  // (n, k), in [-qmax, qmax]
  std::vector<int32_t> scales; // (n, k / group), fixed point: s[n][g] / max_g s[n][g] * 2^24
  std::vector<float> outScale; // (n): real value of one accumulator unit, times a_m
  int shift = 0;               // of ref::scaleGroup
};

/// Quantises w (n, k) row-major ([out][in]) symmetrically per row and K-group to `bits` (8:
/// [-127, 127], 4: [-7, 7]; scales from the absolute maximum of each group). With an empty
/// `hessian`, round to nearest; otherwise GPTQ (Frantar et al. 2022): columns in order, each
/// rounded and its error spread over the later columns through the Cholesky factor of the
/// inverse of H = X^T X (k x k, from calibration, damped by 1 % of its mean diagonal). The
/// accumulator's fraction bits F are the most that keep k * qmax(act) * qmax(w) * 2^F below
/// 2^30, at most 24; shift = 24 - F. With `pool`, rows in parallel (each row's result is the
/// same for any thread count).
QuantizedWeight quantizeWeight(const std::vector<float> &w, int64_t n, int64_t k, int bits,
                               int64_t group, int actBits, const std::vector<float> &hessian,
                               eval::ThreadPool *pool = nullptr);

} // namespace mamba2::quant
