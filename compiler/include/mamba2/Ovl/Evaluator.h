// The integer evaluator of the `ovl` dialect: what the overlay must compute, bit for bit. Every
// op runs through `isa::ref` (matmuls through quant::groupedMatmul, which equals
// isa::ref::matmulGrouped exactly), so the overlay (functional, cycle and HLS simulators) and
// this evaluator are two implementations of one definition.
//
// A model function has the signature
//   @main(%ids: tensor<?xi32>, %s_1, ..., %s_k) -> (%logits: tensor<?xVxi32>, %s_1', ..., %s_k')
// where each s_i' has the type of s_i (the conv and SSM states of every layer). A Session keeps
// the states between calls (zeros at the start of a sequence), so prefill then decode is two
// calls, and feeding tokens in any grouping gives the same logits.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

namespace mamba2::ovl {

/// An integer tensor, row-major. i8 tensors keep their values (-128..127) in `v` too.
struct IntTensor {
  std::vector<int64_t> shape;
  std::vector<int32_t> v;
  bool i8 = false;
  int64_t numel() const;
  /// Zeros of a statically shaped tensor type (i8 or i32).
  static IntTensor zeros(mlir::RankedTensorType type);
};

/// Called with each op and its results as the evaluator runs it (calibration of the form the
/// ops take, e.g. ovl-ssd-form's bound on dt).
using Observer = std::function<void(mlir::Operation *, const std::vector<IntTensor> &)>;

/// Runs one function on explicit arguments (any ovl function whose arguments and results are
/// integer tensors). Errors name the op and its location.
llvm::Expected<std::vector<IntTensor>>
call(mlir::func::FuncOp fn, const std::vector<IntTensor> &args, const Observer *observer = nullptr);

/// Which entry of the program a call runs (docs/runtime.md): `prefill` runs t_block rows,
/// `decode` one row. With ovl-decode-function's clone (ovl.entry = "decode") they are different
/// functions of the module, which must compute the same logits only where the forms agree
/// bit for bit (the scan; not the chunked form, whose rounding depends on the chunks).
enum class Phase { Prefill, Decode };

/// A sequence on a model function (signature above).
class Session {
public:
  /// Checks the signature. The module must outlive the session. With `function` = "main" the
  /// decode calls run the module's decode entry (the function marked ovl.entry = "decode") where
  /// there is one, as the program's decode entry does; its states must be @main's cut in order
  /// (ovl-split-head-groups{entry=decode}), and the session keeps them in @main's layout.
  static llvm::Expected<std::unique_ptr<Session>> create(mlir::ModuleOp module,
                                                         const std::string &function = "main");
  /// Feeds `ids` (in order) as one call of `phase`'s function, returns their logits [n][vocab].
  llvm::Expected<IntTensor> run(const std::vector<int32_t> &ids, Phase phase = Phase::Prefill);
  /// Feeds `ids` as the runtime's prefill does: floor(n / tBlock) prefill calls of tBlock ids,
  /// then n mod tBlock decode calls of one id (runtime::Session::prefill); all the logits.
  llvm::Expected<IntTensor> feed(const std::vector<int32_t> &ids, int64_t tBlock);
  /// Back to the start of a sequence (zero states).
  void reset();
  int64_t vocab() const { return vocab_; }
  /// Real logit = value * 2^-logitFrac (the function's `ovl.logit_frac` attribute, 0 if absent).
  int logitFrac() const { return logitFrac_; }
  const std::vector<IntTensor> &states() const { return states_; }
  /// Every op of every later call is shown to `observer` (null: none).
  void setObserver(Observer observer) { observer_ = std::move(observer); }
  /// Whether decode calls run a function of their own.
  bool separateDecode() const { return static_cast<bool>(decodeFn_); }

private:
  mlir::func::FuncOp fn_, decodeFn_;
  Observer observer_;
  std::vector<IntTensor> states_;
  int64_t vocab_ = 0;
  int logitFrac_ = 0;
};

} // namespace mamba2::ovl
