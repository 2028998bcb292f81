// raise-onnx-to-m2: RMS norms and gated RMS norms -> m2.rms_norm, m2.gated_rms_norm.
#include "RaiseCommon.h"

namespace mamba2::raise {

std::optional<Raiser::NormCore> Raiser::matchNormCore(Value v, std::string *why) {
  auto say = [&](const std::string &w) -> std::optional<NormCore> {
    if (why && why->empty())
      *why = w;
    return std::nullopt;
  };
  auto mul = def<ox::MulOp>(v);
  if (!mul)
    return say("the normalised value " + node(skipIdentity(v)) +
               " is not x * Reciprocal(Sqrt(mean + eps)) (after onnx-normal-forms)");
  for (auto [xv, rv] : {std::pair{mul.getA(), mul.getB()}, std::pair{mul.getB(), mul.getA()}}) {
    auto rec = def<ox::ReciprocalOp>(rv);
    if (!rec)
      continue;
    Value x = skipIdentity(xv);
    auto sqrt = def<ox::SqrtOp>(rec.getInput());
    if (!sqrt)
      return say("the reciprocal " + node(rec) + " is not of a Sqrt");
    auto add = def<ox::AddOp>(sqrt.getInput());
    if (!add)
      return say("the square root " + node(sqrt) + " is not of mean + eps");
    auto mean = def<ox::ReduceMeanOp>(add.getA());
    Value epsv = add.getB();
    if (!mean && (mean = def<ox::ReduceMeanOp>(add.getB())))
      epsv = add.getA();
    if (!mean)
      return say("the variance " + node(skipIdentity(add.getA())) + " in " + node(add) +
                 " is not a ReduceMean of x * x (after onnx-normal-forms)");
    auto eps = scalarFloat(epsv);
    if (!eps)
      return say("the epsilon " + node(skipIdentity(epsv)) + " added in " + node(add) +
                 " is not a scalar float32 constant");
    if (mean.getKeepdims() != 1)
      return say("the mean " + node(mean) + " does not keep the reduced axis (keepdims 0)");
    if (!mean.getAxes() || mean.getAxes()->size() != 1)
      return say("the mean " + node(mean) + " does not reduce exactly one axis");
    int64_t axis = cast<IntegerAttr>((*mean.getAxes())[0]).getInt();
    // The ONNX rank (a step graph's (b, c) is m2's (b, 1, c)).
    int64_t r = rankOf(mean.getReduced()) > 0 ? rankOf(mean.getReduced()) : rankOf(x);
    if (!(axis == -1 || (r > 0 && axis == r - 1)))
      return say("the mean " + node(mean) + " reduces axis " + std::to_string(axis) +
                 ", not the last (channel) axis");
    auto sq = def<ox::MulOp>(mean.getData());
    if (!sq || skipIdentity(sq.getA()) != x || skipIdentity(sq.getB()) != x)
      return say("the mean " + node(mean) + " is not of x * x for the x that is normalised, " +
                 node(x));
    return NormCore{x, *eps};
  }
  return say("the normalised value " + node(mul) +
             " is not x * Reciprocal(Sqrt(mean + eps)) (after onnx-normal-forms)");
}

std::string Raiser::gateWhy(Value x) {
  auto gate = def<ox::MulOp>(x);
  for (auto [a, b] : {std::pair{gate.getA(), gate.getB()}, std::pair{gate.getB(), gate.getA()}}) {
    Value z = matchSilu(b);
    if (!z)
      continue;
    Value y = skipIdentity(a);
    if (!isM2(y))
      return "its input y " + node(y) + " (gated by silu(z) in " + node(gate) +
             ") was not raised (the SSD's output is expected)";
    if (!isF32Ranked(y) || y.getType() != z.getType())
      return "y " + node(y) + " and z " + node(z) + " of the gate " + node(gate) +
             " are not float32 tensors of one type";
  }
  return "the gate " + node(gate) + " is not y * silu(z)";
}

bool Raiser::norm(ox::MulOp op) {
  ElementsAttr w;
  Value n, wv;
  commuted(op, [&](Value a, Value b) {
    ElementsAttr c = constant(b);
    if (c && c.getShapedType().getRank() == 1 && c.getElementType().isF32()) {
      w = c;
      n = a;
      wv = b;
    }
    return bool(w);
  });
  // A norm is recognised by its normalised value: Mul(x, 1 / sqrt(...)) in any spelling left,
  // or (gated, in groups) a Reshape of one.
  auto inner = [](Value v) -> Value {
    auto r = def<ox::ReshapeOp>(v);
    return r ? r.getData() : Value();
  };
  auto recognised = [&](Value v) {
    Value i = inner(v);
    return looksLikeNormCore(v) || (i && looksLikeNormCore(i));
  };
  // Gated: the normalised value's x (or its groups' input) is y * silu(z).
  auto gatedCore = [&](Value v) {
    if (!looksLikeNormCore(v))
      v = inner(v);
    if (!v)
      return false;
    Operation *d = skipIdentity(v).getDefiningOp();
    return d && llvm::any_of(d->getOperands(), [&](Value o) {
             Value g = inner(o);
             return isGateShaped(o) || (g && isGateShaped(g));
           });
  };
  auto fail = [&](Value core, const std::string &why) {
    bool gated = gatedCore(core);
    if (!gated)
      failedNorms.insert(op); // it starts a layer (or the head) all the same
    return because(op, gated ? "gated norm" : "norm", why);
  };
  if (!w) {
    for (auto [a, b] : {std::pair{op.getA(), op.getB()}, std::pair{op.getB(), op.getA()}})
      if (recognised(a) && !recognised(b))
        return fail(a, "the weight " + node(skipIdentity(b)) +
                           " is not a 1-D float32 constant (one value per channel)");
    // The normalised value of a norm that nothing weighs.
    if (looksLikeNormCore(op.getResult()) && llvm::none_of(op->getUsers(), [](Operation *u) {
          return isa<ox::MulOp, ox::ReshapeOp, ox::IdentityOp>(u);
        }))
      return fail(op.getResult(), "the normalised value is not multiplied by a weight (a 1-D "
                                  "float32 constant)");
    return false;
  }
  if (!recognised(n))
    return false;
  int64_t d = w.getShapedType().getDimSize(0);
  std::string why;
  auto widthWhy = [&](Value x) {
    return "the weight " + node(skipIdentity(wv)) + " holds " + std::to_string(d) +
           " values, but x " + node(x) + " has " +
           (isF32Ranked(x) && !ShapedType::isDynamic(ranked(x).getShape().back())
                ? std::to_string(ranked(x).getShape().back())
                : std::string("an unknown number of")) +
           " channels";
  };
  if (looksLikeNormCore(n)) {
    auto core = matchNormCore(n, &why);
    if (!core)
      return fail(n, why);
    if (!isF32Ranked(core->x) || ranked(core->x).getShape().back() != d)
      return fail(n, widthWhy(core->x));
    // rmsnorm(y * silu(z)) over the whole width: the gated norm with one group.
    if (isGateShaped(core->x)) {
      auto [y, z] = gateOf(core->x);
      if (!y)
        return fail(n, gateWhy(core->x));
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
  // Gated, grouped form: Reshape back of the norm of the groups.
  auto core = matchNormCore(inner(n), &why);
  if (!core)
    return fail(n, why);
  auto grouped = def<ox::ReshapeOp>(core->x);
  if (!grouped || !isGateShaped(grouped.getData()))
    return fail(n, "the normalised groups " + node(core->x) +
                       " are not a Reshape of y * silu(z) into groups");
  auto groupSize = shapeElement(grouped.getShape(), -1);
  if (!groupSize || *groupSize <= 0 || d % *groupSize)
    return fail(n, "the group size (the last dimension of the Reshape " + node(grouped) +
                       ") is not a constant that divides the width " + std::to_string(d));
  auto [y, z] = gateOf(grouped.getData());
  if (!y)
    return fail(n, gateWhy(grouped.getData()));
  if (ranked(y).getShape().back() != d)
    return fail(n, widthWhy(y));
  builder.setInsertionPoint(op);
  Value r = builder.create<m2::GatedRMSNormOp>(
      op.getLoc(), y.getType(), y, z, weight(w, op.getLoc()), builder.getF32FloatAttr(core->eps),
      builder.getI64IntegerAttr(d / *groupSize));
  replace(op, r, "gated_rms_norm");
  return true;
}

} // namespace mamba2::raise
