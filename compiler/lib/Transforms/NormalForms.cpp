// onnx-normal-forms: one spelling per function for the blocks the raising matches. Each pattern
// rewrites a form into an equivalent one that computes the same values (in float32, up to the
// rounding of a reordered sum or a reciprocal). The families: softplus, SiLU, RMS norm
// (Mul(x, Reciprocal(Sqrt(Add(ReduceMean(Mul(x, x)), eps))))), linear (MatMul(x, W) of a constant
// (in, out) W), causal depthwise conv (Transpose(Conv(Transpose(x), pads [k-1, 0]))) and shape
// expressions (Gather(Shape(x), i)); between rounds of the patterns, refineTypes gives results the
// types their operands determine. The matchers the raising shares (canonicalDim, sameDim,
// causalSliceOfConv) are declared in RaiseCommon.h.
#include "mamba2/Transforms/NormalForms.h"

#include <deque>
#include <limits>
#include <type_traits>

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "RaiseCommon.h"

#include "mamba2/Transforms/Passes.h"

namespace mamba2 {
#define GEN_PASS_DEF_ONNXNORMALFORMS
#include "mamba2/Transforms/Passes.h.inc"
} // namespace mamba2

using namespace mlir;
namespace ox = mamba2::onnxir;
using mamba2::raise::constant;
using mamba2::raise::DimRef;
using mamba2::raise::floats;
using mamba2::raise::ints;
using mamba2::raise::ranked;
using mamba2::raise::rankOf;
using mamba2::raise::transposed;

//===----------------------------------------------------------------------===//
// Matchers shared with the raising (declared in RaiseCommon.h)
//===----------------------------------------------------------------------===//

namespace mamba2::raise {

std::optional<DimRef> canonicalDim(Value v) {
  auto g = v.getDefiningOp<ox::GatherOp>();
  auto sh = g ? g.getData().getDefiningOp<ox::ShapeOp>() : ox::ShapeOp();
  if (!sh || sh.getStart() || sh.getEnd() || g.getAxis() != 0 || rankOf(g.getIndices()) > 1 ||
      !g.getIndices().getDefiningOp<ox::ConstantOp>())
    return std::nullopt;
  auto idx = ints(g.getIndices());
  int64_t r = rankOf(sh.getData());
  if (!idx || idx->size() != 1 || (*idx)[0] < 0 || (r >= 0 && (*idx)[0] >= r))
    return std::nullopt;
  return DimRef{sh.getData(), (*idx)[0]};
}

namespace {

using DimKey = std::pair<Value, int64_t>;

/// Constant axes, normalised against `rank`.
std::optional<std::vector<int64_t>> axesOf(std::optional<std::vector<int64_t>> axes, int64_t rank) {
  if (!axes)
    return std::nullopt;
  for (int64_t &a : *axes)
    if (a < 0)
      a += rank;
  return axes;
}

/// The (value, dimension) pairs that dimension `d` of `v` is computed from with its size kept.
void dimSources(Value v, int64_t d, llvm::SmallVectorImpl<DimKey> &out) {
  Operation *op = v.getDefiningOp();
  auto vt = ranked(v);
  if (!op || !vt || d < 0 || d >= vt.getRank())
    return;
  int64_t r = vt.getRank();
  // An operand of an elementwise op (numpy broadcasting): its aligned dimension, unless it is a
  // static 1 broadcast to more.
  auto aligned = [&](Value p) {
    auto t = ranked(p);
    if (!t)
      return;
    int64_t pd = d - (r - t.getRank());
    if (pd < 0 || pd >= t.getRank())
      return;
    if (!t.isDynamicDim(pd) && t.getDimSize(pd) == 1 && vt.getDimSize(d) != 1)
      return;
    out.push_back({p, pd});
  };
  auto notIn = [&](std::optional<std::vector<int64_t>> axes) {
    return axes && !llvm::is_contained(*axes, d);
  };
  if (isa<ox::IdentityOp, ox::CastOp, ox::SigmoidOp, ox::SqrtOp, ox::ReciprocalOp, ox::NegOp,
          ox::ExpOp, ox::LogOp, ox::SoftplusOp, ox::TanhOp, ox::ReluOp, ox::ClipOp>(op)) {
    aligned(op->getOperand(0));
  } else if (isa<ox::AddOp, ox::SubOp, ox::MulOp, ox::DivOp, ox::PowOp, ox::WhereOp>(op)) {
    for (Value p : op->getOperands())
      aligned(p);
  } else if (auto mm = dyn_cast<ox::MatMulOp>(op)) {
    if (rankOf(mm.getA()) == r && d < r - 1)
      out.push_back({mm.getA(), d});
    if (rankOf(mm.getB()) == 2 && d == r - 1)
      out.push_back({mm.getB(), 1});
  } else if (auto t = dyn_cast<ox::TransposeOp>(op)) {
    if (rankOf(t.getData()) != r)
      return;
    auto p = t.getPerm();
    out.push_back({t.getData(), p ? cast<IntegerAttr>((*p)[d]).getInt() : r - 1 - d});
  } else if (auto s = dyn_cast<ox::SplitOp>(op)) {
    int64_t a = s.getAxis() < 0 ? s.getAxis() + r : s.getAxis();
    if (a != d && rankOf(s.getInput()) == r)
      out.push_back({s.getInput(), d});
  } else if (auto s = dyn_cast<ox::SliceOp>(op)) {
    if (rankOf(s.getData()) == r && !isa<NoneType>(s.getAxes().getType()) &&
        notIn(axesOf(ints(s.getAxes()), r)))
      out.push_back({s.getData(), d});
  } else if (auto m = dyn_cast<ox::ReduceMeanOp>(op)) {
    if (m.getKeepdims() == 1 && m.getAxes() && rankOf(m.getData()) == r) {
      std::vector<int64_t> axes;
      ArrayAttr reduced = *m.getAxes(); // not the temporary optional's
      for (Attribute a : reduced)
        axes.push_back(cast<IntegerAttr>(a).getInt());
      if (notIn(axesOf(axes, r)))
        out.push_back({m.getData(), d});
    }
  } else if (auto m = dyn_cast<ox::ReduceSumOp>(op)) {
    if (m.getKeepdims() == 1 && !isa<NoneType>(m.getAxes().getType()) && rankOf(m.getData()) == r &&
        notIn(axesOf(ints(m.getAxes()), r)))
      out.push_back({m.getData(), d});
  } else if (auto g = dyn_cast<ox::GatherOp>(op)) {
    int64_t ri = rankOf(g.getIndices()), rd = rankOf(g.getData());
    int64_t a = g.getAxis() < 0 ? g.getAxis() + rd : g.getAxis();
    if (ri < 0 || rd < 0 || ri + rd - 1 != r)
      return;
    if (d < a)
      out.push_back({g.getData(), d});
    else if (d < a + ri)
      out.push_back({g.getIndices(), d - a});
    else
      out.push_back({g.getData(), d - ri + 1});
  } else if (auto p = dyn_cast<ox::PadOp>(op)) {
    auto pads = ints(p.getPads());
    if (rankOf(p.getData()) == r && pads && static_cast<int64_t>(pads->size()) == 2 * r &&
        (*pads)[d] == 0 && (*pads)[r + d] == 0)
      out.push_back({p.getData(), d});
  } else if (auto c = dyn_cast<ox::ConcatOp>(op)) {
    int64_t a = c.getAxis() < 0 ? c.getAxis() + r : c.getAxis();
    if (a != d)
      for (Value p : c.getInputs())
        if (rankOf(p) == r)
          out.push_back({p, d});
  } else if (auto cv = dyn_cast<ox::ConvOp>(op)) {
    if (d == 0 && rankOf(cv.getX()) == r)
      out.push_back({cv.getX(), 0});
  } else if (isa<mamba2::m2::M2Dialect>(op->getDialect()) && op->getNumOperands() > 0 && d < 2 &&
             rankOf(op->getOperand(0)) >= 2) {
    // m2 activations (batch, length, ...) keep the batch and length of their first operand
    // (the ids (batch, length) of m2.embedding).
    out.push_back({op->getOperand(0), d});
  }
}

/// `(v, d)` and what it is computed from, breadth first, at most 256 pairs.
llvm::DenseSet<DimKey> dimClosure(Value v, int64_t d) {
  llvm::DenseSet<DimKey> seen;
  std::deque<DimKey> work{{v, d}};
  while (!work.empty() && seen.size() < 256) {
    DimKey k = work.front();
    work.pop_front();
    if (!seen.insert(k).second)
      continue;
    llvm::SmallVector<DimKey> next;
    dimSources(k.first, k.second, next);
    work.insert(work.end(), next.begin(), next.end());
  }
  return seen;
}

} // namespace

bool sameDim(Value a, int64_t da, Value b, int64_t db) {
  if (a == b && da == db)
    return true;
  auto ta = ranked(a), tb = ranked(b);
  if (!ta || !tb || da < 0 || db < 0 || da >= ta.getRank() || db >= tb.getRank())
    return false;
  if (!ta.isDynamicDim(da) && !tb.isDynamicDim(db))
    return ta.getDimSize(da) == tb.getDimSize(db);
  auto sa = dimClosure(a, da);
  for (const DimKey &k : dimClosure(b, db))
    if (sa.contains(k))
      return true;
  return false;
}

} // namespace mamba2::raise

