// Accuracy of the quantisation schemes against fp32, written as docs/accuracy.md: every scheme
// with and without Hadamard rotation and piecewise-linear functions on held-out text and on
// WikiText-2, bits per byte by position, the activation statistics of the inputs of in_proj and
// out_proj with and without rotation, and the error of the piecewise-linear tables. Prints the
// same tables; asserts nothing. bench/compiler/accuracy.sh runs it with the default inputs.
//
//   mamba2-accuracy-bench --model M.onnx --heldout PERSUASION.txt --wikitext WIKI.txt
//       [--bytes 16384] [--calib-bytes 16384] [--out docs/accuracy.md]
//       [--only wikitext-rows|wikitext-attribution]
//
// --only computes one section and puts it in place of that section of the existing --out file
// (the rows are the same from run to run, so the rest of the file stays true): wikitext-rows
// the WikiText-2 bits-per-byte table, wikitext-attribution the section on the power-of-two rows
// on WikiText-2. A full run keeps the section that mamba2-eval-bench writes
// (kEvalBenchHeading, bench/compiler/eval_bench.sh) from the existing --out file.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include "mamba2/Import/Importer.h"
#include "mamba2/Quant/Constants.h"
#include "mamba2/Quant/QuantEvaluator.h"
#include "mamba2/Transforms/Passes.h"
#include "mamba2/Transforms/QuantPasses.h"
#include "mamba2/Transforms/QuantPipeline.h"
#include "mamba2/isa/PwlBuild.h"
#include "mamba2/isa/Reference.h"
#include "mamba2/onnx/ModelReader.h"

#include "ReportSection.h"

using namespace mamba2;

