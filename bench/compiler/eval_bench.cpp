// Throughput of the fp32 m2 evaluator, and what bounds it, in one run on one machine:
//
//  * synthetic (default): prefill and decode tokens/s on a full-size Mamba2 shape (130M) with
//    synthetic weights, for 1..N threads. The m2 module is built directly; weights live in
//    vectors the module points at.
//  * against onnxruntime (--onnx CHUNKED --onnx-step STEP, the 130M shape written by
//    mamba2ref.fullsize and its step form, bench/compiler/export_step.py): the same prompt
//    through the evaluator and through onnxruntime-node (bench/compiler/ort_time.mjs), prefill
//    with the whole-sequence graph, decode with the step graph, one thread each, --repeat
//    times; prints each repeat's ratio.
//  * always: this core's memory read bandwidth (one thread over --bandwidth-mib MiB), and the
//    int8 matrix-vector products of a 130M decode step (gemmS8, M = 1) against the
//    weight-bytes / bandwidth bound, once over one copy of the weights (129 MB, which a large
//    last-level cache may hold) and once over copies that span --dram-mib MiB.
//
// Prints tables; asserts nothing.
//
//   mamba2-eval-bench [--shape 130m|tiny] [--prefill 256] [--decode 32] [--threads 2]
//   mamba2-eval-bench --onnx M.onnx --onnx-step S.onnx [--prefill 256] [--decode 32]
//                     [--repeat 3]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <immintrin.h>
#include <optional>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/JSON.h"

#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Eval/Gemm.h"
#include "mamba2/Eval/M2Evaluator.h"
#include "mamba2/Import/Importer.h"
#include "mamba2/Transforms/Passes.h"
#include "mamba2/onnx/ModelReader.h"

using namespace mlir;
namespace m2 = mamba2::m2;

namespace {

struct Shape {
  int64_t dModel, nLayer, dState, headdim, ngroups, vocab, dConv = 4;
  int64_t dInner() const { return 2 * dModel; }
  int64_t heads() const { return dInner() / headdim; }
  int64_t convDim() const { return dInner() + 2 * ngroups * dState; }
};

class ModelBuilder {
public:
  ModelBuilder(MLIRContext &ctx) : ctx_(ctx), b_(&ctx), rng_(1) {}

  Value weight(llvm::ArrayRef<int64_t> shape, float scale, float offset = 0.0f) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    store_.emplace_back(static_cast<size_t>(n));
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (float &v : store_.back())
      v = offset + scale * u(rng_);
    auto type = RankedTensorType::get(shape, b_.getF32Type());
    auto blob = UnmanagedAsmResourceBlob::allocateInferAlign(llvm::ArrayRef<float>(store_.back()));
    auto attr = DenseF32ResourceElementsAttr::get(type, "w" + std::to_string(store_.size()),
                                                  std::move(blob));
    return b_.create<m2::ConstantOp>(b_.getUnknownLoc(), type, cast<ElementsAttr>(attr));
  }

