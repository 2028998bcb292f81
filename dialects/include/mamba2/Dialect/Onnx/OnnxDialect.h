// The `onnx` dialect: ONNX operators as typed MLIR ops (see OnnxOps.td).
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "mamba2/Dialect/Onnx/OnnxDialect.h.inc"

#define GET_OP_CLASSES
#include "mamba2/Dialect/Onnx/OnnxOps.h.inc"
