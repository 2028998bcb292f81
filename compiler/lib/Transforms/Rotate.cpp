// m2-rotate: a Hadamard rotation of the residual stream fused into the weights, and an online
// Hadamard of d_inner before out_proj (QuantPasses.td).
#include "mamba2/Transforms/QuantPasses.h"

#include "mamba2/Quant/Constants.h"
#include "mamba2/Quant/Hadamard.h"
#include "mamba2/Support/Pages.h"

#include <algorithm>
#include <memory>

#include "mamba2/Eval/ThreadPool.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace mamba2 {
#define GEN_PASS_DEF_M2ROTATE
#include "mamba2/Transforms/QuantPasses.h.inc"
} // namespace mamba2

using namespace mlir;
namespace m2 = mamba2::m2;
namespace quant = mamba2::quant;

namespace {

/// Applies f(v) = H (s * v) / sqrt(n) to the rows (`rows` true) or the columns of the
/// (r, c) matrix m, in fp64 as hadamardInPlace computes it, 16 vectors at a time (a block of
/// columns is read row by row, not one strided element per cache line) and blocks in parallel:
/// each vector's result is the same for any block size and thread count. Reads `src`, writes
/// `dst` (which may be `src`).
void transform(const float *src, float *dst, int64_t r, int64_t c, bool rows, uint64_t seed,
               mamba2::eval::ThreadPool &pool) {
  const int64_t n = rows ? c : r, count = rows ? r : c;
  constexpr int64_t kBlock = quant::kHadamardBatch;
  pool.parallelFor((count + kBlock - 1) / kBlock, [&](int64_t b0, int64_t b1) {
    std::vector<double> v(static_cast<size_t>(n * kBlock));
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t i0 = blk * kBlock, w = std::min(kBlock, count - i0);
      for (int64_t k = 0; k < n; ++k)
        for (int64_t j = 0; j < w; ++j)
          v[k * w + j] = rows ? src[(i0 + j) * c + k] : src[k * c + i0 + j];
      quant::hadamardBatch(v.data(), n, w, seed);
      for (int64_t k = 0; k < n; ++k)
        for (int64_t j = 0; j < w; ++j)
          (rows ? dst[(i0 + j) * c + k] : dst[k * c + i0 + j]) = static_cast<float>(v[k * w + j]);
    }
  });
}

struct RotatePass : mamba2::impl::M2RotateBase<RotatePass> {
  using M2RotateBase::M2RotateBase;

  /// A new constant: `w` (r, c) with its rows or columns transformed.
  Value rotated(OpBuilder &b, Location loc, Value w, bool rows, uint64_t s) {
    return rotated(b, loc, w, rows, s, /*online=*/false, 0);
  }
  /// The same, then (`online`) its columns transformed with seed `sc`: read from `w`'s data
  /// where it lies, written straight into the new constant's blob.
  Value rotated(OpBuilder &b, Location loc, Value w, bool rows, uint64_t s, bool online,
                uint64_t sc) {
    auto shape = quant::shapeOf(w);
    // A heap blob that only this op reads (the pass before made it, and release-weights says
    // nothing else shares it) is rotated where it is: no second copy of the weight at any time.
    if (float *own = releaseWeights ? ownedData(w) : nullptr) {
      transform(own, own, shape[0], shape[1], rows, s, *pool);
      if (online)
        transform(own, own, shape[0], shape[1], /*rows=*/false, sc, *pool);
      return w;
    }
    // (The pass rotates only what quant::isF32Constant accepted, which readF32 reads.)
    std::vector<float> copy;
    std::optional<ArrayRef<float>> view = quant::viewF32(w);
    if (!view) {
      copy = quant::readF32(w).value();
      view = ArrayRef<float>(copy);
    }
    // The rows of a table in the mapped model file (the embedding) are read once: their pages
    // leave the resident set slab by slab as they are rotated, instead of staying beside the
    // new blob until the old constant is retired. (Each row's result is the same in any slab.)
    const bool mapped =
        rows && mamba2::support::isUnownedBlob(w.getDefiningOp<m2::ConstantOp>().getValue());
    const int64_t slab = mapped ? 4096 : shape[0];
    return quant::makeF32(b, loc, shape, [&](MutableArrayRef<float> out) {
      for (int64_t r0 = 0; r0 < shape[0]; r0 += slab) {
        const int64_t n = std::min(slab, shape[0] - r0);
        transform(view->data() + r0 * shape[1], out.data() + r0 * shape[1], n, shape[1], rows, s,
                  *pool);
        if (mapped)
          mamba2::support::dropPages(view->data() + r0 * shape[1],
                                     static_cast<size_t>(n * shape[1]) * sizeof(float));
      }
      if (online)
        transform(out.data(), out.data(), shape[0], shape[1], /*rows=*/false, sc, *pool);
    });
  }

  /// The f32 data of `w` when it is a mutable heap blob of an m2.constant with one use that no
  /// other op of the function refers to; nullptr otherwise.
  float *ownedData(Value w) {
    auto c = w.getDefiningOp<m2::ConstantOp>();
    if (!c || !w.hasOneUse())
      return nullptr;
    auto r = dyn_cast<DenseResourceElementsAttr>(c.getValue());
    AsmResourceBlob *blob = r ? r.getRawHandle().getBlob() : nullptr;
    if (!blob || !blob->getDeleter() || !blob->isMutable() ||
        blob->getData().size() != static_cast<size_t>(r.getNumElements()) * sizeof(float) ||
        reinterpret_cast<uintptr_t>(blob->getData().data()) % alignof(float) != 0)
      return nullptr;
    bool shared = false;
    getOperation().walk([&](Operation *op) {
      if (op == c.getOperation())
        return WalkResult::advance();
      for (NamedAttribute a : op->getAttrs())
        if (auto o = dyn_cast<DenseResourceElementsAttr>(a.getValue()))
          shared |= o.getRawHandle() == r.getRawHandle();
      return shared ? WalkResult::interrupt() : WalkResult::advance();
    });
    return shared ? nullptr : reinterpret_cast<float *>(blob->getMutableData().data());
  }

