// raise-onnx-to-m2: the causal depthwise conv (its normal form, a Conv padded before the length;
// onnx-normal-forms rewrites Conv + Slice and Pad + shifted Slices into it) and the step graph's
// window -> m2.conv1d.
#include "RaiseCommon.h"

namespace mamba2::raise {

bool Raiser::conv(ox::TransposeOp op) {
  auto permIs021 = [](ox::TransposeOp t) {
    auto p = t.getPerm();
    if (!p || p->size() != 3)
      return false;
    int64_t e[3];
    for (int i = 0; i < 3; ++i)
      e[i] = cast<IntegerAttr>((*p)[i]).getInt();
    return e[0] == 0 && e[1] == 2 && e[2] == 1;
  };
  if (!permIs021(op))
    return false;
  // A Slice of a Conv left by onnx-normal-forms: say why it is not the causal conv.
  if (auto slice = def<ox::SliceOp>(op.getData())) {
    std::string why;
    if (slice.getData().getDefiningOp<ox::ConvOp>() && !causalSliceOfConv(slice, why))
      return because(slice, "conv", why);
    return false;
  }
  auto c = def<ox::ConvOp>(op.getData());
  if (!c)
    return false;
  auto in = def<ox::TransposeOp>(c.getX());
  if (!in || !permIs021(in))
    return because(c, "conv",
                   "its input is not the (batch, length, channels) activation "
                   "transposed to (batch, channels, length)");
  Value x = skipIdentity(in.getData());
  ElementsAttr w = constant(c.getW()), b = constant(c.getB());
  bool noBias = isa<NoneType>(c.getB().getType());
  if (!isF32Ranked(x) || rankOf(x) != 3 || !w || !(b || noBias))
    return because(c, "conv",
                   "the weight or the bias is not a constant, or the input is not "
                   "a rank-3 float32 tensor");
  auto ws = w.getShapedType().getShape();
  int64_t ch = ranked(x).getShape()[2];
  if (ws.size() != 3 || ws[0] != ch || ws[1] != 1 || c.getGroup() != ch ||
      (b && b.getShapedType().getNumElements() != ch))
    return because(c, "conv", "it is not depthwise (weight (C, 1, k), group C, bias (C))");
  if (noBias) // a Conv without bias is one with a bias of zeros
    b = DenseElementsAttr::get(RankedTensorType::get({ch}, builder.getF32Type()), 0.0f);
  int64_t k = ws[2];
  auto attrIs = [](std::optional<ArrayAttr> a, llvm::ArrayRef<int64_t> want) {
    if (!a)
      return true;
    if (a->size() != want.size())
      return false;
    for (auto [x, y] : llvm::zip(*a, want))
      if (cast<IntegerAttr>(x).getInt() != y)
        return false;
    return true;
  };
  if (c.getAutoPad() != "NOTSET" || !c.getPads() || !attrIs(c.getPads(), {k - 1, 0}) ||
      !attrIs(c.getStrides(), {1}) || !attrIs(c.getDilations(), {1}))
    return because(c, "conv",
                   "it is not causal: not padded by kernel - 1 before the length and none after "
                   "(after onnx-normal-forms), with unit strides and dilations");
  builder.setInsertionPoint(op);
  Value r =
      builder
          .create<m2::Conv1dOp>(op.getLoc(), x.getType(), x,
                                weight(reshape(w, {ch, k}), c.getLoc()), weight(b, c.getLoc()))
          .getOutput();
  replace(op, r, "conv1d");
  return true;
}

bool Raiser::convWindow(ox::AddOp op) {
  ElementsAttr bias;
  ox::ReduceSumOp rs;
  commuted(op, [&](Value a, Value b) {
    ElementsAttr c = constant(b);
    auto r = def<ox::ReduceSumOp>(a);
    if (c && r) {
      bias = c;
      rs = r;
    }
    return bool(rs);
  });
  if (!rs || rs.getKeepdims() != 0 || !bias.getElementType().isF32())
    return false;
  auto mul = def<ox::MulOp>(rs.getData());
  if (!mul)
    return false;
  ElementsAttr w;
  ox::ConcatOp cat;
  commuted(mul, [&](Value a, Value b) {
    ElementsAttr c = constant(b);
    auto cc = def<ox::ConcatOp>(a);
    if (c && cc && c.getElementType().isF32()) {
      w = c;
      cat = cc;
    }
    return bool(cat);
  });
  if (!cat)
    return false;
  // The window is (b, C, K) in the step form, (b, L, C, K) in the other; when shape
  // inference lost its rank, the form says it.
  auto lastAxes = [&](int64_t winRank) {
    int64_t r = rankOf(cat.getResult());
    return (r < 0 || r == winRank) && isAxis(ints(rs.getAxes()), winRank - 1, winRank) &&
           (cat.getAxis() == -1 || cat.getAxis() == winRank - 1);
  };
  auto ws = w.getShapedType().getShape();
  if (!(ws.size() == 2 || (ws.size() == 3 && ws[1] == 1)))
    return false;
  int64_t ch = ws[0], k = ws.back();
  if (bias.getShapedType().getNumElements() != ch || k < 1)
    return false;
  auto isM2Act = [&](Value x) {
    auto t = ranked(x);
    return isM2(x) && t && t.getRank() == 3 && t.getElementType().isF32() && t.getDimSize(2) == ch;
  };
  Value wv = weight(reshape(w, {ch, k}), op.getLoc());
  Value bv = weight(reshape(bias, {ch}), op.getLoc());

  // Step form: the window is the old state without its oldest column, then x.
  if (cat.getInputs().size() == 2) {
    auto slice = def<ox::SliceOp>(cat.getInputs()[0]);
    auto un = def<ox::UnsqueezeOp>(cat.getInputs()[1]);
    if (!slice || !un || !lastAxes(3) || !isAxis(ints(un.getAxes()), 2, 3))
      return false;
    Value x = skipIdentity(un.getData());
    Value state = slice.getData();
    auto st = ranked(state);
    auto starts = ints(slice.getStarts()), ends = ints(slice.getEnds());
    if (!isM2Act(x) || ranked(x).getDimSize(1) != 1 || !st || st.getRank() != 3 ||
        !st.getElementType().isF32() || st.getDimSize(1) != ch || st.getDimSize(2) != k ||
        !starts || starts->size() != 1 || (*starts)[0] != 1 || !ends || ends->size() != 1 ||
        (*ends)[0] < k || !isAxis(ints(slice.getAxes()), 2, 3))
      return false;
    if (!isa<NoneType>(slice.getSteps().getType())) {
      auto steps = ints(slice.getSteps());
      if (!steps || steps->size() != 1 || (*steps)[0] != 1)
        return false;
    }
    // The new state is defined where the conv output is: its other users must come later.
    for (Operation *u : cat->getUsers())
      if (u != mul.getOperation() && !op->isBeforeInBlock(u))
        return false;
    builder.setInsertionPoint(op);
    auto conv =
        builder.create<m2::Conv1dOp>(op.getLoc(), x.getType(), state.getType(), x, wv, bv, state);
    cat.getResult().replaceAllUsesWith(conv.getNewState());
    replace(op, conv.getOutput(), "conv1d");
    return true;
  }

  return false;
}

} // namespace mamba2::raise
