// The ovl integer evaluator: each op against isa's reference functions or a direct formula, a
// small model whose logits do not depend on how its tokens are grouped into calls, and errors.
#include <gtest/gtest.h>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Ovl/Evaluator.h"
#include "mamba2/Ovl/SsdChunk.h"
#include "mamba2/Transforms/OvlPasses.h"
#include "mamba2/isa/Reference.h"

using namespace mamba2;
namespace ref = mamba2::isa::ref;

namespace {

struct Fixture {
  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  explicit Fixture(const char *text) {
    ctx.loadDialect<mlir::func::FuncDialect, ovl::OvlDialect>();
    module = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  }
  mlir::func::FuncOp fn(const char *name = "main") {
    return module->lookupSymbol<mlir::func::FuncOp>(name);
  }
};

ovl::IntTensor tensor(std::vector<int64_t> shape, std::vector<int32_t> v, bool i8 = false) {
  ovl::IntTensor t;
  t.shape = std::move(shape);
  t.v = std::move(v);
  t.i8 = i8;
  return t;
}

// A two-token-state model: embed, norm-like scaling, a matmul, conv, SSM, residual, logits.
const char *kModel = R"mlir(
func.func @main(%ids: tensor<?xi32>, %cs: tensor<4x3xi8>, %ss: tensor<2x2x2xi32>)
    -> (tensor<?x6xi32>, tensor<4x3xi8>, tensor<2x2x2xi32>) attributes {ovl.logit_frac = 4 : i64} {
  %table = ovl.constant {name = "embedding"} dense<[[100, -50, 25, 7], [-3, 90, -60, 11], [40, 40, -40, -40],
      [1, 2, 3, 4], [-100, 0, 100, 50], [5, -5, 5, -5]]> : tensor<6x4xi32>
  %w = ovl.constant dense<[[1, -2, 3, -4], [5, 6, -7, 8], [-1, 1, -1, 1], [2, 2, 2, 2],
      [3, -3, 0, 1], [7, 0, -7, 1], [-5, 4, 3, -2], [1, 1, -1, -1]]> : tensor<8x4xi8>
  %s = ovl.constant dense<[[300, 200], [100, 400], [250, 250], [500, 100], [120, 90], [60, 70], [80, 30], [300, 10]]> : tensor<8x2xi32>
  %m = ovl.constant dense<77> : tensor<1xi32>
  %sh = ovl.constant dense<6> : tensor<1xi8>
  %cw = ovl.constant dense<[[1, 2, 3, 4], [-4, 3, -2, 1], [5, 0, 5, 0], [1, -1, 1, -1]]> : tensor<4x4xi8>
  %cb = ovl.constant dense<[10, -20, 30, -40]> : tensor<4xi32>
  %wl = ovl.constant dense<[[1, 2, 3, 4], [-1, -2, -3, -4], [4, 3, 2, 1], [0, 1, 0, 1], [7, -7, 7, -8], [2, 0, 2, 0]]> : tensor<6x4xi8>
  %sl = ovl.constant dense<[[1000], [1000], [2000], [3000], [500], [700]]> : tensor<6x1xi32>
  %h = ovl.embed %ids, %table : (tensor<?xi32>, tensor<6x4xi32>) -> tensor<?x4xi32>
  %a = ovl.requant %h, %m, %sh : (tensor<?x4xi32>, tensor<1xi32>, tensor<1xi8>) -> tensor<?x4xi8>
  %p = ovl.matmul %a, %w, %s {bits = 8, group = 2, shift = 8} : (tensor<?x4xi8>, tensor<8x4xi8>, tensor<8x2xi32>) -> tensor<?x8xi32>
  %xbc = ovl.slice %p {offset = 0, size = 4} : (tensor<?x8xi32>) -> tensor<?x4xi32>
  %x8 = ovl.shr %xbc {shift = 4} : (tensor<?x4xi32>) -> tensor<?x4xi8>
  %y, %cs1 = ovl.conv4 %x8, %cw, %cb, %cs : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4xi32>, tensor<4x3xi8>) -> (tensor<?x4xi32>, tensor<4x3xi8>)
  %yc = ovl.shr %y {shift = 3} : (tensor<?x4xi32>) -> tensor<?x4xi8>
  %x32 = ovl.sext %yc {shift = 2} : (tensor<?x4xi8>) -> tensor<?x4xi32>
  %dt = ovl.slice %p {offset = 4, size = 2} : (tensor<?x8xi32>) -> tensor<?x2xi32>
  %dtx = ovl.mul %x32, %dt {shift = 6} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
  %dec = ovl.constant dense<[[30000, 20000]]> : tensor<1x2xi32>
  %decay = ovl.add %dt, %dec : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
  %bc = ovl.slice %a {offset = 0, size = 2} : (tensor<?x4xi8>) -> tensor<?x2xi8>
  %ys, %ss1 = ovl.ssm %dtx, %decay, %bc, %bc, %ss {ngroups = 1, decay_shift = 15, in_shift = 2, out_shift = 3}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  %hd = ovl.fwht %ys : (tensor<?x4xi32>) -> tensor<?x4xi32>
  %ss2 = ovl.sumsq %hd {groups = 2, shift = 4} : (tensor<?x4xi32>) -> tensor<?x2xi32>
  %n = ovl.mul %hd, %ss2 {shift = 10} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
  %r = ovl.add %h, %n : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %rs = ovl.shift %r {shift = -1} : (tensor<?x4xi32>) -> tensor<?x4xi32>
  %a2 = ovl.shr %rs {shift = 3} : (tensor<?x4xi32>) -> tensor<?x4xi8>
  %l = ovl.matmul %a2, %wl, %sl {bits = 4, group = 4, shift = 6} : (tensor<?x4xi8>, tensor<6x4xi8>, tensor<6x1xi32>) -> tensor<?x6xi32>
  return %l, %cs1, %ss1 : tensor<?x6xi32>, tensor<4x3xi8>, tensor<2x2x2xi32>
}
)mlir";

} // namespace