namespace {

std::string fmt(const char *f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

/// Max and mean absolute error of a table over its range (and relative error for rsqrt).
std::string pwlTable() {
  std::ostringstream os;
  os << "| function | range | segments | max abs error | mean abs error |\n|---|---|---|---|---|\n";
  struct F {
    const char *name;
    double lo, hi;
  };
  for (F f : {F{"exp", -8, 0}, F{"softplus", -8, 8}, F{"silu", -8, 8}, F{"sigmoid", -8, 8}})
    for (unsigned seg : {8u, 16u, 32u, 64u, 128u}) {
      isa::PwlSpec spec;
      spec.lo = f.lo;
      spec.hi = f.hi;
      spec.segments = seg;
      auto t = isa::buildPwl(f.name, spec);
      double maxErr = 0, sum = 0;
      int64_t n = 0;
      for (double x = f.lo; x <= f.hi; x += (f.hi - f.lo) / 20000) {
        int32_t xi = static_cast<int32_t>(std::llround(x * 65536));
        double y = isa::ref::pwl(t.data(), xi) / 65536.0;
        double e = std::fabs(y - isa::pwlFunction(f.name, xi / 65536.0));
        maxErr = std::max(maxErr, e);
        sum += e;
        ++n;
      }
      os << "| " << f.name << " | [" << f.lo << ", " << f.hi << "] | " << seg << " | "
         << fmt("%.2e", maxErr) << " | " << fmt("%.2e", sum / n) << " |\n";
    }
  os << "\n| function | inputs | segments | max relative error | mean relative error |\n"
        "|---|---|---|---|---|\n";
  for (unsigned seg : {8u, 16u, 32u, 64u, 128u}) {
    auto t = isa::buildRsqrtTable(24, seg);
    double maxErr = 0, sum = 0;
    int64_t n = 0;
    for (double lx = 0; lx < 30.5; lx += 0.001) {
      int32_t x = static_cast<int32_t>(std::min(std::ldexp(1.0, 31) - 1, std::exp2(lx)));
      double want = std::ldexp(1.0, 24) / std::sqrt(double(x));
      double e = std::fabs(isa::ref::rsqrt(t.data(), x) - want) / want;
      maxErr = std::max(maxErr, e);
      sum += e;
      ++n;
    }
    os << "| rsqrt (isa normalised) | x in [1, 2^30.5] | " << seg << " | " << fmt("%.2e", maxErr)
       << " | " << fmt("%.2e", sum / n) << " |\n";
  }
  return os.str();
}

/// Bits per byte and mean entropy (bits) of the next-byte distributions of `logits` / T.
struct Sharpness {
  double bpb = 0, entropy = 0;
};
Sharpness sharpness(const std::vector<std::vector<float>> &logits, llvm::StringRef text,
                    int64_t window, int64_t V, double T) {
  double bits = 0, ent = 0;
  int64_t n = 0;
  std::vector<double> lp(static_cast<size_t>(V));
  for (size_t w = 0; w < logits.size(); ++w) {
    const int64_t off = static_cast<int64_t>(w) * window,
                  len = static_cast<int64_t>(logits[w].size()) / V;
    for (int64_t t = 0; t + 1 < len; ++t) {
      const float *x = logits[w].data() + t * V;
      double m = *std::max_element(x, x + V) / T, s = 0;
      for (int64_t v = 0; v < V; ++v)
        s += std::exp(x[v] / T - m);
      const double lse = m + std::log(s);
      double h = 0;
      for (int64_t v = 0; v < V; ++v) {
        lp[v] = x[v] / T - lse;
        h -= std::exp(lp[v]) * lp[v];
      }
      bits -= lp[static_cast<unsigned char>(text[off + t + 1])];
      ent += h;
      ++n;
    }
  }
  const double k = std::log(2.0) * static_cast<double>(std::max<int64_t>(n, 1));
  return {bits / k, ent / k};
}

/// The temperature in [0.8, 2.5] (steps of 0.02) that minimises the bits per byte of `logits` /
/// T on the text itself (an oracle, for diagnosis only), with that bits per byte.
std::pair<double, double> bestTemperature(const std::vector<std::vector<float>> &logits,
                                          llvm::StringRef text, int64_t window, int64_t V) {
  std::pair<double, double> best = {1.0, sharpness(logits, text, window, V, 1.0).bpb};
  for (int i = 0; i <= 85; ++i) {
    const double T = 0.8 + 0.02 * i, b = sharpness(logits, text, window, V, T).bpb;
    if (b < best.second)
      best = {T, b};
  }
  return best;
}

/// The temperature at which `logits` / T have mean entropy `entropy` (bisection in [0.5, 2]).
double entropyMatchedTemperature(const std::vector<std::vector<float>> &logits,
                                 llvm::StringRef text, int64_t window, int64_t V, double entropy) {
  double lo = 0.5, hi = 2.0;
  for (int i = 0; i < 24; ++i) {
    const double mid = (lo + hi) / 2;
    (sharpness(logits, text, window, V, mid).entropy < entropy ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

/// Observes dt after the softplus at every m2.ssd the fp32 evaluator runs: over all steps and
/// heads, the sum of dt and of dt rounded to `frac` fraction bits (what m2-quantize-ssm keeps
/// with dt-frac = frac), and how many steps round to 0, in all heads and in the heads whose
/// softplus(dt_bias) is below `slow`.
struct DtProbe : eval::Extension {
  int frac = 10;
  double slow = 0.003;
  std::mutex mu;
  double sum[2] = {0, 0}, rounded[2] = {0, 0};
  int64_t steps[2] = {0, 0}, zeros[2] = {0, 0};
  std::set<std::pair<mlir::Operation *, int64_t>> slowHeads, allHeads;
  bool handles(mlir::Operation *) const override { return false; }
  llvm::Expected<std::vector<eval::Act>> run(mlir::Operation *, llvm::ArrayRef<const eval::Act *>,
                                             std::vector<int32_t> &) override {
    return llvm::createStringError("DtProbe runs no op");
  }
  void observe(mlir::Operation *op, llvm::ArrayRef<const eval::Act *> operands) override {
    auto ssd = llvm::dyn_cast<m2::SSDOp>(op);
    if (!ssd || !operands[1])
      return;
    auto bias = quant::readF32(ssd.getDtBias());
    if (!bias)
      return;
    auto softplus = [](double x) { return x > 20 ? x : std::log1p(std::exp(x)); };
    const eval::Act &dt = *operands[1];
    const double unit = std::ldexp(1.0, frac);
    std::lock_guard<std::mutex> lock(mu);
    for (int64_t h = 0; h < dt.c; ++h) {
      const int k = softplus((*bias)[h]) < slow ? 1 : 0;
      allHeads.insert({op, h});
      if (k)
        slowHeads.insert({op, h});
      for (int64_t b = 0; b < dt.b; ++b)
        for (int64_t t = 0; t < dt.l; ++t) {
          const double d = softplus(double(dt.row(b, t)[h]) + (*bias)[h]),
                       r = static_cast<double>(std::llround(d * unit)) / unit;
          for (int i = 0; i <= k; ++i) { // every head in 0, the slow ones in 1 as well
            sum[i] += d;
            rounded[i] += r;
            steps[i] += 1;
            zeros[i] += r == 0;
          }
        }
    }
  }
};

const char *kWhyHeading = "## Why the power-of-two rows read below fp32 on WikiText-2";
const char *kWhyText =
    "The rows with the power-of-two SSM per head read below fp32 on WikiText-2 (the table "
    "above: 1-3 % with a 16-bit state; 7 % with an 8-bit one, which reads 17-21 % above fp32 on "
    "the held-out text) and, with a 16-bit state, 0.07-0.14 % above it on the held-out text; "
    "other perturbations that flatten the distribution read below fp32 there too (`fp32+pwl32` "
    "-1.0 %, `w4a4+rhad` -1.0 %, against -0.03 % and +0.49 % on the held-out text). This is "
    "not a bug and not leaked "
    "calibration data; the tables below measure it on the same 4096 bytes of each text as the "
    "table above (windows of 4096), with the fp32 linear layers and the power-of-two SSM unless "
    "the row says otherwise:\n\n"
    "- **Same bytes, same positions.** Every row and its fp32 reference are scored by "
    "`compareLogits` on the same positions of the same windows (the fp32 bits per byte of every "
    "row is the `fp32` row's). The WikiText-2 rows above calibrate on the held-out text, which "
    "they do not evaluate.\n"
    "- **Not the calibration.** Calibrated on 16384 WikiText-2 bytes right after the evaluated "
    "ones (so its ranges are WikiText-2's, and nothing is clipped that the held-out ranges "
    "would clip), the per-head row reads the same.\n"
    "- **Not the rounding of dt, exp(dt A) or the state.** dt with 16 fraction bits instead of "
    "10 and exp(dt A) with 20 instead of 15 give the same row; a 19-bit state (the widest whose "
    "int32 output sum cannot overflow at N = 64) reads further below fp32, not closer to it. "
    "Rounding dt to 10 fraction bits keeps the sum of dt over all steps within 0.4 % even in the "
    "12 slow heads (the third table).\n"
    "- **It is the scan, with its 8-bit x, B and C per head.** The conv alone in integers reads "
    "as fp32; the scan alone gives the whole change. Per tensor (coarser x, B and C for most "
    "heads), calibrated on the held-out text, the row reads above fp32 instead.\n"
    "- **The fp32 model is badly over-confident on WikiText-2, and only there.** Dividing its "
    "logits by T = 1.05 lowers WikiText-2's bits per byte by 2.6 %, and its best temperature "
    "(1.9) by 17 %; on the held-out text the best is T = 1.02 and 0.02 % (second table). On "
    "WikiText-2 the rows' bits per byte fall as their mean entropy rises, in the same order for "
    "every row: the per-head rows raise the entropy and read below fp32; the per-tensor row "
    "calibrated on the held-out text lowers it and reads above, calibrated on WikiText-2 raises "
    "it and reads below. About 40 % of the drop is that flattening alone (the column "
    "`fp32 logits / T of the same entropy`); the rest is that the 8-bit scan also moves "
    "probability in ways that suit this text better: at each one's best temperature the per-head "
    "row is still 0.7 % below fp32 on WikiText-2, and 0.06 % above it on the held-out text.\n\n"
    "So the quantised rows are not closer to fp32 on WikiText-2 (their KL is as large as on the "
    "held-out text or larger); they are perturbations of a model that is far from calibrated on "
    "text unlike its training data, and such a model's bits per byte there rewards perturbations "
    "that soften it. The held-out rows, on text like the training data, are the measure of the "
    "quantisation's loss; the WikiText-2 rows measure a byte model of Austen's novels on "
    "Wikipedia. The temperatures chosen on the evaluated text are an oracle, for this diagnosis "
    "only.";

struct Row {
  std::string label;
  Accuracy a;
};

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"mamba2-accuracy-bench: quantisation accuracy against fp32 (docs/accuracy.md)"};
  std::string model, heldout, wikitext, out;
  int64_t bytes = 4096, calibBytes = 16384, heldoutOffset = 100000, window = 4096;
  int threads = 0;
  app.add_option("--model", model, "ONNX model (byte-level)")->required();
  app.add_option("--heldout", heldout, "held-out text of the model")->required();
  app.add_option("--wikitext", wikitext, "WikiText-2 raw test text");
  app.add_option("--bytes", bytes, "bytes of each text evaluated");
  app.add_option("--heldout-offset", heldoutOffset,
                 "where the evaluated held-out bytes start (calibration uses the first ones)");
  app.add_option("--calib-bytes", calibBytes, "bytes of held-out text for calibration");
  app.add_option("--window", window, "bytes per window (each from an empty state)");
  app.add_option("--threads", threads, "evaluator threads (0: all)");
  app.add_option("--out", out, "write the markdown report here");
  std::string only = "all";
  app.add_option("--only", only,
                 "one section: printed, and with --out put in place of that section of the "
                 "existing report: wikitext-rows (the WikiText-2 bits-per-byte table), "
                 "wikitext-attribution (the power-of-two rows on WikiText-2)")
      ->check(CLI::IsMember({"all", "wikitext-rows", "wikitext-attribution"}));
  bool whyOnly = false;
  app.add_flag("--wikitext-attribution-only", whyOnly, "the same as --only wikitext-attribution");
  CLI11_PARSE(app, argc, argv);
  if (whyOnly)
    only = "wikitext-attribution";
  whyOnly = only == "wikitext-attribution";
  const bool wikiRowsOnly = only == "wikitext-rows";
  if (only != "all" && wikitext.empty()) {
    std::cerr << "mamba2-accuracy-bench: error: --only " << only << " needs --wikitext\n";
    return 1;
  }

  auto readText = [](const std::string &path) -> std::string {
    auto b = llvm::MemoryBuffer::getFile(path);
    if (!b) {
      std::cerr << "mamba2-accuracy-bench: error: " << path << ": " << b.getError().message()
                << "\n";
      std::exit(1);
    }
    return (*b)->getBuffer().str();
  };
  std::string held = readText(heldout);
  if (static_cast<int64_t>(held.size()) < heldoutOffset + bytes) {
    std::cerr << "mamba2-accuracy-bench: error: " << heldout << " is shorter than "
              << heldoutOffset + bytes << " bytes\n";
    return 1;
  }
  // One file per run: benchmarks of other checkouts may run beside this one.
  std::string calibPath = "/tmp/mamba2-accuracy-calib-" + std::to_string(::getpid()) + ".txt";
  std::ofstream(calibPath) << held.substr(0, static_cast<size_t>(calibBytes));
  struct RemoveOnExit {
    std::string path;
    ~RemoveOnExit() { std::remove(path.c_str()); }
  } removeCalib{calibPath};
  std::vector<std::pair<std::string, std::string>> texts = {
      {"held-out (" + heldout.substr(heldout.find_last_of('/') + 1) + ", bytes " +
           std::to_string(heldoutOffset) + "+)",
       held.substr(static_cast<size_t>(heldoutOffset), static_cast<size_t>(bytes))}};
  if (!wikitext.empty())
    texts.push_back({"WikiText-2 test", readText(wikitext).substr(0, static_cast<size_t>(bytes))});

  auto loaded = onnx_import::readModel(model);
  if (!loaded) {
    std::cerr << "mamba2-accuracy-bench: error: " << llvm::toString(loaded.takeError()) << "\n";
    return 1;
  }
  mlir::MLIRContext context;
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  import::WeightStorage storage;
  auto module = import::importModel(context, *loaded, storage);
  if (!module)
    return 1;
  {
    mlir::PassManager pm(&context);
    pm.addNestedPass<mlir::func::FuncOp>(createOnnxFoldShapes());
    RaiseOnnxToM2Options raise;
    raise.strict = true;
    pm.addNestedPass<mlir::func::FuncOp>(createRaiseOnnxToM2(raise));
    if (mlir::failed(pm.run(*module)))
      return 1;
  }
  eval::ThreadPool pool(threads);
  auto reference = eval::Program::compile(*module);
  if (!reference) {
    std::cerr << llvm::toString(reference.takeError()) << "\n";
    return 1;
  }

  // Why the power-of-two SSM rows read below fp32 on WikiText-2: the fp32 linear layers with the
  // power-of-two SSM at several resolutions of dt and exp(dt A), on both texts, calibrated once.
  auto wikitextAttribution = [&]() -> std::optional<std::string> {
    if (wikitext.empty()) {
      std::cerr << "mamba2-accuracy-bench: error: the WikiText-2 section needs --wikitext\n";
      return std::nullopt;
    }
    // Folded and calibrated once per calibration text: the held-out calibration bytes, and
    // WikiText-2 bytes after the evaluated ones.
    std::string wikiCalibPath =
        "/tmp/mamba2-accuracy-wiki-calib-" + std::to_string(::getpid()) + ".txt";
    {
      std::string wiki = readText(wikitext);
      const size_t from = std::min(wiki.size(), static_cast<size_t>(bytes));
      std::ofstream(wikiCalibPath) << wiki.substr(from, static_cast<size_t>(calibBytes));
    }
    auto calibrate = [&](const std::string &path) -> mlir::OwningOpRef<mlir::ModuleOp> {
      mlir::OwningOpRef<mlir::ModuleOp> m(module->clone());
      mlir::PassManager pm(&context);
      pm.addNestedPass<mlir::func::FuncOp>(createM2FoldNorms());
      M2CalibrateOptions c;
      c.text = path;
      c.bytes = calibBytes;
      c.progress = false;
      pm.addPass(createM2Calibrate(c));
      if (mlir::failed(pm.run(*m)))
        return nullptr;
      return m;
    };
    mlir::OwningOpRef<mlir::ModuleOp> calibrated[2] = {calibrate(calibPath),
                                                       calibrate(wikiCalibPath)};
    std::remove(wikiCalibPath.c_str());
    if (!calibrated[0] || !calibrated[1])
      return std::nullopt;
    // `parts` in integers: "all" (the conv and the scan), "scan" (the conv left fp32), "conv"
    // (the scan left fp32); "scheme": the whole `scheme` row of the table above.
    struct Variant {
      const char *parts;
      int64_t stateBits, dtFrac, decayFrac;
      const char *group;
      int calib; // 0: held-out, 1: WikiText-2
      bool heldOut;
    };
    const Variant variants[] = {
        {"all", 16, 10, 15, "head", 0, true},    {"scan", 16, 10, 15, "head", 0, false},
        {"conv", 16, 10, 15, "head", 0, false},  {"all", 19, 10, 15, "head", 0, false},
        {"all", 16, 16, 15, "head", 0, false},   {"all", 16, 10, 20, "head", 0, false},
        {"all", 16, 10, 15, "tensor", 0, true},  {"all", 16, 10, 15, "head", 1, false},
        {"all", 16, 10, 15, "tensor", 1, false}, {"scheme", 16, 10, 15, "head", 0, true}};
    QuantScheme scheme; // w8a8+had+pot16+pwl32, as in the table above
    scheme.name = "w8a8";
    scheme.hadamard = "on";
    scheme.pwlSegments = 32;
    scheme.ssmPot = 16;
    scheme.calibText = calibPath;
    scheme.calibBytes = calibBytes;
    scheme.calibMacs = 0; // the bytes asked for
    scheme.progress = false;
    std::ostringstream rows, temps, dts;
    rows << "| text | row | in integers | state bits | dt-frac | decay-frac | exponents | "
            "calibrated on | bits/byte | vs fp32 | mean KL (nats) | mean entropy (bits) | fp32 "
            "logits / T of the same entropy: T, bits/byte | best T, bits/byte at it |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    temps << "| text | fp32 logits / T | bits/byte | vs T = 1 | mean entropy (bits) |\n"
             "|---|---|---|---|---|\n";
    dts << "| text | heads | steps x heads | sum of rounded dt / sum of dt (dt-frac 10) | rounded "
           "to 0 |\n|---|---|---|---|---|\n";
    for (size_t ti = texts.size(); ti-- > 0;) {
      const std::string &text = texts[ti].second;
      const std::string name = ti == 0 ? "held-out" : "WikiText-2";
      DtProbe probe;
      auto probed = eval::Program::compile(*module, "main", &probe);
      if (!probed) {
        std::cerr << llvm::toString(probed.takeError()) << "\n";
        return std::nullopt;
      }
      auto ref = windowLogits(**probed, text, window, pool);
      if (!ref) {
        std::cerr << llvm::toString(ref.takeError()) << "\n";
        return std::nullopt;
      }
      const int64_t V = (*probed)->vocab();
      for (int k = 0; k < 2; ++k)
        dts << "| " << name << " | "
            << (k ? "slow (softplus(dt_bias) < 0.003): " + std::to_string(probe.slowHeads.size())
                  : "all: " + std::to_string(probe.allHeads.size()))
            << " | " << probe.steps[k] << " | " << fmt("%.3f", probe.rounded[k] / probe.sum[k])
            << " | " << fmt("%.1f%%", 100.0 * probe.zeros[k] / probe.steps[k]) << " |\n";
      const Sharpness base = sharpness(*ref, text, window, V, 1.0);
      for (double T : {1.0, 1.05, 1.1, 1.2, 1.3}) {
        Sharpness s = sharpness(*ref, text, window, V, T);
        temps << "| " << name << " | " << fmt("%.2f", T) << " | " << fmt("%.4f", s.bpb) << " | "
              << fmt("%+.2f%%", 100 * (s.bpb / base.bpb - 1)) << " | " << fmt("%.3f", s.entropy)
              << " |\n";
      }
      auto refBest = bestTemperature(*ref, text, window, V);
      rows << "| " << name << " | fp32 | none | | | | | | " << fmt("%.4f", base.bpb) << " | | | "
           << fmt("%.3f", base.entropy) << " | | " << fmt("%.2f", refBest.first) << ", "
           << fmt("%.4f", refBest.second) << " |\n";
      for (const Variant &v : variants) {
        if (ti == 0 && !v.heldOut)
          continue;
        const std::string parts = v.parts;
        mlir::OwningOpRef<mlir::ModuleOp> copy;
        if (parts == "scheme") {
          copy = mlir::OwningOpRef<mlir::ModuleOp>(module->clone());
          if (auto e = quantizeModule(*copy, scheme)) {
            std::cerr << llvm::toString(std::move(e)) << "\n";
            return std::nullopt;
          }
        } else {
          copy = mlir::OwningOpRef<mlir::ModuleOp>(calibrated[v.calib]->clone());
          mlir::PassManager pm(&context);
          M2QuantizeSsmOptions o;
          o.stateBits = v.stateBits;
          o.group = v.group;
          o.dtFrac = v.dtFrac;
          o.decayFrac = v.decayFrac;
          pm.addNestedPass<mlir::func::FuncOp>(createM2QuantizeSsm(o));
          if (mlir::failed(pm.run(*copy)))
            return std::nullopt;
          // The part left fp32 loses its quant.* attributes: the fp32 evaluator runs it.
          copy->walk([&](mlir::Operation *op) {
            if ((parts == "scan" && llvm::isa<m2::Conv1dOp>(op)) ||
                (parts == "conv" && llvm::isa<m2::SSDOp>(op)))
              for (mlir::NamedAttribute a : llvm::to_vector(op->getAttrs()))
                if (a.getName().strref().starts_with("quant."))
                  op->removeAttr(a.getName());
          });
        }
        quant::QuantKernels kernels;
        auto program = eval::Program::compile(*copy, "main", &kernels);
        if (!program) {
          std::cerr << llvm::toString(program.takeError()) << "\n";
          return std::nullopt;
        }
        auto logits = windowLogits(**program, text, window, pool);
        if (!logits) {
          std::cerr << llvm::toString(logits.takeError()) << "\n";
          return std::nullopt;
        }
        const Accuracy a = compareLogits(*ref, *logits, text, window, V);
        const Sharpness s = sharpness(*logits, text, window, V, 1.0);
        const double T = entropyMatchedTemperature(*ref, text, window, V, s.entropy);
        auto best = bestTemperature(*logits, text, window, V);
        const std::string label = parts == "scheme"
                                      ? scheme.label()
                                      : std::string("fp32+pot") + std::to_string(v.stateBits) +
                                            (std::string(v.group) == "tensor" ? "-tensor" : "");
        rows << "| " << name << " | " << label << " | "
             << (parts == "scheme" ? "linear, conv, scan"
                 : parts == "all"  ? "conv, scan"
                                   : parts)
             << " | " << v.stateBits << " | " << v.dtFrac << " | " << v.decayFrac << " | "
             << v.group << " | " << (v.calib ? "WikiText-2 (disjoint)" : "held-out") << " | "
             << fmt("%.4f", a.bitsPerByte) << " | "
             << fmt("%+.2f%%", 100 * (a.bitsPerByte / a.refBitsPerByte - 1)) << " | "
             << fmt("%.2e", a.kl) << " | " << fmt("%.3f", s.entropy) << " | " << fmt("%.3f", T)
             << ", " << fmt("%.4f", sharpness(*ref, text, window, V, T).bpb) << " | "
             << fmt("%.2f", best.first) << ", " << fmt("%.4f", best.second) << " |\n";
        std::fprintf(stderr,
                     "attribution %-10s %-6s %2lld bits dt-frac %2lld decay-frac %2lld %-6s "
                     "calib %d %.4f (%+.2f%%) entropy %.3f\n",
                     name.c_str(), v.parts, static_cast<long long>(v.stateBits),
                     static_cast<long long>(v.dtFrac), static_cast<long long>(v.decayFrac), v.group,
                     v.calib, a.bitsPerByte, 100 * (a.bitsPerByte / a.refBitsPerByte - 1),
                     s.entropy);
      }
    }
    return rows.str() + "\n" + temps.str() + "\n" + dts.str();
  };
  auto whySection = [&]() -> std::optional<std::string> {
    auto t = std::chrono::steady_clock::now();
    auto tables = wikitextAttribution();
    if (!tables)
      return std::nullopt;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    return std::string(kWhyHeading) + "\n\n" + kWhyText + "\n\n" + *tables + "\n(" +
           fmt("%.0f", seconds) + " s for this section.)\n\n";
  };
  if (whyOnly) {
    auto w = whySection();
    if (!w)
      return 1;
    std::cout << *w;
    if (!out.empty()) {
      // Only this section of an existing report changes.
      std::string doc = readText(out);
      if (!bench::replaceSection(doc, kWhyHeading, *w, "## Activation statistics")) {
        std::cerr << "mamba2-accuracy-bench: error: " << out
                  << " has no section to put the WikiText-2 section before\n";
        return 1;
      }
      if (!bench::writeFile(out, doc)) {
        std::cerr << "mamba2-accuracy-bench: error: cannot write " << out << "\n";
        return 1;
      }
    }
    return 0;
  }

  // The schemes.
  std::vector<QuantScheme> schemes; // the same rows on every text
  auto add = [&](const std::string &name, const std::string &had, int64_t pwl,
                 const std::string &method = "rtn", const std::string &act = "token",
                 int64_t pot = 0, const std::string &potGroup = "head") {
    QuantScheme s;
    s.ssmPotGroup = potGroup;
    s.name = name;
    s.hadamard = had;
    s.pwlSegments = pwl;
    s.method = method;
    s.actMode = act;
    s.ssmPot = pot;
    s.calibText = calibPath;
    s.calibBytes = calibBytes;
    s.calibMacs = 0; // the bytes asked for
    s.progress = false;
    schemes.push_back(s);
  };
  for (const char *name : {"fp32", "w8a8", "w4a8", "w4a4"})
    for (const char *had : {"off", "on"})
      add(name, had, 0);
  add("w4a4", "random", 0);
  add("fp32", "off", 32);
  // The power-of-two SSM per head (the default) and per tensor.
  add("fp32", "off", 0, "rtn", "token", 16);
  add("fp32", "off", 0, "rtn", "token", 16, "tensor");
  add("fp32", "off", 0, "rtn", "token", 8);
  add("fp32", "off", 0, "rtn", "token", 8, "tensor");
  add("fp32", "off", 0, "rtn", "token", 8, "16");
  add("w8a8", "on", 32, "rtn", "token", 16);
  add("w8a8", "on", 32, "rtn", "token", 16, "tensor");
  add("w8a8", "on", 0, "rtn", "tensor");
  add("w4a8", "on", 0, "gptq");
  add("w4a4", "on", 0, "gptq");
  add("w4a4", "random", 32, "rtn", "token", 16);

  std::ostringstream md, targets;
  std::vector<std::vector<float>> heldRef; // fp32 logits of the held-out text
  auto t0 = std::chrono::steady_clock::now();
  for (size_t ti = wikiRowsOnly ? 1 : 0; ti < texts.size(); ++ti) {
    const auto tText = std::chrono::steady_clock::now();
    const std::string &title = texts[ti].first, &text = texts[ti].second;
    auto refLogits = windowLogits(**reference, text, window, pool);
    if (!refLogits) {
      std::cerr << llvm::toString(refLogits.takeError()) << "\n";
      return 1;
    }
    if (ti == 0)
      heldRef = *refLogits;
    std::vector<Row> rows;
    for (const QuantScheme &s : schemes) {
      mlir::OwningOpRef<mlir::ModuleOp> copy(module->clone());
      if (auto e = quantizeModule(*copy, s)) {
        std::cerr << llvm::toString(std::move(e)) << "\n";
        return 1;
      }
      quant::QuantKernels kernels;
      auto program = eval::Program::compile(*copy, "main", &kernels);
      if (!program) {
        std::cerr << llvm::toString(program.takeError()) << "\n";
        return 1;
      }
      auto logits = windowLogits(**program, text, window, pool);
      if (!logits) {
        std::cerr << llvm::toString(logits.takeError()) << "\n";
        return 1;
      }
      rows.push_back({s.label(), compareLogits(*refLogits, *logits, text, window, 256)});
      const Accuracy &a = rows.back().a;
      std::fprintf(stderr, "%-28s %-22s %.4f bits/byte (%+.2f%%)\n", title.substr(0, 28).c_str(),
                   rows.back().label.c_str(), a.bitsPerByte,
                   100 * (a.bitsPerByte / a.refBitsPerByte - 1));
    }
    if (ti == 0) {
      auto loss = [&](const std::string &label) -> double {
        for (const Row &r : rows)
          if (r.label == label)
            return 100 * (r.a.bitsPerByte / r.a.refBitsPerByte - 1);
        return NAN;
      };
      auto line = [&](const std::string &what, const std::string &label, double limit) {
        double l = loss(label);
        targets << "| " << what << " | `" << label << "` | " << fmt("%+.2f%%", l) << " | "
                << fmt("%+.0f%%", limit) << " | " << (l <= limit ? "met" : "missed") << " |\n";
      };
      targets << "| target (held-out text) | row | measured | limit | |\n|---|---|---|---|---|\n";
      line("W8A8 + PoT SSM + PWL", "w8a8+had+pot16+pwl32", 1);
      line("W4A8", "w4a8", 3);
      line("W4A8", "w4a8+had", 3);
      line("W4A4 with Hadamard", "w4a4+had", 6);
      line("W4A4 with Hadamard", "w4a4+rhad", 6);
      double plain = loss("w4a4"), had = loss("w4a4+had"), rhad = loss("w4a4+rhad");
      targets << "| Hadamard cuts the W4A4 loss >= 3x | `w4a4` / `w4a4+had`, `w4a4+rhad` | "
              << fmt("%.1fx", plain / had) << ", " << fmt("%.1fx", plain / rhad) << " | 3x | "
              << (plain / had >= 3 && plain / rhad >= 3 ? "met" : "see rows") << " |\n\n";
    }
    md << "### " << title << ", " << text.size() << " bytes, windows of " << window << "\n\n"
       << "| scheme | bits/byte | vs fp32 | top-1 agreement | mean KL (nats) | max logit diff / "
          "max logit | bpb 0–256 | bpb 256–1K | bpb 1K–4K |\n"
       << "|---|---|---|---|---|---|---|---|---|\n";
    for (const Row &r : rows) {
      const Accuracy &a = r.a;
      md << "| " << r.label << " | " << fmt("%.4f", a.bitsPerByte) << " | "
         << fmt("%+.2f%%", 100 * (a.bitsPerByte / a.refBitsPerByte - 1)) << " | "
         << fmt("%.2f%%", 100 * a.top1) << " | " << fmt("%.2e", a.kl) << " | "
         << fmt("%.1e", a.maxLogitDiff);
      for (int i = 0; i < 3; ++i)
        md << " | " << (a.countByPos[i] ? fmt("%.4f", a.bpbByPos[i]) : "-");
      md << " |\n";
    }
    md << "\n("
       << fmt("%.0f",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - tText).count())
       << " s for these rows.)\n\n";
  }
  double evalSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "%.0f s for the bits-per-byte tables\n", evalSeconds);
  if (wikiRowsOnly) {
    std::cout << md.str();
    if (!out.empty()) {
      std::string doc = readText(out);
      if (!bench::replaceSection(doc, "### WikiText-2 test", md.str(), kWhyHeading) ||
          !bench::writeFile(out, doc)) {
        std::cerr << "mamba2-accuracy-bench: error: cannot put the WikiText-2 rows in " << out
                  << "\n";
        return 1;
      }
    }
    return 0;
  }

  // The fully-integer model: each scheme lowered to ovl (m2-lower-to-ovl) in the ovl evaluator,
  // beside the same quantised module in the m2-level integer evaluator.
  std::ostringstream ovlMd, ovlTargets;
  auto t1 = std::chrono::steady_clock::now();
  {
    ovlMd << "| scheme | evaluator | bits/byte | vs fp32 | top-1 agreement | mean KL (nats) | max "
             "logit diff / max logit | ovl vs m2: max logit diff / max logit | ovl vs m2: top-1 "
             "agreement |\n|---|---|---|---|---|---|---|---|---|\n";
    ovlTargets << "| target (held-out text) | row | measured | limit | |\n|---|---|---|---|---|\n";
    auto pct = [](const Accuracy &a) { return 100 * (a.bitsPerByte / a.refBitsPerByte - 1); };
    struct OvlRow {
      const char *name, *had, *group;
    };
    for (auto [name, had, group] :
         {OvlRow{"w8a8", "off", "head"}, OvlRow{"w8a8", "on", "head"},
          OvlRow{"w8a8", "on", "tensor"}, OvlRow{"w4a8", "on", "head"},
          OvlRow{"w4a4", "off", "head"}, OvlRow{"w4a4", "on", "head"},
          OvlRow{"w4a4", "on", "tensor"}, OvlRow{"w4a4", "random", "head"}}) {
      QuantScheme s;
      s.name = name;
      s.hadamard = had;
      s.ssmPotGroup = group;
      s.calibText = calibPath;
      s.calibBytes = calibBytes;
      s.calibMacs = 0; // the bytes asked for
      s.progress = false;
      auto r = measureOvlAccuracy(*module, s, heldRef, texts[0].second, window, pool);
      if (!r) {
        std::cerr << llvm::toString(r.takeError()) << "\n";
        return 1;
      }
      for (int level = 0; level < 2; ++level) {
        const Accuracy &a = level ? r->ovl : r->m2;
        ovlMd << "| " << r->label << " | " << (level ? "ovl" : "m2") << " | "
              << fmt("%.4f", a.bitsPerByte) << " | " << fmt("%+.2f%%", pct(a)) << " | "
              << fmt("%.2f%%", 100 * a.top1) << " | " << fmt("%.2e", a.kl) << " | "
              << fmt("%.1e", a.maxLogitDiff) << " | "
              << (level ? fmt("%.1e", r->ovlVsM2.maxLogitDiff) : std::string("")) << " | "
              << (level ? fmt("%.2f%%", 100 * r->ovlVsM2.top1) : std::string("")) << " |\n";
      }
      std::fprintf(stderr, "ovl %-30s %.4f bits/byte (%+.2f%%), m2 %.4f (%+.2f%%)\n",
                   r->label.c_str(), r->ovl.bitsPerByte, pct(r->ovl), r->m2.bitsPerByte,
                   pct(r->m2));
      double limit = std::string(name) == "w8a8" ? 1 : std::string(name) == "w4a8" ? 3 : 6;
      if ((std::string(name) == "w8a8" || std::string(had) != "off") &&
          std::string(group) == "head")
        ovlTargets << "| " << name << (std::string(had) == "off" ? "" : " with Hadamard")
                   << ", fully integer | `" << r->label << "` ovl | " << fmt("%+.2f%%", pct(r->ovl))
                   << " | " << fmt("%+.0f%%", limit) << " | "
                   << (pct(r->ovl) <= limit ? "met" : "missed") << " |\n";
    }
  }
  double ovlSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();

  std::string why;
  if (!wikitext.empty()) {
    auto w = whySection();
    if (!w)
      return 1;
    why = *w;
  }

  // Activation statistics of the inputs of in_proj and out_proj, without and with rotation.
  std::ostringstream st;
  st << "| layer | input of | rotation | max abs | RMS | max / RMS | largest channel max / median "
        "channel max | kurtosis |\n|---|---|---|---|---|---|---|---|\n";
  std::string calibText = held.substr(0, static_cast<size_t>(calibBytes));
  for (const char *had : {"off", "on"}) {
    QuantScheme s;
    s.name = "fp32";
    s.hadamard = had;
    mlir::OwningOpRef<mlir::ModuleOp> copy(module->clone());
    if (auto e = quantizeModule(*copy, s)) {
      std::cerr << llvm::toString(std::move(e)) << "\n";
      return 1;
    }
    quant::QuantKernels kernels;
    kernels.setCollect(true);
    auto program = eval::Program::compile(*copy, "main", &kernels);
    if (!program) {
      std::cerr << llvm::toString(program.takeError()) << "\n";
      return 1;
    }
    if (auto l = windowLogits(**program, calibText, window, pool); !l) {
      std::cerr << llvm::toString(l.takeError()) << "\n";
      return 1;
    }
    int layerIn = 0, layerOut = 0;
    for (mlir::Operation &op : (*copy).lookupSymbol<mlir::func::FuncOp>("main").getOps()) {
      auto lin = llvm::dyn_cast<m2::LinearOp>(&op);
      if (!lin || !kernels.stats().count(&op))
        continue;
      bool isOut = llvm::any_of(lin->getUsers(),
                                [](mlir::Operation *u) { return llvm::isa<m2::ResidualAddOp>(u); });
      const quant::ActStats &a = kernels.stats().at(&op);
      double mx = 0;
      std::vector<double> cm = a.channelAbsMax;
      for (double v : cm)
        mx = std::max(mx, v);
      std::nth_element(cm.begin(), cm.begin() + cm.size() / 2, cm.end());
      double count = static_cast<double>(a.tokens) * a.channelAbsMax.size();
      double ms = a.sum2 / count;
      st << "| " << (isOut ? layerOut++ : layerIn++) << " | " << (isOut ? "out_proj" : "in_proj")
         << " | " << (std::string(had) == "on" ? "Hadamard" : "none") << " | " << fmt("%.3f", mx)
         << " | " << fmt("%.3f", std::sqrt(ms)) << " | " << fmt("%.1f", mx / std::sqrt(ms)) << " | "
         << fmt("%.1f", mx / cm[cm.size() / 2]) << " | " << fmt("%.1f", a.sum4 / count / (ms * ms))
         << " |\n";
    }
  }

  std::ostringstream doc;
  doc << "# Quantisation accuracy\n\n"
      << "Written by `bash bench/compiler/accuracy.sh` (`mamba2-accuracy-bench`), except the "
         "last section, `"
      << (bench::kEvalBenchHeading + 3)
      << "`, which `bash bench/compiler/eval_bench.sh` (`mamba2-eval-bench`) writes; do not edit "
         "by hand. Model: `"
      << model.substr(model.find("models/") == std::string::npos ? 0 : model.find("models/"))
      << "`. Every quantised row runs in the integer evaluator (`m2.qlinear` on isa's grouped "
         "matmul, `m2.hadamard` on isa's fwht, `m2.pwl` on isa's pwl); fp32 rows in the fp32 "
         "evaluator. Calibration (static scales, GPTQ) uses the first "
      << calibBytes
      << " bytes of the held-out text, disjoint from the evaluated bytes. `vs fp32` is the "
         "change of bits per byte against the fp32 model on the same bytes; top-1 agreement and "
         "KL compare each position's next-byte distribution with fp32's. Scheme names: `had` "
         "Hadamard rotation (plain), `rhad` randomised (seed 1), `pwlN` SiLU/softplus outside "
         "the SSD as N-segment tables, `potB` the SSD scan and the conv with power-of-two scales "
         "and a B-bit state (m2-quantize-ssm), one exponent per head for x, the state and y, per "
         "B/C group for B and C, per channel group of the same for the conv (`potB-tensor`: one "
         "per tensor; `potB-gK`: groups of K channels), `static` per-tensor activation scales from "
         "calibration "
         "(otherwise per token, dynamic), `gptq` GPTQ rounding (otherwise round to nearest). "
         "W8 weights: per output channel; W4: groups of 128 along K; lm_head W8A8 in every "
         "scheme. The figures are the same from run to run and for any thread count (fixed "
         "summation orders; docs/passes.md, section Reproducibility of the accuracy rows, says "
         "how this was checked and why rows moved between earlier versions of this file).\n\n"
      << "## Against the targets\n\n"
      << targets.str() << "## Bits per byte\n\n"
      << md.str() << why << "## Activation statistics of the linear layers' inputs\n\n"
      << "Over the " << calibBytes
      << " calibration bytes, after folding norms; `max / RMS` and the channel ratio show "
         "outliers, kurtosis is E[x^4] / E[x^2]^2 over all values (3 for a Gaussian).\n\n"
      << st.str() << "\n"
      << "## The fully-integer model (ovl)\n\n"
      << "Each scheme as the overlay runs it: `mamba2c --quant Q --eval-ovl` "
         "(`QuantPipeline.h`: `ovlScheme`, `measureOvlAccuracy`) quantises with static "
         "per-tensor activation scales (the lm_head's too), the power-of-two SSM with a 16-bit "
         "state (exponents per head; the `pot16-tensor` rows: per tensor, realised on the same "
         "ovl ops, docs/passes.md) and 32-segment PWL SiLU, calibrated on the same "
      << calibBytes
      << " bytes, then lowers to `ovl` (m2-lower-to-ovl, docs/passes.md) and runs it in the ovl "
         "integer evaluator (compiler/lib/Ovl/Evaluator.cpp), which is what the overlay computes "
         "bit for bit. The `m2` row is the same quantised module in the m2-level integer "
         "evaluator, which keeps fp32 between the quantised ops; the `ovl` row moves the rest "
         "to integers: the residual stream (int32 at a calibrated fixed point), the RMS norms "
         "(sum of squares, a 64-segment rsqrt table), the gated norm (its SiLU as the 32-segment "
         "table, the product y * silu(z), the per-group norm), the online Hadamard (fwht on "
         "fixed point, 1/sqrt(n) folded into the requantisation), dt + dt_bias, softplus and "
         "exp(dt * A) (255-segment tables, from the quantised dt instead of exact functions of "
         "the fp32 dt), dt * x, the D skip and y (integers instead of fp32), the requantisation "
         "of every accumulator to its consumer's format (multipliers and shifts instead of fp32 "
         "scales), and an int32 state that is not clamped to 16 bits. `ovl vs m2` compares the "
         "two evaluations directly. Without rotation, static per-tensor 4-bit activations lose "
         "far more than the per-token ones of the rows above (compare `w4a4`): the overlay has "
         "no per-token max, so the rotation is what makes W4A4 usable on it. Held-out text as "
         "above, "
      << texts[0].second.size() << " bytes.\n\n"
      << ovlTargets.str() << "\n"
      << ovlMd.str() << "\n(" << fmt("%.0f", ovlSeconds) << " s for these rows.)\n\n"
      << "## Piecewise-linear tables\n\n"
      << "Chord tables built by `isa::buildPwl` (16 fraction bits in and out), evaluated by "
         "`isa::ref::pwl`; errors over 20,001 evenly spaced inputs in the range (rsqrt: "
         "`isa::ref::rsqrt` with 24 output fraction bits over 30,500 log-spaced inputs).\n\n"
      << pwlTable();
  // The evaluator's speed, which mamba2-eval-bench writes into the same file, stays.
  std::string kept;
  if (!out.empty())
    if (auto old = bench::readFile(out)) {
      auto [at, end] = bench::findSection(*old, bench::kEvalBenchHeading);
      if (at != std::string::npos)
        kept = "\n" + old->substr(at, end - at);
    }
  std::cout << doc.str();
  if (!out.empty()) {
    if (!bench::writeFile(out, doc.str() + kept)) {
      std::cerr << "mamba2-accuracy-bench: error: cannot write " << out << "\n";
      return 1;
    }
  }
  return 0;
}