namespace {

/// The single float value of a constant operand, if it is one.
std::optional<double> scalarConstant(Value v) {
  auto c = v.getDefiningOp<ox::ConstantOp>();
  if (!c)
    return std::nullopt;
  auto d = dyn_cast<DenseFPElementsAttr>(c.getValue());
  if (!d || d.getNumElements() != 1)
    return std::nullopt;
  return d.getSplatValue<APFloat>().convertToDouble(); // one element: a splat
}

/// True when `a` is absent or holds exactly `want`.
bool attrIs(std::optional<ArrayAttr> a, llvm::ArrayRef<int64_t> want) {
  if (!a)
    return true;
  if (a->size() != want.size())
    return false;
  for (auto [x, y] : llvm::zip(*a, want))
    if (cast<IntegerAttr>(x).getInt() != y)
      return false;
  return true;
}

/// A Slice's steps are absent or 1.
bool unitSteps(ox::SliceOp s) {
  if (isa<NoneType>(s.getSteps().getType()))
    return true;
  auto steps = ints(s.getSteps());
  return steps && steps->size() == 1 && (*steps)[0] == 1;
}

/// A one-element integer value as `dim + offset` (dim a canonical dimension, or none for a
/// constant), through Add, Sub of a constant and one-element views.
struct Affine {
  std::optional<DimRef> dim;
  int64_t offset = 0;
};
std::optional<Affine> affineDim(Value v, int depth = 0) {
  auto t = ranked(v);
  if (depth > 8 || !t || !t.hasStaticShape() || t.getNumElements() != 1)
    return std::nullopt;
  if (auto c = ints(v))
    return Affine{std::nullopt, (*c)[0]};
  if (auto d = mamba2::raise::canonicalDim(v))
    return Affine{d, 0};
  Operation *op = v.getDefiningOp();
  if (!op)
    return std::nullopt;
  if (isa<ox::UnsqueezeOp, ox::SqueezeOp, ox::ReshapeOp, ox::CastOp, ox::IdentityOp>(op))
    return affineDim(op->getOperand(0), depth + 1);
  if (isa<ox::AddOp, ox::SubOp>(op)) {
    auto a = affineDim(op->getOperand(0), depth + 1), b = affineDim(op->getOperand(1), depth + 1);
    if (!a || !b || (b->dim && (a->dim || isa<ox::SubOp>(op))))
      return std::nullopt;
    return Affine{a->dim ? a->dim : b->dim,
                  isa<ox::SubOp>(op) ? a->offset - b->offset : a->offset + b->offset};
  }
  return std::nullopt;
}

/// `Where(Greater(x, T), x, Softplus(x))` -> `Softplus(x)` for f32 x and a constant T >= 16:
/// above 16, log(1 + exp(x)) = x + log1p(exp(-x)) differs from x by less than exp(-16) < 2^-23,
/// half an ulp of x, so float32 softplus already returns x there.
struct SoftplusThreshold : OpRewritePattern<ox::WhereOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::WhereOp op, PatternRewriter &rewriter) const override {
    auto gt = op.getCondition().getDefiningOp<ox::GreaterOp>();
    if (!gt)
      return rewriter.notifyMatchFailure(op, "the condition is not a Greater");
    auto sp = op.getY().getDefiningOp<ox::SoftplusOp>();
    if (!sp)
      return rewriter.notifyMatchFailure(op, "the else branch is not a Softplus");
    Value x = sp.getInput();
    auto t = scalarConstant(gt.getB());
    if (gt.getA() != x || op.getX() != x || !t)
      return rewriter.notifyMatchFailure(op, "not x > T ? x : softplus(x) of one x");
    auto xt = dyn_cast<TensorType>(x.getType());
    if (!xt || !xt.getElementType().isF32() || !(*t >= 16.0))
      return rewriter.notifyMatchFailure(op, "threshold below 16 or not float32");
    if (op.getType() != sp.getType())
      return rewriter.notifyMatchFailure(op, "the Where broadcasts");
    rewriter.replaceOp(op, sp.getResult());
    return success();
  }
};

/// The x of `1 + Exp(x)` (either operand order, the one a scalar constant) when the sum keeps
/// the Exp's type (no broadcast), else null.
Value onePlusExpOf(Value v) {
  auto add = v.getDefiningOp<ox::AddOp>();
  if (!add)
    return {};
  for (auto [e, c] : {std::pair{add.getA(), add.getB()}, std::pair{add.getB(), add.getA()}}) {
    auto exp = e.getDefiningOp<ox::ExpOp>();
    auto one = scalarConstant(c);
    if (exp && one && *one == 1.0 && exp.getType() == add.getType())
      return exp.getInput();
  }
  return {};
}

/// `Log(1 + Exp(x))` -> `Softplus(x)` for float32 x (the same function; ONNX's Softplus is
/// defined as log(exp(x) + 1)).
struct LogOnePlusExp : OpRewritePattern<ox::LogOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::LogOp op, PatternRewriter &rewriter) const override {
    Value x = onePlusExpOf(op.getInput());
    auto xt = x ? dyn_cast<TensorType>(x.getType()) : TensorType();
    if (!xt || !xt.getElementType().isF32() || x.getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "not log(1 + exp(x)) of one float32 x");
    rewriter.replaceOpWithNewOp<ox::SoftplusOp>(op, op.getType(), x);
    return success();
  }
};

/// `1 / (1 + Exp(-x))` (a Div of one or a Reciprocal) -> `Sigmoid(x)`, and `x / (1 + Exp(-x))`
/// -> `x * Sigmoid(x)` (SiLU), for float32 x.
template <typename OpT> struct SigmoidSpelled : OpRewritePattern<OpT> {
  using OpRewritePattern<OpT>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpT op, PatternRewriter &rewriter) const override {
    Value den, num;
    if constexpr (std::is_same_v<OpT, ox::DivOp>) {
      den = op.getB();
      num = op.getA();
    } else {
      den = op.getInput();
    }
    Value negX = onePlusExpOf(den);
    auto neg = negX ? negX.getDefiningOp<ox::NegOp>() : ox::NegOp();
    if (!neg)
      return rewriter.notifyMatchFailure(op, "not 1 / (1 + exp(-x))");
    Value x = neg.getInput();
    auto xt = dyn_cast<TensorType>(x.getType());
    if (!xt || !xt.getElementType().isF32() || x.getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "x is not float32 of the result's type");
    if (num && num == x) { // x / (1 + exp(-x)): SiLU
      Value sig = rewriter.create<ox::SigmoidOp>(op.getLoc(), op.getType(), x);
      rewriter.replaceOpWithNewOp<ox::MulOp>(op, op.getType(), x, sig);
      return success();
    }
    if (auto one = num ? scalarConstant(num) : std::optional<double>(1.0); !one || *one != 1.0)
      return rewriter.notifyMatchFailure(op, "the numerator is neither one nor x");
    rewriter.replaceOpWithNewOp<ox::SigmoidOp>(op, op.getType(), x);
    return success();
  }
};

/// `Transpose(s * Sigmoid(s))` -> `t * Sigmoid(t)` with `t = Transpose(s)`.
struct TransposeOfSilu : OpRewritePattern<ox::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::TransposeOp op, PatternRewriter &rewriter) const override {
    auto mul = op.getData().getDefiningOp<ox::MulOp>();
    if (!mul)
      return rewriter.notifyMatchFailure(op, "the input is not a Mul");
    Value s;
    for (auto [a, b] : {std::pair{mul.getA(), mul.getB()}, std::pair{mul.getB(), mul.getA()}})
      if (auto sig = b.getDefiningOp<ox::SigmoidOp>(); sig && sig.getInput() == a)
        s = a;
    if (!s || s.getType() != mul.getType())
      return rewriter.notifyMatchFailure(op, "not s * Sigmoid(s) without broadcasting");
    Location loc = op.getLoc();
    Value t = rewriter.create<ox::TransposeOp>(loc, op.getType(), s, op.getPermAttr());
    Value sig = rewriter.create<ox::SigmoidOp>(mul.getLoc(), op.getType(), t);
    rewriter.replaceOpWithNewOp<ox::MulOp>(op, op.getType(), t, sig);
    return success();
  }
};