TEST(OvlEvaluator, LogitsDoNotDependOnHowTokensAreGrouped) {
  Fixture f(kModel);
  ASSERT_TRUE(f.module);
  auto whole = ovl::Session::create(*f.module);
  ASSERT_TRUE(static_cast<bool>(whole)) << llvm::toString(whole.takeError());
  auto steps = ovl::Session::create(*f.module);
  ASSERT_TRUE(static_cast<bool>(steps));
  EXPECT_EQ((*whole)->vocab(), 6);
  EXPECT_EQ((*whole)->logitFrac(), 4);
  const std::vector<int32_t> ids = {0, 1, 2, 3, 4, 5, 4, 2, 0};
  auto all = (*whole)->run(ids);
  ASSERT_TRUE(static_cast<bool>(all)) << llvm::toString(all.takeError());
  ASSERT_EQ(all->shape, (std::vector<int64_t>{9, 6}));
  std::vector<int32_t> joined;
  // 3 tokens, then one at a time (a prefill block then decode steps).
  auto first = (*steps)->run({ids.begin(), ids.begin() + 3});
  ASSERT_TRUE(static_cast<bool>(first));
  joined = first->v;
  for (size_t i = 3; i < ids.size(); ++i) {
    auto one = (*steps)->run({ids[i]});
    ASSERT_TRUE(static_cast<bool>(one));
    joined.insert(joined.end(), one->v.begin(), one->v.end());
  }
  EXPECT_EQ(joined, all->v);
  for (size_t i = 0; i < (*whole)->states().size(); ++i)
    EXPECT_EQ((*whole)->states()[i].v, (*steps)->states()[i].v);
  // The state moved, and reset() brings back zeros.
  bool moved = false;
  for (int32_t v : (*whole)->states()[1].v)
    moved |= v != 0;
  EXPECT_TRUE(moved);
  (*whole)->reset();
  for (int32_t v : (*whole)->states()[1].v)
    EXPECT_EQ(v, 0);
}

