// onnx-fold-shapes: applies the `onnx` folders until a fixpoint, then drops dead ops.
#include "mamba2/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mamba2 {
#define GEN_PASS_DEF_ONNXFOLDSHAPES
#include "mamba2/Transforms/Passes.h.inc"
} // namespace mamba2

using namespace mlir;

namespace {

struct OnnxFoldShapesPass : mamba2::impl::OnnxFoldShapesBase<OnnxFoldShapesPass> {
  using OnnxFoldShapesBase::OnnxFoldShapesBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // No patterns: the greedy driver folds every op, deduplicates constants and erases
    // ops without uses (all `onnx` ops are pure).
    RewritePatternSet patterns(&getContext());
    GreedyRewriteConfig config;
    config.maxIterations = 64;
    if (failed(applyPatternsAndFoldGreedily(func, std::move(patterns), config))) {
      func.emitError("shape folding did not converge");
      return signalPassFailure();
    }
    if (!strict)
      return;
    bool failedAny = false;
    func.walk([&](mamba2::onnxir::ShapeOp op) {
      op.emitError("shape of a tensor with dynamic dimensions cannot be folded: ")
          << op.getData().getType();
      failedAny = true;
    });
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
