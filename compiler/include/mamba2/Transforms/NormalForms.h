// The canonicalization patterns of `onnx-normal-forms` (see Passes.td), shared with
// `raise-onnx-to-m2`, which applies them before it matches blocks.
#pragma once

#include "mlir/IR/PatternMatch.h"

namespace mamba2 {

void populateOnnxNormalFormPatterns(mlir::RewritePatternSet &patterns);

} // namespace mamba2
