// Reading and making the constants of m2 modules (m2.constant with dense or dense_resource
// data) for the quantisation passes and the integer evaluator.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/Value.h"

namespace mamba2::quant {

/// The elements of a constant (splats expanded), or nullopt when `v` is not an m2.constant of
/// that element type (f32, i8, i32).
std::optional<std::vector<float>> readF32(mlir::Value v);
std::optional<std::vector<int8_t>> readI8(mlir::Value v);
std::optional<std::vector<int32_t>> readI32(mlir::Value v);
/// The same for the value of any constant op (dense or dense_resource, splats expanded).
std::optional<std::vector<int8_t>> readI8(mlir::ElementsAttr value);
std::optional<std::vector<int32_t>> readI32(mlir::ElementsAttr value);

/// A new m2.constant before `b`'s insertion point.
mlir::Value makeF32(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape,
                    llvm::ArrayRef<float> data);
mlir::Value makeI8(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape,
                   llvm::ArrayRef<int8_t> data);
mlir::Value makeI32(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape,
                    llvm::ArrayRef<int32_t> data);

/// Erases the m2.constant ops under `root` that nothing reads.
void eraseDeadConstants(mlir::Operation *root);

/// Static shape of a ranked tensor value.
std::vector<int64_t> shapeOf(mlir::Value v);

} // namespace mamba2::quant
