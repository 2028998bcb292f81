// The interpreter of the `onnx` dialect: evaluates every op of the dialect on N-D tensors
// (eval::Tensor) with ONNX's semantics (opsets 13 to 17): multidirectional broadcasting, every
// attribute the dialect accepts, the element types ONNX allows for each op among float32/64,
// float16, bfloat16, (u)int8..64 and bool.
//
// Deterministic: every reduction (sums, products, means, contractions) runs in a fixed order
// that does not depend on the thread count; MatMul, Gemm, Conv and Einsum split their outputs
// into disjoint ranges over the ThreadPool. Floating-point reductions accumulate in the element
// type for MatMul/Gemm/Conv (in float for float16/bfloat16) and float32 Einsums of two or three
// operands (run as batched MatMuls), in double for ReduceSum, ReduceMean, CumSum and the other
// Einsums.
//
// Errors (an index out of range, shapes that do not broadcast, a computed shape that contradicts
// the op's result type, ...) are llvm::Errors that name the op and its location.
#pragma once

#include <vector>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/Operation.h"
#include "llvm/Support/Error.h"

#include "mamba2/Eval/Tensor.h"
#include "mamba2/Eval/ThreadPool.h"

namespace mamba2::eval {

/// The tensor of a constant's value: a view of the attribute's bytes where they are laid out as
/// the tensor's (dense and dense_resource), else a copy (splats, bools).
llvm::Expected<Tensor> tensorFromAttr(mlir::ElementsAttr value);

/// Evaluates one op of the `onnx` dialect. `operands` has one entry per operand, null for an
/// absent optional input (an `onnx.NoValue` operand).
llvm::Expected<std::vector<Tensor>>
evaluateOnnxOp(mlir::Operation *op, llvm::ArrayRef<const Tensor *> operands, ThreadPool &pool);

/// Runs a function of `onnx` ops (an imported graph) on one tensor per argument; checks each
/// argument's element type and shape against the function's type first.
llvm::Expected<std::vector<Tensor>> runOnnxFunction(mlir::func::FuncOp func,
                                                    llvm::ArrayRef<Tensor> args, ThreadPool &pool);

} // namespace mamba2::eval
