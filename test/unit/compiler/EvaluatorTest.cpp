// Tests of the fp32 m2 evaluator: identical logits for any thread count, decode steps that
// continue a prefill exactly as one longer prefill, a step function with explicit state
// arguments that gives the same logits, onnx ops left unraised (run by the onnx interpreter),
// and refusal of modules it cannot run.
#include "mamba2/Eval/M2Evaluator.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Dialect/Onnx/OnnxDialect.h"

using namespace mamba2;

namespace {

/// One Mamba2 block with two groups of heads, small enough to write out. Weights are varied
/// (not splats) so that a wrong index shows.
const char *kBlock = R"mlir(
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x16xf32> {
  %table = m2.constant dense<[[0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8], [0.2, 0.1, -0.3, 0.5, 0.4, -0.6, 0.1, 0.9],
    [0.3, 0.2, 0.1, -0.4, 0.6, 0.5, -0.7, 0.2], [-0.4, 0.3, 0.2, 0.1, -0.7, 0.2, 0.5, 0.6],
    [0.5, -0.4, 0.3, 0.2, 0.1, 0.8, -0.2, 0.3], [0.6, 0.5, -0.4, 0.3, 0.2, 0.1, 0.9, -0.4],
    [-0.7, 0.6, 0.5, -0.4, 0.3, 0.2, 0.1, 0.5], [0.8, -0.7, 0.6, 0.5, -0.4, 0.3, 0.2, 0.1],
    [0.9, 0.8, -0.7, 0.6, 0.5, -0.4, 0.3, 0.2], [0.1, 0.9, 0.8, -0.7, 0.6, 0.5, -0.4, 0.3],
    [0.2, 0.1, 0.9, 0.8, -0.7, 0.6, 0.5, -0.4], [-0.3, 0.2, 0.1, 0.9, 0.8, -0.7, 0.6, 0.5],
    [0.4, -0.3, 0.2, 0.1, 0.9, 0.8, -0.7, 0.6], [0.5, 0.4, -0.3, 0.2, 0.1, 0.9, 0.8, -0.7],
    [-0.6, 0.5, 0.4, -0.3, 0.2, 0.1, 0.9, 0.8], [0.7, -0.6, 0.5, 0.4, -0.3, 0.2, 0.1, 0.9]]> : tensor<16x8xf32>
  %w8 = m2.constant dense<[1.0, 0.9, 1.1, 1.2, 0.8, 1.0, 0.95, 1.05]> : tensor<8xf32>
  %win = m2.constant dense<0.05> : tensor<8x42xf32>
  %cw2 = m2.constant dense<0.25> : tensor<24x4xf32>
  %cb = m2.constant dense<0.01> : tensor<24xf32>
  %dtb = m2.constant dense<[-1.0, -2.0]> : tensor<2xf32>
  %a = m2.constant dense<[-1.5, -3.0]> : tensor<2xf32>
  %d = m2.constant dense<[1.0, 0.5]> : tensor<2xf32>
  %w16 = m2.constant dense<1.0> : tensor<16xf32>
  %wout = m2.constant dense<0.1> : tensor<16x8xf32>
  %h = m2.embedding %ids, %table : (tensor<1x?xi64>, tensor<16x8xf32>) -> tensor<1x?x8xf32>
  %n = m2.rms_norm %h, %w8 {eps = 1.0e-5 : f32} : (tensor<1x?x8xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
  %p = m2.linear %n, %win : (tensor<1x?x8xf32>, tensor<8x42xf32>) -> tensor<1x?x42xf32>
  %z, %xbc, %dt = m2.split %p {sizes = array<i64: 16, 24, 2>} : (tensor<1x?x42xf32>) -> (tensor<1x?x16xf32>, tensor<1x?x24xf32>, tensor<1x?x2xf32>)
  %c = m2.conv1d %xbc, %cw2, %cb : (tensor<1x?x24xf32>, tensor<24x4xf32>, tensor<24xf32>) -> tensor<1x?x24xf32>
  %s = m2.silu %c : tensor<1x?x24xf32>
  %x, %b, %cc = m2.split %s {sizes = array<i64: 16, 4, 4>} : (tensor<1x?x24xf32>) -> (tensor<1x?x16xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>)
  %y = m2.ssd %x, %dt, %dtb, %a, %b, %cc, %d {ngroups = 2 : i64} : (tensor<1x?x16xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<2xf32>) -> tensor<1x?x16xf32>
  %g = m2.gated_rms_norm %y, %z, %w16 {eps = 1.0e-5 : f32, ngroups = 2 : i64} : (tensor<1x?x16xf32>, tensor<1x?x16xf32>, tensor<16xf32>) -> tensor<1x?x16xf32>
  %o = m2.linear %g, %wout : (tensor<1x?x16xf32>, tensor<16x8xf32>) -> tensor<1x?x8xf32>
  %r = m2.residual_add %h, %o : tensor<1x?x8xf32>
  %l = m2.lm_head %r, %table : (tensor<1x?x8xf32>, tensor<16x8xf32>) -> tensor<1x?x16xf32>
  return %l : tensor<1x?x16xf32>
}
)mlir";

struct Fixture {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<eval::Program> program;
  explicit Fixture(const char *text) {
    context.getOrLoadDialect<mlir::func::FuncDialect>();
    context.getOrLoadDialect<m2::M2Dialect>();
    context.getOrLoadDialect<onnxir::OnnxDialect>();
    module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  }
};

const std::vector<int64_t> kIds = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9};

