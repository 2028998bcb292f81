// m2-fold-norms: RMS norm weights into the linear layers that read the norm (QuantPasses.td).
#include "mamba2/Transforms/QuantPasses.h"

#include "mamba2/Quant/Constants.h"
#include "mamba2/Support/Pages.h"

namespace mamba2 {
#define GEN_PASS_DEF_M2FOLDNORMS
#include "mamba2/Transforms/QuantPasses.h.inc"
} // namespace mamba2

using namespace mlir;
namespace m2 = mamba2::m2;
namespace quant = mamba2::quant;

namespace {

struct FoldNormsPass : mamba2::impl::M2FoldNormsBase<FoldNormsPass> {
  using M2FoldNormsBase::M2FoldNormsBase;

  /// Folds the weight of `norm` (operand `weightIdx`, result `out`) into its users; false
  /// when it cannot (it is left as it was), failure on a non-constant weight.
  FailureOr<bool> fold(Operation *norm, unsigned weightIdx, Value out) {
    Value wv = norm->getOperand(weightIdx);
    auto w = quant::readF32(wv);
    if (!w) {
      norm->emitError("m2-fold-norms: the norm weight is not an f32 constant");
      return failure();
    }
    const int64_t d = static_cast<int64_t>(w->size());
    for (Operation *user : out.getUsers()) {
      Value weight;
      if (auto l = dyn_cast<m2::LinearOp>(user))
        weight = l.getWeight();
      else if (auto h = dyn_cast<m2::LMHeadOp>(user))
        weight = h.getTable();
      if (!weight || !quant::isF32Constant(weight) || user->getOperand(0) != out) {
        norm->emitRemark("m2-fold-norms: left unfolded, its result is read by ")
            << user->getName() << " at " << user->getLoc();
        return false;
      }
    }
    OpBuilder b(norm);
    for (Operation *user : llvm::to_vector(out.getUsers())) {
      b.setInsertionPoint(user);
      // The weight's elements read where they lie (a copy only for a splat) and the scaled
      // ones written straight into the new constant.
      Value old = isa<m2::LinearOp>(user) ? cast<m2::LinearOp>(user).getWeight()
                                          : cast<m2::LMHeadOp>(user).getTable();
      std::vector<float> copy;
      std::optional<ArrayRef<float>> W = quant::viewF32(old);
      if (!W) {
        auto read = quant::readF32(old);
        if (!read) {
          user->emitError("m2-fold-norms: the weight is not an f32 constant");
          return failure();
        }
        copy = std::move(*read);
        W = ArrayRef<float>(copy);
      }
      Value folded;
      if (auto l = dyn_cast<m2::LinearOp>(user)) {
        const int64_t n = static_cast<int64_t>(W->size()) / d; // (d, out)
        folded = quant::makeF32(b, l.getLoc(), quant::shapeOf(old), [&](MutableArrayRef<float> o) {
          for (int64_t i = 0; i < d; ++i)
            for (int64_t j = 0; j < n; ++j)
              o[i * n + j] = (*W)[i * n + j] * (*w)[i];
        });
        l.getWeightMutable().assign(folded);
      } else {
        auto h = cast<m2::LMHeadOp>(user);
        const int64_t v = static_cast<int64_t>(W->size()) / d; // (vocab, d)
        folded = quant::makeF32(b, h.getLoc(), quant::shapeOf(old), [&](MutableArrayRef<float> o) {
          for (int64_t r = 0; r < v; ++r)
            for (int64_t i = 0; i < d; ++i)
              o[r * d + i] = (*W)[r * d + i] * (*w)[i];
        });
        h.getTableMutable().assign(folded);
      }
      W.reset();
      copy = std::vector<float>();
      // A weight another op still reads (the embedding table of a tied head) is not read again
      // for a while: its mapped pages leave the resident set (m2-rotate reads them again).
      ElementsAttr oldValue = old.getDefiningOp<m2::ConstantOp>().getValue();
      const bool stays = !old.use_empty();
      quant::retire(old, releaseWeights);
      if (stays)
        mamba2::support::dropUnownedPages(oldValue);
    }
    b.setInsertionPoint(norm);
    std::vector<float> ones(static_cast<size_t>(d), 1.0f);
    norm->setOperand(weightIdx, quant::makeF32(b, norm->getLoc(), quant::shapeOf(wv), ones));
    quant::retire(wv, releaseWeights);
    return true;
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    llvm::SmallVector<Operation *> norms;
    func.walk([&](Operation *op) {
      if (isa<m2::RMSNormOp>(op) || (gated && isa<m2::GatedRMSNormOp>(op)))
        norms.push_back(op);
    });
    for (Operation *op : norms) {
      FailureOr<bool> r = failure();
      if (auto n = dyn_cast<m2::RMSNormOp>(op))
        r = fold(op, 1, n.getOutput());
      else
        r = fold(op, 2, cast<m2::GatedRMSNormOp>(op).getOutput());
      if (failed(r))
        return signalPassFailure();
    }
    quant::eraseDeadConstants(func);
  }
};

} // namespace