TEST(OvlEvaluator, OpsFollowTheReference) {
  Fixture f(R"mlir(
func.func @f(%x: tensor<2x4xi32>, %hy: tensor<2x2xi32>, %c: tensor<1x4xi32>, %m: tensor<4xi32>, %s: tensor<4xi8>)
    -> (tensor<2x4xi32>, tensor<2x4xi32>, tensor<2x4xi8>, tensor<2x2xi32>, tensor<2x4xi32>) {
  %a = ovl.mul %x, %hy {shift = 2} : (tensor<2x4xi32>, tensor<2x2xi32>) -> tensor<2x4xi32>
  %b = ovl.add %x, %c : (tensor<2x4xi32>, tensor<1x4xi32>) -> tensor<2x4xi32>
  %q = ovl.requant %x, %m, %s : (tensor<2x4xi32>, tensor<4xi32>, tensor<4xi8>) -> tensor<2x4xi8>
  %ss = ovl.sumsq %x {groups = 2, shift = 1} : (tensor<2x4xi32>) -> tensor<2x2xi32>
  %sh = ovl.shift %x {shift = -30} : (tensor<2x4xi32>) -> tensor<2x4xi32>
  return %a, %b, %q, %ss, %sh : tensor<2x4xi32>, tensor<2x4xi32>, tensor<2x4xi8>, tensor<2x2xi32>, tensor<2x4xi32>
}
)mlir");
  ASSERT_TRUE(f.module);
  std::vector<int32_t> x = {5, -5, 7, 1000, -3, 2147483647, 0, -9};
  auto out =
      ovl::call(f.fn("f"), {tensor({2, 4}, x), tensor({2, 2}, {3, -1, 2, 2}),
                            tensor({1, 4}, {1, 1, INT32_MAX, -1}), tensor({4}, {100, -100, 7, 1}),
                            tensor({4}, {3, 3, 0, 2}, true)});
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  const std::vector<int32_t> hy = {3, -1, 2, 2}, c = {1, 1, INT32_MAX, -1}, m = {100, -100, 7, 1},
                             s = {3, 3, 0, 2};
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < 4; ++i) {
      const int32_t xv = x[t * 4 + i];
      EXPECT_EQ((*out)[0].v[t * 4 + i], ref::sat32(ref::rnd(int64_t(xv) * hy[t * 2 + i / 2], 2)));
      EXPECT_EQ((*out)[1].v[t * 4 + i], ref::sat32(int64_t(xv) + c[i]));
      EXPECT_EQ((*out)[2].v[t * 4 + i], ref::requant8(xv, m[i], static_cast<unsigned>(s[i])));
      EXPECT_EQ((*out)[4].v[t * 4 + i], ref::shift32(xv, -30));
    }
  for (int t = 0; t < 2; ++t)
    for (int g = 0; g < 2; ++g)
      EXPECT_EQ((*out)[3].v[t * 2 + g], ref::sumsq(x.data() + t * 4 + g * 2, 2, 1));
  EXPECT_TRUE((*out)[2].i8);
}

TEST(OvlEvaluator, ConcatPutsTheOperandsSideBySide) {
  Fixture f(R"mlir(
func.func @f(%x: tensor<2x3xi32>, %y: tensor<2x1xi32>) -> tensor<2x4xi32> {
  %c = ovl.concat %x, %y : (tensor<2x3xi32>, tensor<2x1xi32>) -> tensor<2x4xi32>
  return %c : tensor<2x4xi32>
}
)mlir");
  ASSERT_TRUE(f.module);
  auto out = ovl::call(f.fn("f"), {tensor({2, 3}, {1, 2, 3, 4, 5, 6}), tensor({2, 1}, {-7, -8})});
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  EXPECT_EQ((*out)[0].v, (std::vector<int32_t>{1, 2, 3, -7, 4, 5, 6, -8}));
}

TEST(OvlEvaluator, ErrorsNameTheProblem) {
  Fixture f(kModel);
  ASSERT_TRUE(f.module);
  auto s = ovl::Session::create(*f.module);
  ASSERT_TRUE(static_cast<bool>(s));
  auto bad = (*s)->run({1, 6});
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError())
                .find("token id 6 at position 1 is outside the vocabulary 0..5"),
            std::string::npos);
  auto args = ovl::call(f.fn(), {tensor({1}, {0})});
  ASSERT_FALSE(static_cast<bool>(args));
  EXPECT_NE(llvm::toString(args.takeError()).find("takes 3 arguments, got 1"), std::string::npos);
  Fixture g(R"mlir(
func.func @main(%x: tensor<?xi32>) -> tensor<?x4xi32> {
  %t = ovl.constant dense<1> : tensor<4x4xi32>
  %h = ovl.embed %x, %t : (tensor<?xi32>, tensor<4x4xi32>) -> tensor<?x4xi32>
  %a = ovl.shr %h {shift = 0} : (tensor<?x4xi32>) -> tensor<?x4xi8>
  %w = ovl.constant dense<9> : tensor<4x4xi8>
  %s = ovl.constant dense<1> : tensor<4x1xi32>
  %p = ovl.matmul %a, %w, %s {bits = 4, group = 4, shift = 0} : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4x1xi32>) -> tensor<?x4xi32>
  return %p : tensor<?x4xi32>
}
)mlir");
  ASSERT_TRUE(g.module);
  auto r = ovl::Session::create(*g.module);
  ASSERT_TRUE(static_cast<bool>(r));
  auto w4 = (*r)->run({0});
  ASSERT_FALSE(static_cast<bool>(w4));
  EXPECT_NE(llvm::toString(w4.takeError()).find("a 4-bit weight holds 9"), std::string::npos);
}