/// `Mul(x, 1)` -> `x` where the ones do not broadcast x to a larger shape (torch writes
/// `torch.reciprocal(v)` as `Reciprocal(v) * 1`).
struct MulByOne : OpRewritePattern<ox::MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::MulOp op, PatternRewriter &rewriter) const override {
    for (auto [x, c] : {std::pair{op.getA(), op.getB()}, std::pair{op.getB(), op.getA()}}) {
      auto k = c.getDefiningOp<ox::ConstantOp>();
      auto d = k ? dyn_cast<DenseFPElementsAttr>(k.getValue()) : DenseFPElementsAttr();
      if (!d ||
          !llvm::all_of(d.getValues<APFloat>(), [](APFloat v) { return v.isExactlyValue(1.0); }))
        continue;
      auto ct = cast<ShapedType>(c.getType());
      auto xt = dyn_cast<RankedTensorType>(x.getType());
      bool noBroadcast = llvm::all_of(ct.getShape(), [](int64_t n) { return n == 1; }) &&
                         (ct.getRank() == 0 || (xt && ct.getRank() <= xt.getRank()));
      if (!noBroadcast || (x.getType() != op.getType() && !isa<UnrankedTensorType>(op.getType())))
        continue;
      if (cast<TensorType>(x.getType()).getElementType() !=
          cast<TensorType>(op.getType()).getElementType())
        continue;
      // A value of another (more precise) type may only flow into onnx ops, which accept any.
      if (x.getType() != op.getType() && llvm::any_of(op->getUsers(), [](Operation *u) {
            return !isa<ox::OnnxDialect>(u->getDialect());
          }))
        continue;
      rewriter.replaceOp(op, x);
      return success();
    }
    return rewriter.notifyMatchFailure(op, "no operand of ones that keeps the shape");
  }
};

/// `Pow(v, 0.5)` -> `Sqrt(v)` and `Pow(v, -0.5)` -> `Reciprocal(Sqrt(v))` for float32 v (the
/// RMS norm's 1 / sqrt(mean + eps) written as a power; equal up to the rounding of powf).
struct PowOfHalf : OpRewritePattern<ox::PowOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::PowOp op, PatternRewriter &rewriter) const override {
    auto e = scalarConstant(op.getB());
    auto vt = dyn_cast<TensorType>(op.getA().getType());
    if (!e || !(*e == 0.5 || *e == -0.5) || !vt || !vt.getElementType().isF32() ||
        op.getA().getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "not a float32 power of 0.5 or -0.5 of one tensor");
    Value r = rewriter.create<ox::SqrtOp>(op.getLoc(), op.getType(), op.getA());
    if (*e < 0)
      r = rewriter.create<ox::ReciprocalOp>(op.getLoc(), op.getType(), r);
    rewriter.replaceOp(op, r);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Types: as precise as the operands make them
//===----------------------------------------------------------------------===//

constexpr int64_t kDyn = ShapedType::kDynamic;

/// The numpy broadcast of shapes with dynamic dimensions (a dynamic one is taken not to be a
/// 1 that stretches, as `sameDim` does); nullopt when two static dimensions conflict.
std::optional<llvm::SmallVector<int64_t>> broadcastDyn(llvm::ArrayRef<RankedTensorType> ts) {
  size_t r = 0;
  for (RankedTensorType t : ts)
    r = std::max<size_t>(r, t.getRank());
  llvm::SmallVector<int64_t> out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    bool dynamic = false;
    for (RankedTensorType t : ts) {
      size_t off = r - t.getRank();
      if (i < off)
        continue;
      int64_t d = t.getDimSize(i - off);
      if (ShapedType::isDynamic(d))
        dynamic = true;
      else if (d != 1) {
        if (out[i] != 1 && out[i] != d)
          return std::nullopt;
        out[i] = d;
      }
    }
    if (dynamic && out[i] == 1)
      out[i] = kDyn;
  }
  return out;
}

