// raise-onnx-to-m2: RMS norms and gated RMS norms -> m2.rms_norm, m2.gated_rms_norm.
#include "RaiseCommon.h"

namespace mamba2::raise {

bool Raiser::norm(ox::MulOp op) {
  ElementsAttr w;
  Value n;
  commuted(op, [&](Value a, Value b) {
    ElementsAttr c = constant(b);
    if (c && c.getShapedType().getRank() == 1 && c.getElementType().isF32()) {
      w = c;
      n = a;
    }
    return bool(w);
  });
  if (!w)
    return false;
  int64_t d = w.getShapedType().getDimSize(0);
  if (auto core = matchNormCore(n)) {
    if (!isF32Ranked(core->x) || ranked(core->x).getShape().back() != d)
      return false;
    // rmsnorm(y * silu(z)) over the whole width: the gated norm with one group.
    if (auto [y, z] = gateOf(core->x); y) {
      builder.setInsertionPoint(op);
      Value r = builder.create<m2::GatedRMSNormOp>(
          op.getLoc(), y.getType(), y, z, weight(w, op.getLoc()),
          builder.getF32FloatAttr(core->eps), builder.getI64IntegerAttr(1));
      replace(op, r, "gated_rms_norm");
      return true;
    }
    builder.setInsertionPoint(op);
    Value r =
        builder.create<m2::RMSNormOp>(op.getLoc(), core->x.getType(), core->x,
                                      weight(w, op.getLoc()), builder.getF32FloatAttr(core->eps));
    replace(op, r, "rms_norm");
    return true;
  }
  // Gated, grouped form.
  auto back = def<ox::ReshapeOp>(n);
  if (!back)
    return false;
  auto core = matchNormCore(back.getData());
  if (!core)
    return false;
  auto grouped = def<ox::ReshapeOp>(core->x);
  if (!grouped)
    return false;
  auto groupSize = shapeElement(grouped.getShape(), -1);
  if (!groupSize || *groupSize <= 0 || d % *groupSize)
    return false;
  auto [y, z] = gateOf(grouped.getData());
  if (!y || ranked(y).getShape().back() != d)
    return false;
  builder.setInsertionPoint(op);
  Value r = builder.create<m2::GatedRMSNormOp>(
      op.getLoc(), y.getType(), y, z, weight(w, op.getLoc()), builder.getF32FloatAttr(core->eps),
      builder.getI64IntegerAttr(d / *groupSize));
  replace(op, r, "gated_rms_norm");
  return true;
}

} // namespace mamba2::raise