// The session runs the module's decode entry for decode calls (as the program's decode entry
// runs the function marked ovl.entry = "decode"), with @main's states cut into the decode
// function's (here: one [4][2] state as two [2][2] halves) and joined back after the call.
TEST(OvlEvaluator, DecodeCallsRunTheDecodeEntry) {
  Fixture f(R"mlir(
func.func @main(%ids: tensor<?xi32>, %s: tensor<4x2xi32>) -> (tensor<?x2xi32>, tensor<4x2xi32>) {
  %t = ovl.constant dense<[[1, 2], [3, 4], [5, 6]]> : tensor<3x2xi32>
  %h = ovl.embed %ids, %t : (tensor<?xi32>, tensor<3x2xi32>) -> tensor<?x2xi32>
  %one = ovl.constant dense<[[1, 1]]> : tensor<1x2xi32>
  %s1 = ovl.add %s, %one : (tensor<4x2xi32>, tensor<1x2xi32>) -> tensor<4x2xi32>
  return %h, %s1 : tensor<?x2xi32>, tensor<4x2xi32>
}
func.func @decode(%ids: tensor<?xi32>, %a: tensor<2x2xi32>, %b: tensor<2x2xi32>)
    -> (tensor<?x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>) attributes {ovl.entry = "decode"} {
  %t = ovl.constant dense<[[10, 20], [30, 40], [50, 60]]> : tensor<3x2xi32>
  %h = ovl.embed %ids, %t : (tensor<?xi32>, tensor<3x2xi32>) -> tensor<?x2xi32>
  %k = ovl.constant dense<[[100, 100]]> : tensor<1x2xi32>
  %b1 = ovl.add %b, %k : (tensor<2x2xi32>, tensor<1x2xi32>) -> tensor<2x2xi32>
  return %h, %a, %b1 : tensor<?x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>
}
)mlir");
  ASSERT_TRUE(f.module);
  auto s = ovl::Session::create(*f.module);
  ASSERT_TRUE(static_cast<bool>(s)) << llvm::toString(s.takeError());
  EXPECT_TRUE((*s)->separateDecode());
  auto p = (*s)->run({2, 0});
  ASSERT_TRUE(static_cast<bool>(p));
  EXPECT_EQ(p->v, (std::vector<int32_t>{5, 6, 1, 2}));
  auto d = (*s)->run({1}, ovl::Phase::Decode);
  ASSERT_TRUE(static_cast<bool>(d));
  EXPECT_EQ(d->v, (std::vector<int32_t>{30, 40}));
  // @main's state: +1 (prefill), then its second half +100 (decode).
  EXPECT_EQ((*s)->states()[0].v, (std::vector<int32_t>{1, 1, 1, 1, 101, 101, 101, 101}));
  // feed: floor(3 / 2) prefill calls of 2 ids, then one decode call.
  (*s)->reset();
  auto all = (*s)->feed({0, 1, 2}, 2);
  ASSERT_TRUE(static_cast<bool>(all));
  EXPECT_EQ(all->v, (std::vector<int32_t>{1, 2, 3, 4, 50, 60}));
  EXPECT_EQ(all->shape, (std::vector<int64_t>{3, 2}));
  // A decode function whose states are not @main's cut in order is refused.
  Fixture g(R"mlir(
func.func @main(%ids: tensor<?xi32>, %s: tensor<4x2xi32>) -> (tensor<?x2xi32>, tensor<4x2xi32>) {
  %t = ovl.constant dense<1> : tensor<3x2xi32>
  %h = ovl.embed %ids, %t : (tensor<?xi32>, tensor<3x2xi32>) -> tensor<?x2xi32>
  return %h, %s : tensor<?x2xi32>, tensor<4x2xi32>
}
func.func @decode(%ids: tensor<?xi32>, %a: tensor<2x2xi32>) -> (tensor<?x2xi32>, tensor<2x2xi32>)
    attributes {ovl.entry = "decode"} {
  %t = ovl.constant dense<1> : tensor<3x2xi32>
  %h = ovl.embed %ids, %t : (tensor<?xi32>, tensor<3x2xi32>) -> tensor<?x2xi32>
  return %h, %a : tensor<?x2xi32>, tensor<2x2xi32>
}
)mlir");
  ASSERT_TRUE(g.module);
  auto bad = ovl::Session::create(*g.module);
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("smaller than @main's"), std::string::npos);
}

