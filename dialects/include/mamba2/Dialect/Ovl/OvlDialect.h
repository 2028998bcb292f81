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
