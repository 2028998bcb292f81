// The quantisation passes of the Mamba2 compiler (declared in QuantPasses.td).
#pragma once

#include <memory>
#include <string>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include "mamba2/Dialect/M2/M2Dialect.h"

namespace mamba2 {

#define GEN_PASS_DECL
#include "mamba2/Transforms/QuantPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "mamba2/Transforms/QuantPasses.h.inc"

} // namespace mamba2
