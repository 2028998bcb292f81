// Throughput of the fp32 m2 evaluator on a full-size Mamba2 shape (default: 130M) with
// synthetic weights: prefill tokens/s and decode tokens/s for 1..N threads. Prints a table;
// asserts nothing. The m2 module is built directly (no ONNX file needed); weights live in
// vectors the module points at.
//
//   mamba2-eval-bench [--shape 130m|tiny] [--prefill 256] [--decode 32] [--threads 2]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include <CLI/CLI.hpp>

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Eval/M2Evaluator.h"

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

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"mamba2-eval-bench: tokens/s of the fp32 m2 evaluator"};
  std::string shapeName = "130m";
  int prefill = 256, decode = 32, maxThreads = 0;
  app.add_option("--shape", shapeName)->check(CLI::IsMember({"130m", "tiny"}));
  app.add_option("--prefill", prefill, "prompt length");
  app.add_option("--decode", decode, "decode steps after the prompt");
  app.add_option("--threads", maxThreads, "largest thread count (0: hardware)");
  CLI11_PARSE(app, argc, argv);
  Shape s = shapeName == "130m" ? Shape{768, 24, 128, 64, 1, 50288} : Shape{64, 2, 16, 16, 2, 256};
  if (maxThreads <= 0)
    maxThreads = std::max(1u, std::thread::hardware_concurrency());

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
