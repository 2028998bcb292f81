// onnx-normal-forms: one spelling per function for the blocks the raising matches. Each pattern
// rewrites a form into an equivalent one that computes the same values (in float32).
#include "mamba2/Transforms/NormalForms.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "mamba2/Transforms/Passes.h"

namespace mamba2 {
#define GEN_PASS_DEF_ONNXNORMALFORMS
#include "mamba2/Transforms/Passes.h.inc"
} // namespace mamba2

using namespace mlir;
namespace ox = mamba2::onnxir;

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

struct OnnxNormalFormsPass : mamba2::impl::OnnxNormalFormsBase<OnnxNormalFormsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    mamba2::populateOnnxNormalFormPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mamba2::populateOnnxNormalFormPatterns(RewritePatternSet &patterns) {
  patterns.add<SoftplusThreshold, TransposeOfSilu, MulByOne, PowOfHalf>(patterns.getContext());
}
