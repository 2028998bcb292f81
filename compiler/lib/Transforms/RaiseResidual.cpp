// raise-onnx-to-m2: residual adds and SiLU -> m2.residual_add, m2.silu.
#include "RaiseCommon.h"

namespace mamba2::raise {

bool Raiser::residual(ox::AddOp op) {
  Value a = skipIdentity(op.getA()), b = skipIdentity(op.getB());
  if (a.getType() != b.getType() || !isF32Ranked(a))
    return false;
  Value res = a, upd = b;
  if (a.getDefiningOp<m2::LinearOp>())
    std::swap(res, upd);
  if (!upd.getDefiningOp<m2::LinearOp>())
    return false;
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