  OwningOpRef<ModuleOp> build(const Shape &s) {
    auto loc = b_.getUnknownLoc();
    OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
    b_.setInsertionPointToEnd(module->getBody());
    int64_t dyn = ShapedType::kDynamic;
    auto act = [&](int64_t c) { return RankedTensorType::get({1, dyn, c}, b_.getF32Type()); };
    auto ids = RankedTensorType::get({1, dyn}, b_.getI64Type());
    auto func = b_.create<func::FuncOp>(loc, "main", b_.getFunctionType({ids}, {act(s.vocab)}));
    Block *entry = func.addEntryBlock();
    b_.setInsertionPointToStart(entry);
    Value table = weight({s.vocab, s.dModel}, 0.02f);
    Value h = b_.create<m2::EmbeddingOp>(loc, act(s.dModel), entry->getArgument(0), table);
    auto eps = b_.getF32FloatAttr(1e-5f);
    int64_t H = s.heads(), gn = s.ngroups * s.dState;
    for (int64_t l = 0; l < s.nLayer; ++l) {
      Value n =
          b_.create<m2::RMSNormOp>(loc, act(s.dModel), h, weight({s.dModel}, 0.0f, 1.0f), eps);
      int64_t dProj = 2 * s.dInner() + 2 * gn + H;
      Value p = b_.create<m2::LinearOp>(
          loc, act(dProj), n, weight({s.dModel, dProj}, 1.0f / std::sqrt(float(s.dModel))));
      auto split = b_.create<m2::SplitOp>(loc, TypeRange{act(s.dInner()), act(s.convDim()), act(H)},
                                          p, b_.getDenseI64ArrayAttr({s.dInner(), s.convDim(), H}));
      Value c =
          b_.create<m2::Conv1dOp>(loc, act(s.convDim()), split.getResult(1),
                                  weight({s.convDim(), s.dConv}, 0.5f), weight({s.convDim()}, 0.5f))
              .getOutput();
      c = b_.create<m2::SiluOp>(loc, act(s.convDim()), c);
      auto xbc = b_.create<m2::SplitOp>(loc, TypeRange{act(s.dInner()), act(gn), act(gn)}, c,
                                        b_.getDenseI64ArrayAttr({s.dInner(), gn, gn}));
      Value y = b_.create<m2::SSDOp>(loc, act(s.dInner()), xbc.getResult(0), split.getResult(2),
                                     weight({H}, 1.0f, -4.0f), weight({H}, 7.0f, -8.0f),
                                     xbc.getResult(1), xbc.getResult(2), weight({H}, 0.0f, 1.0f),
                                     b_.getI64IntegerAttr(s.ngroups), b_.getI64IntegerAttr(256))
                    .getY();
      Value g = b_.create<m2::GatedRMSNormOp>(loc, act(s.dInner()), y, split.getResult(0),
                                              weight({s.dInner()}, 0.0f, 1.0f), eps,
                                              b_.getI64IntegerAttr(s.ngroups));
      Value o = b_.create<m2::LinearOp>(
          loc, act(s.dModel), g,
          weight({s.dInner(), s.dModel}, 1.0f / std::sqrt(float(s.dInner()))));
      h = b_.create<m2::ResidualAddOp>(loc, act(s.dModel), h, o);
    }
    Value f = b_.create<m2::RMSNormOp>(loc, act(s.dModel), h, weight({s.dModel}, 0.0f, 1.0f), eps);
    Value logits = b_.create<m2::LMHeadOp>(loc, act(s.vocab), f, table);
    b_.create<func::ReturnOp>(loc, logits);
    if (failed(verify(*module)))
      return nullptr;
    return module;
  }

private:
  MLIRContext &ctx_;
  OpBuilder b_;
  std::mt19937 rng_;
  std::vector<std::vector<float>> store_;
};

double seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

using Clock = std::chrono::steady_clock;

/// Sum of `words` 64-bit words, 64 bytes per load where the CPU has AVX-512 (so that the loop,
/// not the memory, is never the limit on a core shared with other work).
__attribute__((target("avx512f"))) uint64_t sumAvx512(const uint64_t *p, size_t words) {
  __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 16 <= words; i += 16) {
    a = _mm512_add_epi64(a, _mm512_loadu_si512(p + i));
    b = _mm512_add_epi64(b, _mm512_loadu_si512(p + i + 8));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_add_epi64(a, b));
  uint64_t s = 0;
  for (uint64_t v : lanes)
    s += v;
  for (; i < words; ++i)
    s += p[i];
  return s;
}

uint64_t sumPortable(const uint64_t *p, size_t words) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= words; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  for (; i < words; ++i)
    s0 += p[i];
  return s0 + s1 + s2 + s3;
}

/// Read bandwidth of one thread in bytes/s: the best of three sums over `bytes` of memory
/// (touched first, so pages are mapped).
double readBandwidth(int64_t bytes) {
  const size_t words = static_cast<size_t>(bytes / 8);
  std::vector<uint64_t> buf(words);
  for (size_t i = 0; i < words; ++i)
    buf[i] = i;
  const bool avx512 = __builtin_cpu_supports("avx512f");
  double best = 0;
  uint64_t sink = 0;
  for (int pass = 0; pass < 3; ++pass) {
    auto t0 = Clock::now();
    sink += avx512 ? sumAvx512(buf.data(), words) : sumPortable(buf.data(), words);
    best = std::max(best, static_cast<double>(words * 8) / seconds(t0, Clock::now()));
  }
  if (sink == 42) // keeps the sums
    std::printf(" ");
  return best;
}

/// One decode step's int8 matrix-vector products for shape `s` (in_proj and out_proj of every
/// layer, the lm_head), each weight (N, K) row-major int8 as gemmS8 takes it.
struct Int8Step {
  struct Mat {
    int64_t n, k;
    size_t offset;
  };
  std::vector<Mat> mats;
  int64_t bytes = 0;
  explicit Int8Step(const Shape &s) {
    int64_t dProj = 2 * s.dInner() + 2 * s.ngroups * s.dState + s.heads();
    auto add = [&](int64_t n, int64_t k) {
      mats.push_back({n, k, static_cast<size_t>(bytes)});
      bytes += n * k;
    };
    for (int64_t l = 0; l < s.nLayer; ++l) {
      add(dProj, s.dModel);
      add(s.dModel, s.dInner());
    }
    add(s.vocab, s.dModel);
  }
};

