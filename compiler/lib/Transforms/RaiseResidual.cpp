// raise-onnx-to-m2: residual adds and SiLU -> m2.residual_add, m2.silu.
#include "RaiseCommon.h"

namespace mamba2::raise {

bool Raiser::residual(ox::AddOp op) {
  Value a = skipIdentity(op.getA()), b = skipIdentity(op.getB());
  // The residual stream: the embedding or an earlier residual add.
  auto isStream = [](Value v) {
    return v.getDefiningOp<m2::EmbeddingOp>() || v.getDefiningOp<m2::ResidualAddOp>();
  };
  // Recognised: an Add of the residual stream, or of a linear's output, with an activation of
  // the same rank (not a bias or a constant).
  auto recognised = [&]() {
    for (auto [p, q] : {std::pair{a, b}, std::pair{b, a}})
      if ((isStream(p) || p.getDefiningOp<m2::LinearOp>()) && !constant(q) &&
          rankOf(q) == rankOf(p))
        return true;
    return false;
  };
  if (a.getType() != b.getType() || !isF32Ranked(a)) {
    if (recognised())
      return because(op, "residual",
                     "the two terms " + node(a) + " and " + node(b) +
                         " are not float32 tensors of one shape (" + typeText(a) + " and " +
                         typeText(b) + ")");
    return false;
  }
  Value res = a, upd = b;
  if (a.getDefiningOp<m2::LinearOp>())
    std::swap(res, upd);
  if (!upd.getDefiningOp<m2::LinearOp>()) {
    if (!recognised())
      return false;
    Value other = isStream(a) ? b : a;
    if (isM2(other))
      return because(op, "residual",
                     "the update " + node(other) + " is not the output of a linear (out_proj)");
    return because(op, "residual",
                   "the update " + node(other) +
                       " was not raised to a linear (out_proj); see the reasons before");
  }
  builder.setInsertionPoint(op);
  replace(op, builder.create<m2::ResidualAddOp>(op.getLoc(), res.getType(), res, upd),
          "residual_add");
  return true;
}

bool Raiser::silu(ox::MulOp op) {
  Value z = matchSilu(op.getC());
  if (!z || !isF32Ranked(z))
    return false;
  builder.setInsertionPoint(op);
  replace(op, builder.create<m2::SiluOp>(op.getLoc(), z.getType(), z), "silu");
  return true;
}

} // namespace mamba2::raise
