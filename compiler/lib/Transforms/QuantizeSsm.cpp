// m2-quantize-ssm: power-of-two exponents for the SSD scan and the causal conv
// (QuantPasses.td); the integer evaluator runs them on isa's ssmUpdate/ssmOutput/conv4Step.
#include "mamba2/Transforms/QuantPasses.h"

#include <algorithm>
#include <cmath>

#include "mamba2/Quant/Constants.h"

namespace mamba2 {
#define GEN_PASS_DEF_M2QUANTIZESSM
#include "mamba2/Transforms/QuantPasses.h.inc"
} // namespace mamba2

using namespace mlir;
namespace m2 = mamba2::m2;
namespace quant = mamba2::quant;

namespace {

/// The exponent e of the smallest 2^e with max / 2^e <= qmax.
int64_t potExponent(double max, double qmax) {
  if (!(max > 0))
    return 0;
  return static_cast<int64_t>(std::ceil(std::log2(max / qmax)));
}

struct QuantizeSsmPass : mamba2::impl::M2QuantizeSsmBase<QuantizeSsmPass> {
  using M2QuantizeSsmBase::M2QuantizeSsmBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (stateBits < 8 || stateBits > 32 || dtFrac < 0 || dtFrac > 20 || decayFrac < 1 ||
        decayFrac > 30) {
      func.emitError("m2-quantize-ssm: state-bits must be 8..32, dt-frac 0..20, decay-frac 1..30");
      return signalPassFailure();
    }
    Builder b(func.getContext());
    auto get = [](Operation *op, StringRef name) -> std::optional<double> {
      if (auto a = op->getAttrOfType<FloatAttr>(name))
        return a.getValueAsDouble();
      return std::nullopt;
    };
    auto i64 = [&](int64_t v) { return b.getI64IntegerAttr(v); };
    WalkResult r = func.walk([&](Operation *op) {
      if (auto cv = dyn_cast<m2::Conv1dOp>(op)) {
        auto in = get(op, "calib.in_absmax");
        auto w = quant::readF32(cv.getWeight());
        if (!in) {
          op->emitError("m2-quantize-ssm: no calib.in_absmax (run m2-calibrate first)");
          return WalkResult::interrupt();
        }
        if (!w || quant::shapeOf(cv.getWeight())[1] != 4 || cv.getState()) {
          op->emitError("m2-quantize-ssm: the integer conv takes a constant (C, 4) weight and "
                        "no state operand");
          return WalkResult::interrupt();
        }
        double wmax = 0;
        for (float v : *w)
          wmax = std::max(wmax, static_cast<double>(std::fabs(v)));
        op->setAttr("quant.in_exp", i64(potExponent(*in, 127)));
        op->setAttr("quant.w_exp", i64(potExponent(wmax, 127)));
        op->setAttr("quant.state_bits", i64(8));
      } else if (auto ssd = dyn_cast<m2::SSDOp>(op)) {
        auto x = get(op, "calib.x_absmax"), bm = get(op, "calib.b_absmax"),
             c = get(op, "calib.c_absmax"), s = get(op, "calib.state_absmax");
        if (!x || !bm || !c || !s) {
          op->emitError("m2-quantize-ssm: no calib.x/b/c/state_absmax (run m2-calibrate first)");
          return WalkResult::interrupt();
        }
        if (ssd.getState()) {
          op->emitError("m2-quantize-ssm: the integer ssd takes no state operand");
          return WalkResult::interrupt();
        }
        int64_t ex = potExponent(*x, 127), eb = potExponent(*bm, 127), ec = potExponent(*c, 127);
        double smax = stateBits == 32 ? 2147483647.0 : std::ldexp(1.0, int(stateBits) - 1) - 1;
        int64_t es = std::max(potExponent(*s, smax), ex - dtFrac + eb);
        op->setAttr("quant.x_exp", i64(ex));
        op->setAttr("quant.b_exp", i64(eb));
        op->setAttr("quant.c_exp", i64(ec));
        op->setAttr("quant.state_exp", i64(es));
        op->setAttr("quant.state_bits", i64(stateBits));
        op->setAttr("quant.dt_frac", i64(dtFrac));
        op->setAttr("quant.decay_frac", i64(decayFrac));
      }
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
