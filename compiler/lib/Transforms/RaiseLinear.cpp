// raise-onnx-to-m2: linears (MatMul, Gemm, Einsum; flattened rows) and the tied head -> m2.linear,
// m2.lm_head.
#include "RaiseCommon.h"

namespace mamba2::raise {

bool Raiser::linear(ox::MatMulOp op) {
  ElementsAttr w = constant(op.getB());
  if (auto t = def<ox::TransposeOp>(op.getB()); !w && t) {
    // MatMul(x, Transpose(W (out, in))): the weight is W's transpose (in, out).
    auto perm = t.getPerm();
    ElementsAttr wt = constant(t.getData());
    bool swap = !perm || (perm->size() == 2 && cast<IntegerAttr>((*perm)[0]).getInt() == 1 &&
                          cast<IntegerAttr>((*perm)[1]).getInt() == 0);
    if (swap && wt && wt.getShapedType().getRank() == 2)
      w = transposed(wt);
  }
  if (!w || w.getShapedType().getRank() != 2 || !w.getElementType().isF32())
    return false;
  return makeLinear(op, skipIdentity(op.getA()), w, /*tiedHead=*/true);
}

bool Raiser::gemm(ox::GemmOp op) {
  ElementsAttr w = constant(op.getB());
  bool noBias = isa<NoneType>(op.getC().getType());
  if (!noBias) {
    auto c = floats(constant(op.getC()));
    noBias = c && llvm::all_of(*c, [](float f) { return f == 0.0f; });
  }
  if (!w || w.getShapedType().getRank() != 2 || !w.getElementType().isF32() || !noBias ||
      op.getTransA() != 0 || op.getAlpha().convertToFloat() != 1.0f)
    return false;
  if (op.getTransB() != 0)
    w = transposed(w);
  return w && makeLinear(op, skipIdentity(op.getA()), w, /*tiedHead=*/true);
}

bool Raiser::einsumLinear(ox::EinsumOp op) {
  if (op.getInputs().size() != 2)
    return false;
  ElementsAttr w = constant(op.getInputs()[1]);
  if (!w || w.getShapedType().getRank() != 2 || !w.getElementType().isF32())
    return false;
  std::string eq;
  for (char c : op.getEquation().str())
    if (c != ' ')
      eq += c;
  auto arrow = eq.find("->");
  auto comma = eq.find(',');
  if (arrow == std::string::npos || comma == std::string::npos || comma > arrow)
    return false;
  std::string a = eq.substr(0, comma), b = eq.substr(comma + 1, arrow - comma - 1),
              out = eq.substr(arrow + 2);
  if (a.empty() || b.size() != 2 || out.size() != a.size() || a.find("...") != std::string::npos)
    return false;
  char k = a.back(), n = out.back();
  if (a.substr(0, a.size() - 1) != out.substr(0, out.size() - 1) || k == n ||
      out.substr(0, out.size() - 1).find_first_of(std::string{k, n}) != std::string::npos)
    return false;
  if (b == std::string{k, n})
    return makeLinear(op, skipIdentity(op.getInputs()[0]), w, /*tiedHead=*/true);
  if (b == std::string{n, k}) {
    ElementsAttr t = transposed(w);
    return t && makeLinear(op, skipIdentity(op.getInputs()[0]), t, /*tiedHead=*/true);
  }
  return false;
}

} // namespace mamba2::raise
