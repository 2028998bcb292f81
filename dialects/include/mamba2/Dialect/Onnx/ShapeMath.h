// Shape arithmetic of ONNX operators, shared by the folders of the `onnx` dialect
// (OnnxFolds.cpp) and the onnx interpreter (compiler/lib/Eval/OnnxInterpreter.cpp): row-major
// strides, multidirectional (numpy) broadcasting, negative-axis normalisation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

namespace mamba2::onnxir::shape {

/// Row-major strides (in elements) of a tensor of `shape`.
inline llvm::SmallVector<int64_t> strides(llvm::ArrayRef<int64_t> shape) {
  llvm::SmallVector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;)
    s[d - 1] = s[d] * shape[d];
  return s;
}

/// The numpy broadcast of two shapes (right-aligned; a 1 stretches); nullopt when two
/// dimensions differ and neither is 1.
inline std::optional<llvm::SmallVector<int64_t>> broadcast(llvm::ArrayRef<int64_t> a,
                                                           llvm::ArrayRef<int64_t> b) {
  size_t r = std::max(a.size(), b.size());
  llvm::SmallVector<int64_t> out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t x = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t y = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (x != y && x != 1 && y != 1)
      return std::nullopt;
    out[i] = x == 1 ? y : x;
  }
  return out;
}

/// `axis` of a rank-`rank` tensor in [0, rank); negative axes count from the end. nullopt when
/// out of [-rank, rank).
inline std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

} // namespace mamba2::onnxir::shape
