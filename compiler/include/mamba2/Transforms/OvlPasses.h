// Lowering quantised m2 to the overlay dialect (declared in OvlPasses.td).
#pragma once

#include <memory>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Dialect/Ovl/OvlDialect.h"

namespace mamba2 {

#define GEN_PASS_DECL
#include "mamba2/Transforms/OvlPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "mamba2/Transforms/OvlPasses.h.inc"

} // namespace mamba2