/// The shape of result `k` of `op` from its operands' types, for the ops whose shape follows
/// from them without reading data (constants for pads, axes, sizes, perm).
std::optional<llvm::SmallVector<int64_t>> inferShape(Operation *op, unsigned k) {
  auto in = [&](unsigned i) { return ranked(op->getOperand(i)); };
  auto copy = [](RankedTensorType t) {
    return t ? std::optional(llvm::SmallVector<int64_t>(t.getShape())) : std::nullopt;
  };
  auto norm = [](int64_t a, int64_t r) { return a < 0 ? a + r : a; };
  if (isa<ox::IdentityOp, ox::CastOp, ox::SigmoidOp, ox::SqrtOp, ox::ReciprocalOp, ox::NegOp,
          ox::ExpOp, ox::LogOp, ox::SoftplusOp, ox::TanhOp, ox::ReluOp, ox::ClipOp, ox::CumSumOp,
          ox::TriluOp>(op))
    return copy(in(0));
  if (isa<ox::AddOp, ox::SubOp, ox::MulOp, ox::DivOp, ox::PowOp, ox::WhereOp>(op)) {
    llvm::SmallVector<RankedTensorType> ts;
    for (Value v : op->getOperands()) {
      if (!ranked(v))
        return std::nullopt;
      ts.push_back(ranked(v));
    }
    return broadcastDyn(ts);
  }
  if (auto p = dyn_cast<ox::PadOp>(op)) {
    auto t = in(0);
    auto pads = ints(p.getPads());
    if (!t || !pads || static_cast<int64_t>(pads->size()) != 2 * t.getRank())
      return std::nullopt;
    llvm::SmallVector<int64_t> s(t.getShape());
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (!ShapedType::isDynamic(s[i]))
        s[i] += (*pads)[i] + (*pads)[i + t.getRank()];
    return s;
  }
  if (auto sl = dyn_cast<ox::SliceOp>(op)) {
    auto t = in(0);
    if (!t)
      return std::nullopt;
    llvm::SmallVector<int64_t> s(t.getShape());
    auto axes = isa<NoneType>(sl.getAxes().getType()) ? std::nullopt : ints(sl.getAxes());
    if (axes)
      for (int64_t a : *axes)
        if (norm(a, t.getRank()) >= 0 && norm(a, t.getRank()) < t.getRank())
          s[norm(a, t.getRank())] = kDyn;
    if (!axes)
      s.assign(s.size(), kDyn);
    return s;
  }
  if (isa<ox::UnsqueezeOp, ox::SqueezeOp>(op)) {
    auto t = in(0);
    auto axes = op->getNumOperands() > 1 ? ints(op->getOperand(1)) : std::nullopt;
    if (!t || !axes)
      return std::nullopt;
    llvm::SmallVector<int64_t> s(t.getShape());
    if (isa<ox::UnsqueezeOp>(op)) {
      int64_t r = t.getRank() + static_cast<int64_t>(axes->size());
      std::vector<int64_t> at;
      for (int64_t a : *axes)
        at.push_back(norm(a, r));
      std::sort(at.begin(), at.end());
      for (int64_t a : at) {
        if (a < 0 || a > static_cast<int64_t>(s.size()))
          return std::nullopt;
        s.insert(s.begin() + a, 1);
      }
      return s;
    }
    std::vector<int64_t> at;
    for (int64_t a : *axes)
      at.push_back(norm(a, t.getRank()));
    std::sort(at.rbegin(), at.rend());
    for (int64_t a : at) {
      if (a < 0 || a >= static_cast<int64_t>(s.size()))
        return std::nullopt;
      s.erase(s.begin() + a);
    }
    return s;
  }
  if (auto c = dyn_cast<ox::ConcatOp>(op)) {
    auto t = in(0);
    if (!t)
      return std::nullopt;
    int64_t r = t.getRank(), a = norm(c.getAxis(), r);
    if (a < 0 || a >= r)
      return std::nullopt;
    llvm::SmallVector<int64_t> s(r, kDyn);
    int64_t sum = 0;
    for (Value v : c.getInputs()) {
      auto vt = ranked(v);
      if (!vt || vt.getRank() != r)
        return std::nullopt;
      sum = (sum == kDyn || vt.isDynamicDim(a)) ? kDyn : sum + vt.getDimSize(a);
      for (int64_t i = 0; i < r; ++i)
        if (i != a && !vt.isDynamicDim(i))
          s[i] = vt.getDimSize(i);
    }
    s[a] = sum;
    return s;
  }
  if (auto sp = dyn_cast<ox::SplitOp>(op)) {
    auto t = in(0);
    if (!t)
      return std::nullopt;
    int64_t a = norm(sp.getAxis(), t.getRank());
    if (a < 0 || a >= t.getRank())
      return std::nullopt;
    llvm::SmallVector<int64_t> s(t.getShape());
    auto sizes = isa<NoneType>(sp.getSplit().getType()) ? std::nullopt : ints(sp.getSplit());
    if (sizes && k < sizes->size())
      s[a] = (*sizes)[k];
    else if (!sizes && !t.isDynamicDim(a) && t.getDimSize(a) % op->getNumResults() == 0)
      s[a] = t.getDimSize(a) / op->getNumResults();
    else
      s[a] = kDyn;
    return s;
  }
  if (auto mm = dyn_cast<ox::MatMulOp>(op)) {
    auto a = in(0), b = in(1);
    if (!a || !b || a.getRank() < 2 || b.getRank() < 2)
      return std::nullopt;
    auto batch =
        broadcastDyn({RankedTensorType::get(a.getShape().drop_back(2), a.getElementType()),
                      RankedTensorType::get(b.getShape().drop_back(2), b.getElementType())});
    if (!batch)
      return std::nullopt;
    batch->push_back(a.getDimSize(a.getRank() - 2));
    batch->push_back(b.getDimSize(b.getRank() - 1));
    return batch;
  }
  if (isa<ox::ReduceSumOp, ox::ReduceMeanOp>(op)) {
    auto t = in(0);
    std::optional<std::vector<int64_t>> axes;
    int64_t keep = 1;
    if (auto m = dyn_cast<ox::ReduceMeanOp>(op)) {
      keep = m.getKeepdims();
      if (m.getAxesAttr()) {
        axes.emplace();
        for (Attribute x : m.getAxesAttr())
          axes->push_back(cast<IntegerAttr>(x).getInt());
      }
    } else {
      auto s = cast<ox::ReduceSumOp>(op);
      keep = s.getKeepdims();
      if (!isa<NoneType>(s.getAxes().getType()))
        axes = ints(s.getAxes());
    }
    if (!t || !axes || axes->empty())
      return std::nullopt;
    llvm::SmallVector<int64_t> s;
    for (int64_t i = 0; i < t.getRank(); ++i) {
      bool reduced = llvm::any_of(*axes, [&](int64_t a) { return norm(a, t.getRank()) == i; });
      if (!reduced)
        s.push_back(t.getDimSize(i));
      else if (keep)
        s.push_back(1);
    }
    return s;
  }
  if (auto tr = dyn_cast<ox::TransposeOp>(op)) {
    auto t = in(0);
    if (!t)
      return std::nullopt;
    llvm::SmallVector<int64_t> s;
    auto perm = tr.getPermAttr();
    if (perm && static_cast<int64_t>(perm.size()) != t.getRank())
      return std::nullopt;
    for (int64_t i = 0; i < t.getRank(); ++i)
      s.push_back(t.getDimSize(perm ? cast<IntegerAttr>(perm[i]).getInt() : t.getRank() - 1 - i));
    return s;
  }
  if (auto rs = dyn_cast<ox::ReshapeOp>(op)) {
    auto st = ranked(rs.getShape());
    if (!st || st.getRank() != 1 || st.isDynamicDim(0))
      return std::nullopt;
    auto t = in(0);
    llvm::SmallVector<int64_t> s;
    for (int64_t i = 0; i < st.getDimSize(0); ++i) {
      auto e = mamba2::raise::shapeElement(rs.getShape(), i);
      if (e && *e > 0)
        s.push_back(*e);
      else if (e && *e == 0 && rs.getAllowzero())
        s.push_back(0);
      else if (e && *e == 0 && t && i < t.getRank())
        s.push_back(t.getDimSize(i));
      else
        s.push_back(kDyn);
    }
    return s;
  }
  return std::nullopt;
}

/// Gives each result of an onnx op whose type knows less than its operands say (unranked, or
/// dynamic where the inferred dimension is static) the inferred type, where its users accept any
/// type (onnx ops). One walk in order, so a chain is refined at once. Returns whether any changed.
bool refineTypes(func::FuncOp f) {
  bool changed = false;
  for (Operation &op : f.getBody().front()) {
    if (!isa<ox::OnnxDialect>(op.getDialect()))
      continue;
    for (unsigned k = 0; k < op.getNumResults(); ++k) {
      Value res = op.getResult(k);
      auto old = dyn_cast<TensorType>(res.getType());
      if (!old || (old.hasRank() && old.hasStaticShape()))
        continue;
      auto s = inferShape(&op, k);
      if (!s)
        continue;
      if (old.hasRank()) {
        if (old.getRank() != static_cast<int64_t>(s->size()))
          continue;
        bool more = false, conflict = false;
        for (int64_t i = 0; i < old.getRank(); ++i) {
          int64_t o = old.getDimSize(i), n = (*s)[i];
          if (!ShapedType::isDynamic(o) && o != n)
            conflict = true;
          more |= ShapedType::isDynamic(o) && !ShapedType::isDynamic(n);
        }
        if (conflict || !more)
          continue;
      }
      if (llvm::any_of(res.getUsers(),
                       [](Operation *u) { return !isa<ox::OnnxDialect>(u->getDialect()); }))
        continue;
      res.setType(RankedTensorType::get(*s, old.getElementType()));
      changed = true;
    }
  }
  return changed;
}

//===----------------------------------------------------------------------===//
// RMS norm: x * Reciprocal(Sqrt(Add(ReduceMean(Mul(x, x), last axis, keepdims 1), eps)))
//===----------------------------------------------------------------------===//

bool isF32(Value v) {
  auto t = dyn_cast<TensorType>(v.getType());
  return t && t.getElementType().isF32();
}

/// `Pow(x, 2)` -> `Mul(x, x)` for float32 x (the square of an RMS norm's mean).
struct SquareAsMul : OpRewritePattern<ox::PowOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::PowOp op, PatternRewriter &rewriter) const override {
    auto e = scalarConstant(op.getB());
    if (!e || *e != 2.0 || !isF32(op.getA()) || op.getA().getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "not a float32 square of one tensor");
    rewriter.replaceOpWithNewOp<ox::MulOp>(op, op.getType(), op.getA(), op.getA());
    return success();
  }
};

/// `ReduceSum(v, axes) / N` and `ReduceSum(v, axes) * (1 / N)`, N the number of elements summed
/// (static), -> `ReduceMean(v, axes)`.
LogicalResult sumOverCount(Operation *op, ox::ReduceSumOp rs, double by, bool divides,
                           PatternRewriter &rewriter) {
  auto vt = ranked(rs.getData());
  if (!vt || !vt.getElementType().isF32() || isa<NoneType>(rs.getAxes().getType()) ||
      rs.getType() != op->getResult(0).getType())
    return rewriter.notifyMatchFailure(op, "not a float32 sum over constant axes");
  auto axes = ints(rs.getAxes());
  if (!axes || axes->empty())
    return rewriter.notifyMatchFailure(op, "the summed axes are not constant");
  int64_t n = 1;
  for (int64_t a : *axes) {
    int64_t d = a < 0 ? a + vt.getRank() : a;
    if (d < 0 || d >= vt.getRank() || vt.isDynamicDim(d))
      return rewriter.notifyMatchFailure(op, "a summed axis is not static");
    n *= vt.getDimSize(d);
  }
  bool isMean = divides ? by == static_cast<double>(n)
                        : static_cast<float>(by) == static_cast<float>(1.0 / n);
  if (!isMean)
    return rewriter.notifyMatchFailure(op, "the scale is not the count of summed elements");
  rewriter.replaceOpWithNewOp<ox::ReduceMeanOp>(op, op->getResult(0).getType(), rs.getData(),
                                                rewriter.getI64ArrayAttr(*axes),
                                                rewriter.getI64IntegerAttr(rs.getKeepdims()));
  return success();
}

