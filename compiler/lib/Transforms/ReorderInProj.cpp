// m2-reorder-in-proj: in_proj's output channels in the order dt, B, C, x, z (OvlPasses.td;
// docs/passes.md). A permutation of the channels of in_proj and of the conv between them, with
// the splits following, so the function is unchanged.
#include "mamba2/Transforms/OvlPasses.h"

#include <numeric>

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "mamba2/Quant/Constants.h"

namespace mamba2 {
#define GEN_PASS_DEF_M2REORDERINPROJ
#include "mamba2/Transforms/OvlPasses.h.inc"
} // namespace mamba2

using namespace mlir;
namespace m2 = mamba2::m2;
namespace quant = mamba2::quant;

namespace {

/// Rows (dim 0) of `data` [R][per] in the order `perm` (new row i = old row perm[i]).
template <typename T>
std::vector<T> permuteRows(const std::vector<T> &data, const std::vector<int64_t> &perm) {
  const size_t per = data.size() / perm.size();
  std::vector<T> out(data.size());
  for (size_t i = 0; i < perm.size(); ++i)
    std::copy_n(data.begin() + perm[i] * per, per, out.begin() + i * per);
  return out;
}

/// Columns (last dim) of `data` [R][C] in the order `perm`.
std::vector<float> permuteCols(const std::vector<float> &data, const std::vector<int64_t> &perm) {
  const size_t C = perm.size(), R = data.size() / C;
  std::vector<float> out(data.size());
  for (size_t r = 0; r < R; ++r)
    for (size_t c = 0; c < C; ++c)
      out[r * C + c] = data[r * C + perm[c]];
  return out;
}

void append(std::vector<int64_t> &perm, int64_t from, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    perm.push_back(from + i);
}

int64_t lastDim(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  return t.getDimSize(t.getRank() - 1);
}

RankedTensorType withLast(Value like, int64_t n) {
  auto t = cast<RankedTensorType>(like.getType());
  SmallVector<int64_t> s(t.getShape());
  s.back() = n;
  return RankedTensorType::get(s, t.getElementType());
}

/// Reorders the layer of `ssd`; an error on the op that breaks the pattern.
LogicalResult reorder(m2::SSDOp ssd) {
  auto bad = [&](Operation *op, const Twine &why) {
    op->emitError("m2-reorder-in-proj: ") << why;
    return failure();
  };
  auto outer = ssd.getDt().getDefiningOp<m2::SplitOp>();
  if (!outer || outer.getNumResults() != 3)
    return bad(ssd, "dt of m2.ssd is not an output of a three-way m2.split");
  if (ssd.getDt() == outer.getResult(0))
    return success(); // already dt first
  auto inner = ssd.getX().getDefiningOp<m2::SplitOp>();
  if (!inner || inner.getNumResults() != 3 || ssd.getX() != inner.getResult(0) ||
      ssd.getB() != inner.getResult(1) || ssd.getC() != inner.getResult(2))
    return bad(ssd, "x, B and C of m2.ssd are not the three outputs of one m2.split");
  if (ssd.getDt() != outer.getResult(2))
    return bad(ssd, "dt of m2.ssd is not the last output of in_proj's m2.split");
  if (ssd.getState())
    return bad(ssd, "m2.ssd has an explicit state (the step form is not reordered)");
  // inner's input: an element-wise SiLU of the conv of outer's middle output.
  Operation *act = inner.getInput().getDefiningOp();
  if (!act || !isa<m2::PwlOp, m2::SiluOp>(act) || !act->getResult(0).hasOneUse())
    return bad(inner, "its input is not an m2.pwl / m2.silu read by this split only");
  auto conv = act->getOperand(0).getDefiningOp<m2::Conv1dOp>();
  if (!conv || !conv.getOutput().hasOneUse() || conv.getState())
    return bad(act, "its input is not a stateless m2.conv1d read by this op only");
  if (conv.getInput() != outer.getResult(1) || !outer.getResult(1).hasOneUse())
    return bad(conv, "its input is not in_proj's xBC output, read by the conv only");
  Operation *proj = outer.getInput().getDefiningOp();
  if (!proj || !isa<m2::QLinearOp, m2::LinearOp>(proj) || !proj->getResult(0).hasOneUse())
    return bad(outer, "its input is not an m2.qlinear / m2.linear read by this split only");

  const int64_t Z = lastDim(outer.getResult(0)), XBC = lastDim(outer.getResult(1)),
                H = lastDim(outer.getResult(2)), X = lastDim(inner.getResult(0)),
                GN = lastDim(inner.getResult(1));
  if (lastDim(inner.getResult(2)) != GN || X + 2 * GN != XBC)
    return bad(inner, "its sizes do not tile the conv's channels as x, B, C");
  // New order of in_proj's channels: dt, B, C, x, z; of the conv's: B, C, x.
  std::vector<int64_t> rows, chans;
  append(rows, Z + XBC, H);
  append(rows, Z + X, 2 * GN);
  append(rows, Z, X);
  append(rows, 0, Z);
  append(chans, X, 2 * GN);
  append(chans, 0, X);

  OpBuilder b(proj);
  const Location loc = proj->getLoc();
  if (auto q = dyn_cast<m2::QLinearOp>(proj)) {
    auto w = quant::readI8(q.getWeight());
    auto s = quant::readI32(q.getScales());
    auto o = quant::readF32(q.getOutScale());
    if (!w || !s || !o)
      return bad(q, "its weight, scales and out_scale must be constants");
    q.getWeightMutable().assign(
        quant::makeI8(b, loc, quant::shapeOf(q.getWeight()), permuteRows(*w, rows)));
    q.getScalesMutable().assign(
        quant::makeI32(b, loc, quant::shapeOf(q.getScales()), permuteRows(*s, rows)));
    q.getOutScaleMutable().assign(
        quant::makeF32(b, loc, quant::shapeOf(q.getOutScale()), permuteRows(*o, rows)));
  } else {
    auto l = cast<m2::LinearOp>(proj);
    auto w = quant::readF32(l.getWeight());
    if (!w)
      return bad(l, "its weight must be a constant");
    l.getWeightMutable().assign(
        quant::makeF32(b, loc, quant::shapeOf(l.getWeight()), permuteCols(*w, rows)));
  }
  auto cw = quant::readF32(conv.getWeight()), cb = quant::readF32(conv.getBias());
  if (!cw || !cb)
    return bad(conv, "its weight and bias must be constants");
  b.setInsertionPoint(conv);
  conv.getWeightMutable().assign(
      quant::makeF32(b, conv.getLoc(), quant::shapeOf(conv.getWeight()), permuteRows(*cw, chans)));
  conv.getBiasMutable().assign(
      quant::makeF32(b, conv.getLoc(), quant::shapeOf(conv.getBias()), permuteRows(*cb, chans)));
  // The conv's per-channel attributes follow its channels: the exponents of m2-quantize-ssm's
  // per-group formats (quant.in_exp, quant.w_exp: dense [C]) and the calibration's
  // calib.in_channel_absmax. Left in the old order, each channel would read another's format.
  const int64_t C = XBC;
  for (NamedAttribute a : llvm::to_vector(conv->getAttrs())) {
    auto d = dyn_cast<DenseElementsAttr>(a.getValue());
    if (!d || d.getType().getRank() != 1 || d.getNumElements() != C || d.isSplat())
      continue;
    std::vector<Attribute> vals(d.value_begin<Attribute>(), d.value_end<Attribute>());
    conv->setAttr(a.getName(), DenseElementsAttr::get(d.getType(), permuteRows(vals, chans)));
  }

  // The splits in the new order; every reader keeps reading the same values.
  b.setInsertionPoint(outer);
  auto o2 =
      b.create<m2::SplitOp>(outer.getLoc(),
                            TypeRange{withLast(outer.getResult(2), H), outer.getResult(1).getType(),
                                      withLast(outer.getResult(0), Z)},
                            outer.getInput(), b.getDenseI64ArrayAttr({H, XBC, Z}));
  outer.getResult(0).replaceAllUsesWith(o2.getResult(2));
  outer.getResult(1).replaceAllUsesWith(o2.getResult(1));
  outer.getResult(2).replaceAllUsesWith(o2.getResult(0));
  outer.erase();
  b.setInsertionPoint(inner);
  auto i2 =
      b.create<m2::SplitOp>(inner.getLoc(),
                            TypeRange{inner.getResult(1).getType(), inner.getResult(2).getType(),
                                      inner.getResult(0).getType()},
                            inner.getInput(), b.getDenseI64ArrayAttr({GN, GN, X}));
  inner.getResult(0).replaceAllUsesWith(i2.getResult(2));
  inner.getResult(1).replaceAllUsesWith(i2.getResult(0));
  inner.getResult(2).replaceAllUsesWith(i2.getResult(1));
  inner.erase();
  return success();
}

struct ReorderInProjPass : mamba2::impl::M2ReorderInProjBase<ReorderInProjPass> {
  using M2ReorderInProjBase::M2ReorderInProjBase;
  void runOnOperation() override {
    SmallVector<m2::SSDOp> ssds;
    getOperation().walk([&](m2::SSDOp s) { ssds.push_back(s); });
    for (m2::SSDOp s : ssds)
      if (failed(reorder(s)))
        return signalPassFailure();
    quant::eraseDeadConstants(getOperation());
  }
};

} // namespace
