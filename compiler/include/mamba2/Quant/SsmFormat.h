// The power-of-two formats m2-quantize-ssm puts on m2.ssd and m2.conv1d (quant.* attributes),
// read in one place by the integer evaluator (QuantEvaluator.cpp) and m2-lower-to-ovl, so that
// both compute the same integers.
//
// An exponent attribute is one integer (per tensor) or a dense i32 tensor with one exponent per
// channel (per group: m2-quantize-ssm writes the group's exponent into each of its channels).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "mlir/IR/Builders.h"
#include "llvm/Support/Error.h"

#include "mamba2/Dialect/M2/M2Dialect.h"

namespace mamba2::quant {

/// The exponent of each of `channels` channels from attribute `name` of `op`; nullopt when the
/// attribute is absent, not an integer or i32 tensor, or a tensor of another length.
std::optional<std::vector<int>> channelExponents(mlir::Operation *op, llvm::StringRef name,
                                                 int64_t channels);
/// The attribute for per-channel exponents: dense i32 [channels].
mlir::Attribute exponentsAttr(mlir::Builder &b, llvm::ArrayRef<int> perChannel);

/// The integer scan of an m2.ssd with H heads of P channels, B and C of G groups of N: the ISA's
/// ssmupd has one input shift for all heads, so a channel c whose own shift
/// k_c = state_exp[c] - (x_exp[c] - dt_frac + b_exp[g]) is below the largest, K, gets dt * x
/// multiplied by 2^(K - k_c) first (exact: rnd(a 2^j, K) = rnd(a, K - j)). ssmout sums
/// S[p][n] C[n] over n with one shift, so B's and C's exponents must be equal within a group.
struct SsmScanFormat {
  std::vector<int> x, state; // per x channel (H * P)
  std::vector<int> b, c;     // per B / C channel (G * N)
  int stateBits = 16, dtFrac = 10, decayFrac = 15;
  int inShift = 0;           // K
  std::vector<int> dtxShift; // per x channel: K - k_c (0 everywhere per tensor)
  std::vector<int> yExp;     // per x channel: y = S . C in units of 2^(state + c_exp)
};
llvm::Expected<SsmScanFormat> ssmScanFormat(m2::SSDOp op, int64_t H, int64_t P, int64_t G,
                                            int64_t N);

} // namespace mamba2::quant