struct SumDivCount : OpRewritePattern<ox::DivOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::DivOp op, PatternRewriter &rewriter) const override {
    auto rs = op.getA().getDefiningOp<ox::ReduceSumOp>();
    auto n = scalarConstant(op.getB());
    if (!rs || !n)
      return rewriter.notifyMatchFailure(op, "not a sum divided by a constant");
    return sumOverCount(op, rs, *n, /*divides=*/true, rewriter);
  }
};

struct SumMulInverseCount : OpRewritePattern<ox::MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::MulOp op, PatternRewriter &rewriter) const override {
    for (auto [a, b] : {std::pair{op.getA(), op.getB()}, std::pair{op.getB(), op.getA()}})
      if (auto rs = a.getDefiningOp<ox::ReduceSumOp>())
        if (auto f = scalarConstant(b))
          return sumOverCount(op, rs, *f, /*divides=*/false, rewriter);
    return rewriter.notifyMatchFailure(op, "not a sum times a constant");
  }
};

/// `Div(1, y)` -> `Reciprocal(y)` where the one does not broadcast y.
struct OneOver : OpRewritePattern<ox::DivOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::DivOp op, PatternRewriter &rewriter) const override {
    auto one = scalarConstant(op.getA());
    if (!one || *one != 1.0 || !isF32(op.getB()) || op.getB().getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "not 1 / y of float32 y");
    rewriter.replaceOpWithNewOp<ox::ReciprocalOp>(op, op.getType(), op.getB());
    return success();
  }
};

/// `Div(x, Sqrt(v))` -> `Mul(x, Reciprocal(Sqrt(v)))` (an RMS norm written as a quotient).
struct DivBySqrt : OpRewritePattern<ox::DivOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::DivOp op, PatternRewriter &rewriter) const override {
    auto sq = op.getB().getDefiningOp<ox::SqrtOp>();
    if (!sq || !isF32(op.getA()) || !isF32(sq.getResult()))
      return rewriter.notifyMatchFailure(op, "not a float32 quotient by a Sqrt");
    Value r = rewriter.create<ox::ReciprocalOp>(op.getLoc(), sq.getType(), sq.getResult());
    rewriter.replaceOpWithNewOp<ox::MulOp>(op, op.getType(), op.getA(), r);
    return success();
  }
};

/// `Add(eps, ReduceMean(v))` -> `Add(ReduceMean(v), eps)`: the constant last.
struct EpsAfterMean : OpRewritePattern<ox::AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::AddOp op, PatternRewriter &rewriter) const override {
    if (!scalarConstant(op.getA()) || !op.getB().getDefiningOp<ox::ReduceMeanOp>())
      return rewriter.notifyMatchFailure(op, "not a constant plus a mean");
    rewriter.replaceOpWithNewOp<ox::AddOp>(op, op.getType(), op.getB(), op.getA());
    return success();
  }
};

/// `ReduceMean(v + eps)` -> `ReduceMean(v) + eps` for a scalar eps: eps outside the mean.
struct EpsOutOfMean : OpRewritePattern<ox::ReduceMeanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::ReduceMeanOp op, PatternRewriter &rewriter) const override {
    auto add = op.getData().getDefiningOp<ox::AddOp>();
    if (!add || !isF32(add.getC()))
      return rewriter.notifyMatchFailure(op, "the mean is not of a float32 sum");
    for (auto [v, c] : {std::pair{add.getA(), add.getB()}, std::pair{add.getB(), add.getA()}}) {
      auto eps = scalarConstant(c);
      if (!eps || v.getType() != add.getType())
        continue;
      Value m = rewriter.create<ox::ReduceMeanOp>(op.getLoc(), op.getType(), v, op.getAxesAttr(),
                                                  op.getKeepdimsAttr());
      rewriter.replaceOpWithNewOp<ox::AddOp>(op, op.getType(), m, c);
      return success();
    }
    return rewriter.notifyMatchFailure(op, "no scalar constant added that keeps the shape");
  }
};

//===----------------------------------------------------------------------===//
// Linear: MatMul(x, W) with a constant W (in, out)
//===----------------------------------------------------------------------===//

/// A 2-D float32 constant.
ElementsAttr matrix(Value v) {
  ElementsAttr w = constant(v);
  if (!w || w.getShapedType().getRank() != 2 || !w.getElementType().isF32())
    return {};
  return w;
}

Value makeConstant(PatternRewriter &rewriter, Location loc, ElementsAttr a) {
  return rewriter.create<ox::ConstantOp>(loc, a.getShapedType(), a);
}

/// `Gemm(a, W, C)` with C absent or zeros, alpha 1, transA 0 -> `MatMul(a, W)` (W^T with transB).
struct GemmAsMatMul : OpRewritePattern<ox::GemmOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::GemmOp op, PatternRewriter &rewriter) const override {
    ElementsAttr w = matrix(op.getB());
    bool noBias = isa<NoneType>(op.getC().getType());
    if (!noBias) {
      auto c = floats(constant(op.getC()));
      noBias = c && llvm::all_of(*c, [](float f) { return f == 0.0f; }) &&
               cast<ShapedType>(op.getC().getType()).getRank() <= 1;
    }
    if (!w || !noBias || op.getTransA() != 0 || op.getAlpha().convertToFloat() != 1.0f)
      return rewriter.notifyMatchFailure(op, "not a product with a constant and no bias");
    Value b = op.getB();
    if (op.getTransB() != 0) {
      ElementsAttr t = transposed(w);
      if (!t)
        return rewriter.notifyMatchFailure(op, "the weight cannot be transposed");
      b = makeConstant(rewriter, op.getLoc(), t);
    }
    rewriter.replaceOpWithNewOp<ox::MatMulOp>(op, op.getType(), op.getA(), b);
    return success();
  }
};

/// `MatMul(x, Transpose(W))` of a constant W -> `MatMul(x, W^T)`.
struct MatMulOfTransposed : OpRewritePattern<ox::MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::MatMulOp op, PatternRewriter &rewriter) const override {
    auto t = op.getB().getDefiningOp<ox::TransposeOp>();
    ElementsAttr w = t ? matrix(t.getData()) : ElementsAttr();
    auto perm = t ? t.getPerm() : std::nullopt;
    bool swap = !perm || (perm->size() == 2 && cast<IntegerAttr>((*perm)[0]).getInt() == 1);
    ElementsAttr wt = w && swap ? transposed(w) : ElementsAttr();
    if (!wt)
      return rewriter.notifyMatchFailure(op, "not a product with a transposed constant");
    rewriter.replaceOpWithNewOp<ox::MatMulOp>(op, op.getType(), op.getA(),
                                              makeConstant(rewriter, op.getLoc(), wt));
    return success();
  }
};

/// `Einsum("<p>k,kn-><p>n", x, W)` -> `MatMul(x, W)`; `"<p>k,nk-><p>n"` -> `MatMul(x, W^T)`.
struct EinsumAsMatMul : OpRewritePattern<ox::EinsumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::EinsumOp op, PatternRewriter &rewriter) const override {
    ElementsAttr w = op.getInputs().size() == 2 ? matrix(op.getInputs()[1]) : ElementsAttr();
    if (!w)
      return rewriter.notifyMatchFailure(op, "not an Einsum of a tensor and a constant matrix");
    std::string eq;
    for (char c : op.getEquation().str())
      if (c != ' ')
        eq += c;
    auto arrow = eq.find("->");
    auto comma = eq.find(',');
    if (arrow == std::string::npos || comma == std::string::npos || comma > arrow)
      return rewriter.notifyMatchFailure(op, "not an explicit two-operand equation");
    std::string a = eq.substr(0, comma), b = eq.substr(comma + 1, arrow - comma - 1),
                out = eq.substr(arrow + 2);
    if (a.empty() || b.size() != 2 || out.size() != a.size() || a.find('.') != std::string::npos)
      return rewriter.notifyMatchFailure(op, "not a product on the last axis");
    char k = a.back(), n = out.back();
    std::string prefix = a.substr(0, a.size() - 1);
    if (prefix != out.substr(0, out.size() - 1) || k == n ||
        prefix.find_first_of(std::string{k, n}) != std::string::npos ||
        std::set<char>(prefix.begin(), prefix.end()).size() != prefix.size())
      return rewriter.notifyMatchFailure(op, "not a product on the last axis");
    Value m = op.getInputs()[1];
    if (b == std::string{n, k}) {
      ElementsAttr t = transposed(w);
      if (!t)
        return rewriter.notifyMatchFailure(op, "the weight cannot be transposed");
      m = makeConstant(rewriter, op.getLoc(), t);
    } else if (b != std::string{k, n}) {
      return rewriter.notifyMatchFailure(op, "the weight's indices are not (k, n) or (n, k)");
    }
    rewriter.replaceOpWithNewOp<ox::MatMulOp>(op, op.getType(), op.getInputs()[0], m);
    return success();
  }
};

