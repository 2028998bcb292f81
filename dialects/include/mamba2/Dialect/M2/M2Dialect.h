// The `m2` dialect: Mamba2 model-level ops (see M2Ops.td).
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "mamba2/Dialect/M2/M2Dialect.h.inc"

#define GET_OP_CLASSES
#include "mamba2/Dialect/M2/M2Ops.h.inc"
