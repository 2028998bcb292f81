// Throughput of the fp32 m2 evaluator, and what bounds it, in one run on one machine:
//
//  * synthetic (default): prefill and decode tokens/s on a full-size Mamba2 shape (130M) with
//    synthetic weights, for 1..N threads. The m2 module is built directly; weights live in
//    vectors the module points at.
//  * against onnxruntime (--onnx CHUNKED --onnx-step STEP, the 130M shape written by
//    mamba2ref.fullsize and its step form, bench/compiler/export_step.py): the same prompt
//    through the evaluator and through onnxruntime-node (bench/compiler/ort_time.mjs --serve,
//    one process), prefill with the whole-sequence graph, decode with the step graph, one
//    thread each, in --pairs interleaved pairs (the side timed first alternating); prints each
//    pair's ratios with the load average, and their median and spread.
//  * always: the int8 matrix-vector products of a 130M decode step (gemmS8, M = 1) against the
//    weight-bytes / bandwidth bound, over copies of the weights that span --dram-mib MiB, in
//    --pairs pairs of one read of a --dram-mib buffer (this core's read bandwidth) and one step
//    on each copy; each pair's fraction of the bound, their median and spread.
//
// Prints tables; asserts nothing. With --out FILE (and --onnx) it writes them as the section
// kEvalBenchHeading of FILE (docs/accuracy.md, via bench/compiler/eval_bench.sh).
//
//   mamba2-eval-bench [--shape 130m|tiny] [--prefill 256] [--decode 32] [--threads 2]
//   mamba2-eval-bench --onnx M.onnx --onnx-step S.onnx [--prefill 256] [--decode 32]
//                     [--pairs 9] [--out docs/accuracy.md]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <immintrin.h>
#include <optional>
#include <random>
#include <thread>

#include <algorithm>
#include <ctime>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

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

#include "ReportSection.h"

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

/// CPU time of the calling thread: on a shared machine, the time it ran, not the time others
/// ran on its core.
double threadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

/// `copies` copies of a decode step's int8 weights (distinct memory, random bytes) and the
/// activations they multiply.
class Int8Weights {
public:
  Int8Weights(const Int8Step &step, int copies)
      : step_(step), copies_(copies), w_(static_cast<size_t>(step.bytes * copies)) {
    std::mt19937 rng(5);
    for (size_t i = 0; i < w_.size(); i += 4) {
      uint32_t r = rng();
      std::memcpy(&w_[i], &r, std::min<size_t>(4, w_.size() - i));
    }
    int64_t maxK = 0, maxN = 0;
    for (const auto &m : step.mats) {
      maxK = std::max(maxK, m.k);
      maxN = std::max(maxN, m.n);
    }
    x_.resize(static_cast<size_t>(maxK));
    for (auto &v : x_)
      v = static_cast<int8_t>(rng());
    y_.resize(static_cast<size_t>(maxN));
  }
  /// Seconds per step over `steps` steps, one thread, cycling over the first `use` copies
  /// (0: all), so that the working set is use x the step's bytes; `cpu`: this thread's CPU
  /// seconds per step.
  double seconds(int steps, int use = 0, double *cpu = nullptr) {
    use = use > 0 ? std::min(use, copies_) : copies_;
    const double c0 = threadCpuSeconds();
    auto t0 = Clock::now();
    for (int i = 0; i < steps; ++i) {
      const int8_t *base = w_.data() + static_cast<size_t>(step_.bytes) * (next_++ % use);
      for (const auto &m : step_.mats)
        mamba2::eval::gemmS8(1, m.n, m.k, x_.data(), m.k, base + m.offset, m.k, y_.data(), m.n);
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count() / steps;
    if (cpu)
      *cpu = (threadCpuSeconds() - c0) / steps;
    return wall;
  }

private:
  const Int8Step &step_;
  int copies_;
  std::vector<int8_t> w_, x_;
  std::vector<int32_t> y_;
  int64_t next_ = 0;
};

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

/// The 1-minute load average (/proc/loadavg), or -1.
double loadAverage() {
  double l = -1;
  if (FILE *f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1)
      l = -1;
    std::fclose(f);
  }
  return l;
}

