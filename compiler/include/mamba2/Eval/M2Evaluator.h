// The fp32 evaluator of the `m2` dialect: runs a raised Mamba2 module on token ids, prefill then
// decode, carrying each conv1d's and ssd's state between calls (the ops' own state, or, for a
// step function with explicit state arguments and results, those).
//
// Ops of the `onnx` dialect that were not raised run in the onnx interpreter (OnnxInterpreter.h)
// between the m2 kernels. They keep no state, so a function that holds any is evaluated over the
// whole sequence on every call: a Session keeps the token history and returns the logits of the
// new tokens.
//
// Both prefill and decode use the recurrent form of the SSD (a scan over time, parallel over
// batch x heads); the chunked form computes the same function. Kernels are multi-threaded over
// disjoint outputs with a fixed reduction order, so logits are bit-identical for any thread
// count. Matrix products go through Gemm.h (oneDNN; one-row products through its
// matrix-vector kernels, which round differently from a longer prompt's rows in the last bits).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/Error.h"

#include "mamba2/Eval/ThreadPool.h"

namespace mamba2::eval {

/// max(m, max_i |x[i]|) over n floats (vectorised; a maximum does not depend on the order).
float absMax(const float *x, int64_t n, float m = 0);
/// m[i] = max(m[i], |x[i]|) for i < n (vectorised).
void absMaxInto(float *m, const float *x, int64_t n);

/// An activation: (b, l, c) row-major.
struct Act {
  int64_t b = 0, l = 0, c = 0;
  std::vector<float> v;
  float *row(int64_t bi, int64_t t) { return v.data() + (bi * l + t) * c; }
  const float *row(int64_t bi, int64_t t) const { return v.data() + (bi * l + t) * c; }
};

/// Kernels the fp32 evaluator does not have (the integer evaluator, mamba2/Quant/QuantEvaluator.h)
/// and an observer of the operands of the ops it runs itself (calibration).
class Extension {
public:
  virtual ~Extension() = default;
  /// Whether the extension runs `op` (an m2 op, or a constant the evaluator cannot read).
  virtual bool handles(mlir::Operation *op) const = 0;
  /// Runs `op`: `operands` holds the activation of each operand, nullptr for constants;
  /// `state` is this op's own state in the session (empty at the start of a sequence).
  /// Returns one activation per result.
  virtual llvm::Expected<std::vector<Act>>
  run(mlir::Operation *op, llvm::ArrayRef<const Act *> operands, std::vector<int32_t> &state) = 0;
  /// Called before the evaluator runs an m2 op itself, with its operands as for run().
  virtual void observe(mlir::Operation *, llvm::ArrayRef<const Act *>) {}
  /// Whether observeSsdStates() wants the state maxima of this m2.ssd (a whole-sequence one:
  /// the evaluator then takes them while it scans, at the cost of one pass over each state row).
  virtual bool observesSsdStates(mlir::Operation *) const { return false; }
  /// After the evaluator ran such an m2.ssd: max |S[h][p][n]| over the batch, the steps and n,
  /// per (head, p) row (heads x headdim values, head-major); the values the evaluator's own
  /// state held, so the maxima are the same for any thread count.
  virtual void observeSsdStates(mlir::Operation *, llvm::ArrayRef<float> /*rowAbsMax*/) {}
};

/// A checked, ready-to-run m2 function: (ids: (b, l) int64) -> (logits: (b, l, vocab)), or a
/// step function with explicit state, (ids (b, 1), s_1, ..., s_k) -> (logits (b, 1, vocab),
/// s_1', ..., s_k') where each s_i' has the type of s_i (the raised step-form graph: one
/// conv1d and one ssd state per layer). The batch dimension of states may be dynamic.
class Program {
public:
  /// Fails (naming the op) when the function holds ops other than m2 and onnx ops, or does not
  /// take ids and return logits. The module must outlive the program.
  static llvm::Expected<std::unique_ptr<Program>> compile(mlir::ModuleOp module,
                                                          const std::string &function = "main",
                                                          Extension *extension = nullptr);

  int64_t vocab() const { return vocab_; }
  /// Number of explicit state arguments (0 for a whole-sequence function).
  size_t numStates() const { return numStates_; }
  /// The function holds onnx ops: sessions of a whole-sequence function re-run the whole
  /// sequence on each call (a step function carries its explicit states instead).
  bool replays() const { return replays_; }
  mlir::func::FuncOp function() const { return func_; }
  Extension *extension() const { return extension_; }

  /// fp32 data of a constant (no copy for dense and dense_resource; splats are expanded).
  const float *constant(mlir::Value v) const { return constants_.lookup(v); }
  /// The values (op results and function arguments, not constants) whose last reader is `op`:
  /// a session frees them once `op` has run, so an evaluation holds only the live activations.
  llvm::ArrayRef<mlir::Value> lastReadBy(mlir::Operation *op) const {
    auto it = lastReadBy_.find(op);
    if (it == lastReadBy_.end())
      return {};
    return it->second;
  }

private:
  mlir::func::FuncOp func_;
  int64_t vocab_ = 0;
  size_t numStates_ = 0;
  bool replays_ = false;
  Extension *extension_ = nullptr;
  llvm::DenseMap<mlir::Value, const float *> constants_;
  llvm::DenseMap<mlir::Operation *, std::vector<mlir::Value>> lastReadBy_;
  std::vector<std::unique_ptr<std::vector<float>>> expanded_;
};

/// One batch of sequences being evaluated: the state caches of every conv1d and ssd.
class Session {
public:
  Session(const Program &program, int64_t batch, ThreadPool &pool);

  /// Runs `length` more tokens per sequence (ids: batch x length, row-major) from the current
  /// state; returns logits (batch x length x vocab) and advances the state. A prefill is one
  /// call with the prompt, each decode step a call with length 1. A failed call forgets the
  /// state, as reset() does.
  llvm::Expected<std::vector<float>> run(const std::vector<int64_t> &ids, int64_t length);

  /// Forgets all state (a new sequence).
  void reset();

  /// Calibration reads the activations, not the logits: with `on`, run() of a whole-sequence
  /// function without onnx ops returns no logits and skips the lm_head whose result is only
  /// returned (its input is still observed). Other functions are evaluated as usual.
  void discardLogits(bool on) { discardLogits_ = on; }

  /// Called as each op of an evaluation begins with (ops begun, ops of the function): a
  /// progress bar inside one long run() (a 2.7B calibration window takes minutes).
  void onOp(std::function<void(size_t, size_t)> f) { onOp_ = std::move(f); }

private:
  /// One evaluation of the function on ids (batch x length) from the current state.
  llvm::Expected<std::vector<float>> evaluate(const std::vector<int64_t> &ids, int64_t length);

  const Program &program_;
  int64_t batch_;
  ThreadPool &pool_;
  /// State of ops without explicit state, and (for a step function) the state arguments,
  /// keyed by their index, as returned by the last call.
  llvm::DenseMap<mlir::Operation *, std::vector<float>> state_;
  llvm::DenseMap<mlir::Operation *, std::vector<int32_t>> extensionState_;
  std::vector<std::vector<float>> args_;
  std::vector<std::vector<int64_t>> history_; // per sequence, when the program replays
  bool discardLogits_ = false;
  bool skipLmHead_ = false; // this evaluation's: discardLogits_ where it applies
  std::function<void(size_t, size_t)> onOp_;
};

} // namespace mamba2::eval