/// kBlock as the raised step form writes it: one token per call, the conv state (b, C, K) and
/// the SSM state (b, h, p, n) as arguments, their new values as results.
std::string stepBlock() {
  std::string s = kBlock;
  auto replace = [&](const std::string &from, const std::string &to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
  };
  replace("1x?", "1x1");
  replace(
      "func.func @main(%ids: tensor<1x1xi64>) -> tensor<1x1x16xf32> {",
      "func.func @main(%ids: tensor<1x1xi64>, %cs: tensor<1x24x4xf32>, %ss: "
      "tensor<1x2x8x2xf32>) -> (tensor<1x1x16xf32>, tensor<1x24x4xf32>, tensor<1x2x8x2xf32>) {");
  replace("%c = m2.conv1d %xbc, %cw2, %cb : (tensor<1x1x24xf32>, tensor<24x4xf32>, "
          "tensor<24xf32>) -> tensor<1x1x24xf32>",
          "%c, %cs1 = m2.conv1d %xbc, %cw2, %cb state %cs : (tensor<1x1x24xf32>, tensor<24x4xf32>, "
          "tensor<24xf32>, tensor<1x24x4xf32>) -> (tensor<1x1x24xf32>, tensor<1x24x4xf32>)");
  replace("%y = m2.ssd %x, %dt, %dtb, %a, %b, %cc, %d {ngroups = 2 : i64} : (tensor<1x1x16xf32>, "
          "tensor<1x1x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x1x4xf32>, tensor<1x1x4xf32>, "
          "tensor<2xf32>) -> tensor<1x1x16xf32>",
          "%y, %ss1 = m2.ssd %x, %dt, %dtb, %a, %b, %cc, %d state %ss {ngroups = 2 : i64} : "
          "(tensor<1x1x16xf32>, tensor<1x1x2xf32>, tensor<2xf32>, tensor<2xf32>, "
          "tensor<1x1x4xf32>, tensor<1x1x4xf32>, tensor<2xf32>, tensor<1x2x8x2xf32>) -> "
          "(tensor<1x1x16xf32>, tensor<1x2x8x2xf32>)");
  replace("return %l : tensor<1x1x16xf32>",
          "return %l, %cs1, %ss1 : tensor<1x1x16xf32>, tensor<1x24x4xf32>, tensor<1x2x8x2xf32>");
  return s;
}