/// "model name" of /proc/cpuinfo and the cores this process may run on.
std::string machineName() {
  std::string name = "unknown CPU";
  if (FILE *f = std::fopen("/proc/cpuinfo", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "model name", 10) == 0) {
        const char *v = std::strchr(line, ':');
        name = v ? std::string(v + 2) : name;
        while (!name.empty() && (name.back() == '\n' || name.back() == ' '))
          name.pop_back();
        break;
      }
    std::fclose(f);
  }
  return name + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores";
}

std::string utcNow() {
  std::time_t t = std::time(nullptr);
  char b[64];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return b;
}

/// Median, and the quartiles and extremes, of some ratios.
struct Spread {
  double min = 0, q1 = 0, median = 0, q3 = 0, max = 0;
};
Spread spreadOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { // linear interpolation between order statistics
    const double x = q * double(v.size() - 1);
    const size_t i = static_cast<size_t>(x);
    return i + 1 < v.size() ? v[i] + (x - double(i)) * (v[i + 1] - v[i]) : v[i];
  };
  return {v.front(), at(0.25), at(0.5), at(0.75), v.back()};
}

std::string fmt(const char *f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

/// The int8 decode products against the weight-bytes / bandwidth bound, in `pairs` interleaved
/// pairs: one read of a --dram-mib buffer (the bandwidth), then one decode step's products on
/// each of the weight copies that span as much memory (the step time), in alternating order;
/// each pair's bound over its step time. Returns the markdown table and prints it.
std::string memorySection(const Shape &s, int dramMiB, int pairs, Spread &fraction) {
  Int8Step step(s);
  const int64_t bwBytes = int64_t(dramMiB) << 20;
  const size_t words = static_cast<size_t>(bwBytes / 8);
  std::vector<uint64_t> buf(words);
  for (size_t i = 0; i < words; ++i)
    buf[i] = i;
  const bool avx512 = __builtin_cpu_supports("avx512f");
  uint64_t sink = 0;
  auto bandwidth = [&](double *cpu = nullptr) {
    const double c0 = threadCpuSeconds();
    auto t0 = Clock::now();
    sink += avx512 ? sumAvx512(buf.data(), words) : sumPortable(buf.data(), words);
    const double wall = seconds(t0, Clock::now());
    if (cpu)
      *cpu = static_cast<double>(words * 8) / (threadCpuSeconds() - c0);
    return static_cast<double>(words * 8) / wall;
  };
  const int copies = std::max<int>(1, static_cast<int>(bwBytes / step.bytes));
  Int8Weights w(step, copies);
  bandwidth();
  w.seconds(copies); // warm-up: every page touched
  double cachedCpu = 0;
  const double cached = w.seconds(20, /*use=*/1, &cachedCpu);
  std::ostringstream md;
  md << "| pair | load | read bandwidth (GB/s) | int8 step (ms) | bound (ms) | of bound | on CPU "
        "time: bandwidth (GB/s) | step (ms) | of bound |\n"
        "|---|---|---|---|---|---|---|---|---|\n";
  std::printf("int8 decode products (gemmS8, M = 1, kernel %s, one thread): %.1f MB of weights "
              "per step, %d copies (%.0f MB)\n",
              mamba2::eval::s8KernelName(mamba2::eval::bestS8Kernel()), step.bytes / 1e6, copies,
              step.bytes * double(copies) / 1e6);
  std::printf("%5s %6s %9s %9s %9s %9s %9s %9s %9s\n", "pair", "load", "GB/s", "step ms",
              "bound ms", "of bound", "cpu GB/s", "cpu ms", "of bound");
  std::vector<double> fr, bws, frCpu;
  for (int p = 0; p < pairs; ++p) {
    const double load = loadAverage();
    double bw = 0, t = 0, bwCpu = 0, tCpu = 0;
    if (p % 2 == 0) {
      bw = bandwidth(&bwCpu);
      t = w.seconds(copies, 0, &tCpu);
    } else {
      t = w.seconds(copies, 0, &tCpu);
      bw = bandwidth(&bwCpu);
    }
    const double bound = step.bytes / bw, boundCpu = step.bytes / bwCpu;
    fr.push_back(bound / t);
    frCpu.push_back(boundCpu / tCpu);
    bws.push_back(bw);
    std::printf("%5d %6.1f %9.2f %9.2f %9.2f %8.0f%% %9.2f %9.2f %8.0f%%\n", p + 1, load, bw / 1e9,
                t * 1e3, bound * 1e3, 100 * bound / t, bwCpu / 1e9, tCpu * 1e3,
                100 * boundCpu / tCpu);
    md << "| " << p + 1 << " | " << fmt("%.1f", load) << " | " << fmt("%.2f", bw / 1e9) << " | "
       << fmt("%.2f", t * 1e3) << " | " << fmt("%.2f", bound * 1e3) << " | "
       << fmt("%.0f%%", 100 * bound / t) << " | " << fmt("%.2f", bwCpu / 1e9) << " | "
       << fmt("%.2f", tCpu * 1e3) << " | " << fmt("%.0f%%", 100 * boundCpu / tCpu) << " |\n";
  }
  const Spread onCpu = spreadOf(frCpu);
  if (sink == 42)
    std::printf(" ");
  fraction = spreadOf(fr);
  const Spread b = spreadOf(bws);
  md << "| median | | " << fmt("%.2f", b.median / 1e9) << " | | | **"
     << fmt("%.0f%%", 100 * fraction.median) << "** | | | " << fmt("%.0f%%", 100 * onCpu.median)
     << " |\n\n"
     << "Of bound over the " << pairs << " pairs: median " << fmt("%.0f%%", 100 * fraction.median)
     << ", quartiles " << fmt("%.0f%%", 100 * fraction.q1) << "–"
     << fmt("%.0f%%", 100 * fraction.q3) << ", range " << fmt("%.0f%%", 100 * fraction.min) << "–"
     << fmt("%.0f%%", 100 * fraction.max) << ". With the weights in one copy ("
     << fmt("%.0f", step.bytes / 1e6) << " MB, which the last-level cache may partly hold) a step "
     << "takes " << fmt("%.2f", cached * 1e3) << " ms ("
     << fmt("%.0f%%", 100 * step.bytes / b.median / cached) << " of the median bound; "
     << fmt("%.2f", cachedCpu * 1e3) << " ms of CPU time). On "
     << "this thread's CPU time (the time it ran, not the time other processes ran on its core) "
     << "the step reaches " << fmt("%.0f%%", 100 * onCpu.median) << " of the bound (quartiles "
     << fmt("%.0f", 100 * onCpu.q1) << "–" << fmt("%.0f%%", 100 * onCpu.q3)
     << "): what is left to the wall-clock fraction is the share of the core the load left "
        "to each side.\n";
  std::printf("of bound: median %.0f%% (quartiles %.0f%%-%.0f%%, range %.0f%%-%.0f%%), on CPU "
              "time %.0f%% (quartiles %.0f%%-%.0f%%); one copy (cache): %.2f ms per step, %.2f "
              "ms CPU\n",
              100 * fraction.median, 100 * fraction.q1, 100 * fraction.q3, 100 * fraction.min,
              100 * fraction.max, 100 * onCpu.median, 100 * onCpu.q1, 100 * onCpu.q3, cached * 1e3,
              cachedCpu * 1e3);
  return md.str();
}

/// A child process with a pipe to its stdin and one from its stdout.
class Child {
public:
  bool start(const std::vector<std::string> &argv) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0)
      return false;
    pid_ = fork();
    if (pid_ < 0)
      return false;
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      std::vector<char *> args;
      for (const std::string &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
    return to_ && from_;
  }
  /// Sends a line and returns the answer's line (empty when the child is gone).
  std::string ask(const std::string &line) {
    if (!line.empty()) {
      std::fprintf(to_, "%s\n", line.c_str());
      std::fflush(to_);
    }
    std::string r;
    char b[4096];
    while (std::fgets(b, sizeof b, from_)) {
      r += b;
      if (!r.empty() && r.back() == '\n')
        break;
    }
    return r;
  }
  ~Child() {
    if (to_) {
      std::fprintf(to_, "quit\n");
      std::fclose(to_);
    }
    if (from_)
      std::fclose(from_);
    if (pid_ > 0)
      waitpid(pid_, nullptr, 0);
  }

private:
  pid_t pid_ = -1;
  FILE *to_ = nullptr, *from_ = nullptr;
};