/// Element `i` of a 1-D shape tensor: a constant, or dimension `index` of `of` (a canonical
/// dimension, or an element of `Shape(of)`), through Concat.
struct ShapeEntry {
  std::optional<int64_t> value;
  Value of;
  int64_t index = -1;
};
std::optional<ShapeEntry> shapeEntry(Value shape, int64_t i) {
  if (auto c = mamba2::raise::shapeElement(shape, i))
    return ShapeEntry{c, {}, -1};
  if (auto sh = shape.getDefiningOp<ox::ShapeOp>(); sh && !sh.getStart() && !sh.getEnd())
    return i >= 0 && i < rankOf(sh.getData()) ? std::optional(ShapeEntry{{}, sh.getData(), i})
                                              : std::nullopt;
  if (auto d = mamba2::raise::canonicalDim(shape); d && i == 0)
    return ShapeEntry{{}, d->of, d->index};
  auto cat = shape.getDefiningOp<ox::ConcatOp>();
  if (!cat || i < 0)
    return std::nullopt;
  for (Value p : cat.getInputs()) {
    auto t = ranked(p);
    if (!t || t.getRank() != 1 || t.isDynamicDim(0))
      return std::nullopt;
    if (i < t.getDimSize(0))
      return shapeEntry(p, i);
    i -= t.getDimSize(0);
  }
  return std::nullopt;
}

/// A linear on activations flattened to rows, unflattened after:
///   Reshape(MatMul(Reshape(v (b, l, d), (-1, d)), W (d, n)), (b, l, n or -1)) -> MatMul(v, W)
/// with b and l constants equal to v's or dimensions of tensors of v's batch and length.
struct FlattenedMatMul : OpRewritePattern<ox::ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::ReshapeOp op, PatternRewriter &rewriter) const override {
    auto mm = op.getData().getDefiningOp<ox::MatMulOp>();
    ElementsAttr w = mm ? matrix(mm.getB()) : ElementsAttr();
    auto in = mm ? mm.getA().getDefiningOp<ox::ReshapeOp>() : ox::ReshapeOp();
    if (!w || !in || !mm->hasOneUse())
      return rewriter.notifyMatchFailure(op, "not a Reshape of a product of reshaped rows");
    Value v = in.getData();
    auto vt = ranked(v);
    auto ws = w.getShapedType().getShape();
    auto inShape = ranked(in.getShape()), outShape = ranked(op.getShape());
    if (!vt || vt.getRank() != 3 || vt.isDynamicDim(2) || vt.getDimSize(2) != ws[0] || !inShape ||
        inShape.getShape() != llvm::ArrayRef<int64_t>{2} || !outShape ||
        outShape.getShape() != llvm::ArrayRef<int64_t>{3})
      return rewriter.notifyMatchFailure(op, "not (b, l, d) rows of a (d, n) weight");
    auto isDim = [&](std::optional<ShapeEntry> e, int64_t j) {
      if (!e)
        return false;
      if (e->value)
        return !vt.isDynamicDim(j) && *e->value == vt.getDimSize(j);
      return mamba2::raise::sameDim(e->of, e->index, v, j);
    };
    auto rows = shapeEntry(in.getShape(), 0), n = shapeEntry(op.getShape(), 2);
    if (!rows || rows->value != -1 || !isDim(shapeEntry(in.getShape(), 1), 2) ||
        !isDim(shapeEntry(op.getShape(), 0), 0) || !isDim(shapeEntry(op.getShape(), 1), 1) || !n ||
        !(n->value == -1 || n->value == ws[1]))
      return rewriter.notifyMatchFailure(op, "the shapes are not (-1, d) and (b, l, n)");
    auto type =
        RankedTensorType::get({vt.getDimSize(0), vt.getDimSize(1), ws[1]}, vt.getElementType());
    rewriter.replaceOpWithNewOp<ox::MatMulOp>(op, type, v, mm.getB());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Causal depthwise conv: Transpose(Conv(Transpose(x), W (C, 1, K), b, group C, pads [K-1, 0]))
//===----------------------------------------------------------------------===//

/// `Slice(Conv(X, pads [K-1, K-1]), 0 : L)` -> `Conv(X, pads [K-1, 0])`.
struct CausalConvSlice : OpRewritePattern<ox::SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::SliceOp op, PatternRewriter &rewriter) const override {
    std::string why;
    ox::ConvOp c = mamba2::raise::causalSliceOfConv(op, why);
    if (!c)
      return rewriter.notifyMatchFailure(op, why);
    int64_t k = ranked(c.getW()).getDimSize(2);
    auto nc = cast<ox::ConvOp>(rewriter.clone(*c));
    nc.setPadsAttr(rewriter.getI64ArrayAttr({k - 1, 0}));
    nc.getResult().setType(op.getType());
    rewriter.replaceOp(op, nc.getResult());
    return success();
  }
};

/// A constant of `c` float32 elements that broadcasts along the last axis only: (c), (1, 1, c).
std::optional<std::vector<float>> channelVector(Value v, int64_t c) {
  ElementsAttr a = constant(v);
  if (!a || a.getShapedType().getNumElements() != c || a.getShapedType().getRank() > 3)
    return std::nullopt;
  auto shape = a.getShapedType().getShape();
  if (!shape.empty() && shape.back() != c)
    return std::nullopt;
  return floats(a);
}

/// `x` (b, L, C) -> Transpose(Conv(Transpose(x), w (C, 1, K), bias, group C, pads [K-1, 0])).
/// The channels c come from the weights (shape inference may have lost x's).
Value causalConv(PatternRewriter &rewriter, Location loc, Value x, llvm::ArrayRef<float> w,
                 llvm::ArrayRef<float> bias, int64_t c, int64_t k) {
  auto xt = ranked(x);
  int64_t b = xt.getDimSize(0), l = xt.getDimSize(1);
  auto f32 = rewriter.getF32Type();
  auto wType = RankedTensorType::get({c, 1, k}, f32), bType = RankedTensorType::get({c}, f32);
  auto cl = RankedTensorType::get({b, c, l}, f32);
  auto perm = rewriter.getI64ArrayAttr({0, 2, 1});
  Value in = rewriter.create<ox::TransposeOp>(
      loc, RankedTensorType::get({b, xt.getDimSize(2), l}, f32), x, perm);
  Value wv = makeConstant(rewriter, loc, DenseElementsAttr::get(wType, w));
  Value bv = makeConstant(rewriter, loc, DenseElementsAttr::get(bType, bias));
  Value conv = rewriter.create<ox::ConvOp>(loc, cl, in, wv, bv, rewriter.getStringAttr("NOTSET"),
                                           ArrayAttr(), rewriter.getI64IntegerAttr(c),
                                           rewriter.getI64ArrayAttr({k}),
                                           rewriter.getI64ArrayAttr({k - 1, 0}), ArrayAttr());
  return rewriter.create<ox::TransposeOp>(loc, RankedTensorType::get({b, l, c}, f32), conv, perm);
}

