// Passes of the Mamba2 compiler (declared in Passes.td).
#pragma once

#include <memory>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Dialect/Onnx/OnnxDialect.h"

namespace mamba2 {

#define GEN_PASS_DECL
#include "mamba2/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "mamba2/Transforms/Passes.h.inc"

} // namespace mamba2
