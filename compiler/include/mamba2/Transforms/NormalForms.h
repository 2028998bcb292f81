// The canonicalization patterns of `onnx-normal-forms` (see Passes.td), shared with
// `raise-onnx-to-m2`, which applies them before it matches blocks.
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mamba2 {

void populateOnnxNormalFormPatterns(mlir::RewritePatternSet &patterns);

/// Applies the patterns (and the folders) to `f`, and gives onnx results the types their operands
/// determine (shape inference gives up after a Pad of computed pads), until neither changes.
mlir::LogicalResult applyOnnxNormalForms(mlir::func::FuncOp f);

} // namespace mamba2