/// Runs kIds through kBlock as one prompt and through the step function `stepText` one call per
/// token, carrying its two state arguments, and expects the same logits. `more` then checks
/// further with the step program, its session and the prompt's logits.
void expectStepsMatchThePrompt(
    const std::string &stepText,
    llvm::function_ref<void(const eval::Program &, eval::Session &, const std::vector<float> &)>
        more = {}) {
  Fixture whole(kBlock), step(stepText.c_str());
  ASSERT_TRUE(whole.module);
  ASSERT_TRUE(step.module);
  auto wp = eval::Program::compile(*whole.module);
  auto sp = eval::Program::compile(*step.module);
  ASSERT_TRUE(static_cast<bool>(wp));
  ASSERT_TRUE(static_cast<bool>(sp)) << llvm::toString(sp.takeError());
  EXPECT_EQ((*sp)->numStates(), 2u);
  eval::ThreadPool pool(2);
  eval::Session ws(**wp, 1, pool), ss(**sp, 1, pool);
  auto all = ws.run(kIds, static_cast<int64_t>(kIds.size()));
  auto stepped = ss.run(kIds, static_cast<int64_t>(kIds.size()));
  ASSERT_TRUE(static_cast<bool>(all));
  ASSERT_TRUE(static_cast<bool>(stepped)) << llvm::toString(stepped.takeError());
  ASSERT_EQ(stepped->size(), all->size());
  for (size_t i = 0; i < all->size(); ++i)
    EXPECT_NEAR((*stepped)[i], (*all)[i], 1e-6f) << "logit " << i;
  if (more)
    more(**sp, ss, *all);
}

TEST(Evaluator, LogitsDoNotDependOnTheThreadCount) {
  Fixture f(kBlock);
  ASSERT_TRUE(f.module);
  auto program = eval::Program::compile(*f.module);
  ASSERT_TRUE(static_cast<bool>(program)) << llvm::toString(program.takeError());
  std::vector<float> reference;
  for (int threads : {1, 2, 3, 5}) {
    eval::ThreadPool pool(threads);
    eval::Session s(**program, 1, pool);
    auto logits = s.run(kIds, static_cast<int64_t>(kIds.size()));
    ASSERT_TRUE(static_cast<bool>(logits));
    ASSERT_EQ(logits->size(), kIds.size() * 16);
    if (reference.empty())
      reference = *logits;
    else
      EXPECT_EQ(*logits, reference) << threads << " threads";
  }
}

/// Records what calibration reads: the operands of the m2.ssd and the state maxima the
/// evaluator's scan hands over.
struct SsdObserver : eval::Extension {
  std::vector<std::vector<float>> x, dt, b, c; // the ssd's operands, one entry per call
  std::vector<float> rowMax;                   // max over the calls
  int calls = 0;
  bool handles(mlir::Operation *) const override { return false; }
  llvm::Expected<std::vector<eval::Act>> run(mlir::Operation *, llvm::ArrayRef<const eval::Act *>,
                                             std::vector<int32_t> &) override {
    return std::vector<eval::Act>{};
  }
  void observe(mlir::Operation *op, llvm::ArrayRef<const eval::Act *> operands) override {
    if (!llvm::isa<m2::SSDOp>(op))
      return;
    x.push_back(operands[0]->v);
    dt.push_back(operands[1]->v);
    b.push_back(operands[4]->v);
    c.push_back(operands[5]->v);
  }
  bool observesSsdStates(mlir::Operation *op) const override { return llvm::isa<m2::SSDOp>(op); }
  void observeSsdStates(mlir::Operation *, llvm::ArrayRef<float> m) override {
    rowMax.resize(m.size(), 0.0f);
    for (size_t i = 0; i < m.size(); ++i)
      rowMax[i] = std::max(rowMax[i], m[i]);
    ++calls;
  }
};

