// ovl-fuse and ovl-tile: the emitter's fusion groups and tiles recorded in the IR (Plan.h,
// docs/passes.md).
#include "mamba2/CodeGen/Passes.h"

#include "mamba2/CodeGen/Plan.h"

namespace mamba2::codegen {
#define GEN_PASS_DEF_OVLFUSE
#define GEN_PASS_DEF_OVLTILE
#include "mamba2/CodeGen/CodeGenPasses.h.inc"
} // namespace mamba2::codegen

using namespace mlir;

namespace mamba2::codegen {
namespace {

/// The op the error names (the function when none), with the pass's name.
void report(func::FuncOp fn, const char *pass, const PlanError &e) {
  Operation *at = e.op ? e.op : fn.getOperation();
  at->emitError() << pass << ": " << e.why;
}

bool oneBlock(func::FuncOp fn, const char *pass) {
  if (fn.getBody().getBlocks().size() == 1)
    return true;
  fn.emitError() << pass << ": the function must have one block";
  return false;
}

struct OvlFusePass : impl::OvlFuseBase<OvlFusePass> {
  using OvlFuseBase::OvlFuseBase;
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.getBody().empty())
      return;
    if (!oneBlock(fn, "ovl-fuse"))
      return signalPassFailure();
    // Groups already recorded are verified and kept; otherwise found and recorded.
    FusePlan plan;
    if (auto e = fusePlan(fn, plan)) {
      report(fn, "ovl-fuse", *e);
      return signalPassFailure();
    }
    if (!plan.recorded)
      recordFuseGroups(fn, findFuseGroups(fn));
  }
};

struct OvlTilePass : impl::OvlTileBase<OvlTilePass> {
  using OvlTileBase::OvlTileBase;
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.getBody().empty())
      return;
    if (!oneBlock(fn, "ovl-tile"))
      return signalPassFailure();
    const target::Board *board = target::findBoard(std::string(target));
    if (!board) {
      fn.emitError() << "ovl-tile: unknown target '" << std::string(target) << "' ("
                     << target::boardNames() << ")";
      return signalPassFailure();
    }
    EmitOptions opt;
    opt.weightBuffers = weightBuffers;
    opt.maxWeightBuffers = maxWeightBuffers;
    opt.weightBufferBytes = weightBufferBytes;
    opt.padWeightRows = padWeightRows;
    // Tiles already recorded are checked against the board and kept; otherwise computed.
    TilePlan plan;
    if (auto e = tilePlan(fn, *board, opt, plan)) {
      report(fn, "ovl-tile", *e);
      return signalPassFailure();
    }
    if (!plan.recorded)
      recordTiles(fn, *board, plan);
  }
};

} // namespace
} // namespace mamba2::codegen
