// m2-quantize-linear: m2.linear and m2.lm_head into integer m2.qlinear (QuantPasses.td).
#include "mamba2/Transforms/QuantPasses.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "mamba2/Eval/ThreadPool.h"

#include "mamba2/Quant/Constants.h"
#include "mamba2/Quant/Quantize.h"

namespace mamba2 {
#define GEN_PASS_DEF_M2QUANTIZELINEAR
#include "mamba2/Transforms/QuantPasses.h.inc"
} // namespace mamba2

using namespace mlir;
namespace m2 = mamba2::m2;
namespace quant = mamba2::quant;

namespace {

struct QuantizeLinearPass : mamba2::impl::M2QuantizeLinearBase<QuantizeLinearPass> {
  using M2QuantizeLinearBase::M2QuantizeLinearBase;

  /// Replaces `op` (input x, weight wt as (out, in)) by an m2.qlinear.
  LogicalResult replace(Operation *op, Value x, std::vector<float> wt, int64_t n, int64_t k,
                        int64_t wBits, int64_t aBits, int64_t grp, StringRef mode) {
    if (grp == 0)
      grp = k;
    if (grp < 0 || k % grp)
      return op->emitError("m2-quantize-linear: group ")
             << grp << " does not divide the " << k << " input features";
    FloatAttr actScale;
    const int qa = aBits == 8 ? 127 : 7;
    if (mode == "tensor") {
      auto absmax = op->getAttrOfType<FloatAttr>("calib.absmax");
      if (!absmax)
        return op->emitError("m2-quantize-linear: act-mode=tensor needs calib.absmax on the op "
                             "(run m2-calibrate first)");
      float a = absmax.getValueAsDouble() > 0 ? absmax.getValueAsDouble() / qa : 1.0;
      actScale = FloatAttr::get(Float32Type::get(op->getContext()), a);
    }
    std::vector<float> hessian;
    if (method == "gptq" && wBits == weightBits) { // not the lm_head's own setting
      auto h = op->getAttrOfType<DenseElementsAttr>("calib.hessian");
      if (!h || h.getNumElements() != k * k)
        return op->emitError("m2-quantize-linear: method=gptq needs calib.hessian on the op "
                             "(run m2-calibrate{hessian=true} first)");
      auto values = h.getValues<float>();
      hessian.assign(values.begin(), values.end());
    }
    quant::QuantizedWeight q = quant::quantizeWeight(wt, n, k, static_cast<int>(wBits), grp,
                                                     static_cast<int>(aBits), hessian, pool.get());
    wt = {};
    OpBuilder b(op);
    Location loc = op->getLoc();
    Value w = quant::makeI8(b, loc, {n, k}, q.values);
    Value s = quant::makeI32(b, loc, {n, k / grp}, q.scales);
    Value o = quant::makeF32(b, loc, {n}, q.outScale);
    auto ql = b.create<m2::QLinearOp>(loc, op->getResult(0).getType(), x, w, s, o,
                                      b.getI64IntegerAttr(wBits), b.getI64IntegerAttr(grp),
                                      b.getI64IntegerAttr(q.shift), b.getI64IntegerAttr(aBits),
                                      b.getStringAttr(mode), actScale);
    for (NamedAttribute a : op->getAttrs())
      if (a.getName().strref().starts_with("calib.") && a.getName() != "calib.hessian")
        ql->setAttr(a.getName(), a.getValue());
    op->getResult(0).replaceAllUsesWith(ql.getOutput());
    op->erase();
    return success();
  }

  std::shared_ptr<mamba2::eval::ThreadPool> pool; // made by runOnOperation

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    pool = std::make_shared<mamba2::eval::ThreadPool>(0);
    auto bad = [&](const Twine &msg) {
      func.emitError("m2-quantize-linear: ") << msg;
      signalPassFailure();
    };
    if (weightBits != 8 && weightBits != 4)
      return bad("weight-bits must be 8 or 4, got " + Twine(weightBits));
    if (actBits != 8 && actBits != 4)
      return bad("act-bits must be 8 or 4, got " + Twine(actBits));
    if (lmHeadBits != 8 && lmHeadBits != 4 && lmHeadBits != 0)
      return bad("lm-head-bits must be 8, 4 or 0, got " + Twine(lmHeadBits));
    if (actMode != "token" && actMode != "tensor")
      return bad("act-mode must be token or tensor, got '" + actMode + "'");
    if (method != "rtn" && method != "gptq")
      return bad("method must be rtn or gptq, got '" + method + "'");
    llvm::SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (isa<m2::LinearOp>(op) || (lmHeadBits && isa<m2::LMHeadOp>(op)))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (auto l = dyn_cast<m2::LinearOp>(op)) {
        // The weight where it lies (a copy only for a splat).
        std::optional<std::vector<float>> copy;
        std::optional<ArrayRef<float>> w = quant::viewF32(l.getWeight());
        if (!w && (copy = quant::readF32(l.getWeight())))
          w = ArrayRef<float>(*copy);
        if (!w) {
          op->emitError("m2-quantize-linear: the weight is not an f32 constant");
          return signalPassFailure();
        }
        auto shape = quant::shapeOf(l.getWeight()); // (in, out)
        const int64_t k = shape[0], n = shape[1];
        // Transposed in 32 x 32 tiles, rows of the result in parallel.
        std::vector<float> wt(static_cast<size_t>(n * k));
        const float *src = w->data();
        pool->parallelFor((n + 31) / 32, [&](int64_t b0, int64_t b1) {
          for (int64_t j0 = b0 * 32; j0 < std::min(n, b1 * 32); j0 += 32)
            for (int64_t i0 = 0; i0 < k; i0 += 32)
              for (int64_t j = j0; j < std::min(n, j0 + 32); ++j)
                for (int64_t i = i0; i < std::min(k, i0 + 32); ++i)
                  wt[j * k + i] = src[i * n + j];
        });
        Value old = l.getWeight();
        w.reset();
        copy.reset();
        // The transposed copy is all the quantiser reads: the fp32 weight's memory goes now,
        // not after its integer form is made (at 2.7B the pass's peak was the first layer's
        // weight, its transpose and its integers beside every other fp32 weight).
        if (auto c = old.getDefiningOp<m2::ConstantOp>(); releaseWeights && c && old.hasOneUse())
          quant::releaseData(func, c.getValue(), c);
        if (failed(replace(op, l.getInput(), std::move(wt), n, k, weightBits, actBits, group,
                           actMode)))
          return signalPassFailure();
        quant::retire(old, releaseWeights);
      } else {
        auto h = cast<m2::LMHeadOp>(op);
        auto t = quant::readF32(h.getTable());
        if (!t) {
          op->emitError("m2-quantize-linear: the lm_head table is not an f32 constant");
          return signalPassFailure();
        }
        auto shape = quant::shapeOf(h.getTable()); // (vocab, d) = (out, in)
        // 8-bit activations; static scales too when the layers have them (the overlay has
        // no per-token max).
        Value old = h.getTable();
        if (failed(replace(op, h.getInput(), std::move(*t), shape[0], shape[1], lmHeadBits, 8, 0,
                           actMode)))
          return signalPassFailure();
        quant::retire(old, releaseWeights);
      }
    }
    quant::eraseDeadConstants(func);
  }
};

} // namespace