// Calibration takes the SSM state's maxima from the evaluator's own scan (one pass over each
// state row beside the update): per (head, p) row, max |S| over the steps and n, the same as a
// recurrence recomputed from the ssd's operands, and the same for any thread count.
TEST(Evaluator, SsdStateMaximaAreThoseOfTheScan) {
  Fixture f(kBlock);
  ASSERT_TRUE(f.module);
  std::vector<float> reference;
  for (int threads : {1, 3}) {
    SsdObserver obs;
    auto program = eval::Program::compile(*f.module, "main", &obs);
    ASSERT_TRUE(static_cast<bool>(program)) << llvm::toString(program.takeError());
    eval::ThreadPool pool(threads);
    eval::Session s(**program, 1, pool);
    ASSERT_TRUE(static_cast<bool>(s.run(kIds, static_cast<int64_t>(kIds.size()))));
    ASSERT_EQ(obs.calls, 1);
    ASSERT_EQ(obs.rowMax.size(), 16u); // 2 heads x 8
    // kBlock: 2 heads of P = 8, 2 groups of N = 2; dt_bias {-1, -2}, A {-1.5, -3}.
    const float dtBias[2] = {-1.0f, -2.0f}, A[2] = {-1.5f, -3.0f};
    std::vector<double> expect(16, 0.0);
    for (int h = 0; h < 2; ++h) {
      double S[8][2] = {};
      for (size_t t = 0; t < kIds.size(); ++t) {
        double d = std::log1p(std::exp(double(obs.dt[0][t * 2 + h]) + dtBias[h]));
        double decay = std::exp(d * A[h]);
        for (int p = 0; p < 8; ++p)
          for (int n = 0; n < 2; ++n) {
            S[p][n] =
                S[p][n] * decay + d * obs.x[0][t * 16 + h * 8 + p] * obs.b[0][t * 4 + h * 2 + n];
            expect[h * 8 + p] = std::max(expect[h * 8 + p], std::fabs(S[p][n]));
          }
      }
    }
    for (size_t i = 0; i < 16; ++i) {
      EXPECT_GT(obs.rowMax[i], 0.0f) << "row " << i;
      EXPECT_NEAR(obs.rowMax[i], expect[i], 1e-5 * expect[i]) << "row " << i;
    }
    if (reference.empty())
      reference = obs.rowMax;
    else
      EXPECT_EQ(obs.rowMax, reference) << threads << " threads";
  }
}

// A session that discards its logits (calibration) skips the lm_head and returns none, and its
// state continues as that of a session that computed them.
TEST(Evaluator, DiscardedLogitsLeaveTheStateAsItWas) {
  Fixture f(kBlock);
  ASSERT_TRUE(f.module);
  auto program = eval::Program::compile(*f.module);
  ASSERT_TRUE(static_cast<bool>(program)) << llvm::toString(program.takeError());
  eval::ThreadPool pool(2);
  eval::Session full(**program, 1, pool), split(**program, 1, pool);
  auto all = full.run(kIds, static_cast<int64_t>(kIds.size()));
  ASSERT_TRUE(static_cast<bool>(all));
  const size_t head = 9;
  split.discardLogits(true);
  auto none = split.run(std::vector<int64_t>(kIds.begin(), kIds.begin() + head), head);
  ASSERT_TRUE(static_cast<bool>(none));
  EXPECT_TRUE(none->empty());
  split.discardLogits(false);
  auto rest = split.run(std::vector<int64_t>(kIds.begin() + head, kIds.end()),
                        static_cast<int64_t>(kIds.size() - head));
  ASSERT_TRUE(static_cast<bool>(rest));
  ASSERT_EQ(rest->size(), (kIds.size() - head) * 16);
  for (size_t i = 0; i < rest->size(); ++i)
    EXPECT_NEAR((*rest)[i], (*all)[head * 16 + i], 1e-6f) << "logit " << i;
}

// A session frees each activation once its last reader has run (calibrating a full-size model
// would otherwise hold every layer's activations): the residual stream lives until the
// residual add, in_proj's output until its split, the returned logits to the end; constants
// are never freed. (The other tests check that the logits stay right.)
TEST(Evaluator, EachActivationIsFreedAfterItsLastReader) {
  Fixture f(kBlock);
  ASSERT_TRUE(f.module);
  auto program = eval::Program::compile(*f.module);
  ASSERT_TRUE(static_cast<bool>(program)) << llvm::toString(program.takeError());
  mlir::func::FuncOp fn = (*program)->function();
  auto name = [](mlir::Operation *op) { return op->getName().getStringRef().str(); };
  std::map<std::string, std::vector<std::string>> freed; // reader -> producers of what it frees
  size_t total = 0;
  for (mlir::Operation &op : fn.getBody().front()) {
    for (mlir::Value v : (*program)->lastReadBy(&op)) {
      EXPECT_FALSE(v.getDefiningOp<m2::ConstantOp>());
      freed[name(&op)].push_back(v.getDefiningOp() ? name(v.getDefiningOp()) : "argument");
      ++total;
    }
  }
  EXPECT_EQ(freed["m2.residual_add"], (std::vector<std::string>{"m2.embedding", "m2.linear"}));
  EXPECT_EQ(freed["m2.split"].size(), 2u); // in_proj's output, then the SiLU's
  EXPECT_EQ(freed["m2.ssd"].size(), 4u);   // x, dt, B, C
  EXPECT_EQ(freed["m2.gated_rms_norm"], (std::vector<std::string>{"m2.ssd", "m2.split"}));
  EXPECT_EQ(freed["m2.lm_head"], (std::vector<std::string>{"m2.residual_add"}));
  EXPECT_TRUE(freed["func.return"].empty());
  EXPECT_EQ(freed["m2.embedding"], (std::vector<std::string>{"argument"})); // the ids
  EXPECT_EQ(total, 16u); // every value that is read, once; the logits are returned
}

