// raise-onnx-to-m2: linears (the normal form MatMul(x, W) of a constant W; onnx-normal-forms
// rewrites Gemm, Einsum, transposed weights and flattened rows into it) and the tied head ->
// m2.linear, m2.lm_head.
#include "RaiseCommon.h"

namespace mamba2::raise {

bool Raiser::linear(ox::MatMulOp op) {
  ElementsAttr w = constant(op.getB());
  if (!w || w.getShapedType().getRank() != 2 || !w.getElementType().isF32())
    return false;
  return makeLinear(op, skipIdentity(op.getA()), w, /*tiedHead=*/true);
}

} // namespace mamba2::raise