std::optional<double> jsonNumber(const std::string &line, const char *key) {
  auto json = llvm::json::parse(line);
  if (!json) {
    llvm::consumeError(json.takeError());
    return std::nullopt;
  }
  if (auto *o = json->getAsObject())
    return o->getNumber(key);
  return std::nullopt;
}

int compareWithOnnxruntime(const std::string &chunkedPath, const std::string &stepPath, int prefill,
                           int decode, int pairs, int dramMiB, const std::string &node,
                           const std::string &script, const std::string &out) {
  MLIRContext ctx;
  mamba2::import::registerImportDialects(ctx);
  ctx.getOrLoadDialect<m2::M2Dialect>();
  auto chunked = load(ctx, chunkedPath);
  auto step = load(ctx, stepPath);
  if (!chunked || !step)
    return 1;
  const double loadStart = loadAverage();
  const std::string started = utcNow();
  // The same ids as ort_time.mjs.
  const int64_t vocab = 50280;
  std::vector<int64_t> ids(static_cast<size_t>(prefill));
  for (int i = 0; i < prefill; ++i)
    ids[i] = (i * 37 + 11) % vocab;
  mamba2::eval::ThreadPool pool(1);
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
  // onnxruntime in one node process, warmed up, answering one timed run per request.
  Child ort;
  if (!ort.start({node, script, chunkedPath, stepPath, "--prefill", std::to_string(prefill),
                  "--decode", std::to_string(decode), "--threads", "1", "--serve", "1"}) ||
      ort.ask("").rfind("ready", 0) != 0) {
    std::fprintf(stderr, "onnxruntime did not start: %s %s\n", node.c_str(), script.c_str());
    return 1;
  }
  auto ortRun = [&](const char *what, const char *key) -> double {
    auto v = jsonNumber(ort.ask(what), key);
    return v ? *v : -1;
  };
  std::printf("fp32 m2 evaluator vs onnxruntime-node (CPU), 130M shape, batch 1, one thread; "
              "prefill %d tokens (whole-sequence graph), decode %d steps (step graph); %d pairs\n",
              prefill, decode, pairs);
  std::printf("%5s %6s %6s %12s %12s %7s %12s %12s %7s\n", "pair", "first", "load", "eval pf t/s",
              "ort pf t/s", "ratio", "eval dec t/s", "ort dec t/s", "ratio");
  std::ostringstream table;
  table << "| pair | first | load | evaluator prefill tok/s | onnxruntime prefill tok/s | ratio | "
           "evaluator decode tok/s | onnxruntime decode tok/s | ratio |\n"
           "|---|---|---|---|---|---|---|---|---|\n";
  std::vector<double> rp, rd;
  for (int p = 0; p < pairs; ++p) {
    // Each pair times both sides back to back, the evaluator first in odd pairs and
    // onnxruntime first in even ones, so that a drift of the machine's load favours neither.
    const bool evalFirst = p % 2 == 0;
    const double load = loadAverage();
    double ep = 0, op = 0, ed = 0, od = 0;
    if (evalFirst) {
      ep = timePrefill();
      op = ortRun("prefill", "prefill_s");
      ed = timeDecode();
      od = ortRun("decode", "decode_s_per_token");
    } else {
      op = ortRun("prefill", "prefill_s");
      ep = timePrefill();
      od = ortRun("decode", "decode_s_per_token");
      ed = timeDecode();
    }
    if (ep <= 0 || op <= 0 || ed <= 0 || od <= 0) {
      std::fprintf(stderr, "a timed run failed (pair %d)\n", p + 1);
      return 1;
    }
    rp.push_back(op / ep);
    rd.push_back(od / ed);
    std::printf("%5d %6s %6.1f %12.1f %12.1f %6.2fx %12.2f %12.2f %6.2fx\n", p + 1,
                evalFirst ? "eval" : "ort", load, prefill / ep, prefill / op, rp.back(), 1 / ed,
                1 / od, rd.back());
    std::fflush(stdout);
    table << "| " << p + 1 << " | " << (evalFirst ? "evaluator" : "onnxruntime") << " | "
          << fmt("%.1f", load) << " | " << fmt("%.1f", prefill / ep) << " | "
          << fmt("%.1f", prefill / op) << " | " << fmt("%.2f×", rp.back()) << " | "
          << fmt("%.2f", 1 / ed) << " | " << fmt("%.2f", 1 / od) << " | " << fmt("%.2f×", rd.back())
          << " |\n";
  }
  const Spread sp = spreadOf(rp), sd = spreadOf(rd);
  table << "| median | | | | | **" << fmt("%.2f×", sp.median) << "** | | | **"
        << fmt("%.2f×", sd.median) << "** |\n\n";
  std::printf("ratio (evaluator tok/s over onnxruntime tok/s): prefill median %.2fx (quartiles "
              "%.2f-%.2fx, range %.2f-%.2fx), decode median %.2fx (quartiles %.2f-%.2fx, range "
              "%.2f-%.2fx)\n\n",
              sp.median, sp.q1, sp.q3, sp.min, sp.max, sd.median, sd.q1, sd.q3, sd.min, sd.max);
  Spread fraction;
  const std::string memory =
      memorySection(Shape{768, 24, 128, 64, 1, 50288}, dramMiB, pairs, fraction);
  const double loadEnd = loadAverage();
  if (out.empty())
    return 0;

  auto spreadText = [](const Spread &s) {
    return "median " + fmt("%.2f×", s.median) + ", quartiles " + fmt("%.2f", s.q1) + "–" +
           fmt("%.2f×", s.q3) + ", range " + fmt("%.2f", s.min) + "–" + fmt("%.2f×", s.max);
  };
  auto met = [](bool ok) { return ok ? "met" : "missed"; };
  std::ostringstream md;
  md << mamba2::bench::kEvalBenchHeading << "\n\n"
     << "Written by `bash bench/compiler/eval_bench.sh` (`mamba2-eval-bench --onnx M.onnx "
        "--onnx-step S.onnx --pairs "
     << pairs << " --out docs/accuracy.md`), which replaces only this section; " << started << ", "
     << machineName() << ", 1-minute load average " << fmt("%.1f", loadStart)
     << " at the start and " << fmt("%.1f", loadEnd)
     << " at the end (the `load` column: at the start of each pair; the cores are shared with "
        "other work, so single figures move by tens of percent between pairs and the medians "
        "are the result).\n\n"
     << "The fp32 m2 evaluator (docs/passes.md, Matrix products) and onnxruntime-node (npm "
        "`onnxruntime-node`, CPU) on the 130M shape (`mamba2ref.fullsize mamba2-130m`, "
        "synthetic weights), one thread each, on the same ids: a "
     << prefill
     << "-token prefill through the whole-sequence graph (onnxruntime runs the chunked SSD, the "
        "evaluator the recurrent form of the raised module) and "
     << decode
     << " decode steps through the step graph (`bench/compiler/export_step.py`) with its states "
        "fed back. onnxruntime runs in one node process (`bench/compiler/ort_time.mjs --serve`), "
        "both sides warmed up by one untimed run of each graph; each pair times the evaluator's "
        "and onnxruntime's prefill and then their decode back to back, the evaluator first in odd "
        "pairs and onnxruntime first in even ones. The ratio is the evaluator's tokens/s over "
        "onnxruntime's.\n\n"
     << table.str() << "| target | measured over " << pairs << " pairs | limit | |\n"
     << "|---|---|---|---|\n"
     << "| fp32 prefill against onnxruntime | " << spreadText(sp) << " | ≥ 1.0× (median) | "
     << met(sp.median >= 1.0) << " |\n"
     << "| fp32 decode against onnxruntime | " << spreadText(sd) << " | ≥ 1.0× (median) | "
     << met(sd.median >= 1.0) << " |\n"
     << "| int8 decode against the weight-bytes / bandwidth bound | median "
     << fmt("%.0f%%", 100 * fraction.median) << ", quartiles " << fmt("%.0f", 100 * fraction.q1)
     << "–" << fmt("%.0f%%", 100 * fraction.q3) << ", range " << fmt("%.0f", 100 * fraction.min)
     << "–" << fmt("%.0f%%", 100 * fraction.max) << " | ≥ 70% (median) | "
     << met(fraction.median >= 0.70) << " |\n\n"
     << "**Integer decode against the memory bound.** The int8 products of one 130M decode step "
        "(`gemmS8` with M = 1, the integer evaluator's kernel for `m2.qlinear`: in_proj and "
        "out_proj of 24 layers and the lm_head, "
     << fmt("%.1f", Int8Step(Shape{768, 24, 128, 64, 1, 50288}).bytes / 1e6)
     << " MB of int8 weights), one thread, cycling over copies of the weights that span " << dramMiB
     << " MiB so that they come from DRAM, against the bound weight bytes / read bandwidth. The "
        "bandwidth is one thread's read of a "
     << dramMiB
     << " MiB buffer (64-byte loads, summed); each pair measures it and the step back to back "
        "(alternating which comes first), so that both see the same load.\n\n"
     << memory;
  std::string doc;
  if (auto old = mamba2::bench::readFile(out))
    doc = *old;
  if (!doc.empty() && doc.back() != '\n')
    doc += "\n";
  if (!doc.empty() &&
      mamba2::bench::findSection(doc, mamba2::bench::kEvalBenchHeading).first == std::string::npos)
    doc += "\n";
  mamba2::bench::replaceSection(doc, mamba2::bench::kEvalBenchHeading, md.str());
  if (!mamba2::bench::writeFile(out, doc)) {
    std::fprintf(stderr, "cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("wrote the section '%s' of %s\n", mamba2::bench::kEvalBenchHeading + 3, out.c_str());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"mamba2-eval-bench: tokens/s of the fp32 m2 evaluator"};
  std::string shapeName = "130m", onnx, onnxStep, node = "node",
              script = MAMBA2_SOURCE_DIR "/bench/compiler/ort_time.mjs";
  int prefill = 256, decode = 32, maxThreads = 0, pairs = 9, dramMiB = 1024;
  std::string out;
  app.add_option("--shape", shapeName)->check(CLI::IsMember({"130m", "tiny"}));
  app.add_option("--prefill", prefill, "prompt length");
  app.add_option("--decode", decode, "decode steps after the prompt");
  app.add_option("--threads", maxThreads, "largest thread count (0: hardware)");
  app.add_option("--onnx", onnx, "whole-sequence 130M model: compare with onnxruntime");
  app.add_option("--onnx-step", onnxStep, "its step form (export_step.py)");
  app.add_option("--pairs,--repeat", pairs,
                 "interleaved timed pairs: the evaluator and onnxruntime (--onnx), the bandwidth "
                 "and the int8 decode step");
  app.add_option("--node", node, "node executable (--onnx)");
  app.add_option("--ort-script", script, "ort_time.mjs (--onnx)");
  app.add_option("--dram-mib", dramMiB,
                 "buffer of the bandwidth measurement and working set of the int8 decode steps");
  app.add_option("--out", out,
                 "--onnx: write the section of this markdown file (docs/accuracy.md) that holds "
                 "the tables, keeping the rest of the file");
  CLI11_PARSE(app, argc, argv);
  if (prefill < 1 || decode < 1 || pairs < 1 || dramMiB < 256) {
    std::fprintf(stderr, "--prefill, --decode and --pairs must be positive, --dram-mib at least "
                         "256\n");
    return 2;
  }
  Shape s = shapeName == "130m" ? Shape{768, 24, 128, 64, 1, 50288} : Shape{64, 2, 16, 16, 2, 256};
  if (maxThreads <= 0)
    maxThreads = std::max(1u, std::thread::hardware_concurrency());

  if (!onnx.empty() || !onnxStep.empty()) {
    if (onnx.empty() || onnxStep.empty()) {
      std::fprintf(stderr, "--onnx and --onnx-step go together\n");
      return 2;
    }
    return compareWithOnnxruntime(onnx, onnxStep, prefill, decode, pairs, dramMiB, node, script,
                                  out);
  }
  if (!out.empty()) {
    std::fprintf(stderr, "--out goes with --onnx\n");
    return 2;
  }
  Spread fraction;
  memorySection(Shape{768, 24, 128, 64, 1, 50288}, dramMiB, pairs, fraction); // 130M
  std::printf("\n");

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