/// Seconds per decode step of the int8 products, one thread, cycling over `copies` copies of
/// the weights (distinct memory) so that the working set is copies x bytes.
double int8StepSeconds(const Int8Step &step, int copies, int steps) {
  std::vector<int8_t> w(static_cast<size_t>(step.bytes * copies));
  std::mt19937 rng(5);
  for (size_t i = 0; i < w.size(); i += 4) {
    uint32_t r = rng();
    std::memcpy(&w[i], &r, std::min<size_t>(4, w.size() - i));
  }
  int64_t maxK = 0, maxN = 0;
  for (const auto &m : step.mats) {
    maxK = std::max(maxK, m.k);
    maxN = std::max(maxN, m.n);
  }
  std::vector<int8_t> x(static_cast<size_t>(maxK));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<int8_t>(rng());
  std::vector<int32_t> y(static_cast<size_t>(maxN));
  auto run = [&](int c) {
    const int8_t *base = w.data() + static_cast<size_t>(step.bytes) * c;
    for (const auto &m : step.mats)
      mamba2::eval::gemmS8(1, m.n, m.k, x.data(), m.k, base + m.offset, m.k, y.data(), m.n);
  };
  for (int c = 0; c < copies; ++c) // warm-up: one pass over every copy
    run(c);
  auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i)
    run(i % copies);
  return seconds(t0, Clock::now()) / steps;
}

/// Imports an ONNX Mamba2 model and raises it to m2 (as mamba2-eval does).
struct Loaded {
  mamba2::onnx_import::LoadedModel model; // the module points into it and into storage
  mamba2::import::WeightStorage storage;
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<mamba2::eval::Program> program;
};

std::unique_ptr<Loaded> load(MLIRContext &ctx, const std::string &path) {
  auto model = mamba2::onnx_import::readModel(path);
  if (!model) {
    std::fprintf(stderr, "%s\n", llvm::toString(model.takeError()).c_str());
    return nullptr;
  }
  auto l = std::make_unique<Loaded>();
  l->model = std::move(*model);
  l->module = mamba2::import::importModel(ctx, l->model, l->storage);
  if (!l->module)
    return nullptr;
  PassManager pm(&ctx);
  pm.addNestedPass<func::FuncOp>(mamba2::createOnnxFoldShapes());
  mamba2::RaiseOnnxToM2Options raise;
  raise.strict = true;
  pm.addNestedPass<func::FuncOp>(mamba2::createRaiseOnnxToM2(raise));
  if (failed(pm.run(*l->module)))
    return nullptr;
  auto program = mamba2::eval::Program::compile(*l->module);
  if (!program) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), llvm::toString(program.takeError()).c_str());
    return nullptr;
  }
  l->program = std::move(*program);
  return l;
}

/// Runs a command and returns what it printed on stdout.
std::optional<std::string> capture(const std::string &command) {
  FILE *p = popen(command.c_str(), "r");
  if (!p)
    return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  if (pclose(p) != 0)
    return std::nullopt;
  return out;
}

