// Reading and making the constants of m2 modules (m2.constant with dense or dense_resource
// data) for the quantisation passes and the integer evaluator.
#pragma once

#include <cstddef>
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
/// The f32 elements of an m2.constant where they lie (its blob or dense data), without a copy;
/// nullopt for a splat or anything readF32 would refuse. Valid while the constant lives.
std::optional<llvm::ArrayRef<float>> viewF32(mlir::Value v);
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

/// A new m2.constant of f32 elements that `fill` writes straight into the constant's own
/// storage (the blob makeF32 would copy them into, for a large one): the same constant as
/// makeF32 of the same elements, without the copy.
mlir::Value makeF32(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape,
                    llvm::function_ref<void(llvm::MutableArrayRef<float>)> fill);

/// Constants of at least this many bytes are made as `dense_resource` blobs of their own, so that
/// their memory can be given back when they die (`retire`); smaller ones are `dense`.
inline constexpr size_t kResourceBytes = 64 * 1024;

/// The elements attribute `make*` would give a constant of `type` holding `data`.
mlir::ElementsAttr makeElements(mlir::RankedTensorType type, llvm::ArrayRef<float> data);
mlir::ElementsAttr makeElements(mlir::RankedTensorType type, llvm::ArrayRef<int8_t> data);
mlir::ElementsAttr makeElements(mlir::RankedTensorType type, llvm::ArrayRef<int32_t> data);

/// Whether `v` is an m2.constant with f32 data, without copying the data out.
bool isF32Constant(mlir::Value v);

/// Erases the m2.constant defining `old` when nothing reads it any more; with `release`, its
/// data's memory too (a heap blob is freed, a mapped file's pages are dropped) unless another
/// op of its function still holds the same blob. Only a pass that owns the context's weights
/// may release (the passes' `release-weights` option): a module cloned from this one shares its
/// blobs, and a blob is assumed not to be shared between functions.
void retire(mlir::Value old, bool release);
/// The `release` part of `retire`: gives back the memory of `value`'s blob unless an op under
/// `root` other than `ignore` holds it.
void releaseData(mlir::Operation *root, mlir::ElementsAttr value,
                 mlir::Operation *ignore = nullptr);

/// Erases the m2.constant ops under `root` that nothing reads.
void eraseDeadConstants(mlir::Operation *root);

/// Static shape of a ranked tensor value.
std::vector<int64_t> shapeOf(mlir::Value v);

} // namespace mamba2::quant
