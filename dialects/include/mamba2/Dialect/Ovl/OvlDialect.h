// The `ovl` dialect: the overlay-level integer kernels (see OvlOps.td).
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "mamba2/Dialect/Ovl/OvlDialect.h.inc"

#define GET_OP_CLASSES
#include "mamba2/Dialect/Ovl/OvlOps.h.inc"

namespace mamba2::ovl {
/// The attribute ovl-decode-function puts on its clone of @main: the entry point of the program
/// that lowers that function (docs/codegen.md "Head groups per phase").
inline constexpr llvm::StringLiteral kEntryAttr = "ovl.entry";
/// The op of `module`'s body marked ovl.entry = `entry` (a function), or null.
inline mlir::Operation *entryFunction(mlir::Operation *module, llvm::StringRef entry) {
  if (!module || module->getNumRegions() != 1 || module->getRegion(0).empty())
    return nullptr;
  for (mlir::Operation &op : module->getRegion(0).front())
    if (auto e = op.getAttrOfType<mlir::StringAttr>(kEntryAttr); e && e.getValue() == entry)
      return &op;
  return nullptr;
}
} // namespace mamba2::ovl