/// Tap j of a causal window on x (b, L, C): `Slice(Pad(x, K-1 zeros before the length), j : j+L)`
/// on the length axis, the end a constant (j - (K-1), the end of the axis, or j + L when L is
/// static) or computed from the length (dim 1 of x plus j, or of the padded x minus K-1-j).
struct Tap {
  ox::PadOp pad;
  int64_t j = 0, k = 0;
};
std::optional<Tap> windowTap(Value v) {
  auto s = v.getDefiningOp<ox::SliceOp>();
  auto pad = s ? s.getData().getDefiningOp<ox::PadOp>() : ox::PadOp();
  if (!pad || rankOf(pad.getData()) != 3 || pad.getMode() != "constant" ||
      isa<NoneType>(s.getAxes().getType()) || !unitSteps(s))
    return std::nullopt;
  if (!isa<NoneType>(pad.getConstantValue().getType())) {
    auto zero = scalarConstant(pad.getConstantValue());
    if (!zero || *zero != 0.0)
      return std::nullopt;
  }
  auto pads = ints(pad.getPads());
  auto axes = ints(s.getAxes()), starts = ints(s.getStarts());
  if (!pads || pads->size() != 6 || (*pads)[1] < 1 ||
      *pads != std::vector<int64_t>{0, (*pads)[1], 0, 0, 0, 0} || !axes || axes->size() != 1 ||
      !((*axes)[0] == 1 || (*axes)[0] == -2) || !starts || starts->size() != 1)
    return std::nullopt;
  int64_t k = (*pads)[1] + 1, j = (*starts)[0];
  if (j < 0 || j >= k)
    return std::nullopt;
  Value x = pad.getData(), padded = pad.getResult();
  int64_t len = ranked(x).getDimSize(1);
  if (auto ends = ints(s.getEnds())) {
    if (ends->size() != 1)
      return std::nullopt;
    int64_t e = (*ends)[0];
    bool ok = (j < k - 1 && e == j - (k - 1)) ||
              (j == k - 1 && e >= std::numeric_limits<int32_t>::max()) ||
              (!ShapedType::isDynamic(len) && e == j + len);
    return ok ? std::optional(Tap{pad, j, k}) : std::nullopt;
  }
  auto e = affineDim(s.getEnds());
  if (!e || !e->dim)
    return std::nullopt;
  bool ok =
      (e->offset == j && mamba2::raise::sameDim(e->dim->of, e->dim->index, x, 1)) ||
      (e->offset == j - (k - 1) && mamba2::raise::sameDim(e->dim->of, e->dim->index, padded, 1));
  return ok ? std::optional(Tap{pad, j, k}) : std::nullopt;
}

/// True when `op`'s result may be replaced by a value of type `type`: the same type, or users
/// that accept any (onnx ops; shape inference may have lost what the conv's type says).
bool replaceableBy(Operation *op, Type type) {
  return type == op->getResult(0).getType() || llvm::all_of(op->getUsers(), [](Operation *u) {
           return isa<ox::OnnxDialect>(u->getDialect());
         });
}

/// The type of the causal conv of x (b, L, ?) with c channels: (b, L, c).
Type causalConvType(Value x, int64_t c) {
  auto xt = ranked(x);
  return RankedTensorType::get({xt.getDimSize(0), xt.getDimSize(1), c}, xt.getElementType());
}

/// The K taps stacked and summed:
///   ReduceSum(Mul(Concat_j(Unsqueeze(tap_j, -1)), W (C, K)), -1, keepdims 0) -> the causal conv.
struct StackedTapsAsConv : OpRewritePattern<ox::ReduceSumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::ReduceSumOp op, PatternRewriter &rewriter) const override {
    auto mul = op.getData().getDefiningOp<ox::MulOp>();
    auto axes = isa<NoneType>(op.getAxes().getType()) ? std::nullopt : ints(op.getAxes());
    if (!mul || op.getKeepdims() != 0 || !axes || axes->size() != 1 ||
        !((*axes)[0] == -1 || (*axes)[0] == 3))
      return rewriter.notifyMatchFailure(op, "not a sum over the last axis of a product");
    for (auto [a, b] : {std::pair{mul.getA(), mul.getB()}, std::pair{mul.getB(), mul.getA()}}) {
      auto cat = a.getDefiningOp<ox::ConcatOp>();
      ElementsAttr w = constant(b);
      if (!cat || !w || !(cat.getAxis() == -1 || cat.getAxis() == 3) || cat.getInputs().empty())
        continue;
      int64_t k = static_cast<int64_t>(cat.getInputs().size());
      std::optional<Tap> first;
      bool ok = true;
      for (auto [j, in] : llvm::enumerate(cat.getInputs())) {
        auto un = in.getDefiningOp<ox::UnsqueezeOp>();
        auto un_axes = un ? ints(un.getAxes()) : std::nullopt;
        auto tap = un ? windowTap(un.getData()) : std::nullopt;
        if (!tap || !un_axes || un_axes->size() != 1 ||
            !((*un_axes)[0] == -1 || (*un_axes)[0] == 3) || tap->j != static_cast<int64_t>(j) ||
            tap->k != k || (first && first->pad != tap->pad)) {
          ok = false;
          break;
        }
        first = tap;
      }
      if (!ok)
        continue;
      Value x = first->pad.getData();
      auto xt = ranked(x);
      auto ws = w.getShapedType().getShape();
      if (!xt || !xt.getElementType().isF32() || ws.size() < 2 || ws.back() != k ||
          llvm::any_of(ws.drop_back(2), [](int64_t d) { return d != 1; }))
        continue;
      int64_t c = ws[ws.size() - 2];
      auto wv = floats(w);
      if (!wv || !(xt.isDynamicDim(2) || xt.getDimSize(2) == c))
        continue;
      if (!replaceableBy(op, causalConvType(x, c)))
        return rewriter.notifyMatchFailure(op, "the conv's type differs from its users'");
      std::vector<float> bias(static_cast<size_t>(c), 0.0f);
      rewriter.replaceOp(op, causalConv(rewriter, op.getLoc(), x, *wv, bias, c, k));
      return success();
    }
    return rewriter.notifyMatchFailure(op, "not K stacked taps of one padded input");
  }
};

/// The K taps each multiplied by its own (C) weight and added (in any order, with a (C) bias
/// among the terms or not): Add(... Mul(tap_j, w_j) ..., bias) -> the causal conv.
struct SummedTapsAsConv : OpRewritePattern<ox::AddOp> {
  using OpRewritePattern::OpRewritePattern;
  static void terms(Value v, bool root, llvm::SmallVectorImpl<Value> &out) {
    auto add = v.getDefiningOp<ox::AddOp>();
    if (add && (root || v.hasOneUse()) && out.size() < 64) {
      terms(add.getA(), false, out);
      terms(add.getB(), false, out);
      return;
    }
    out.push_back(v);
  }
  LogicalResult matchAndRewrite(ox::AddOp op, PatternRewriter &rewriter) const override {
    llvm::SmallVector<Value> leaves;
    terms(op.getC(), true, leaves);
    if (leaves.size() < 2)
      return rewriter.notifyMatchFailure(op, "fewer than two terms");
    // The taps first (they give x, C and K), then the bias.
    std::map<int64_t, Value> weightOf;
    ox::PadOp pad;
    int64_t k = 0;
    llvm::SmallVector<Value> rest;
    for (Value t : leaves) {
      auto mul = t.getDefiningOp<ox::MulOp>();
      std::optional<Tap> tap;
      Value w;
      if (mul)
        for (auto [a, b] : {std::pair{mul.getA(), mul.getB()}, std::pair{mul.getB(), mul.getA()}})
          if (!tap && constant(b) && (tap = windowTap(a)))
            w = b;
      if (!tap) {
        rest.push_back(t);
        continue;
      }
      if ((pad && tap->pad != pad) || weightOf.count(tap->j))
        return rewriter.notifyMatchFailure(op, "taps of different inputs, or one tap twice");
      pad = tap->pad;
      k = tap->k;
      weightOf[tap->j] = w;
    }
    if (!pad || static_cast<int64_t>(weightOf.size()) != k || rest.size() > 1)
      return rewriter.notifyMatchFailure(op, "not each of the K taps once, and a bias");
    Value x = pad.getData();
    auto xt = ranked(x);
    ElementsAttr w0 = constant(weightOf.begin()->second);
    int64_t c = w0 ? w0.getShapedType().getNumElements() : 0;
    if (!xt || !xt.getElementType().isF32() || c < 1 ||
        !(xt.isDynamicDim(2) || xt.getDimSize(2) == c) || !replaceableBy(op, causalConvType(x, c)))
      return rewriter.notifyMatchFailure(op, "the input is not float32 of the taps' channels");
    std::vector<float> w(static_cast<size_t>(c * k)), bias(static_cast<size_t>(c), 0.0f);
    for (auto &[j, wv] : weightOf) {
      auto f = channelVector(wv, c);
      if (!f)
        return rewriter.notifyMatchFailure(op, "a tap's weight is not (C) values");
      for (int64_t ch = 0; ch < c; ++ch)
        w[ch * k + j] = (*f)[ch];
    }
    if (!rest.empty()) {
      auto f = channelVector(rest[0], c);
      if (!f)
        return rewriter.notifyMatchFailure(op, "the term that is not a tap is not a (C) bias");
      bias = *f;
    }
    rewriter.replaceOp(op, causalConv(rewriter, op.getLoc(), x, w, bias, c, k));
    return success();
  }
};

