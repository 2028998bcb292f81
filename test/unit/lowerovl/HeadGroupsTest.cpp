// m2-reorder-in-proj and ovl-split-head-groups on the one-layer model of
// test/lit/ovl/reorder-in-proj.mlir (2 heads, a different conv weight per channel): the reordered
// m2 model gives the same logits in the integer evaluator, and the lowered model split into head
// groups gives the ovl evaluator's logits bit for bit, whatever the grouping of tokens into calls,
// with one state per piece.
#include <gtest/gtest.h>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Eval/M2Evaluator.h"
#include "mamba2/Ovl/Evaluator.h"
#include "mamba2/Quant/QuantEvaluator.h"
#include "mamba2/Transforms/OvlPasses.h"

using namespace mamba2;

namespace {

const std::vector<int32_t> kIds = {0, 1, 2, 3, 3, 2, 1, 0, 2, 2, 1, 3, 0};

struct Model {
  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  Model() {
    ctx.loadDialect<mlir::func::FuncDialect, m2::M2Dialect, ovl::OvlDialect>();
    module = mlir::parseSourceFile<mlir::ModuleOp>(
        MAMBA2_SOURCE_DIR "/test/lit/ovl/reorder-in-proj.mlir", &ctx);
  }
  /// Runs the passes; false when one fails.
  bool run(bool reorder, bool lower, int64_t headsPerGroup) {
    mlir::PassManager pm(&ctx);
    if (reorder)
      pm.addNestedPass<mlir::func::FuncOp>(createM2ReorderInProj());
    if (lower)
      pm.addPass(createM2LowerToOvl());
    if (headsPerGroup > 0) {
      OvlSplitHeadGroupsOptions o;
      o.headsPerGroup = headsPerGroup;
      pm.addNestedPass<mlir::func::FuncOp>(createOvlSplitHeadGroups(o));
    }
    return mlir::succeeded(pm.run(*module));
  }
};

/// The integer evaluator's logits of the quantised m2 module.
std::vector<float> m2Logits(mlir::ModuleOp module) {
  quant::QuantKernels kernels;
  auto program = eval::Program::compile(module, "main", &kernels);
  EXPECT_TRUE(static_cast<bool>(program)) << llvm::toString(program.takeError());
  if (!program)
    return {};
  eval::ThreadPool pool(1);
  eval::Session s(**program, 1, pool);
  auto r = s.run(std::vector<int64_t>(kIds.begin(), kIds.end()), int64_t(kIds.size()));
  EXPECT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  return r ? *r : std::vector<float>{};
}

/// The ovl evaluator's logits: a prefill of 5 tokens, then one token per call.
std::vector<int32_t> ovlLogits(mlir::ModuleOp module, size_t *states = nullptr) {
  auto s = ovl::Session::create(module);
  EXPECT_TRUE(static_cast<bool>(s)) << llvm::toString(s.takeError());
  if (!s)
    return {};
  if (states)
    *states = (*s)->states().size();
  std::vector<int32_t> out;
  auto first = (*s)->run(std::vector<int32_t>(kIds.begin(), kIds.begin() + 5));
  EXPECT_TRUE(static_cast<bool>(first)) << llvm::toString(first.takeError());
  if (!first)
    return {};
  out = first->v;
  for (size_t i = 5; i < kIds.size(); ++i) {
    auto step = (*s)->run({kIds[i]});
    EXPECT_TRUE(static_cast<bool>(step)) << llvm::toString(step.takeError());
    if (!step)
      return {};
    out.insert(out.end(), step->v.begin(), step->v.end());
  }
  return out;
}

TEST(HeadGroups, ReorderKeepsTheM2Logits) {
  Model plain, reordered;
  ASSERT_TRUE(plain.module && reordered.module);
  ASSERT_TRUE(reordered.run(true, false, 0));
  // The split now gives dt first.
  bool dtFirst = false;
  reordered.module->walk([&](m2::SSDOp s) {
    if (auto sp = s.getDt().getDefiningOp<m2::SplitOp>())
      dtFirst = s.getDt() == sp.getResult(0);
  });
  EXPECT_TRUE(dtFirst);
  const std::vector<float> a = m2Logits(*plain.module), b = m2Logits(*reordered.module);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST(HeadGroups, ReorderKeepsTheOvlLogits) {
  Model plain, reordered;
  ASSERT_TRUE(plain.run(false, true, 0));
  ASSERT_TRUE(reordered.run(true, true, 0));
  const std::vector<int32_t> a = ovlLogits(*plain.module), b = ovlLogits(*reordered.module);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST(HeadGroups, SplitKeepsTheOvlLogitsBitForBit) {
  Model plain;
  ASSERT_TRUE(plain.run(false, true, 0));
  size_t plainStates = 0;
  const std::vector<int32_t> ref = ovlLogits(*plain.module, &plainStates);
  ASSERT_FALSE(ref.empty());
  EXPECT_EQ(plainStates, 2u);
  for (bool reorder : {false, true}) {
    Model split;
    ASSERT_TRUE(split.run(reorder, true, 1)) << "reorder " << reorder;
    int ssms = 0, convs = 0, concats = 0;
    split.module->walk([&](mlir::Operation *op) {
      ssms += llvm::isa<ovl::SsmOp>(op);
      convs += llvm::isa<ovl::Conv4Op>(op);
      concats += llvm::isa<ovl::ConcatOp>(op);
    });
    EXPECT_EQ(ssms, 2);  // one per head
    EXPECT_EQ(convs, 4); // B, C, x of each head
    EXPECT_EQ(concats, 1);
    size_t states = 0;
    EXPECT_EQ(ovlLogits(*split.module, &states), ref) << "reorder " << reorder;
    EXPECT_EQ(states, 6u);
  }
}

TEST(HeadGroups, OneGroupChangesNothing) {
  Model plain, split;
  ASSERT_TRUE(plain.run(true, true, 0));
  ASSERT_TRUE(split.run(true, true, 2));
  std::string a, b;
  llvm::raw_string_ostream as(a), bs(b);
  plain.module->print(as);
  split.module->print(bs);
  EXPECT_EQ(as.str(), bs.str());
}

} // namespace
