// m2-calibrate: runs the evaluator over calibration text and records activation statistics on
// the linear layers (QuantPasses.td).
#include "mamba2/Transforms/QuantPasses.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include "mamba2/Eval/M2Evaluator.h"
#include "mamba2/Quant/QuantEvaluator.h"
#include "mamba2/Transforms/QuantPipeline.h"

namespace mamba2 {
#define GEN_PASS_DEF_M2CALIBRATE
#include "mamba2/Transforms/QuantPasses.h.inc"
} // namespace mamba2

using namespace mlir;
namespace quant = mamba2::quant;

namespace {

void progressBar(int64_t done, int64_t total) {
  const int width = 30;
  int fill = total ? static_cast<int>(width * done / total) : width;
  std::fprintf(stderr, "\rcalibrate [%-*s] %lld/%lld bytes", width, std::string(fill, '#').c_str(),
               static_cast<long long>(done), static_cast<long long>(total));
  if (done == total)
    std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

float percentile(std::vector<float> v, double p) {
  if (v.empty())
    return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

struct CalibratePass : mamba2::impl::M2CalibrateBase<CalibratePass> {
  using M2CalibrateBase::M2CalibrateBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (text.empty()) {
      module.emitError("m2-calibrate: no calibration text (option text=FILE)");
      return signalPassFailure();
    }
    auto file = llvm::MemoryBuffer::getFile(text);
    if (!file) {
      module.emitError("m2-calibrate: ") << text << ": " << file.getError().message();
      return signalPassFailure();
    }
    llvm::StringRef data = (*file)->getBuffer();
    if (offset < 0) {
      module.emitError("m2-calibrate: offset must not be negative, not ")
          << static_cast<int64_t>(offset);
      return signalPassFailure();
    }
    if (maxMacs < 0) {
      module.emitError("m2-calibrate: max-macs must not be negative, not ")
          << static_cast<double>(maxMacs);
      return signalPassFailure();
    }
    data = data.drop_front(static_cast<size_t>(std::min<int64_t>(offset, data.size())));
    int64_t total = std::min<int64_t>(bytes, static_cast<int64_t>(data.size()));
    // The budget: an id costs the multiply-adds of every m2.linear (the lm_head's logits are
    // not computed, below). Counted in bytes, an upper bound on the ids of a tokenized text.
    if (maxMacs > 0) {
      double perId = 0;
      module.walk([&](mamba2::m2::LinearOp l) {
        perId += static_cast<double>(cast<ShapedType>(l.getWeight().getType()).getNumElements());
      });
      if (perId > 0 && static_cast<double>(total) * perId > maxMacs) {
        const int64_t cut = std::max<int64_t>(2, static_cast<int64_t>(maxMacs / perId));
        mlir::emitRemark(module.getLoc(), "m2-calibrate: ")
            << cut << " of the " << total << " bytes: an id takes "
            << llvm::formatv("{0:e2}", perId) << " multiply-adds, the calibration at most "
            << llvm::formatv("{0:e2}", static_cast<double>(maxMacs)) << " (max-macs)";
        total = cut;
      }
    }
    if (total < 2 || window < 2) {
      module.emitError("m2-calibrate: ")
          << text << " gives " << total << " bytes from byte " << static_cast<int64_t>(offset)
          << "; at least 2 (and window >= 2) are needed";
      return signalPassFailure();
    }
    mamba2::eval::ThreadPool pool(0);
    quant::QuantKernels kernels;
    kernels.setCollect(true, hessian);
    kernels.setPool(&pool);
    auto program = mamba2::eval::Program::compile(module, "main", &kernels);
    if (!program) {
      module.emitError("m2-calibrate: ") << llvm::toString(program.takeError());
      return signalPassFailure();
    }
    if ((*program)->numStates() != 0 || (*program)->vocab() < 256) {
      module.emitError("m2-calibrate: @main must be a whole-sequence language model over bytes "
                       "or tokens (vocabulary >= 256)");
      return signalPassFailure();
    }
    // Without a tokenizer the bytes are the ids, also for a token model (whose statistics then
    // come from byte ids: mamba2c says so and passes --tokenizer when it has one).
    llvm::StringRef calib = data.take_front(static_cast<size_t>(total));
    auto input = tokenizer.empty()
                     ? llvm::Expected<mamba2::EvalText>(mamba2::EvalText::fromBytes(calib))
                     : mamba2::textForModel(calib, (*program)->vocab(), tokenizer);
    if (!input) {
      module.emitError("m2-calibrate: ") << text << ": " << llvm::toString(input.takeError());
      return signalPassFailure();
    }
    // The progress bar counts bytes: those of the ids evaluated so far.
    const int64_t count = static_cast<int64_t>(input->ids.size());
    int64_t done = 0;
    for (int64_t off = 0; off < count; off += window) {
      if (progress)
        progressBar(done, total);
      int64_t n = std::min<int64_t>(window, count - off);
      std::vector<int64_t> ids(input->ids.begin() + off, input->ids.begin() + off + n);
      int64_t windowBytes = 0;
      for (int64_t i = off; i < off + n; ++i)
        windowBytes += input->bytes[static_cast<size_t>(i)];
      done += windowBytes;
      // The bar moves as the window's ops run (a 2.7B window takes minutes); `shown` outlives
      // the session whose lambda updates it.
      int64_t shown = done - windowBytes;
      mamba2::eval::Session session(**program, 1, pool);
      session.discardLogits(true); // the statistics are taken on the way
      if (progress) {
        const int64_t before = shown;
        session.onOp([&, before](size_t begun, size_t ops) {
          const int64_t at = before + windowBytes * static_cast<int64_t>(begun) /
                                          static_cast<int64_t>(std::max<size_t>(ops, 1));
          if (at * 100 / std::max<int64_t>(total, 1) > shown * 100 / std::max<int64_t>(total, 1))
            progressBar(shown = at, total); // at most once a percent
        });
      }
      auto logits = session.run(ids, n);
      if (!logits) {
        module.emitError("m2-calibrate: ") << llvm::toString(logits.takeError());
        return signalPassFailure();
      }
    }
    if (progress)
      progressBar(total, total);
    Builder b(module.getContext());
    for (const auto &[op, st] : kernels.ssmStats()) {
      auto f = [&](double v) { return b.getF32FloatAttr(static_cast<float>(v)); };
      // Per channel (m2-quantize-ssm's per-group exponents).
      auto vec = [&](llvm::StringRef name, const std::vector<double> &v) {
        if (v.empty())
          return;
        std::vector<float> fv(v.begin(), v.end());
        auto t = RankedTensorType::get({static_cast<int64_t>(fv.size())}, b.getF32Type());
        op->setAttr(name, DenseElementsAttr::get(t, llvm::ArrayRef(fv)));
      };
      if (isa<mamba2::m2::Conv1dOp, mamba2::m2::RMSNormOp>(op)) {
        op->setAttr("calib.in_absmax", f(st.inMax));
        vec("calib.in_channel_absmax", st.inChan);
        continue;
      }
      if (isa<mamba2::m2::GatedRMSNormOp>(op)) {
        op->setAttr("calib.y_absmax", f(st.yMax));
        op->setAttr("calib.z_absmax", f(st.zMax));
        op->setAttr("calib.g_absmax", f(st.gMax));
        continue;
      }
      op->setAttr("calib.x_absmax", f(st.xMax));
      op->setAttr("calib.b_absmax", f(st.bMax));
      op->setAttr("calib.c_absmax", f(st.cMax));
      op->setAttr("calib.state_absmax", f(st.stateMax));
      vec("calib.x_channel_absmax", st.xChan);
      vec("calib.b_channel_absmax", st.bChan);
      vec("calib.c_channel_absmax", st.cChan);
      vec("calib.state_channel_absmax", st.stateChan);
    }
    for (const auto &[op, st] : kernels.stats()) {
      const double count = static_cast<double>(st.tokens) * st.channelAbsMax.size();
      double absmax = 0;
      std::vector<float> cmax, crms;
      for (size_t c = 0; c < st.channelAbsMax.size(); ++c) {
        absmax = std::max(absmax, st.channelAbsMax[c]);
        cmax.push_back(static_cast<float>(st.channelAbsMax[c]));
        crms.push_back(static_cast<float>(std::sqrt(st.channelSumSq[c] / st.tokens)));
      }
      double ms = st.sum2 / count;
      op->setAttr("calib.tokens", b.getI64IntegerAttr(st.tokens));
      op->setAttr("calib.absmax", b.getF32FloatAttr(static_cast<float>(absmax)));
      op->setAttr("calib.rms", b.getF32FloatAttr(static_cast<float>(std::sqrt(ms))));
      op->setAttr("calib.kurtosis",
                  b.getF32FloatAttr(static_cast<float>(ms > 0 ? st.sum4 / count / (ms * ms) : 0)));
      op->setAttr("calib.token_absmax_p50", b.getF32FloatAttr(percentile(st.tokenAbsMax, 0.5)));
      op->setAttr("calib.token_absmax_p99", b.getF32FloatAttr(percentile(st.tokenAbsMax, 0.99)));
      auto vec = RankedTensorType::get({static_cast<int64_t>(cmax.size())}, b.getF32Type());
      op->setAttr("calib.channel_absmax", DenseElementsAttr::get(vec, llvm::ArrayRef(cmax)));
      op->setAttr("calib.channel_rms", DenseElementsAttr::get(vec, llvm::ArrayRef(crms)));
      if (!st.hessian.empty()) {
        const int64_t c = static_cast<int64_t>(cmax.size());
        std::vector<float> h(st.hessian.size());
        for (size_t i = 0; i < h.size(); ++i)
          h[i] = static_cast<float>(st.hessian[i] / st.tokens);
        op->setAttr("calib.hessian",
                    DenseElementsAttr::get(RankedTensorType::get({c, c}, b.getF32Type()),
                                           llvm::ArrayRef(h)));
      }
    }
  }
};

} // namespace
