// m2-lower-to-ovl on the one-layer model of test/lit/ovl/lower-to-ovl.mlir: the lowered model
// runs in the ovl evaluator, its logits do not depend on how the tokens are grouped into calls
// (the conv and SSM states it returns are the whole carried state), and its 4-bit activations
// are exactly clamped to [-7, 7]. On the two-layer model of test/lit/ovl/lower-to-ovl-layers.mlir:
// one op form for every layer (layer-forms) computes the integers of each layer's own forms.
#include <algorithm>

#include <gtest/gtest.h>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Ovl/Evaluator.h"
#include "mamba2/Transforms/OvlPasses.h"
#include "mamba2/isa/Reference.h"

using namespace mamba2;

namespace {

struct Lowered {
  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  explicit Lowered(const char *file = MAMBA2_SOURCE_DIR "/test/lit/ovl/lower-to-ovl.mlir",
                   const M2LowerToOvlOptions &options = {}) {
    ctx.loadDialect<mlir::func::FuncDialect, m2::M2Dialect, ovl::OvlDialect>();
    module = mlir::parseSourceFile<mlir::ModuleOp>(file, &ctx);
    if (!module)
      return;
    mlir::PassManager pm(&ctx);
    pm.addPass(createM2LowerToOvl(options));
    if (mlir::failed(pm.run(*module)))
      module = nullptr;
  }
};

TEST(LowerToOvl, TokenGroupingDoesNotChangeLogits) {
  Lowered l;
  ASSERT_TRUE(l.module);
  auto s = ovl::Session::create(*l.module);
  ASSERT_TRUE(static_cast<bool>(s)) << llvm::toString(s.takeError());
  EXPECT_EQ((*s)->vocab(), 4);
  EXPECT_EQ((*s)->states().size(), 2u); // one conv state, one SSM state
  const std::vector<int32_t> ids = {0, 1, 2, 3, 3, 2, 1, 0, 2, 2, 1};
  auto whole = (*s)->run(ids);
  ASSERT_TRUE(static_cast<bool>(whole)) << llvm::toString(whole.takeError());
  const std::vector<ovl::IntTensor> endStates = (*s)->states();
  // Not all zero: the model computes something.
  bool nonzero = false;
  for (int32_t v : whole->v)
    nonzero |= v != 0;
  EXPECT_TRUE(nonzero);
  // Prefill of 5, then decode one token at a time.
  (*s)->reset();
  std::vector<int32_t> pieces;
  auto first = (*s)->run(std::vector<int32_t>(ids.begin(), ids.begin() + 5));
  ASSERT_TRUE(static_cast<bool>(first)) << llvm::toString(first.takeError());
  pieces = first->v;
  for (size_t i = 5; i < ids.size(); ++i) {
    auto step = (*s)->run({ids[i]});
    ASSERT_TRUE(static_cast<bool>(step)) << llvm::toString(step.takeError());
    pieces.insert(pieces.end(), step->v.begin(), step->v.end());
  }
  EXPECT_EQ(pieces, whole->v);
  ASSERT_EQ((*s)->states().size(), endStates.size());
  for (size_t i = 0; i < endStates.size(); ++i)
    EXPECT_EQ((*s)->states()[i].v, endStates[i].v) << "state " << i;
}

TEST(LowerToOvl, FourBitClampTableIsExact) {
  Lowered l;
  ASSERT_TRUE(l.module);
  // The table of the pwl named "clamp" (out_proj's 4-bit activations).
  std::vector<int32_t> table;
  l.module->walk([&](ovl::PwlOp p) {
    if (p.getFunction() == "clamp")
      if (auto c = p.getTable().getDefiningOp<ovl::ConstantOp>())
        for (llvm::APInt v :
             llvm::cast<mlir::DenseElementsAttr>(c.getValue()).getValues<llvm::APInt>())
          table.push_back(static_cast<int32_t>(v.getSExtValue()));
  });
  ASSERT_FALSE(table.empty());
  for (int32_t x = -300; x <= 300; ++x)
    EXPECT_EQ(isa::ref::pwl(table.data(), x), std::clamp(x, -7, 7)) << "x = " << x;
  for (int32_t x : {INT32_MIN, INT32_MIN + 1, -(1 << 30), 1 << 30, INT32_MAX})
    EXPECT_EQ(isa::ref::pwl(table.data(), x), std::clamp(x, -7, 7)) << "x = " << x;
}

TEST(LowerToOvl, OnlyOvlOpsRemain) {
  Lowered l;
  ASSERT_TRUE(l.module);
  int other = 0;
  l.module->walk([&](mlir::Operation *op) {
    if (!llvm::isa<mlir::ModuleOp, mlir::func::FuncOp, mlir::func::ReturnOp>(op) &&
        op->getDialect()->getNamespace() != "ovl")
      ++other;
  });
  EXPECT_EQ(other, 0);
  auto main = l.module->lookupSymbol<mlir::func::FuncOp>("main");
  ASSERT_TRUE(main);
  EXPECT_TRUE(main->hasAttr("ovl.logit_frac"));
}

/// Each layer's ops (name and operand types; constants left out), a layer running from one
/// input norm's `sumsq` to the next (two `sumsq` a layer: the norm and the gated norm).
std::vector<std::vector<std::string>> layerOps(mlir::ModuleOp m) {
  std::vector<std::vector<std::string>> layers;
  int sumsq = 0;
  m.walk([&](mlir::Operation *op) {
    if (op->getDialect()->getNamespace() != "ovl" || llvm::isa<ovl::ConstantOp>(op))
      return;
    if (llvm::isa<ovl::SumsqOp>(op) && sumsq++ % 2 == 0)
      layers.emplace_back();
    if (layers.empty())
      return;
    std::string sig;
    llvm::raw_string_ostream os(sig);
    os << op->getName() << "(";
    for (mlir::Type t : op->getOperandTypes())
      os << t << ",";
    layers.back().push_back(sig);
  });
  return layers;
}

const char *kTwoLayers = MAMBA2_SOURCE_DIR "/test/lit/ovl/lower-to-ovl-layers.mlir";

TEST(LowerToOvl, LayerFormsMakeTheLayersAlike) {
  M2LowerToOvlOptions own;
  own.layerForms = false;
  Lowered alike(kTwoLayers), apart(kTwoLayers, own);
  ASSERT_TRUE(alike.module && apart.module);
  auto a = layerOps(*alike.module), b = layerOps(*apart.module);
  ASSERT_GE(a.size(), 2u);
  ASSERT_GE(b.size(), 2u);
  EXPECT_EQ(a[0], a[1]);
  EXPECT_NE(b[0], b[1]); // the model's layer 1 has narrower forms of its own
}

TEST(LowerToOvl, LayerFormsKeepTheIntegers) {
  M2LowerToOvlOptions own;
  own.layerForms = false;
  Lowered alike(kTwoLayers), apart(kTwoLayers, own);
  ASSERT_TRUE(alike.module && apart.module);
  auto sa = ovl::Session::create(*alike.module), sb = ovl::Session::create(*apart.module);
  ASSERT_TRUE(static_cast<bool>(sa)) << llvm::toString(sa.takeError());
  ASSERT_TRUE(static_cast<bool>(sb)) << llvm::toString(sb.takeError());
  // A prefill of 7, then decode steps: logits and every state bit for bit.
  const std::vector<int32_t> ids = {0, 1, 2, 3, 3, 2, 1, 0, 2, 2, 1, 3, 0, 1};
  bool nonzero = false;
  for (size_t at = 0; at < ids.size();) {
    const size_t n = at == 0 ? 7 : 1;
    std::vector<int32_t> piece(ids.begin() + long(at), ids.begin() + long(at + n));
    auto la = (*sa)->run(piece), lb = (*sb)->run(piece);
    ASSERT_TRUE(static_cast<bool>(la)) << llvm::toString(la.takeError());
    ASSERT_TRUE(static_cast<bool>(lb)) << llvm::toString(lb.takeError());
    EXPECT_EQ(la->v, lb->v) << "logits of the call at " << at;
    for (int32_t v : la->v)
      nonzero |= v != 0;
    ASSERT_EQ((*sa)->states().size(), (*sb)->states().size());
    for (size_t i = 0; i < (*sa)->states().size(); ++i)
      EXPECT_EQ((*sa)->states()[i].v, (*sb)->states()[i].v) << "state " << i << " after " << at;
    at += n;
  }
  EXPECT_TRUE(nonzero);
}

} // namespace