/// `Transpose(Conv(X, W, b)) + bias` with a (C) bias -> `Transpose(Conv(X, W, b + bias))`.
struct ConvBiasAdd : OpRewritePattern<ox::AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ox::AddOp op, PatternRewriter &rewriter) const override {
    for (auto [a, b] : {std::pair{op.getA(), op.getB()}, std::pair{op.getB(), op.getA()}}) {
      auto t = a.getDefiningOp<ox::TransposeOp>();
      auto c = t ? t.getData().getDefiningOp<ox::ConvOp>() : ox::ConvOp();
      auto perm = t ? t.getPerm() : std::nullopt;
      auto is = [&](int64_t i, int64_t v) { return cast<IntegerAttr>((*perm)[i]).getInt() == v; };
      if (!c || !t->hasOneUse() || !c->hasOneUse() || !perm || perm->size() != 3 || !is(0, 0) ||
          !is(1, 2) || !is(2, 1) || !replaceableBy(op, t.getType()))
        continue;
      auto wt = ranked(c.getW());
      if (!wt || wt.isDynamicDim(0))
        continue;
      int64_t ch = wt.getDimSize(0);
      auto add = channelVector(b, ch);
      std::optional<std::vector<float>> old = isa<NoneType>(c.getB().getType())
                                                  ? std::vector<float>(ch, 0.0f)
                                                  : floats(constant(c.getB()));
      if (!add || !old || static_cast<int64_t>(old->size()) != ch)
        continue;
      for (int64_t i = 0; i < ch; ++i)
        (*old)[i] += (*add)[i];
      auto bType = RankedTensorType::get({ch}, rewriter.getF32Type());
      Value bias = makeConstant(rewriter, op.getLoc(),
                                DenseElementsAttr::get(bType, llvm::ArrayRef<float>(*old)));
      auto nc = cast<ox::ConvOp>(rewriter.clone(*c));
      nc.getBMutable().assign(bias);
      rewriter.replaceOpWithNewOp<ox::TransposeOp>(op, t.getType(), nc.getResult(),
                                                   t.getPermAttr());
      return success();
    }
    return rewriter.notifyMatchFailure(op, "not a transposed Conv plus a (C) bias");
  }
};

//===----------------------------------------------------------------------===//
// Shape expressions: Gather(Shape(x), i)
//===----------------------------------------------------------------------===//

/// Any one-element int64 chain of Shape/Slice/Gather/Squeeze/Unsqueeze/Reshape/Cast/Identity
/// that denotes dimension i of x -> `Gather(Shape(x), i)` (index scalar or of one element, as
/// the chain's result).
struct CanonicalDimension : RewritePattern {
  explicit CanonicalDimension(MLIRContext *ctx) : RewritePattern(MatchAnyOpTypeTag(), 1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &rewriter) const override {
    if (!isa<ox::GatherOp, ox::SliceOp, ox::ShapeOp, ox::SqueezeOp, ox::UnsqueezeOp, ox::ReshapeOp,
             ox::CastOp, ox::IdentityOp>(op) ||
        op->getNumResults() != 1)
      return failure();
    Value v = op->getResult(0);
    auto t = ranked(v);
    if (!t || !t.getElementType().isInteger(64) || t.getRank() > 1 || !t.hasStaticShape() ||
        t.getNumElements() != 1)
      return failure();
    auto d = mamba2::raise::canonicalDim(v);
    bool canonical = d.has_value();
    // The Shape of a rank-1 tensor is part of the normal form itself.
    auto shapeOp = dyn_cast<ox::ShapeOp>(op);
    if (!d && !(shapeOp && !shapeOp.getStart() && !shapeOp.getEnd()))
      d = mamba2::raise::dimensionOf(v);
    int64_t r = d ? rankOf(d->of) : -1;
    if (!d || r < 0 || d->index >= r)
      return failure();
    auto i64 = rewriter.getI64Type();
    // A static dimension is its size.
    if (int64_t n = ranked(d->of).getDimSize(d->index); !ShapedType::isDynamic(n)) {
      Value c = makeConstant(rewriter, op->getLoc(),
                             DenseElementsAttr::get(RankedTensorType::get(t.getShape(), i64),
                                                    llvm::ArrayRef<int64_t>{n}));
      rewriter.replaceOp(op, c);
      return success();
    }
    if (canonical)
      return failure();
    Value sh = rewriter.create<ox::ShapeOp>(op->getLoc(), RankedTensorType::get({r}, i64), d->of,
                                            IntegerAttr(), IntegerAttr());
    auto idxType = RankedTensorType::get(t.getShape(), i64);
    Value idx = makeConstant(rewriter, op->getLoc(),
                             DenseElementsAttr::get(idxType, llvm::ArrayRef<int64_t>{d->index}));
    rewriter.replaceOpWithNewOp<ox::GatherOp>(op, t, sh, idx, rewriter.getI64IntegerAttr(0));
    return success();
  }
};

struct OnnxNormalFormsPass : mamba2::impl::OnnxNormalFormsBase<OnnxNormalFormsPass> {
  void runOnOperation() override {
    if (failed(mamba2::applyOnnxNormalForms(getOperation())))
      signalPassFailure();
  }
};

} // namespace

LogicalResult mamba2::applyOnnxNormalForms(func::FuncOp f) {
  RewritePatternSet patterns(f.getContext());
  populateOnnxNormalFormPatterns(patterns);
  FrozenRewritePatternSet frozen(std::move(patterns));
  // Folding makes constants of pads and shapes; the types they determine make more patterns
  // match: rewrite, refine the types, again until the types stay.
  for (int round = 0; round < 8; ++round) {
    if (failed(applyPatternsAndFoldGreedily(f, frozen)))
      return f.emitError("the normal-form patterns did not converge");
    if (!refineTypes(f))
      return success();
  }
  return success();
}

void mamba2::populateOnnxNormalFormPatterns(RewritePatternSet &patterns) {
  patterns.add<SoftplusThreshold, LogOnePlusExp, SigmoidSpelled<ox::DivOp>,
               SigmoidSpelled<ox::ReciprocalOp>, TransposeOfSilu, MulByOne, PowOfHalf, SquareAsMul,
               SumDivCount, SumMulInverseCount, OneOver, DivBySqrt, EpsAfterMean, EpsOutOfMean,
               GemmAsMatMul, MatMulOfTransposed, EinsumAsMatMul, FlattenedMatMul, CausalConvSlice,
               StackedTapsAsConv, SummedTapsAsConv, ConvBiasAdd, CanonicalDimension>(
      patterns.getContext());
}
namespace mamba2::raise {

ox::ConvOp causalSliceOfConv(ox::SliceOp slice, std::string &why) {
  auto c = slice.getData().getDefiningOp<ox::ConvOp>();
  auto wt = c ? ranked(c.getW()) : RankedTensorType();
  if (!c || rankOf(c.getX()) != 3 || !wt || wt.getRank() != 3 || wt.isDynamicDim(2)) {
    why = "the Slice does not read a 1-D Conv with a static kernel";
    return {};
  }
  int64_t k = wt.getDimSize(2);
  if (c.getAutoPad() != "NOTSET" || !c.getPads() || !attrIs(c.getPads(), {k - 1, k - 1}) ||
      !attrIs(c.getStrides(), {1}) || !attrIs(c.getDilations(), {1})) {
    why = "it is not padded by kernel - 1 on both sides with unit strides and dilations, so it is "
          "not causal once sliced";
    return {};
  }
  auto starts = ints(slice.getStarts());
  if (!starts || starts->size() != 1 || (*starts)[0] != 0) {
    why = "the Slice after the Conv does not start at 0";
    return {};
  }
  auto axes = isa<NoneType>(slice.getAxes().getType()) ? std::nullopt : ints(slice.getAxes());
  if (!axes || axes->size() != 1 || !((*axes)[0] == 2 || (*axes)[0] == -1)) {
    why = "the Slice after the Conv is not on the length axis";
    return {};
  }
  if (!unitSteps(slice)) {
    why = "the Slice after the Conv has a step other than 1";
    return {};
  }
  bool endOk = false;
  int64_t len = ranked(c.getX()).getShape()[2];
  if (auto ends = ints(slice.getEnds()))
    endOk = ends->size() == 1 && !ShapedType::isDynamic(len) && (*ends)[0] == len;
  else if (auto dim = canonicalDim(slice.getEnds()))
    endOk = sameDim(dim->of, dim->index, c.getX(), 2);
  if (!endOk) {
    why = "the Slice ends are not a function of the input length (a constant equal to it, or a "
          "shape expression of dimension 1 of the input)";
    return {};
  }
  return c;
}

} // namespace mamba2::raise
