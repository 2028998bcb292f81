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
    if (auto c = slice.getData().getDefiningOp<ox::ConvOp>(); c && !causalSliceOfConv(slice, why))
      return because(slice, "conv", "the Conv " + node(c) + " sliced here: " + why);
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
    // Not a window of padded taps (onnx-normal-forms' conv spellings; see convWindowLeft).
    for (Value in : cat.getInputs()) {
      Value t = in;
      if (auto u = def<ox::UnsqueezeOp>(t))
        t = u.getData();
      if (auto s = def<ox::SliceOp>(t); s && def<ox::PadOp>(s.getData()))
        return false;
    }
    auto slice = def<ox::SliceOp>(cat.getInputs()[0]);
    auto un = def<ox::UnsqueezeOp>(cat.getInputs()[1]);
    if (!slice || !un || !lastAxes(3) || !isAxis(ints(un.getAxes()), 2, 3))
      return because(op, "conv",
                     "the window " + node(cat) +
                         " is not Concat(Slice(state, 1:), Unsqueeze(x, -1)) on the last axis "
                         "(the old state without its oldest column, then the new input)");
    Value x = skipIdentity(un.getData());
    Value state = slice.getData();
    auto st = ranked(state);
    auto starts = ints(slice.getStarts()), ends = ints(slice.getEnds());
    if (!isM2Act(x) || ranked(x).getDimSize(1) != 1 || !st || st.getRank() != 3 ||
        !st.getElementType().isF32() || st.getDimSize(1) != ch || st.getDimSize(2) != k ||
        !starts || starts->size() != 1 || (*starts)[0] != 1 || !ends || ends->size() != 1 ||
        (*ends)[0] < k || !isAxis(ints(slice.getAxes()), 2, 3))
      return because(op, "conv",
                     "the state " + node(skipIdentity(state)) + " sliced by " + node(slice) +
                         " is not (batch, " + std::to_string(ch) + ", " + std::to_string(k) +
                         ") float32 read from column 1 on the last axis, or x " + node(x) +
                         " is not an activation of one token with " + std::to_string(ch) +
                         " channels");
    if (!isa<NoneType>(slice.getSteps().getType())) {
      auto steps = ints(slice.getSteps());
      if (!steps || steps->size() != 1 || (*steps)[0] != 1)
        return because(op, "conv", "the state's Slice " + node(slice) + " has a step other than 1");
    }
    // The new state is defined where the conv output is: its other users must come later.
    for (Operation *u : cat->getUsers())
      if (u != mul.getOperation() && !op->isBeforeInBlock(u))
        return because(op, "conv",
                       "the new state " + node(cat) + " is used by " + node(u) +
                           " before the conv's output is computed");
    builder.setInsertionPoint(op);
    auto conv =
        builder.create<m2::Conv1dOp>(op.getLoc(), x.getType(), state.getType(), x, wv, bv, state);
    cat.getResult().replaceAllUsesWith(conv.getNewState());
    replace(op, conv.getOutput(), "conv1d");
    return true;
  }

  return false;
}

bool Raiser::convLeft(ox::ConvOp op) {
  auto isBack = [](Operation *u) {
    auto t = dyn_cast<ox::TransposeOp>(u);
    auto p = t ? t.getPerm() : std::nullopt;
    return p && p->size() == 3 && cast<IntegerAttr>((*p)[0]).getInt() == 0 &&
           cast<IntegerAttr>((*p)[1]).getInt() == 2 && cast<IntegerAttr>((*p)[2]).getInt() == 1;
  };
  // conv() takes the Conv at the Transpose back (directly or after a Slice).
  for (Operation *u : op->getUsers()) {
    if (isBack(u))
      return false;
    if (isa<ox::SliceOp, ox::IdentityOp>(u) && llvm::any_of(u->getUsers(), isBack))
      return false;
  }
  if (rankOf(op.getX()) != 3 || !isF32Ranked(op.getX()))
    return false;
  return because(op, "conv",
                 "its output is not transposed back to (batch, length, channels) by a "
                 "Transpose with perm [0, 2, 1]");
}

bool Raiser::convWindowLeft(ox::PadOp op) {
  Value x = skipIdentity(op.getData());
  auto xt = ranked(x);
  if (!isM2(x) || !xt || xt.getRank() != 3)
    return false;
  // A window: two or more Slices of the length axis read the padded x.
  int slices = 0;
  for (Operation *u : op->getUsers())
    if (auto s = dyn_cast<ox::SliceOp>(u)) {
      auto axes = ints(s.getAxes());
      slices += axes && axes->size() == 1 && ((*axes)[0] == 1 || (*axes)[0] == -2);
    }
  if (slices < 2)
    return false;
  if (op.getMode() != "constant")
    return because(op, "conv",
                   "the Pad pads with mode '" + op.getMode().str() + "', not with zeros");
  if (!isa<NoneType>(op.getConstantValue().getType())) {
    auto v = scalarFloat(op.getConstantValue());
    if (!v || *v != 0.0f)
      return because(op, "conv",
                     "the Pad's value " + node(skipIdentity(op.getConstantValue())) +
                         " is not a constant 0");
  }
  auto pads = ints(op.getPads());
  if (!pads || pads->size() != 6)
    return because(op, "conv",
                   "the pads " + node(skipIdentity(op.getPads())) + " are not 6 constants");
  if ((*pads)[4] != 0)
    return because(op, "conv",
                   "the Pad adds " + std::to_string((*pads)[4]) +
                       " zeros after the length: the conv would read later positions (a "
                       "causal conv pads kernel - 1 zeros before the length only)");
  if ((*pads)[0] || (*pads)[2] || (*pads)[3] || (*pads)[5] || (*pads)[1] < 1)
    return because(op, "conv",
                   "the Pad does not pad the length axis only, before the sequence (pads " +
                       node(skipIdentity(op.getPads())) + ")");
  return because(op, "conv",
                 "its " + std::to_string(slices) +
                     " Slices of the padded length are not the taps j : j + length (j = 0 to "
                     "kernel - 1, the ends constants or computed from the length) combined "
                     "as Mul by a (C, K) weight and ReduceSum over the taps, or each Mul a (C) "
                     "weight and Add");
}

} // namespace mamba2::raise
