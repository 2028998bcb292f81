// m2-reorder-in-proj and ovl-split-head-groups on the one-layer model of
// test/lit/ovl/reorder-in-proj.mlir (2 heads, a different conv weight per channel): the reordered
// m2 model gives the same logits in the integer evaluator, and the lowered model split into head
// groups gives the ovl evaluator's logits bit for bit, whatever the grouping of tokens into calls,
// with one state per piece. Each test runs with the scan's power-of-two exponents per tensor (the
// file's), per head (m2-quantize-ssm's group=head, the default) and per channel (group=1).
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

/// Which channels share an exponent of the conv and the scan (m2-quantize-ssm's `group`).
enum class Exp { Tensor, Head, Channel };

mlir::Attribute exps(mlir::Builder &b, std::vector<int32_t> v) {
  auto t = mlir::RankedTensorType::get({int64_t(v.size())}, b.getI32Type());
  return mlir::DenseIntElementsAttr::get(t, llvm::ArrayRef<int32_t>(v));
}

struct Model {
  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  explicit Model(Exp e = Exp::Tensor) {
    ctx.loadDialect<mlir::func::FuncDialect, m2::M2Dialect, ovl::OvlDialect>();
    module = mlir::parseSourceFile<mlir::ModuleOp>(
        MAMBA2_SOURCE_DIR "/test/lit/ovl/reorder-in-proj.mlir", &ctx);
    if (!module || e == Exp::Tensor)
      return;
    // Exponents that differ between the conv's channel groups (x per head or channel, then B,
    // then C: the file's order before the reorder) and between the scan's heads or channels, so
    // that a piece given another piece's exponents computes other integers.
    mlir::Builder b(&ctx);
    const bool head = e == Exp::Head;
    module->walk([&](m2::Conv1dOp c) {
      c->setAttr("quant.in_exp",
                 exps(b, head ? std::vector<int32_t>{-6, -6, -1, -1, -7, -7, -5, -5}
                              : std::vector<int32_t>{-4, -5, -3, -4, -3, -3, -2, -2}));
      c->setAttr("quant.w_exp", exps(b, {-10, -10, -9, -9, -8, -8, -8, -8}));
    });
    module->walk([&](m2::SSDOp s) {
      s->setAttr("quant.x_exp", exps(b, head ? std::vector<int32_t>{-5, -5, -6, -6}
                                             : std::vector<int32_t>{-5, -6, -5, -4}));
      s->setAttr("quant.state_exp", exps(b, head ? std::vector<int32_t>{-12, -12, -14, -14}
                                                 : std::vector<int32_t>{-12, -13, -11, -12}));
    });
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

/// The ovl evaluator's logits (a prefill of 5 tokens, then one token per call) followed by the
/// final states, all pieces in argument order: the conv state's rows (8 x 3) first, then the
/// scan's. `reordered`: the conv's channels are B, C, x (m2-reorder-in-proj); they are put back
/// in the file's order x, B, C so that every form compares equal.
std::vector<int32_t> ovlLogits(mlir::ModuleOp module, bool reordered, size_t *states = nullptr) {
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
  std::vector<int32_t> st;
  for (const ovl::IntTensor &t : (*s)->states())
    st.insert(st.end(), t.v.begin(), t.v.end());
  EXPECT_EQ(st.size(), 8u * 3u + 2u * 2u * 2u);
  if (reordered && st.size() >= 24)
    std::rotate(st.begin(), st.begin() + 12, st.begin() + 24); // rows B, C, x -> x, B, C
  out.insert(out.end(), st.begin(), st.end());
  return out;
}

class HeadGroups : public testing::TestWithParam<Exp> {};

TEST_P(HeadGroups, ReorderKeepsTheM2Logits) {
  Model plain(GetParam()), reordered(GetParam());
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

TEST_P(HeadGroups, ReorderKeepsTheOvlLogits) {
  Model plain(GetParam()), reordered(GetParam());
  ASSERT_TRUE(plain.run(false, true, 0));
  ASSERT_TRUE(reordered.run(true, true, 0));
  const std::vector<int32_t> a = ovlLogits(*plain.module, false),
                             b = ovlLogits(*reordered.module, true);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST_P(HeadGroups, SplitKeepsTheOvlLogitsBitForBit) {
  Model plain(GetParam());
  ASSERT_TRUE(plain.run(false, true, 0));
  size_t plainStates = 0;
  const std::vector<int32_t> ref = ovlLogits(*plain.module, false, &plainStates);
  ASSERT_FALSE(ref.empty());
  EXPECT_EQ(plainStates, 2u);
  for (bool reorder : {false, true}) {
    Model split(GetParam());
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
    EXPECT_EQ(ovlLogits(*split.module, reorder, &states), ref) << "reorder " << reorder;
    EXPECT_EQ(states, 6u);
  }
}

TEST_P(HeadGroups, OneGroupChangesNothing) {
  Model plain(GetParam()), split(GetParam());
  ASSERT_TRUE(plain.run(true, true, 0));
  ASSERT_TRUE(split.run(true, true, 2));
  std::string a, b;
  llvm::raw_string_ostream as(a), bs(b);
  plain.module->print(as);
  split.module->print(bs);
  EXPECT_EQ(as.str(), bs.str());
}

INSTANTIATE_TEST_SUITE_P(Exponents, HeadGroups,
                         testing::Values(Exp::Tensor, Exp::Head, Exp::Channel),
                         [](const testing::TestParamInfo<Exp> &i) {
                           return std::string(i.param == Exp::Tensor ? "PerTensor"
                                              : i.param == Exp::Head ? "PerHead"
                                                                     : "PerChannel");
                         });

} // namespace

namespace {

/// The cost model's choices on the shapes measured in docs/codegen.md "Head groups" (130M:
/// 24 heads of 64, d_state 128, K 768; the default model: 8 heads of 64, d_state 64, K 256;
/// 2.7B: 80 heads of 64, d_state 128, K 2560), W8.
int64_t choose(const char *board, mamba2::HeadGroupShape s) {
  const mamba2::target::Board *b = mamba2::target::findBoard(board);
  EXPECT_NE(b, nullptr) << board;
  return b ? mamba2::chooseHeadsPerGroup(*b, s) : 0;
}

TEST(HeadGroupsCost, ChoosesWhatMeasuredFastest) {
  // 130M on the U280: 3 groups of 8 (decode 126,059 cycles against 132,565 unsplit).
  EXPECT_EQ(choose("u280", {24, 64, 128, 1, 768, 8}), 8);
  // The default model: no split on the U280 (8,186 unsplit, 8,687 in two groups) nor on the
  // KV260, whose decode is bound by the load unit that each group's transfers add to.
  EXPECT_EQ(choose("u280", {8, 64, 64, 1, 256, 8}), 8);
  EXPECT_EQ(choose("kv260", {8, 64, 64, 1, 256, 8}), 8);
  // 2.7B: the state (2.6 MB unsplit) fits the U280's scratchpad in pieces of 20 heads only.
  EXPECT_EQ(choose("u280", {80, 64, 128, 1, 2560, 4}), 20);
}

} // namespace