  std::shared_ptr<mamba2::eval::ThreadPool> pool; // made by runOnOperation

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    pool = std::make_shared<mamba2::eval::ThreadPool>(0);
    llvm::SmallVector<m2::EmbeddingOp> embeddings;
    func.walk([&](m2::EmbeddingOp e) { embeddings.push_back(e); });
    if (embeddings.empty()) {
      func.emitError("m2-rotate: no m2.embedding starts a residual stream");
      return signalPassFailure();
    }
    const uint64_t s = seed, sOnline = seed ? seed + 1 : 0;
    llvm::DenseMap<Value, Value> tables; // table -> rotated rows (tied tables rotate once)
    auto fail = [&](Operation *op, const Twine &msg) {
      op->emitError("m2-rotate: ") << msg;
      signalPassFailure();
    };
    OpBuilder b(func.getContext());
    for (m2::EmbeddingOp e : embeddings) {
      const int64_t d = quant::shapeOf(e.getTable())[1];
      if (!quant::hadamardSizeOk(d))
        return fail(e, "d_model " + Twine(d) + " is not h * 2^k with h in {1, 12, 40}");
      if (!quant::isF32Constant(e.getTable()))
        return fail(e, "the embedding table is not an f32 constant");
      // Check the whole stream before changing anything.
      llvm::SmallVector<Value> stream = {e.getOutput()};
      llvm::SmallVector<Operation *> inProj, outProj, heads;
      for (size_t i = 0; i < stream.size(); ++i)
        for (OpOperand &use : stream[i].getUses()) {
          Operation *user = use.getOwner();
          if (auto ra = dyn_cast<m2::ResidualAddOp>(user)) {
            auto lin = ra.getUpdate().getDefiningOp<m2::LinearOp>();
            if (use.getOperandNumber() != 0 || !lin || !quant::isF32Constant(lin.getWeight()))
              return fail(user, "the residual add's update is not a linear with a constant "
                                "weight (out_proj)");
            outProj.push_back(lin);
            stream.push_back(ra.getOutput());
          } else if (auto n = dyn_cast<m2::RMSNormOp>(user)) {
            auto w = quant::readF32(n.getWeight());
            if (!w || llvm::any_of(*w, [](float v) { return v != 1.0f; }))
              return fail(user, "the RMS norm weight is not all ones (run m2-fold-norms first)");
            for (Operation *r : n.getOutput().getUsers()) {
              if (auto l = dyn_cast<m2::LinearOp>(r); l && quant::isF32Constant(l.getWeight()))
                inProj.push_back(r);
              else if (auto h = dyn_cast<m2::LMHeadOp>(r); h && quant::isF32Constant(h.getTable()))
                heads.push_back(r);
              else
                return fail(r, "reads a rotated RMS norm but is not a linear or lm_head with a "
                               "constant weight");
            }
          } else {
            return fail(user, "reads the residual stream; only RMS norms and residual adds may");
          }
        }
      for (Operation *op : outProj) {
        int64_t di = quant::shapeOf(cast<m2::LinearOp>(op).getWeight())[0];
        if (online && !quant::hadamardSizeOk(di))
          return fail(op, "d_inner " + Twine(di) + " is not h * 2^k with h in {1, 12, 40}");
      }
      // Rewrite.
      b.setInsertionPoint(e);
      Value table = e.getTable();
      Value rt = rotated(b, e.getLoc(), table, /*rows=*/true, s);
      e.getTableMutable().assign(rt);
      if (rt != table && table.use_empty()) { // untied: give its memory back now
        quant::retire(table, releaseWeights);
        table = Value();
      } else {
        tables[table] = rt;
      }
      for (Operation *op : inProj) {
        auto l = cast<m2::LinearOp>(op);
        b.setInsertionPoint(l);
        Value old = l.getWeight();
        l.getWeightMutable().assign(rotated(b, l.getLoc(), old, /*rows=*/false, s));
        quant::retire(old, releaseWeights);
      }
      for (Operation *op : heads) {
        auto h = cast<m2::LMHeadOp>(op);
        Value old = h.getTable();
        Value &t = tables[old];
        if (!t) {
          b.setInsertionPoint(h);
          t = rotated(b, h.getLoc(), old, /*rows=*/true, s);
        }
        h.getTableMutable().assign(t);
        quant::retire(old, releaseWeights);
      }
      if (table)
        quant::retire(table, releaseWeights); // after the heads: `tables` is keyed by it
      for (Operation *op : outProj) {
        auto l = cast<m2::LinearOp>(op);
        b.setInsertionPoint(l);
        if (online) { // the op before the new weight, as it has always been
          Value x = l.getInput();
          auto h = b.create<m2::HadamardOp>(l.getLoc(), x.getType(), x,
                                            b.getI64IntegerAttr(static_cast<int64_t>(sOnline)));
          l.getInputMutable().assign(h.getOutput());
        }
        Value old = l.getWeight();
        l.getWeightMutable().assign(rotated(b, l.getLoc(), old, /*rows=*/true, s, online, sOnline));
        quant::retire(old, releaseWeights);
      }
    }
    quant::eraseDeadConstants(func);
  }
};

} // namespace
