// ovl-fuse and ovl-tile (declared in CodeGenPasses.td; docs/passes.md).
#pragma once

#include <memory>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

#include "mamba2/Dialect/Ovl/OvlDialect.h"

namespace mamba2::codegen {

#define GEN_PASS_DECL
#include "mamba2/CodeGen/CodeGenPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "mamba2/CodeGen/CodeGenPasses.h.inc"

} // namespace mamba2::codegen