TEST(Evaluator, DecodeStepsContinueThePrefill) {
  Fixture f(kBlock);
  ASSERT_TRUE(f.module);
  auto program = eval::Program::compile(*f.module);
  ASSERT_TRUE(static_cast<bool>(program));
  eval::ThreadPool pool(2);
  eval::Session whole(**program, 1, pool);
  auto all = whole.run(kIds, static_cast<int64_t>(kIds.size()));
  ASSERT_TRUE(static_cast<bool>(all));
  eval::Session stepped(**program, 1, pool);
  const int64_t head = 5;
  auto logits = stepped.run({kIds.begin(), kIds.begin() + head}, head);
  ASSERT_TRUE(static_cast<bool>(logits));
  for (size_t t = head; t < kIds.size(); ++t) {
    auto one = stepped.run({kIds[t]}, 1);
    ASSERT_TRUE(static_cast<bool>(one));
    logits->insert(logits->end(), one->begin(), one->end());
  }
  ASSERT_EQ(logits->size(), all->size());
  for (size_t i = 0; i < all->size(); ++i)
    EXPECT_NEAR((*logits)[i], (*all)[i], 1e-6f) << "logit " << i;
  // The state matters: without it the last token's logits differ.
  eval::Session fresh(**program, 1, pool);
  auto last = fresh.run({kIds.back()}, 1);
  ASSERT_TRUE(static_cast<bool>(last));
  float diff = 0;
  for (int v = 0; v < 16; ++v)
    diff = std::max(diff, std::fabs((*last)[v] - (*all)[all->size() - 16 + v]));
  EXPECT_GT(diff, 1e-4f);
}

TEST(Evaluator, StepFunctionWithExplicitStateMatchesThePrefill) {
  // The step function runs a prompt one call per token, carrying its state arguments.
  expectStepsMatchThePrompt(
      stepBlock(), [](const eval::Program &, eval::Session &ss, const std::vector<float> &all) {
        // reset() starts from zero states again: the first token's logits come back (to
        // rounding: a one-row product takes the matrix-vector path, the prompt's does not).
        ss.reset();
        auto first = ss.run({kIds[0]}, 1);
        ASSERT_TRUE(static_cast<bool>(first));
        for (int v = 0; v < 16; ++v)
          EXPECT_NEAR((*first)[v], all[v], 1e-6f);
      });
}

TEST(Evaluator, StepFunctionWithOnnxOpsOnItsStates) {
  // The SSM state goes through an onnx op that broadcasts an (8, 1) constant against it, which
  // works only if the interpreter sees the state as (1, 2, 8, 2), not as an activation (b, l, c).
  std::string text = stepBlock();
  auto replaceOnce = [&](const std::string &from, const std::string &to) {
    size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  };
  replaceOnce("return %l, %cs1, %ss1 :",
              "%zero = onnx.Constant {value = dense<0.0> : tensor<8x1xf32>} : () -> "
              "tensor<8x1xf32>\n  %ss2 = onnx.Add %ss1, %zero : (tensor<1x2x8x2xf32>, "
              "tensor<8x1xf32>) -> tensor<1x2x8x2xf32>\n  return %l, %cs1, %ss2 :");
  expectStepsMatchThePrompt(text, [](const eval::Program &sp, eval::Session &,
                                     const std::vector<float> &) { EXPECT_TRUE(sp.replays()); });
}

