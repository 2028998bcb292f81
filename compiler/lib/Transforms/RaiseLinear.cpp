// raise-onnx-to-m2: linears (the normal form MatMul(x, W) of a constant W; onnx-normal-forms
// rewrites Gemm, Einsum, transposed weights and flattened rows into it) and the tied head ->
// m2.linear, m2.lm_head.
#include "RaiseCommon.h"

#include "llvm/Support/FormatVariadic.h"

namespace mamba2::raise {

std::string Raiser::linearName(Operation *op, Value x, Value w) {
  Operation *wd = skipIdentity(w).getDefiningOp();
  std::string wn = wd ? onnxName(wd) : "";
  for (const char *n : {"in_proj", "out_proj", "lm_head"})
    if (wn.find(n) != std::string::npos || nameOf(op).find(n) != std::string::npos)
      return n;
  if (def<m2::RMSNormOp>(x))
    return where(op) == "head " ? "lm_head" : "in_proj";
  if (def<m2::GatedRMSNormOp>(x))
    return "out_proj";
  return "linear";
}

bool Raiser::linear(ox::MatMulOp op) {
  Value x = skipIdentity(op.getA()), wv = op.getB();
  ElementsAttr w = constant(wv);
  if (!w) {
    // A product of an activation (an m2 value or a graph input) with a matrix that is not a
    // constant: a linear whose weight is computed.
    if (rankOf(wv) == 2 && isF32Ranked(x) && (isM2(x) || isa<BlockArgument>(x)))
      return because(op, linearName(op, x, wv),
                     "the weight " + node(skipIdentity(wv)) + " is not a constant");
    return false;
  }
  auto name = [&] { return linearName(op, x, wv); };
  if (w.getShapedType().getRank() != 2 || !w.getElementType().isF32())
    return because(op, name(),
                   "the weight " + node(skipIdentity(wv)) +
                       " is not a float32 constant of "
                       "shape [K][N] (it is " +
                       typeText(skipIdentity(wv)) + ")");
  auto ws = w.getShapedType().getShape();
  if (!isF32Ranked(x))
    return because(op, name(), "x " + node(x) + " is not a ranked float32 tensor");
  if (ranked(x).getShape().back() != ws[0])
    return because(op, name(),
                   "the weight " + node(skipIdentity(wv)) + " is [" + std::to_string(ws[0]) + "][" +
                       std::to_string(ws[1]) + "], but x " + node(x) + " has " +
                       (ShapedType::isDynamic(ranked(x).getShape().back())
                            ? std::string("an unknown number of")
                            : std::to_string(ranked(x).getShape().back())) +
                       " channels (K must equal them)");
  return makeLinear(op, x, w, /*tiedHead=*/true);
}

bool Raiser::linearLeft(Operation *op) {
  if (op->getNumOperands() < 2 || (isa<ox::EinsumOp>(op) && op->getNumOperands() != 2))
    return false;
  Value x = skipIdentity(op->getOperand(0)), wv = op->getOperand(1);
  ElementsAttr w = constant(wv);
  bool matrix = w && w.getShapedType().getRank() == 2 && w.getElementType().isF32();
  if (!matrix && !(rankOf(wv) == 2 && isF32Ranked(x) && (isM2(x) || isa<BlockArgument>(x))))
    return false;
  std::string name = linearName(op, x, wv);
  if (!matrix)
    return because(op, name,
                   "the weight " + node(skipIdentity(wv)) + " is not a float32 constant matrix");
  if (auto g = dyn_cast<ox::GemmOp>(op)) {
    if (g.getTransA() != 0)
      return because(op, name, "the Gemm transposes x (transA 1)");
    if (g.getAlpha().convertToFloat() != 1.0f)
      return because(op, name,
                     "the Gemm scales the product (alpha " +
                         llvm::formatv("{0}", g.getAlpha().convertToDouble()).str() + ", not 1)");
    if (!isa<NoneType>(g.getC().getType())) {
      auto c = floats(constant(g.getC()));
      if (!c || llvm::any_of(*c, [](float f) { return f != 0.0f; }) || rankOf(g.getC()) > 1)
        return because(op, name,
                       "the Gemm adds C " + node(skipIdentity(g.getC())) +
                           ", which is not absent or a 1-D constant of zeros (a Mamba2 linear "
                           "has no bias)");
    }
    return because(op, name, "onnx-normal-forms did not rewrite the Gemm into MatMul(x, W)");
  }
  auto e = cast<ox::EinsumOp>(op);
  return because(op, name,
                 "the Einsum equation '" + e.getEquation().str() +
                     "' is not a product on the last axis ('...k,kn->...n' or '...k,nk->...n')");
}

} // namespace mamba2::raise
