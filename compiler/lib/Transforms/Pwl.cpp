// m2-pwl: m2.silu and m2.softplus as piecewise-linear tables (QuantPasses.td).
#include "mamba2/Transforms/QuantPasses.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "mamba2/Quant/Constants.h"
#include "mamba2/isa/PwlBuild.h"

namespace mamba2 {
#define GEN_PASS_DEF_M2PWL
#include "mamba2/Transforms/QuantPasses.h.inc"
} // namespace mamba2

using namespace mlir;
namespace m2 = mamba2::m2;
namespace quant = mamba2::quant;

namespace {

constexpr int kFrac = 16; // fraction bits of the table's inputs and outputs

struct PwlPass : mamba2::impl::M2PwlBase<PwlPass> {
  using M2PwlBase::M2PwlBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    mamba2::isa::PwlSpec spec;
    spec.lo = lo;
    spec.hi = hi;
    spec.segments = static_cast<unsigned>(std::clamp<int64_t>(segments, 0, 1 << 20));
    spec.inFrac = kFrac;
    spec.outFrac = kFrac;
    std::map<std::string, std::vector<int32_t>> tables;
    for (const char *name : {"silu", "softplus"}) {
      try {
        tables[name] = mamba2::isa::buildPwl(name, spec);
      } catch (const std::invalid_argument &e) {
        func.emitError("m2-pwl: ")
            << e.what() << " (segments " << segments << ", range [" << lo << ", " << hi << "])";
        return signalPassFailure();
      }
    }
    llvm::SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (isa<m2::SiluOp, m2::SoftplusOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      std::string name = isa<m2::SiluOp>(op) ? "silu" : "softplus";
      const std::vector<int32_t> &t = tables[name];
      OpBuilder b(op);
      Value table = quant::makeI32(b, op->getLoc(), {static_cast<int64_t>(t.size())}, t);
      auto p = b.create<m2::PwlOp>(op->getLoc(), op->getResult(0).getType(), op->getOperand(0),
                                   table, b.getStringAttr(name), b.getI64IntegerAttr(kFrac),
                                   b.getI64IntegerAttr(kFrac));
      op->getResult(0).replaceAllUsesWith(p.getOutput());
      op->erase();
    }
  }
};

} // namespace
