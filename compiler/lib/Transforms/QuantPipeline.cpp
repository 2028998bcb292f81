// The quantisation pipeline and its accuracy measurement (see QuantPipeline.h).
#include "mamba2/Transforms/QuantPipeline.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include "mamba2/CodeGen/SsdForm.h"
#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Ovl/Evaluator.h"
#include "mamba2/Quant/Constants.h"
#include "mamba2/Quant/QuantEvaluator.h"
#include "mamba2/Support/PhaseReport.h"
#include "mamba2/Transforms/OvlPasses.h"
#include "mamba2/Transforms/QuantPasses.h"
#include "mamba2/runtime/Tokenizer.h"
#include "mamba2/target/Board.h"

namespace mamba2 {

namespace {
llvm::Error fail(const llvm::Twine &msg) { return llvm::createStringError(msg); }
} // namespace

std::string QuantScheme::label() const {
  std::string s = name;
  if (hadamard == "on")
    s += "+had";
  else if (hadamard == "random")
    s += "+rhad";
  if (name != "fp32" && actMode == "tensor")
    s += "+static";
  if (name != "fp32" && method == "gptq")
    s += "+gptq";
  if (ssmPot > 0) {
    s += "+pot" + std::to_string(ssmPot);
    if (ssmPotGroup == "tensor")
      s += "-tensor";
    else if (ssmPotGroup != "head")
      s += "-g" + ssmPotGroup;
  }
  if (pwlSegments > 0)
    s += "+pwl" + std::to_string(pwlSegments);
  if (ssdForm == "chunked")
    s += "+chunk" + std::to_string(ssdChunk);
  return s;
}

llvm::Error QuantScheme::validate() const {
  if (name != "fp32" && name != "w8a8" && name != "w4a8" && name != "w4a4")
    return fail("unknown scheme '" + name + "' (fp32, w8a8, w4a8, w4a4)");
  if (hadamard != "off" && hadamard != "on" && hadamard != "random")
    return fail("--hadamard must be off, on or random, not '" + hadamard + "'");
  if (actMode != "token" && actMode != "tensor")
    return fail("activation scales must be per token or per tensor, not '" + actMode + "'");
  if (method != "rtn" && method != "gptq")
    return fail("rounding must be rtn or gptq, not '" + method + "'");
  if (calibOffset < 0)
    return fail("the calibration offset must not be negative, not " + llvm::Twine(calibOffset));
  if (group <= 0)
    return fail("the weight group must be positive, not " + llvm::Twine(group));
  if (headGroups != "auto" && headGroups != "on" && headGroups != "off")
    return fail("head groups must be auto, on or off, not '" + headGroups + "'");
  if (ssdForm != "scan" && ssdForm != "chunked" && ssdForm != "auto")
    return fail("--ssd-form must be scan, chunked or auto, not '" + ssdForm + "'");
  if (ssdChunk < 1 || ssdChunk > 64)
    return fail("--ssd-chunk takes 1..64 rows, not " + llvm::Twine(ssdChunk));
  if (headsPerGroup < 0)
    return fail("--heads-per-group must be positive (0: the cost model's choice), not " +
                llvm::Twine(headsPerGroup));
  if (pwlSegments < 0 || pwlSegments > 256)
    return fail("--pwl takes 0 (off) or 1..256 segments, not " + llvm::Twine(pwlSegments));
  if (ssmPot != 0 && (ssmPot < 8 || ssmPot > 32))
    return fail("--ssm-pot takes the state bits, 8..32 (0: off), not " + llvm::Twine(ssmPot));
  int64_t k = 0;
  if (ssmPotGroup != "tensor" && ssmPotGroup != "head" &&
      (llvm::StringRef(ssmPotGroup).getAsInteger(10, k) || k <= 0))
    return fail("--ssm-pot-group takes tensor, head or a positive channel count, not '" +
                ssmPotGroup + "'");
  return llvm::Error::success();
}

bool QuantScheme::needsCalibration() const {
  return (name != "fp32" && (actMode == "tensor" || method == "gptq")) || ssmPot;
}

std::string QuantScheme::calibration() const {
  return calibText.empty() ? defaultCalibText() : calibText;
}

llvm::Error quantizeModule(mlir::ModuleOp module, const QuantScheme &s, std::string *pipelineOut) {
  if (auto e = s.validate())
    return e;
  mlir::PassManager pm(module.getContext());
  if (s.report)
    pm.addInstrumentation(s.report->passInstrumentation());
  M2FoldNormsOptions fo;
  fo.releaseWeights = s.releaseWeights;
  pm.addNestedPass<mlir::func::FuncOp>(createM2FoldNorms(fo));
  if (s.hadamard != "off") {
    M2RotateOptions o;
    o.seed = s.hadamard == "random" ? s.seed : 0;
    o.releaseWeights = s.releaseWeights;
    pm.addNestedPass<mlir::func::FuncOp>(createM2Rotate(o));
  }
  if (s.needsCalibration()) {
    M2CalibrateOptions c;
    c.text = s.calibration();
    c.tokenizer = s.tokenizer;
    c.bytes = s.calibBytes;
    c.maxMacs = s.calibMacs;
    c.offset = s.calibOffset;
    c.hessian = s.name != "fp32" && s.method == "gptq";
    c.progress = s.progress;
    pm.addPass(createM2Calibrate(c));
  }
  if (s.ssmPot) {
    M2QuantizeSsmOptions o;
    o.stateBits = s.ssmPot;
    o.group = s.ssmPotGroup;
    pm.addNestedPass<mlir::func::FuncOp>(createM2QuantizeSsm(o));
  }
  if (s.name != "fp32") {
    M2QuantizeLinearOptions q;
    q.weightBits = s.name == "w8a8" ? 8 : 4;
    q.actBits = s.name == "w4a4" ? 4 : 8;
    q.group = s.name == "w8a8" ? 0 : s.group;
    q.actMode = s.actMode;
    q.method = s.method;
    q.lmHeadBits = s.lmHeadBits;
    q.releaseWeights = s.releaseWeights;
    pm.addNestedPass<mlir::func::FuncOp>(createM2QuantizeLinear(q));
  }
  if (s.pwlSegments > 0) {
    M2PwlOptions p;
    p.segments = s.pwlSegments;
    pm.addNestedPass<mlir::func::FuncOp>(createM2Pwl(p));
  }
  if (pipelineOut) {
    llvm::raw_string_ostream os(*pipelineOut);
    pm.printAsTextualPipeline(os);
  }
  if (mlir::failed(pm.run(module)))
    return fail("the " + s.label() + " pipeline failed (see the diagnostics above)");
  return llvm::Error::success();
}

EvalText EvalText::fromBytes(llvm::StringRef text) {
  EvalText t;
  t.ids.reserve(text.size());
  for (char c : text)
    t.ids.push_back(static_cast<unsigned char>(c));
  t.bytes.assign(text.size(), 1);
  return t;
}

llvm::Expected<EvalText> tokenizeText(llvm::StringRef text, const std::string &tokenizerPath) {
  std::string err;
  auto tokenizer = runtime::makeTokenizer(tokenizerPath, err);
  if (!tokenizer)
    return fail("--tokenizer: " + err);
  // A cut by a byte count may split a UTF-8 sequence: leave out continuation bytes at the start
  // and a lead byte whose sequence is incomplete at the end.
  auto cont = [](unsigned char c) { return (c & 0xC0) == 0x80; };
  size_t begin = 0;
  while (begin < text.size() && begin < 3 && cont(text[begin]))
    ++begin;
  size_t end = text.size();
  for (size_t back = 1; back <= 4 && back <= end - begin; ++back) {
    const unsigned char c = text[end - back];
    if (cont(c))
      continue;
    const size_t need = c < 0x80         ? 1
                        : (c >> 5) == 6  ? 2
                        : (c >> 4) == 14 ? 3
                        : (c >> 3) == 30 ? 4
                                         : 1;
    if (need > back)
      end -= back;
    break;
  }
  std::vector<int32_t> ids;
  if (!(err = tokenizer->encode(std::string_view(text.data() + begin, end - begin), ids)).empty())
    return fail(tokenizerPath + ": " + err);
  EvalText t;
  t.tokenized = true;
  std::string piece;
  for (int32_t id : ids) {
    if (!(err = tokenizer->decode({id}, piece)).empty())
      return fail(tokenizerPath + ": " + err);
    t.ids.push_back(id);
    t.bytes.push_back(static_cast<int64_t>(piece.size()));
  }
  return t;
}

llvm::Expected<EvalText> textForModel(llvm::StringRef text, int64_t vocab,
                                      const std::string &tokenizerPath) {
  if (tokenizerPath.empty() || tokenizerPath == "bytes") {
    if (vocab != 256)
      return fail("the model's vocabulary is " + llvm::Twine(vocab) +
                  " ids, not 256 bytes: a token model reads tokens, not bytes (--tokenizer "
                  "tokenizer.json, the model's Hugging Face tokenizer)");
    return EvalText::fromBytes(text);
  }
  auto t = tokenizeText(text, tokenizerPath);
  if (!t)
    return t.takeError();
  for (size_t i = 0; i < t->ids.size(); ++i)
    if (t->ids[i] >= vocab)
      return fail(tokenizerPath + ": token id " + llvm::Twine(t->ids[i]) + " (token " +
                  llvm::Twine(i) + " of the text) is outside the model's vocabulary of " +
                  llvm::Twine(vocab) + ": not this model's tokenizer");
  return t;
}

/// Splits `text` into windows of `window` ids, runs each from an empty state through
/// `runWindow` (the window's ids -> its logits, [n][vocab] flattened) and collects them, with a
/// progress line on stderr when asked.
template <typename RunWindow>
llvm::Expected<std::vector<std::vector<float>>> forEachWindow(const EvalText &text, int64_t window,
                                                              bool progress, const char *what,
                                                              RunWindow runWindow) {
  std::vector<std::vector<float>> out;
  const int64_t total = static_cast<int64_t>(text.ids.size());
  const char *unit = text.tokenized ? "tokens" : "bytes";
  for (int64_t off = 0; off + 1 < total; off += window) {
    if (progress) {
      std::fprintf(stderr, "\r%s %lld/%lld %s", what, static_cast<long long>(off),
                   static_cast<long long>(total), unit);
      std::fflush(stderr);
    }
    const int64_t n = std::min(window, total - off);
    std::vector<int64_t> ids(text.ids.begin() + off, text.ids.begin() + off + n);
    auto r = runWindow(ids);
    if (!r)
      return r.takeError();
    out.push_back(std::move(*r));
  }
  if (progress)
    std::fprintf(stderr, "\r%60s\r", "");
  return out;
}

llvm::Expected<std::vector<std::vector<float>>> windowLogits(const eval::Program &program,
                                                             const EvalText &text, int64_t window,
                                                             eval::ThreadPool &pool,
                                                             bool progress) {
  if (window < 2 || text.ids.size() < 2)
    return fail("accuracy needs at least 2 ids of text and a window of at least 2");
  if (!text.tokenized && program.vocab() != 256)
    return textForModel("", program.vocab(), "").takeError();
  return forEachWindow(text, window, progress, "evaluate", [&](const std::vector<int64_t> &ids) {
    eval::Session session(program, 1, pool);
    return session.run(ids, static_cast<int64_t>(ids.size()));
  });
}

llvm::Expected<std::vector<std::vector<float>>> windowLogits(const eval::Program &program,
                                                             llvm::StringRef text, int64_t window,
                                                             eval::ThreadPool &pool,
                                                             bool progress) {
  return windowLogits(program, EvalText::fromBytes(text), window, pool, progress);
}

Accuracy compareLogits(const std::vector<std::vector<float>> &reference,
                       const std::vector<std::vector<float>> &logits, llvm::StringRef text,
                       int64_t window, int64_t V) {
  return compareLogits(reference, logits, EvalText::fromBytes(text), window, V);
}

Accuracy compareLogits(const std::vector<std::vector<float>> &reference,
                       const std::vector<std::vector<float>> &logits, const EvalText &text,
                       int64_t window, int64_t V) {
  Accuracy acc;
  double bits = 0, refBits = 0, kl = 0, maxDiff = 0, maxRef = 0;
  int64_t same = 0;
  std::vector<double> lp(static_cast<size_t>(V)), lq(static_cast<size_t>(V));
  auto logSoftmax = [&](const float *x, std::vector<double> &out) {
    double m = *std::max_element(x, x + V), s = 0;
    for (int64_t v = 0; v < V; ++v)
      s += std::exp(double(x[v]) - m);
    double lse = m + std::log(s);
    for (int64_t v = 0; v < V; ++v)
      out[v] = double(x[v]) - lse;
  };
  for (size_t w = 0; w < reference.size() && w < logits.size(); ++w) {
    const std::vector<float> &r = reference[w], &q = logits[w];
    const int64_t off = static_cast<int64_t>(w) * window, n = static_cast<int64_t>(r.size()) / V;
    for (size_t i = 0; i < r.size() && i < q.size(); ++i) {
      maxDiff = std::max(maxDiff, std::fabs(double(r[i]) - double(q[i])));
      maxRef = std::max(maxRef, std::fabs(double(r[i])));
    }
    for (int64_t t = 0; t + 1 < n; ++t) {
      const float *pr = r.data() + t * V, *pq = q.data() + t * V;
      logSoftmax(pr, lp);
      logSoftmax(pq, lq);
      const int64_t next = text.ids[static_cast<size_t>(off + t + 1)];
      acc.bytes += text.bytes[static_cast<size_t>(off + t + 1)];
      const double b = -lq[next] / std::log(2.0), rb = -lp[next] / std::log(2.0);
      bits += b;
      refBits += rb;
      double k = 0;
      for (int64_t v = 0; v < V; ++v)
        k += std::exp(lp[v]) * (lp[v] - lq[v]);
      kl += k;
      same += (std::max_element(pr, pr + V) - pr) == (std::max_element(pq, pq + V) - pq);
      int bin = t < 256 ? 0 : t < 1024 ? 1 : t < 4096 ? 2 : -1;
      if (bin >= 0) {
        acc.bpbByPos[bin] += b;
        acc.refBpbByPos[bin] += rb;
        ++acc.countByPos[bin];
      }
      ++acc.predictions;
    }
  }
  const double n = static_cast<double>(std::max<int64_t>(1, acc.predictions)),
               nb = static_cast<double>(std::max<int64_t>(1, acc.bytes));
  acc.bits = bits;
  acc.refBits = refBits;
  acc.bitsPerToken = bits / n;
  acc.refBitsPerToken = refBits / n;
  acc.bitsPerByte = bits / nb;
  acc.refBitsPerByte = refBits / nb;
  acc.top1 = static_cast<double>(same) / n;
  acc.kl = kl / n;
  acc.maxLogitDiff = maxRef > 0 ? maxDiff / maxRef : maxDiff;
  for (int i = 0; i < 3; ++i)
    if (acc.countByPos[i]) {
      acc.bpbByPos[i] /= static_cast<double>(acc.countByPos[i]);
      acc.refBpbByPos[i] /= static_cast<double>(acc.countByPos[i]);
    }
  return acc;
}

llvm::Expected<Accuracy> measureAccuracy(const eval::Program &reference, const eval::Program &model,
                                         llvm::StringRef text, int64_t window,
                                         eval::ThreadPool &pool, bool progress) {
  if (model.vocab() != reference.vocab())
    return fail("the models must have the same vocabulary");
  auto r = windowLogits(reference, text, window, pool, progress);
  if (!r)
    return r.takeError();
  auto q = windowLogits(model, text, window, pool, progress);
  if (!q)
    return q.takeError();
  return compareLogits(*r, *q, text, window, reference.vocab());
}

llvm::Error printAccuracyTable(mlir::ModuleOp raised, const std::vector<QuantScheme> &schemes,
                               const EvalText &text, int64_t window, int threads,
                               llvm::raw_ostream &os) {
  eval::ThreadPool pool(threads);
  auto reference = eval::Program::compile(raised);
  if (!reference)
    return reference.takeError();
  auto refLogits =
      windowLogits(**reference, text, window, pool, schemes.empty() ? false : schemes[0].progress);
  if (!refLogits)
    return refLogits.takeError();
  char line[200];
  if (text.tokenized) // by token position
    std::snprintf(line, sizeof line, "%-24s %10s %8s %9s %8s %10s %10s %9s %9s %9s\n", "scheme",
                  "perplexity", "vs fp32", "bits/byte", "top-1", "KL (nats)", "max|dz|",
                  "tok 0-256", "256-1K", "1K-4K");
  else
    std::snprintf(line, sizeof line, "%-24s %9s %8s %8s %10s %10s %9s %9s %9s\n", "scheme",
                  "bits/byte", "vs fp32", "top-1", "KL (nats)", "max|dz|", "0-256", "256-1K",
                  "1K-4K");
  os << line;
  for (const QuantScheme &s : schemes) {
    mlir::OwningOpRef<mlir::ModuleOp> copy(raised.clone());
    if (auto e = quantizeModule(*copy, s))
      return e;
    quant::QuantKernels kernels;
    auto model = eval::Program::compile(*copy, "main", &kernels);
    if (!model)
      return model.takeError();
    if ((*model)->vocab() != (*reference)->vocab())
      return fail("the quantised model's vocabulary differs from the reference's");
    auto logits = windowLogits(**model, text, window, pool, s.progress);
    if (!logits)
      return logits.takeError();
    auto a =
        std::make_optional(compareLogits(*refLogits, *logits, text, window, (*model)->vocab()));
    auto pos = [&](int i) {
      return a->countByPos[i] ? llvm::formatv("{0:F4}", a->bpbByPos[i]).str() : std::string("-");
    };
    if (text.tokenized)
      os << llvm::format(
          "%-24s %10.3f %+7.2f%% %9.4f %7.2f%% %10.2e %10.2e %9s %9s %9s\n", s.label().c_str(),
          a->perplexity(), 100.0 * (a->perplexity() / a->refPerplexity() - 1.0), a->bitsPerByte,
          100.0 * a->top1, a->kl, a->maxLogitDiff, pos(0).c_str(), pos(1).c_str(), pos(2).c_str());
    else
      os << llvm::format("%-24s %9.4f %+7.2f%% %7.2f%% %10.2e %10.2e %9s %9s %9s\n",
                         s.label().c_str(), a->bitsPerByte,
                         100.0 * (a->bitsPerByte / a->refBitsPerByte - 1.0), 100.0 * a->top1, a->kl,
                         a->maxLogitDiff, pos(0).c_str(), pos(1).c_str(), pos(2).c_str());
    os.flush();
  }
  return llvm::Error::success();
}

std::string defaultCalibText() { return MAMBA2_DEFAULT_CALIB_TEXT; }

QuantScheme ovlScheme(QuantScheme s) {
  s.actMode = "tensor";
  if (s.ssmPot == 0)
    s.ssmPot = 16;
  if (s.pwlSegments == 0)
    s.pwlSegments = 32;
  return s;
}

/// Whether ovl-split-head-groups' cost model for `target` splits some m2.ssd of the quantised
/// module (its shape read from the scan and the m2.qlinear in_proj that gives its dt); and in
/// `forFit`, whether some layer's whole state does not fit the scratchpad's share unsplit (the
/// prefill must then be split too).
static bool headGroupsPay(mlir::ModuleOp module, const std::string &target, bool &forFit) {
  forFit = false;
  const target::Board *board = target::findBoard(target);
  if (!board)
    return false;
  bool pay = false;
  module.walk([&](m2::SSDOp ssd) {
    auto split = ssd.getDt().getDefiningOp<m2::SplitOp>();
    auto proj = split ? split.getInput().getDefiningOp<m2::QLinearOp>() : nullptr;
    if (!proj)
      return;
    HeadGroupShape sh;
    sh.heads = quant::shapeOf(ssd.getDt()).back();
    sh.bcGroups = int64_t(ssd.getNgroups());
    if (sh.heads <= 0 || sh.bcGroups <= 0)
      return;
    sh.headDim = quant::shapeOf(ssd.getX()).back() / sh.heads;
    sh.dState = quant::shapeOf(ssd.getB()).back() / sh.bcGroups;
    sh.dModel = quant::shapeOf(proj.getWeight()).back();
    sh.weightBits = int64_t(proj.getWeightBits());
    pay = pay || chooseHeadsPerGroup(*board, sh) < sh.heads;
    forFit = forFit || !stateFitsUnsplit(*board, sh);
  });
  return pay;
}

/// ovl-ssd-form on a lowered module: with the chunked form, each ovl.ssm of @main first gets
/// the largest |d| of its dt' over `ssdCalibBytes` bytes of the calibration text in the ovl
/// evaluator (kSsmDAbsmaxAttr), which bounds d far tighter than the softplus table does.
static llvm::Error applySsdForm(mlir::ModuleOp module, const QuantScheme &given,
                                std::string *pipelineOut) {
  QuantScheme s = given;
  auto main = module.lookupSymbol<mlir::func::FuncOp>("main");
  if (s.ssdForm == "auto") {
    // The cost model's form for the prefill's calls (the decode's one row takes the scan); the
    // chunked form's calibration below runs only when it is chosen.
    std::string error;
    auto c = chooseModuleSsdForm(module, s.target, s.ssdRows, error);
    if (!c)
      return fail(error);
    if (c->form == codegen::SsdForm::Scan)
      return llvm::Error::success();
    s.ssdForm = "chunked";
    s.ssdChunk = int64_t(c->chunk);
  }
  if (s.ssdForm == "scan")
    return llvm::Error::success();
  if (main && s.ssdCalibBytes > 0) {
    // Per scan: the op that makes its d, and those of its B and C.
    struct Watch {
      ovl::SsmOp ssm;
      mlir::Operation *d, *B, *C;
      int64_t stateMax = 0;
    };
    std::vector<Watch> watch;
    llvm::DenseMap<mlir::Operation *, int64_t> absMax;
    llvm::DenseMap<mlir::Operation *, ovl::IntTensor> seen;
    main.walk([&](ovl::SsmOp ssm) {
      SsmDtxForm f;
      std::string why;
      mlir::Operation *d = nullptr;
      if (!readSsmDtx(ssm, f, why) || !(d = f.d.getDefiningOp()) || !ssm.getB().getDefiningOp() ||
          !ssm.getC().getDefiningOp())
        return;
      watch.push_back({ssm, d, ssm.getB().getDefiningOp(), ssm.getC().getDefiningOp(), 0});
      absMax[d] = 0;
      seen[ssm.getB().getDefiningOp()] = {};
      seen[ssm.getC().getDefiningOp()] = {};
    });
    if (!watch.empty()) {
      auto buf = llvm::MemoryBuffer::getFile(s.calibration());
      if (!buf)
        return fail("cannot read the calibration text " + s.calibration());
      llvm::StringRef all = (*buf)->getBuffer();
      const size_t off = std::min<size_t>(all.size(), size_t(s.calibOffset));
      const llvm::StringRef text = all.substr(off, size_t(s.ssdCalibBytes));
      auto session = ovl::Session::create(module);
      if (!session)
        return session.takeError();
      auto ids = textForModel(text, (*session)->vocab(), s.tokenizer);
      if (!ids)
        return ids.takeError();
      (*session)->setObserver([&](mlir::Operation *op, const std::vector<ovl::IntTensor> &r) {
        if (r.empty())
          return;
        if (auto it = absMax.find(op); it != absMax.end())
          for (int32_t v : r[0].v)
            it->second = std::max<int64_t>(it->second, std::abs(int64_t(v)));
        if (auto it = seen.find(op); it != seen.end())
          it->second = r[0];
        if (mlir::isa<ovl::SsmOp>(op) && r.size() == 2)
          for (Watch &w : watch)
            if (w.ssm.getOperation() == op)
              for (int32_t v : r[1].v)
                w.stateMax = std::max<int64_t>(w.stateMax, std::abs(int64_t(v)));
      });
      if (auto r = (*session)->run(std::vector<int32_t>(ids->ids.begin(), ids->ids.end())); !r)
        return r.takeError();
      mlir::Builder b(module.getContext());
      for (Watch &w : watch) {
        // The largest |C_t . B_s| of rows a chunk apart at most, in any B/C group.
        const ovl::IntTensor &B = seen[w.B], &C = seen[w.C];
        const int64_t T = B.shape.empty() ? 0 : B.shape[0], GN = T ? B.shape[1] : 0,
                      G = int64_t(w.ssm.getNgroups()), N = G ? GN / G : 0;
        int64_t cb = 0;
        for (int64_t t = 0; t < T; ++t)
          for (int64_t u = std::max<int64_t>(0, t - s.ssdChunk + 1); u <= t; ++u)
            for (int64_t g = 0; g < G; ++g) {
              int64_t dot = 0;
              for (int64_t n = 0; n < N; ++n)
                dot += int64_t(C.v[size_t(t * GN + g * N + n)]) * B.v[size_t(u * GN + g * N + n)];
              cb = std::max<int64_t>(cb, std::abs(dot));
            }
        w.ssm->setAttr(kSsmDAbsmaxAttr, b.getI64IntegerAttr(absMax[w.d]));
        w.ssm->setAttr(kSsmCBAbsmaxAttr, b.getI64IntegerAttr(cb));
        w.ssm->setAttr(kSsmStateAbsmaxAttr, b.getI64IntegerAttr(w.stateMax));
      }
    }
  }
  mlir::PassManager pm(module.getContext());
  if (s.report)
    pm.addInstrumentation(s.report->passInstrumentation());
  OvlSsdFormOptions o;
  o.form = s.ssdForm;
  o.chunk = s.ssdChunk;
  o.stateBits = s.ssmPot > 0 ? s.ssmPot : 16;
  pm.addPass(createOvlSsdForm(o));
  if (pipelineOut) {
    llvm::raw_string_ostream os(*pipelineOut);
    os << ",";
    pm.printAsTextualPipeline(os);
  }
  if (mlir::failed(pm.run(module)))
    return fail("ovl-ssd-form failed for " + s.label() + " (see the diagnostics above)");
  return llvm::Error::success();
}

llvm::Error lowerToOvl(mlir::ModuleOp module, const QuantScheme &scheme, std::string *pipelineOut) {
  QuantScheme s = ovlScheme(scheme);
  if (s.name == "fp32")
    return fail("the overlay computes integers only: --quant w8a8, w4a8 or w4a4, not fp32");
  if (s.lmHeadBits == 0)
    return fail("the overlay needs a quantised lm_head (--lm-head-bits 8 or 4)");
  if (auto e = quantizeModule(module, s, pipelineOut))
    return e;
  bool forFit = false;
  const bool pays =
      s.headsPerGroup == 0 && s.headGroups == "auto" && headGroupsPay(module, s.target, forFit);
  const bool headGroups = s.headsPerGroup > 0 || s.headGroups == "on" || pays;
  // Head groups per phase: where the cost model splits for the decode's speed alone (every
  // layer's state fits unsplit), the decode entry gets a split clone of @main and the prefill
  // the unsplit @main, whose row blocks overlap the units better (130M on the U280: a 512-token
  // prompt 37.4M cycles split, 31.7M unsplit; docs/codegen.md "Head groups per phase").
  const bool perPhase = pays && !forFit;
  mlir::PassManager pm(module.getContext());
  if (s.report)
    pm.addInstrumentation(s.report->passInstrumentation());
  if (headGroups)
    pm.addNestedPass<mlir::func::FuncOp>(createM2ReorderInProj());
  M2LowerToOvlOptions lo;
  lo.releaseWeights = s.releaseWeights;
  pm.addPass(createM2LowerToOvl(lo));
  if (headGroups) {
    OvlSplitHeadGroupsOptions o;
    o.headsPerGroup = s.headsPerGroup;
    o.target = s.target;
    o.releaseWeights = s.releaseWeights && !perPhase;
    if (perPhase) {
      pm.addPass(createOvlDecodeFunction());
      o.entry = "decode";
    }
    pm.addNestedPass<mlir::func::FuncOp>(createOvlSplitHeadGroups(o));
  }
  if (pipelineOut) {
    llvm::raw_string_ostream os(*pipelineOut);
    os << ",";
    pm.printAsTextualPipeline(os);
  }
  if (mlir::failed(pm.run(module)))
    return fail("the ovl pipeline failed for " + s.label() + " (see the diagnostics above)");
  return applySsdForm(module, s, pipelineOut);
}

llvm::Expected<std::vector<std::vector<float>>> ovlWindowLogits(mlir::ModuleOp ovlModule,
                                                                const EvalText &text,
                                                                int64_t window, bool progress,
                                                                int64_t tBlock) {
  if (window < 2 || text.ids.size() < 2)
    return fail("accuracy needs at least 2 ids of text and a window of at least 2");
  auto session = ovl::Session::create(ovlModule);
  if (!session)
    return session.takeError();
  if (!text.tokenized && (*session)->vocab() != 256)
    return textForModel("", (*session)->vocab(), "").takeError();
  ovl::Session &ses = **session;
  const double unit = std::ldexp(1.0, -ses.logitFrac());
  return forEachWindow(text, window, progress, "evaluate (ovl)",
                       [&](const std::vector<int64_t> &ids) -> llvm::Expected<std::vector<float>> {
                         ses.reset();
                         const std::vector<int32_t> in(ids.begin(), ids.end());
                         auto r = tBlock > 0 ? ses.feed(in, tBlock) : ses.run(in);
                         if (!r)
                           return r.takeError();
                         std::vector<float> l(r->v.size());
                         for (size_t i = 0; i < l.size(); ++i)
                           l[i] = static_cast<float>(r->v[i] * unit);
                         return l;
                       });
}

llvm::Expected<OvlAccuracy> measureOvlAccuracy(mlir::ModuleOp raised, const QuantScheme &given,
                                               const std::vector<std::vector<float>> &reference,
                                               llvm::StringRef text, int64_t window,
                                               eval::ThreadPool &pool) {
  return measureOvlAccuracy(raised, given, reference, EvalText::fromBytes(text), window, pool);
}

llvm::Expected<OvlAccuracy> measureOvlAccuracy(mlir::ModuleOp raised, const QuantScheme &given,
                                               const std::vector<std::vector<float>> &reference,
                                               const EvalText &text, int64_t window,
                                               eval::ThreadPool &pool) {
  QuantScheme s = ovlScheme(given);
  mlir::OwningOpRef<mlir::ModuleOp> copy(raised.clone());
  if (auto e = quantizeModule(*copy, s))
    return e;
  OvlAccuracy out;
  out.label = s.label();
  // The m2-level integer evaluation of the quantised module.
  quant::QuantKernels kernels;
  auto model = eval::Program::compile(*copy, "main", &kernels);
  if (!model)
    return model.takeError();
  const int64_t V = (*model)->vocab();
  auto m2Logits = windowLogits(**model, text, window, pool, s.progress);
  if (!m2Logits)
    return m2Logits.takeError();
  out.m2 = compareLogits(reference, *m2Logits, text, window, V);
  // The same module lowered to ovl.
  mlir::PassManager pm(copy->getContext());
  pm.addPass(createM2LowerToOvl());
  if (mlir::failed(pm.run(*copy)))
    return fail("m2-lower-to-ovl failed for " + s.label() + " (see the diagnostics above)");
  if (auto e = applySsdForm(*copy, s, nullptr))
    return e;
  auto ovlLogits = ovlWindowLogits(*copy, text, window, s.progress, s.evalTBlock);
  if (!ovlLogits)
    return ovlLogits.takeError();
  out.ovl = compareLogits(reference, *ovlLogits, text, window, V);
  out.ovlVsM2 = compareLogits(*m2Logits, *ovlLogits, text, window, V);
  return out;
}

llvm::Error printOvlAccuracyTable(mlir::ModuleOp raised, const std::vector<QuantScheme> &schemes,
                                  const EvalText &text, int64_t window, int threads,
                                  llvm::raw_ostream &os) {
  eval::ThreadPool pool(threads);
  auto reference = eval::Program::compile(raised);
  if (!reference)
    return reference.takeError();
  const bool progress = schemes.empty() ? false : schemes[0].progress;
  auto refLogits = windowLogits(**reference, text, window, pool, progress);
  if (!refLogits)
    return refLogits.takeError();
  char line[200];
  if (text.tokenized)
    std::snprintf(line, sizeof line, "%-36s %10s %8s %9s %8s %10s %10s %10s\n", "scheme",
                  "perplexity", "vs fp32", "bits/byte", "top-1", "KL (nats)", "max|dz|",
                  "ovl vs m2");
  else
    std::snprintf(line, sizeof line, "%-36s %9s %8s %8s %10s %10s %10s\n", "scheme", "bits/byte",
                  "vs fp32", "top-1", "KL (nats)", "max|dz|", "ovl vs m2");
  os << line;
  auto row = [&](const std::string &label, const Accuracy &a, const std::string &extra) {
    if (text.tokenized)
      os << llvm::format("%-36s %10.3f %+7.2f%% %9.4f %7.2f%% %10.2e %10.2e %10s\n", label.c_str(),
                         a.perplexity(), 100.0 * (a.perplexity() / a.refPerplexity() - 1.0),
                         a.bitsPerByte, 100.0 * a.top1, a.kl, a.maxLogitDiff, extra.c_str());
    else
      os << llvm::format("%-36s %9.4f %+7.2f%% %7.2f%% %10.2e %10.2e %10s\n", label.c_str(),
                         a.bitsPerByte, 100.0 * (a.bitsPerByte / a.refBitsPerByte - 1.0),
                         100.0 * a.top1, a.kl, a.maxLogitDiff, extra.c_str());
    os.flush();
  };
  for (const QuantScheme &given : schemes) {
    auto r = measureOvlAccuracy(raised, given, *refLogits, text, window, pool);
    if (!r)
      return r.takeError();
    row(r->label + " m2", r->m2, "");
    row(r->label + " ovl", r->ovl, llvm::formatv("{0:E1}", r->ovlVsM2.maxLogitDiff).str());
  }
  return llvm::Error::success();
}

} // namespace mamba2