TEST(Evaluator, StateArgumentsMustComeBackWithTheirType) {
  std::string text = stepBlock();
  text.replace(
      text.find("-> (tensor<1x1x16xf32>, tensor<1x24x4xf32>, tensor<1x2x8x2xf32>) {"),
      std::string("-> (tensor<1x1x16xf32>, tensor<1x24x4xf32>, tensor<1x2x8x2xf32>) {").size(),
      "-> (tensor<1x1x16xf32>, tensor<1x2x8x2xf32>, tensor<1x24x4xf32>) {");
  text.replace(text.find("return %l, %cs1, %ss1 : tensor<1x1x16xf32>, tensor<1x24x4xf32>, "
                         "tensor<1x2x8x2xf32>"),
               std::string("return %l, %cs1, %ss1 : tensor<1x1x16xf32>, tensor<1x24x4xf32>, "
                           "tensor<1x2x8x2xf32>")
                   .size(),
               "return %l, %ss1, %cs1 : tensor<1x1x16xf32>, tensor<1x2x8x2xf32>, "
               "tensor<1x24x4xf32>");
  Fixture f(text.c_str());
  ASSERT_TRUE(f.module);
  auto program = eval::Program::compile(*f.module);
  ASSERT_FALSE(static_cast<bool>(program));
  EXPECT_EQ(llvm::toString(program.takeError()),
            "state argument 1 of @main must come back as result 1 with its type");
}

TEST(Evaluator, TokenOutsideTheVocabularyIsAnError) {
  Fixture f(kBlock);
  auto program = eval::Program::compile(*f.module);
  ASSERT_TRUE(static_cast<bool>(program));
  eval::ThreadPool pool(1);
  eval::Session s(**program, 1, pool);
  auto logits = s.run({1, 16}, 2);
  ASSERT_FALSE(static_cast<bool>(logits));
  EXPECT_EQ(llvm::toString(logits.takeError()), "token id 16 is outside the vocabulary of 16");
}

TEST(Evaluator, AFailedStepForgetsTheState) {
  // A step function's states are moved through the evaluation; after a failed call the session
  // starts again from zero states, as after reset().
  expectStepsMatchThePrompt(
      stepBlock(), [](const eval::Program &, eval::Session &ss, const std::vector<float> &all) {
        auto bad = ss.run({16}, 1);
        ASSERT_FALSE(static_cast<bool>(bad));
        llvm::consumeError(bad.takeError());
        auto first = ss.run({kIds[0]}, 1);
        ASSERT_TRUE(static_cast<bool>(first)) << llvm::toString(first.takeError());
        for (int v = 0; v < 16; ++v)
          EXPECT_NEAR((*first)[v], all[v], 1e-6f);
      });
}

/// An embedding lookup left in onnx ops: the interpreter runs it between the m2 ops.
const char *kUnraised = R"mlir(
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %t = onnx.Constant {value = dense<[[0.0, 1.0, 2.0, 3.0], [10.0, 11.0, 12.0, 13.0],
    [20.0, 21.0, 22.0, 23.0], [30.0, 31.0, 32.0, 33.0]]> : tensor<4x4xf32>} : () -> tensor<4x4xf32>
  %e = onnx.Gather %t, %ids {axis = 0 : i64} : (tensor<4x4xf32>, tensor<1x?xi64>) -> tensor<1x?x4xf32>
  %c = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %s = onnx.CumSum %e, %c : (tensor<1x?x4xf32>, tensor<1xi64>) -> tensor<1x?x4xf32>
  %w = m2.constant dense<1.0> : tensor<4xf32>
  %n = m2.rms_norm %s, %w {eps = 1.0e-3 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  %h = onnx.Mul %n, %s : (tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> tensor<1x?x4xf32>
  return %h : tensor<1x?x4xf32>
}
)mlir";

