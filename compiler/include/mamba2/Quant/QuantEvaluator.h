// The integer evaluator: the kernels of the quantised m2 ops (m2.qlinear, m2.hadamard, m2.pwl),
// plugged into the m2 evaluator (M2Evaluator.h) as its Extension. Every integer step calls isa's
// bit-exact reference semantics (mamba2/isa/Reference.h: scaleGroup, sat32, fwht, pwl), so what
// it computes is by definition what the overlay must compute; the matrix products go through
// gemmS8 (Gemm.h), one call per K-group, exact in int32.
//
// Activations stay fp32 between the quantised ops (the evaluator is a reference for the integer
// ops, not a model of the overlay's data movement): m2.qlinear quantises its input row (half
// away from zero), multiplies in integers and returns acc * a_m * out_scale in fp32.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "llvm/ADT/DenseMap.h"

#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Eval/M2Evaluator.h"

namespace mamba2::quant {

/// Statistics of one activation (the input of a linear), gathered over calibration text.
struct ActStats {
  int64_t tokens = 0;
  std::vector<double> channelAbsMax, channelSumSq; // per channel
  std::vector<float> tokenAbsMax;                  // per token
  double sum2 = 0, sum4 = 0;                       // over all values
  std::vector<double> hessian;                     // sum x x^T (c x c), when asked for
  /// Adds a's rows. With `pool`, the per-channel and per-token statistics are taken on its
  /// threads (each channel's sums still over the rows in order, so the same values); sum2 and
  /// sum4 keep their one order.
  void add(const eval::Act &a, bool withHessian, eval::ThreadPool *pool = nullptr);
};

/// isa's grouped matmul (ref::matmulGrouped with int8 weights, accumulate false) computed with
/// one gemmS8 per K-group: acc (m, n) = sum_g sat32(acc + scaleGroup(partial_g, scl[n][g],
/// shift)). act (m, k), w (n, k) (int4 weights unpacked to int8), scl (n, k / group).
void groupedMatmul(const int8_t *act, const int8_t *w, const int32_t *scl, int32_t *acc, int64_t m,
                   int64_t k, int64_t n, int64_t group, int shift);

/// Ranges of the SSM and conv operands (m2.ssd: x, B, C and the state S, measured by a float
/// maxima the evaluator's scan hands over; m2.conv1d: its input), and of the norms' inputs
/// (m2.rms_norm: the residual stream in inMax; m2.gated_rms_norm: y, z and y * silu(z)), gathered
/// over calibration text (the fixed-point formats of m2-lower-to-ovl come from them).
struct SsmStats {
  double xMax = 0, bMax = 0, cMax = 0, stateMax = 0, inMax = 0;
  double yMax = 0, zMax = 0, gMax = 0;
  /// The same per channel (m2-quantize-ssm's per-group exponents): x and the state per x
  /// channel (the state's max over N), B and C per channel, the conv's input per channel.
  std::vector<double> xChan, bChan, cChan, stateChan, inChan;
};

class QuantKernels : public eval::Extension {
public:
  bool handles(mlir::Operation *op) const override;
  llvm::Expected<std::vector<eval::Act>> run(mlir::Operation *op,
                                             llvm::ArrayRef<const eval::Act *> operands,
                                             std::vector<int32_t> &state) override;
  void observe(mlir::Operation *op, llvm::ArrayRef<const eval::Act *> operands) override;
  bool observesSsdStates(mlir::Operation *op) const override;
  void observeSsdStates(mlir::Operation *op, llvm::ArrayRef<float> rowAbsMax) override;

  /// Record the input statistics of every m2.linear, m2.lm_head and m2.qlinear run.
  void setCollect(bool on, bool hessian = false) {
    collect_ = on;
    hessian_ = hessian;
  }
  /// Threads for the statistics (none: the calling thread); the same values for any count.
  void setPool(eval::ThreadPool *pool) { pool_ = pool; }
  const std::map<mlir::Operation *, ActStats> &stats() const { return stats_; }
  const std::map<mlir::Operation *, SsmStats> &ssmStats() const { return ssmStats_; }

private:
  struct Prepared {
    std::vector<int8_t> weight;  // (out, in), int4 values in int8
    std::vector<int32_t> scales; // (out, groups)
    std::vector<float> outScale; // (out)
    std::vector<int32_t> table;  // m2.pwl
  };
  llvm::Expected<const Prepared *> prepare(mlir::Operation *op);
  llvm::Expected<std::vector<eval::Act>>
  runSsd(m2::SSDOp op, llvm::ArrayRef<const eval::Act *> operands, std::vector<int32_t> &state);
  llvm::Expected<std::vector<eval::Act>>
  runConv(m2::Conv1dOp op, llvm::ArrayRef<const eval::Act *> operands, std::vector<int32_t> &state);

  bool collect_ = false, hessian_ = false;
  std::map<mlir::Operation *, ActStats> stats_;
  std::map<mlir::Operation *, SsmStats> ssmStats_;
  eval::ThreadPool *pool_ = nullptr;
  llvm::DenseMap<mlir::Operation *, std::unique_ptr<Prepared>> prepared_;
};

} // namespace mamba2::quant
