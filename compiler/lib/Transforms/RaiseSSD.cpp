// raise-onnx-to-m2: the SSD (chunked or step) -> m2.ssd; a softplus no SSD took -> m2.softplus.
#include "RaiseCommon.h"

namespace mamba2::raise {

bool Raiser::ssd(ox::ReshapeOp op, std::string &why) {
  auto add = def<ox::AddOp>(op.getData());
  if (!add)
    return false;
  Value body, xflat, xNotRaised;
  ElementsAttr dAttr;
  commuted(add, [&](Value a, Value b) {
    auto mul = def<ox::MulOp>(b);
    if (!mul)
      return false;
    return commuted(mul, [&](Value p, Value q) {
      auto xh = def<ox::ReshapeOp>(unpaddedLength(p));
      ElementsAttr dc = constant(q);
      auto xt = xh ? dyn_cast<TensorType>(xh.getData().getType()) : TensorType();
      if (dc && xt && !isM2(xh.getData()) && xt.getElementType().isF32() &&
          (!xt.hasRank() || xt.getRank() == 3))
        xNotRaised = skipIdentity(xh.getData());
      if (!xh || !dc || !isM2(xh.getData()))
        return false;
      body = a;
      xflat = skipIdentity(xh.getData());
      dAttr = dc;
      return true;
    });
  });
  if (!body) {
    // y + D x with the per-head x of a (batch, length, channels) tensor that is not m2.
    if (xNotRaised)
      why = "its input x " + node(xNotRaised) +
            " (in y + D x) was not raised (a part of the split of the conv's output is expected)";
    return false;
  }
  auto split = xflat.getDefiningOp<m2::SplitOp>();
  if (!split || split.getNumResults() != 3 || xflat != split.getResult(0)) {
    why = "the SSD input x is not the first part of a three-way split";
    return false;
  }
  Value Bv = split.getResult(1), Cv = split.getResult(2);
  // Backward slice of the body, stopping at m2 values and the dt / A subgraphs.
  llvm::SmallPtrSet<Operation *, 32> seen;
  llvm::SmallVector<Value> work{body};
  Operation *softplus = nullptr;
  Value softplusIn;
  ox::NegOp negA;
  std::optional<std::vector<float>> constA;
  ox::ClipOp clip;
  float dtMin = -std::numeric_limits<float>::infinity();
  float dtMax = std::numeric_limits<float>::infinity();
  bool softplusUnclamped = false;
  // dt after the softplus (and its clamp, if any).
  auto isDt = [&](Value v) {
    v = skipIdentity(v);
    if (auto c = v.getDefiningOp<ox::ClipOp>())
      return bool(matchSoftplus(c.getInput()));
    return bool(matchSoftplus(v));
  };
  bool usesB = false, usesC = false, hasScan = false;
  Value stateIn;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (v == Bv)
      usesB = true;
    if (v == Cv)
      usesC = true;
    if (isStateInput(v)) {
      if (stateIn && stateIn != v) {
        why = "the SSD body reads two state inputs";
        return false;
      }
      stateIn = v;
      continue;
    }
    Operation *d = v.getDefiningOp();
    if (!seen.insert(d).second)
      continue;
    if (isa<ox::ShapeOp>(d))
      continue; // only the shape is read, e.g. the length of the sequence

    if (isa<m2::M2Dialect>(d->getDialect())) {
      if (v != xflat && v != Bv && v != Cv) {
        why = "the SSD body reads a value other than x, B, C, dt and A";
        return false;
      }
      continue;
    }
    if (auto c = dyn_cast<ox::ClipOp>(d)) {
      if (Value in = matchSoftplus(c.getInput())) {
        auto bound = [&](Value b, float none) -> std::optional<float> {
          return isa<NoneType>(b.getType()) ? std::optional<float>(none) : scalarFloat(b);
        };
        auto lo = bound(c.getMin(), dtMin), hi = bound(c.getMax(), dtMax);
        if (!lo || !hi) {
          why = "the Clip of dt (node " + nameOf(c) + ") has bounds that are not constants";
          return false;
        }
        Operation *sp = skipIdentity(c.getInput()).getDefiningOp();
        if ((softplus && softplus != sp) || (clip && clip != c)) {
          why = "the SSD body has two softplus or two Clip inputs";
          return false;
        }
        softplus = sp;
        softplusIn = in;
        clip = c;
        dtMin = *lo;
        dtMax = *hi;
        continue;
      }
    }
    if (isa<ox::SoftplusOp>(d) && d->getNumResults() == 1) {
      if (Value in = matchSoftplus(d->getResult(0))) {
        if (softplus && softplus != d) {
          why = "the SSD body has two softplus inputs";
          return false;
        }
        softplus = d;
        softplusIn = in;
        softplusUnclamped = true;
        continue;
      }
    }
    if (auto mul = dyn_cast<ox::MulOp>(d)) {
      // A as a constant: dt * A with every value of A negative.
      commuted(mul, [&](Value a, Value b) {
        auto c = floats(constant(b));
        if (!c || c->empty() || !isDt(a) || llvm::any_of(*c, [](float x) { return !(x < 0.0f); }))
          return false;
        if (constA && *constA != *c)
          why = "the SSD body multiplies dt with two different constants A";
        constA = *c;
        return true;
      });
      if (!why.empty())
        return false;
    }
    if (auto neg = dyn_cast<ox::NegOp>(d)) {
      auto e = def<ox::ExpOp>(neg.getInput());
      if (e && constant(e.getInput())) {
        if (negA && negA != neg) {
          why = "the SSD body has two A inputs";
          return false;
        }
        negA = neg;
        continue;
      }
    }
    if (isa<ox::CumSumOp, ox::EinsumOp>(d))
      hasScan = true;
    for (Value o : d->getOperands())
      work.push_back(o);
  }
  // With a state input (the step graph), the state update S * decay + ... is the new state.
  Operation *newState = nullptr;
  if (stateIn) {
    for (Operation *u : stateIn.getUsers())
      if (isa<ox::MulOp>(u) && seen.contains(u))
        for (Operation *uu : u->getUsers())
          if (isa<ox::AddOp>(uu) && seen.contains(uu)) {
            if (newState && newState != uu) {
              why = "the SSD state feeds two updates";
              return false;
            }
            newState = uu;
          }
    if (!newState) {
      why = "the SSD reads a state but has no update state * decay + input";
      return false;
    }
    for (Operation *u : newState->getUsers())
      if (!seen.contains(u) && !op->isBeforeInBlock(u)) {
        why = "the new SSD state is used before the SSD output";
        return false;
      }
  }
  if (!softplus || !(negA || constA) || !usesB || !usesC || !(hasScan || newState)) {
    std::string missing;
    auto add = [&](bool have, const char *what) {
      if (!have)
        missing += std::string(missing.empty() ? "" : ", ") + what;
    };
    add(softplus, "softplus(dt + dt_bias)");
    add(negA || constA, "A (-exp(A_log) or a negative constant times dt)");
    add(usesB, "B");
    add(usesC, "C");
    add(hasScan || newState, "a CumSum/Einsum scan or a state update");
    why = "the SSD body lacks " + missing;
    return false;
  }
  if (clip && softplusUnclamped) {
    why = "the SSD body reads dt both clamped (node " + nameOf(clip) + ") and unclamped";
    return false;
  }
  auto dtAdd = def<ox::AddOp>(softplusIn);
  if (!dtAdd) {
    why = "softplus input is not dt + dt_bias";
    return false;
  }
  Value dtRaw;
  ElementsAttr dtBias;
  commuted(dtAdd, [&](Value a, Value b) {
    ElementsAttr c = constant(b);
    if (c && isM2(a)) {
      dtRaw = skipIdentity(a);
      dtBias = c;
    }
    return bool(c);
  });
  if (!dtRaw || !isF32Ranked(dtRaw) || rankOf(dtRaw) != 3) {
    why = "dt is not a (batch, length, heads) m2 value";
    return false;
  }
  int64_t h = ranked(dtRaw).getShape()[2];
  auto aLog = negA ? floats(constant(def<ox::ExpOp>(negA.getInput()).getInput())) : constA;
  if (ShapedType::isDynamic(h) || !aLog || static_cast<int64_t>(aLog->size()) != h ||
      dtBias.getShapedType().getNumElements() != h || dAttr.getShapedType().getNumElements() != h) {
    why = "dt_bias, A_log and D do not hold one value per head";
    return false;
  }
  // ngroups from the Reshape of B to (b, l, g, n).
  std::optional<int64_t> g;
  for (Operation *u : Bv.getUsers())
    if (auto r = dyn_cast<ox::ReshapeOp>(u); r && seen.contains(r))
      g = shapeElement(r.getShape(), -2);
  if (!g || *g <= 0 || h % *g) {
    why = "cannot find ngroups from the reshape of B";
    return false;
  }
  int64_t chunk = 0;
  // The chunk length: dimension 2 of the (b, c, t, h, p) reshapes of the chunked form.
  for (Operation *d : seen) {
    auto r = dyn_cast<ox::ReshapeOp>(d);
    auto shapeType = r ? ranked(r.getShape()) : RankedTensorType();
    if (!shapeType || shapeType.getRank() != 1 || shapeType.getDimSize(0) != 5)
      continue;
    if (auto t = shapeElement(r.getShape(), 2); t && *t > 0)
      chunk = *t;
  }
  std::vector<float> A(aLog->size());
  for (size_t i = 0; i < A.size(); ++i)
    A[i] = negA ? -std::exp((*aLog)[i]) : (*aLog)[i];
  Location loc = op.getLoc();
  auto hType = RankedTensorType::get({h}, builder.getF32Type());
  Type stateType;
  if (stateIn) {
    // (b, h, p, n) of this SSD.
    auto st = ranked(stateIn);
    auto xt = ranked(xflat), bt = ranked(Bv);
    if (!st || st.getRank() != 4 || !st.getElementType().isF32() || !xt || !bt ||
        xt.isDynamicDim(2) || bt.isDynamicDim(2) || st.getDimSize(1) != h ||
        st.getDimSize(2) != xt.getDimSize(2) / h || st.getDimSize(3) != bt.getDimSize(2) / *g) {
      why = "the SSD state is not (batch, heads, headdim, d_state)";
      return false;
    }
    stateType = st;
  }
  builder.setInsertionPoint(op);
  auto r = builder.create<m2::SSDOp>(
      loc, xflat.getType(), stateType, xflat, dtRaw, weight(reshape(dtBias, {h}), loc),
      weight(DenseElementsAttr::get(hType, llvm::ArrayRef<float>(A)), loc), Bv, Cv,
      weight(reshape(dAttr, {h}), loc), stateIn, builder.getI64IntegerAttr(*g),
      builder.getI64IntegerAttr(chunk), clip ? builder.getF32FloatAttr(dtMin) : FloatAttr(),
      clip ? builder.getF32FloatAttr(dtMax) : FloatAttr());
  if (newState)
    newState->getResult(0).replaceAllUsesWith(r.getNewState());
  replace(op, r.getY(), "ssd");
  return true;
}

bool Raiser::softplus(Operation *op) {
  Value x = matchSoftplus(op->getResult(0));
  if (!x)
    return false;
  x = skipIdentity(x);
  if (!isM2(x) || !isF32Ranked(x))
    return false;
  builder.setInsertionPoint(op);
  replace(op, builder.create<m2::SoftplusOp>(op->getLoc(), x.getType(), x), "softplus");
  return true;
}

} // namespace mamba2::raise