TEST(Evaluator, RunsOnnxOpsThatWereNotRaised) {
  Fixture f(kUnraised);
  ASSERT_TRUE(f.module);
  auto program = eval::Program::compile(*f.module);
  ASSERT_TRUE(static_cast<bool>(program)) << llvm::toString(program.takeError());
  EXPECT_TRUE((*program)->replays());
  eval::ThreadPool pool(2);
  eval::Session s(**program, 1, pool);
  const std::vector<int64_t> ids = {2, 0, 3};
  auto logits = s.run(ids, 3);
  ASSERT_TRUE(static_cast<bool>(logits)) << llvm::toString(logits.takeError());
  ASSERT_EQ(logits->size(), 12u);
  // Token t: the row cumulated over the sequence (CumSum along axis 1), normalised (rms_norm)
  // and multiplied by itself.
  std::vector<float> sums(4, 0.0f);
  for (size_t t = 0; t < ids.size(); ++t) {
    float ms = 0;
    for (int c = 0; c < 4; ++c) {
      sums[c] += 10.0f * static_cast<float>(ids[t]) + static_cast<float>(c);
      ms += sums[c] * sums[c] / 4.0f;
    }
    for (int c = 0; c < 4; ++c)
      EXPECT_NEAR((*logits)[t * 4 + c], sums[c] * sums[c] / std::sqrt(ms + 1e-3f), 1e-3f)
          << "token " << t << " channel " << c;
  }
  // Decode steps replay the whole sequence: the same logits as one prefill.
  eval::Session stepped(**program, 1, pool);
  auto first = stepped.run({2, 0}, 2);
  auto last = stepped.run({3}, 1);
  ASSERT_TRUE(first && last);
  for (int c = 0; c < 4; ++c)
    EXPECT_EQ((*last)[c], (*logits)[8 + c]);
  // A token outside the table is the interpreter's error, naming the op.
  eval::Session bad(**program, 1, pool);
  auto err = bad.run({7}, 1);
  ASSERT_FALSE(static_cast<bool>(err));
  EXPECT_NE(llvm::toString(err.takeError()).find("onnx.Gather"), std::string::npos);
}

TEST(Evaluator, RefusesOpsOfOtherDialects) {
  Fixture f(R"mlir(
func.func private @f(tensor<1x?xi64>) -> tensor<1x?x4xf32>
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %e = func.call @f(%ids) : (tensor<1x?xi64>) -> tensor<1x?x4xf32>
  return %e : tensor<1x?x4xf32>
}
)mlir");
  ASSERT_TRUE(f.module);
  auto program = eval::Program::compile(*f.module);
  ASSERT_FALSE(static_cast<bool>(program));
  EXPECT_NE(llvm::toString(program.takeError()).find("m2 and onnx ops only, not func.call"),
            std::string::npos);
}

/// Signatures the evaluator cannot run: each is refused at compile time with its own message.
/// The body looks up the ids (`ids` typed) in an embedding and returns `returned`.
struct BadSignature {
  const char *ids, *state, *logits, *returned, *message;
};

TEST(Evaluator, RefusesFunctionsThatDoNotMapIdsToLogits) {
  const BadSignature cases[] = {
      {"tensor<1x?xi64>", nullptr, "tensor<1x?x4xf32>", "%e, %e",
       "@main must take token ids (and states) and return logits (and the new states)"},
      {"tensor<1x1xi64>", "tensor<1x4xi64>", "tensor<1x1x4xf32>", "%e, %s",
       "state argument 1 of @main must be a (batch, ...) f32 tensor with static sizes after the "
       "batch"},
      {"tensor<1x1xi64>", "tensor<1x?xf32>", "tensor<1x1x4xf32>", "%e, %s",
       "state argument 1 of @main must be a (batch, ...) f32 tensor with static sizes after the "
       "batch"},
      {"tensor<1x?xi64>", "tensor<1x4xf32>", "tensor<1x?x4xf32>", "%e, %s",
       "@main takes states, so it must take one token per sequence: ids (batch, 1)"},
  };
  for (const BadSignature &c : cases) {
    std::string ids = c.ids, logits = c.logits;
    std::string args = "%ids: " + ids, results = logits + ", ";
    results += c.state ? c.state : c.logits;
    if (c.state)
      args += std::string(", %s: ") + c.state;
    std::string text = "func.func @main(" + args + ") -> (" + results +
                       ") {\n  %t = m2.constant dense<1.0> : tensor<8x4xf32>\n"
                       "  %e = m2.embedding %ids, %t : (" +
                       ids + ", tensor<8x4xf32>) -> " + logits + "\n  return " + c.returned +
                       " : " + results + "\n}\n";
    Fixture f(text.c_str());
    ASSERT_TRUE(f.module) << text;
    auto program = eval::Program::compile(*f.module);
    ASSERT_FALSE(static_cast<bool>(program)) << text;
    EXPECT_EQ(llvm::toString(program.takeError()), c.message) << text;
  }
}

} // namespace