// ovl-ssd-form on a hand-written scan (dtx = sext(x) * d, d a clamp table's output in 0..2000):
// @main's ovl.ssd_chunk in the evaluator equals its recipe run directly, bit for bit, and stays
// within the stated tolerance of @decode's scan.
TEST(OvlEvaluator, ChunkedFormRunsItsRecipe) {
  Fixture f(R"mlir(
func.func @main(%x: tensor<?x8xi8>, %dt: tensor<?x2xi32>, %a: tensor<?x2xi32>, %b: tensor<?x8xi8>,
                %c: tensor<?x8xi8>, %s: tensor<2x4x8xi32>) -> (tensor<?x8xi32>, tensor<2x4x8xi32>) {
  %t = ovl.constant dense<[0, 4, 127, 0, 0, 0, 16, 0, 32, 0, 48, 0, 64, 0, 80, 0, 96, 0, 112, 0, 128, 0, 144, 0, 160, 0, 176, 0, 192, 0, 208, 0, 224, 0, 240, 0, 256, 0, 272, 0, 288, 0, 304, 0, 320, 0, 336, 0, 352, 0, 368, 0, 384, 0, 400, 0, 416, 0, 432, 0, 448, 0, 464, 0, 480, 0, 496, 0, 512, 0, 528, 0, 544, 0, 560, 0, 576, 0, 592, 0, 608, 0, 624, 0, 640, 0, 656, 0, 672, 0, 688, 0, 704, 0, 720, 0, 736, 0, 752, 0, 768, 0, 784, 0, 800, 0, 816, 0, 832, 0, 848, 0, 864, 0, 880, 0, 896, 0, 912, 0, 928, 0, 944, 0, 960, 0, 976, 0, 992, 0, 1008, 0, 1024, 0, 1040, 0, 1056, 0, 1072, 0, 1088, 0, 1104, 0, 1120, 0, 1136, 0, 1152, 0, 1168, 0, 1184, 0, 1200, 0, 1216, 0, 1232, 0, 1248, 0, 1264, 0, 1280, 0, 1296, 0, 1312, 0, 1328, 0, 1344, 0, 1360, 0, 1376, 0, 1392, 0, 1408, 0, 1424, 0, 1440, 0, 1456, 0, 1472, 0, 1488, 0, 1504, 0, 1520, 0, 1536, 0, 1552, 0, 1568, 0, 1584, 0, 1600, 0, 1616, 0, 1632, 0, 1648, 0, 1664, 0, 1680, 0, 1696, 0, 1712, 0, 1728, 0, 1744, 0, 1760, 0, 1776, 0, 1792, 0, 1808, 0, 1824, 0, 1840, 0, 1856, 0, 1872, 0, 1888, 0, 1904, 0, 1920, 0, 1936, 0, 1952, 0, 1968, 0, 1984, 0, 2000, 0, 2016, 0]> : tensor<258xi32>
  %d = ovl.pwl %dt, %t {function = "clamp"} : (tensor<?x2xi32>, tensor<258xi32>) -> tensor<?x2xi32>
  %x32 = ovl.sext %x {shift = 0 : i64} : (tensor<?x8xi8>) -> tensor<?x8xi32>
  %dtx = ovl.mul %x32, %d {shift = 0 : i64} : (tensor<?x8xi32>, tensor<?x2xi32>) -> tensor<?x8xi32>
  %y, %s1 = ovl.ssm %dtx, %a, %b, %c, %s {decay_shift = 15 : i64, in_shift = 12 : i64, ngroups = 1 : i64, out_shift = 0 : i64} : (tensor<?x8xi32>, tensor<?x2xi32>, tensor<?x8xi8>, tensor<?x8xi8>, tensor<2x4x8xi32>) -> (tensor<?x8xi32>, tensor<2x4x8xi32>)
  return %y, %s1 : tensor<?x8xi32>, tensor<2x4x8xi32>
}
)mlir");
  ASSERT_TRUE(f.module);
  f.ctx.loadDialect<mlir::func::FuncDialect, ovl::OvlDialect>();
  mlir::PassManager pm(&f.ctx);
  OvlSsdFormOptions o;
  o.form = "chunked";
  o.chunk = 4;
  pm.addPass(createOvlSsdForm(o));
  ASSERT_TRUE(mlir::succeeded(pm.run(*f.module)));
  ovl::SsdChunkOp op;
  f.fn("main").walk([&](ovl::SsdChunkOp s) { op = s; });
  ASSERT_TRUE(op);
  ASSERT_TRUE(f.fn("decode"));
  // Ten rows (chunks of 4, 4, 2): dt' in 1..2000 (through the clamp table), decays in
  // (0.6, 1], x, B, C of a realistic spread, a non-zero entering state.
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> i8(-60, 60), dt(1, 2000), dec(20000, 32768), st(-3000, 3000);
  const int64_t T = 10;
  std::vector<ovl::IntTensor> args = {tensor({T, 8}, {}, true), tensor({T, 2}, {}),
                                      tensor({T, 2}, {}),       tensor({T, 8}, {}, true),
                                      tensor({T, 8}, {}, true), tensor({2, 4, 8}, {})};
  for (int i = 0; i < T * 8; ++i)
    args[0].v.push_back(i8(rng));
  for (int i = 0; i < T * 2; ++i) {
    args[1].v.push_back(dt(rng));
    args[2].v.push_back(dec(rng));
  }
  for (int i = 0; i < T * 8; ++i) {
    args[3].v.push_back(i8(rng));
    args[4].v.push_back(i8(rng));
  }
  for (int i = 0; i < 64; ++i)
    args[5].v.push_back(st(rng));
  auto chunked = ovl::call(f.fn("main"), args);
  auto scan = ovl::call(f.fn("decode"), args);
  ASSERT_TRUE(static_cast<bool>(chunked)) << llvm::toString(chunked.takeError());
  ASSERT_TRUE(static_cast<bool>(scan)) << llvm::toString(scan.takeError());
  // The recipe run directly on the same operands (d through the table first).
  ssd::ChunkShifts sh;
  sh.decay = int(op.getDecayShift());
  sh.gd = int(op.getGdShift());
  sh.md = int(op.getMdShift());
  sh.mSplit = int(op.getMSplit());
  sh.yShift = int(op.getYShift());
  sh.stateSplit = int(op.getStateSplit());
  sh.cShift = int(op.getCShift());
  sh.wShift = int(op.getWShift());
  sh.bwShift = int(op.getBwShift());
  sh.bwSplit = int(op.getBwSplit());
  sh.sShift = int(op.getSShift());
  for (int64_t e : op.getMultExp())
    sh.multExp.push_back(int(e));
  ssd::Recipe r = ssd::buildRecipe({2, 4, 1, 8, T, 4}, sh);
  std::vector<std::vector<int32_t>> io(r.buffers.size());
  io[size_t(r.x)] = args[0].v;
  for (int32_t v : args[1].v)
    io[size_t(r.d)].push_back(std::clamp(v, 0, 2016) / 16 * 16);
  io[size_t(r.decay)] = args[2].v;
  io[size_t(r.B)] = args[3].v;
  io[size_t(r.C)] = args[4].v;
  io[size_t(r.state)] = args[5].v;
  ASSERT_EQ(ssd::execute(r, io), "");
  EXPECT_EQ((*chunked)[0].v, io[size_t(r.y)]);
  EXPECT_EQ((*chunked)[1].v, io[size_t(r.state)]);
  // Against the scan (proven bounds: d <= 2016, |C.B| <= 8 * 128^2).
  double num = 0, den = 0;
  for (size_t i = 0; i < (*scan)[0].v.size(); ++i) {
    num = std::max(num, std::fabs(double((*chunked)[0].v[i]) - (*scan)[0].v[i]));
    den = std::max(den, std::fabs(double((*scan)[0].v[i])));
  }
  EXPECT_LT(num, 0.15 * den);
}