std::string quote(const std::string &s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void printMemorySection(const Shape &s, double bandwidth, int dramMiB) {
  Int8Step step(s);
  std::printf("memory read bandwidth, one thread: %.2f GB/s\n", bandwidth / 1e9);
  std::printf("int8 decode products (gemmS8, M = 1, kernel %s, one thread): %.1f MB of "
              "weights per step\n",
              mamba2::eval::s8KernelName(mamba2::eval::bestS8Kernel()), step.bytes / 1e6);
  std::printf("%-28s %12s %12s %12s %14s\n", "working set", "ms/step", "GB/s", "bound ms",
              "of bound");
  int copies = std::max<int>(1, static_cast<int>((int64_t(dramMiB) << 20) / step.bytes));
  for (int c : {1, copies}) {
    double t = int8StepSeconds(step, c, c == 1 ? 20 : 2 * c);
    double bound = step.bytes / bandwidth;
    char what[64];
    std::snprintf(what, sizeof what, "%d cop%s, %.0f MB", c, c == 1 ? "y" : "ies",
                  step.bytes * double(c) / 1e6);
    std::printf("%-28s %12.2f %12.2f %12.2f %13.0f%%\n", what, t * 1e3, step.bytes / t / 1e9,
                bound * 1e3, 100.0 * bound / t);
  }
}

int compareWithOnnxruntime(const std::string &chunkedPath, const std::string &stepPath, int prefill,
                           int decode, int repeat, const std::string &node,
                           const std::string &script) {
  MLIRContext ctx;
  mamba2::import::registerImportDialects(ctx);
  ctx.getOrLoadDialect<m2::M2Dialect>();
  auto chunked = load(ctx, chunkedPath);
  auto step = load(ctx, stepPath);
  if (!chunked || !step)
    return 1;
  // The same ids as ort_time.mjs.
  const int64_t vocab = 50280;
  std::vector<int64_t> ids(static_cast<size_t>(prefill));
  for (int i = 0; i < prefill; ++i)
    ids[i] = (i * 37 + 11) % vocab;
  mamba2::eval::ThreadPool pool(1);
  std::vector<double> evalPrefill, evalDecode;
  auto timePrefill = [&]() -> double {
    mamba2::eval::Session session(*chunked->program, 1, pool);
    auto t0 = Clock::now();
    auto logits = session.run(ids, prefill);
    auto t1 = Clock::now();
    if (!logits) {
      std::fprintf(stderr, "%s\n", llvm::toString(logits.takeError()).c_str());
      return -1;
    }
    return seconds(t0, t1);
  };
  auto timeDecode = [&]() -> double {
    mamba2::eval::Session session(*step->program, 1, pool);
    auto t0 = Clock::now();
    for (int d = 0; d < decode; ++d)
      if (!session.run({(d * 13 + 5) % vocab}, 1))
        return -1;
    return seconds(t0, Clock::now()) / decode;
  };
  if (timePrefill() < 0 || timeDecode() < 0) // warm-up
    return 1;
  // Each repeat times the evaluator, then onnxruntime (a fresh process, warmed up by one
  // untimed run of each graph), so that the two sides of a ratio run close in time.
  std::vector<double> ortPrefill, ortDecode;
  std::string cmd = quote(node) + " " + quote(script) + " " + quote(chunkedPath) + " " +
                    quote(stepPath) + " --prefill " + std::to_string(prefill) + " --decode " +
                    std::to_string(decode) + " --threads 1 --repeat 1";
  for (int r = 0; r < repeat; ++r) {
    evalPrefill.push_back(timePrefill());
    evalDecode.push_back(timeDecode());
    auto out = capture(cmd);
    if (!out) {
      std::fprintf(stderr, "onnxruntime failed: %s\n", cmd.c_str());
      return 1;
    }
    auto json = llvm::json::parse(*out);
    size_t before = ortPrefill.size();
    if (json)
      if (auto *o = json->getAsObject())
        for (auto [key, into] :
             {std::pair{"prefill_s", &ortPrefill}, std::pair{"decode_s_per_token", &ortDecode}})
          if (auto *a = o->getArray(key))
            for (const auto &v : *a)
              into->push_back(v.getAsNumber().value_or(0));
    if (!json || ortPrefill.size() != before + 1 || ortDecode.size() != before + 1) {
      if (!json)
        llvm::consumeError(json.takeError());
      std::fprintf(stderr, "onnxruntime printed no timings: %s\n", out->c_str());
      return 1;
    }
  }
  std::printf("fp32 m2 evaluator vs onnxruntime-node (CPU), 130M shape, batch 1, one thread; "
              "prefill %d tokens (whole-sequence graph), decode %d steps (step graph)\n",
              prefill, decode);
  std::printf("%6s %14s %14s %8s %14s %14s %8s\n", "repeat", "eval prefill", "ort prefill", "ratio",
              "eval decode", "ort decode", "ratio");
  std::printf("%6s %14s %14s %8s %14s %14s %8s\n", "", "tok/s", "tok/s", "", "tok/s", "tok/s", "");
  std::vector<double> rp, rd;
  for (int r = 0; r < repeat; ++r) {
    rp.push_back(ortPrefill[r] / evalPrefill[r]);
    rd.push_back(ortDecode[r] / evalDecode[r]);
    std::printf("%6d %14.1f %14.1f %7.2fx %14.2f %14.2f %7.2fx\n", r + 1, prefill / evalPrefill[r],
                prefill / ortPrefill[r], rp.back(), 1 / evalDecode[r], 1 / ortDecode[r], rd.back());
  }
  auto range = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return std::pair{v.front(), v[v.size() / 2]};
  };
  auto [pMin, pMed] = range(rp);
  auto [dMin, dMed] = range(rd);
  std::printf("ratio (evaluator tok/s over onnxruntime tok/s): prefill median %.2fx (min %.2fx, "
              "max %.2fx), decode median %.2fx (min %.2fx, max %.2fx)\n",
              pMed, pMin, *std::max_element(rp.begin(), rp.end()), dMed, dMin,
              *std::max_element(rd.begin(), rd.end()));
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"mamba2-eval-bench: tokens/s of the fp32 m2 evaluator"};
  std::string shapeName = "130m", onnx, onnxStep, node = "node",
              script = MAMBA2_SOURCE_DIR "/bench/compiler/ort_time.mjs";
  int prefill = 256, decode = 32, maxThreads = 0, repeat = 3, bandwidthMiB = 1024, dramMiB = 1024;
  app.add_option("--shape", shapeName)->check(CLI::IsMember({"130m", "tiny"}));
  app.add_option("--prefill", prefill, "prompt length");
  app.add_option("--decode", decode, "decode steps after the prompt");
  app.add_option("--threads", maxThreads, "largest thread count (0: hardware)");
  app.add_option("--onnx", onnx, "whole-sequence 130M model: compare with onnxruntime");
  app.add_option("--onnx-step", onnxStep, "its step form (export_step.py)");
  app.add_option("--repeat", repeat, "timed runs of each side (--onnx)");
  app.add_option("--node", node, "node executable (--onnx)");
  app.add_option("--ort-script", script, "ort_time.mjs (--onnx)");
  app.add_option("--bandwidth-mib", bandwidthMiB, "buffer of the bandwidth measurement");
  app.add_option("--dram-mib", dramMiB, "working set of the int8 decode run beyond the cache");
  CLI11_PARSE(app, argc, argv);
  if (prefill < 1 || decode < 1 || repeat < 1) {
    std::fprintf(stderr, "--prefill, --decode and --repeat must be positive\n");
    return 2;
  }
  Shape s = shapeName == "130m" ? Shape{768, 24, 128, 64, 1, 50288} : Shape{64, 2, 16, 16, 2, 256};
  if (maxThreads <= 0)
    maxThreads = std::max(1u, std::thread::hardware_concurrency());

  const double bandwidth = readBandwidth(int64_t(bandwidthMiB) << 20);
  printMemorySection(Shape{768, 24, 128, 64, 1, 50288}, bandwidth, dramMiB); // 130M
  std::printf("\n");
  if (!onnx.empty() || !onnxStep.empty()) {
    if (onnx.empty() || onnxStep.empty()) {
      std::fprintf(stderr, "--onnx and --onnx-step go together\n");
      return 2;
    }
    return compareWithOnnxruntime(onnx, onnxStep, prefill, decode, repeat, node, script);
  }

  MLIRContext ctx;
  ctx.getOrLoadDialect<func::FuncDialect>();
  ctx.getOrLoadDialect<m2::M2Dialect>();
  ModelBuilder builder(ctx);
  auto module = builder.build(s);
  if (!module)
    return 1;
  auto program = mamba2::eval::Program::compile(*module);
  if (!program) {
    std::fprintf(stderr, "%s\n", llvm::toString(program.takeError()).c_str());
    return 1;
  }
  std::printf("m2 evaluator, shape %s (d_model %lld, %lld layers, d_state %lld, vocab %lld), "
              "fp32, batch 1\n",
              shapeName.c_str(), (long long)s.dModel, (long long)s.nLayer, (long long)s.dState,
              (long long)s.vocab);
  std::printf("%8s %10s %16s %10s %16s\n", "threads", "prefill", "prefill tok/s", "decode",
              "decode tok/s");
  std::vector<int64_t> ids(static_cast<size_t>(prefill));
  for (int i = 0; i < prefill; ++i)
    ids[i] = (i * 37 + 11) % s.vocab;
  for (int t = 1; t <= maxThreads; t *= 2) {
    mamba2::eval::ThreadPool pool(t);
    mamba2::eval::Session session(**program, 1, pool);
    auto t0 = std::chrono::steady_clock::now();
    auto logits = session.run(ids, prefill);
    auto t1 = std::chrono::steady_clock::now();
    if (!logits) {
      std::fprintf(stderr, "%s\n", llvm::toString(logits.takeError()).c_str());
      return 1;
    }
    for (int d = 0; d < decode; ++d) {
      auto step = session.run({(d * 13 + 5) % s.vocab}, 1);
      if (!step)
        return 1;
    }
    auto t2 = std::chrono::steady_clock::now();
    std::printf("%8d %10d %16.1f %10d %16.2f\n", t, prefill, prefill / seconds(t0, t1), decode,
                decode / seconds(t1, t2));
  }
  return 0;
}
