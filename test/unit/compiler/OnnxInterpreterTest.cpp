// Tests of the onnx-dialect interpreter beyond ONNX's node tests (conformance/onnx-node):
// results that must not depend on the thread count, errors that name the op, the checks of
// arguments and results against the function's types, and the comparison criterion.
#include "mamba2/Eval/OnnxInterpreter.h"

#include <gtest/gtest.h>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "mamba2/Dialect/Onnx/OnnxDialect.h"

using namespace mamba2;
using eval::DType;
using eval::Tensor;

namespace {

struct Graph {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  explicit Graph(const char *text) {
    context.getOrLoadDialect<mlir::func::FuncDialect>();
    context.getOrLoadDialect<onnxir::OnnxDialect>();
    module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  }
  llvm::Expected<std::vector<Tensor>> run(const std::vector<Tensor> &args, int threads = 1) {
    eval::ThreadPool pool(threads);
    return eval::runOnnxFunction(module->lookupSymbol<mlir::func::FuncOp>("main"), args, pool);
  }
};

Tensor floats(const eval::Shape &shape, const std::vector<float> &v) {
  Tensor t = Tensor::zeros(DType::F32, shape);
  std::copy(v.begin(), v.end(), t.mutableData<float>());
  return t;
}

Tensor ints(const eval::Shape &shape, const std::vector<int64_t> &v) {
  Tensor t = Tensor::zeros(DType::I64, shape);
  std::copy(v.begin(), v.end(), t.mutableData<int64_t>());
  return t;
}

std::vector<float> values(const Tensor &t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

TEST(OnnxInterpreter, ContractionsDoNotDependOnTheThreadCount) {
  Graph g(R"mlir(
func.func @main(%a: tensor<2x37x53xf32>, %b: tensor<53x41xf32>, %x: tensor<1x6x19x23xf32>,
                %w: tensor<6x2x3x4xf32>) -> (tensor<2x37x41xf32>, tensor<2x41xf32>, tensor<1x6x10x12xf32>) {
  %m = onnx.MatMul %a, %b : (tensor<2x37x53xf32>, tensor<53x41xf32>) -> tensor<2x37x41xf32>
  %e = onnx.Einsum %a, %b {equation = "bij,jk->bk"} : (tensor<2x37x53xf32>, tensor<53x41xf32>) -> tensor<2x41xf32>
  %none = onnx.NoValue : () -> none
  %c = onnx.Conv %x, %w, %none {group = 3 : i64, pads = [1, 2, 1, 1], strides = [2, 2], dilations = [1, 1]}
      : (tensor<1x6x19x23xf32>, tensor<6x2x3x4xf32>, none) -> tensor<1x6x10x12xf32>
  return %m, %e, %c : tensor<2x37x41xf32>, tensor<2x41xf32>, tensor<1x6x10x12xf32>
}
)mlir");
  ASSERT_TRUE(g.module);
  auto fill = [](const eval::Shape &s, float seed) {
    Tensor t = Tensor::zeros(DType::F32, s);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.mutableData<float>()[i] = std::sin(seed * static_cast<float>(i + 1));
    return t;
  };
  std::vector<Tensor> args = {fill({2, 37, 53}, 0.37f), fill({53, 41}, 1.3f),
                              fill({1, 6, 19, 23}, 0.71f), fill({6, 2, 3, 4}, 2.1f)};
  auto one = g.run(args, 1);
  ASSERT_TRUE(static_cast<bool>(one)) << llvm::toString(one.takeError());
  for (int threads : {2, 3, 7}) {
    auto many = g.run(args, threads);
    ASSERT_TRUE(static_cast<bool>(many));
    for (size_t i = 0; i < one->size(); ++i)
      EXPECT_EQ(values((*many)[i]), values((*one)[i])) << "result " << i << ", " << threads;
  }
  // MatMul and the Einsum that sums its rows agree.
  for (int b = 0; b < 2; ++b)
    for (int k = 0; k < 41; ++k) {
      double sum = 0;
      for (int i = 0; i < 37; ++i)
        sum += (*one)[0].data<float>()[(b * 37 + i) * 41 + k];
      EXPECT_NEAR((*one)[1].data<float>()[b * 41 + k], sum, 1e-3);
    }
}

/// float32 Einsums of two or three operands run as batched MatMuls, the others (float64 here)
/// as a direct sum: the two must agree.
TEST(OnnxInterpreter, EinsumByMatMulAgreesWithTheDirectSum) {
  struct Case {
    const char *equation;
    std::vector<eval::Shape> shapes;
  };
  const std::vector<Case> cases = {
      {"bclhn,bcshn->bhcls", {{1, 2, 3, 2, 4}, {1, 2, 3, 2, 4}}},
      {"bhcls,bcshp->bclhp", {{1, 2, 2, 3, 3}, {1, 2, 3, 2, 5}}},
      {"bclhn,bchpn,bhcl->bclhp", {{1, 2, 3, 2, 4}, {1, 2, 2, 5, 4}, {1, 2, 2, 3}}},
      {"bcshn,bhcs,bcshp->bchpn", {{1, 2, 3, 2, 4}, {1, 2, 2, 3}, {1, 2, 3, 2, 5}}},
      {"ij,jk", {{3, 4}, {4, 5}}},
      {"bij,jk->bk", {{2, 3, 4}, {4, 5}}},
      {"ik,kj->ji", {{2, 3}, {3, 4}}},
      {"i,i", {{6}, {6}}},
  };
  for (const Case &c : cases) {
    std::vector<std::vector<Tensor>> args(2);
    std::vector<std::vector<Tensor>> results;
    for (const char *type : {"f32", "f64"}) {
      std::string sig, operands, types;
      std::vector<Tensor> in;
      for (size_t k = 0; k < c.shapes.size(); ++k) {
        std::string t = "tensor<";
        for (int64_t d : c.shapes[k])
          t += std::to_string(d) + "x";
        t += std::string(type) + ">";
        sig += (k ? ", %a" : "%a") + std::to_string(k) + ": " + t;
        operands += (k ? ", %a" : "%a") + std::to_string(k);
        types += (k ? ", " : "") + t;
        Tensor x = Tensor::zeros(type[1] == '3' ? DType::F32 : DType::F64, c.shapes[k]);
        for (int64_t i = 0; i < x.numel(); ++i) {
          double v = std::sin(0.7 * static_cast<double>(i + 1) + static_cast<double>(k));
          if (x.dtype() == DType::F32)
            x.mutableData<float>()[i] = static_cast<float>(v);
          else
            x.mutableData<double>()[i] = static_cast<float>(v); // the same values
        }
        in.push_back(x);
      }
      std::string text = "func.func @main(" + sig + ") -> tensor<*x" + type +
                         "> {\n  %y = onnx.Einsum " + operands + " {equation = \"" + c.equation +
                         "\"} : (" + types + ") -> tensor<*x" + type +
                         ">\n  return %y : tensor<*x" + type + ">\n}\n";
      Graph g(text.c_str());
      ASSERT_TRUE(g.module) << text;
      auto r = g.run(in, 2);
      ASSERT_TRUE(static_cast<bool>(r)) << c.equation << ": " << llvm::toString(r.takeError());
      results.push_back(*r);
    }
    const Tensor &f = results[0][0], &d = results[1][0];
    ASSERT_EQ(f.shape(), d.shape()) << c.equation;
    for (int64_t i = 0; i < f.numel(); ++i)
      EXPECT_NEAR(f.data<float>()[i], d.data<double>()[i], 1e-5) << c.equation << " at " << i;
  }
}

TEST(OnnxInterpreter, PadCropsWithNegativePadsAndReflects) {
  Graph g(R"mlir(
func.func @main(%x: tensor<2x4xf32>) -> (tensor<3x3xf32>, tensor<2x8xf32>) {
  %p = onnx.Constant {value = dense<[1, -1, 0, 0]> : tensor<4xi64>} : () -> tensor<4xi64>
  %v = onnx.Constant {value = dense<9.0> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Pad %x, %p, %v {mode = "constant"} : (tensor<2x4xf32>, tensor<4xi64>, tensor<f32>) -> tensor<3x3xf32>
  %q = onnx.Constant {value = dense<[0, 3, 0, 1]> : tensor<4xi64>} : () -> tensor<4xi64>
  %none = onnx.NoValue : () -> none
  %b = onnx.Pad %x, %q, %none {mode = "reflect"} : (tensor<2x4xf32>, tensor<4xi64>, none) -> tensor<2x8xf32>
  return %a, %b : tensor<3x3xf32>, tensor<2x8xf32>
}
)mlir");
  ASSERT_TRUE(g.module);
  auto r = g.run({floats({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7})});
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  EXPECT_EQ(values((*r)[0]), (std::vector<float>{9, 9, 9, 1, 2, 3, 5, 6, 7}));
  EXPECT_EQ(values((*r)[1]), (std::vector<float>{3, 2, 1, 0, 1, 2, 3, 2, 7, 6, 5, 4, 5, 6, 7, 6}));
}

TEST(OnnxInterpreter, ErrorsNameTheOp) {
  Graph g(R"mlir(
func.func @main(%t: tensor<3x2xf32>, %i: tensor<2xi64>) -> tensor<2x2xf32> {
  %e = onnx.Gather %t, %i {axis = 0 : i64} : (tensor<3x2xf32>, tensor<2xi64>) -> tensor<2x2xf32> loc("embed")
  return %e : tensor<2x2xf32>
}
)mlir");
  ASSERT_TRUE(g.module);
  auto ok = g.run({floats({3, 2}, {1, 2, 3, 4, 5, 6}), ints({2}, {-1, 0})});
  ASSERT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(values((*ok)[0]), (std::vector<float>{5, 6, 1, 2}));
  auto bad = g.run({floats({3, 2}, {1, 2, 3, 4, 5, 6}), ints({2}, {1, 3})});
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "onnx.Gather at loc(\"embed\"): index 3 is out of range for axis 0 of size 3");
}

TEST(OnnxInterpreter, HugeShapesAreErrors) {
  Graph g(R"mlir(
func.func @main(%s: tensor<3xi64>) -> tensor<?x?x?xf32> {
  %y = onnx.ConstantOfShape %s : (tensor<3xi64>) -> tensor<?x?x?xf32>
  return %y : tensor<?x?x?xf32>
}
)mlir");
  ASSERT_TRUE(g.module);
  auto r = g.run({ints({3}, {1 << 30, 1 << 30, 1 << 30})});
  ASSERT_FALSE(static_cast<bool>(r));
  EXPECT_NE(llvm::toString(r.takeError())
                .find("a tensor of shape [1073741824, 1073741824, 1073741824] is too large"),
            std::string::npos);
}

TEST(OnnxInterpreter, IntegerDivisionByZeroIsAnError) {
  Graph g(R"mlir(
func.func @main(%a: tensor<2xi64>, %b: tensor<2xi64>) -> tensor<2xi64> {
  %m = onnx.Mod %a, %b {fmod = 0 : i64} : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %m : tensor<2xi64>
}
)mlir");
  ASSERT_TRUE(g.module);
  auto ok = g.run({ints({2}, {-7, 7}), ints({2}, {3, -3})});
  ASSERT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ((*ok)[0].data<int64_t>()[0], 2); // Python's %: the divisor's sign
  EXPECT_EQ((*ok)[0].data<int64_t>()[1], -2);
  auto bad = g.run({ints({2}, {1, 2}), ints({2}, {1, 0})});
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("integer modulo by zero"), std::string::npos);
}

TEST(OnnxInterpreter, ArgumentsAndResultsMustFitTheTypes) {
  Graph g(R"mlir(
func.func @main(%a: tensor<2x?xf32>, %s: tensor<2xi64>) -> tensor<4x2xf32> {
  %r = onnx.Reshape %a, %s : (tensor<2x?xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}
)mlir");
  ASSERT_TRUE(g.module);
  auto wrongType = g.run({ints({2, 4}, {0, 0, 0, 0, 0, 0, 0, 0}), ints({2}, {4, 2})});
  ASSERT_FALSE(static_cast<bool>(wrongType));
  EXPECT_EQ(llvm::toString(wrongType.takeError()), "input #0 must be float32, not int64");
  auto wrongShape = g.run({floats({3, 4}, std::vector<float>(12)), ints({2}, {4, 2})});
  ASSERT_FALSE(static_cast<bool>(wrongShape));
  EXPECT_EQ(llvm::toString(wrongShape.takeError()),
            "input #0 has shape [3, 4], which does not fit tensor<2x?xf32>");
  auto wrongCount = g.run({floats({2, 4}, std::vector<float>(8))});
  ASSERT_FALSE(static_cast<bool>(wrongCount));
  EXPECT_EQ(llvm::toString(wrongCount.takeError()), "@main takes 2 inputs, 1 given");
  // A computed shape that contradicts the declared result type.
  auto contradicts = g.run({floats({2, 4}, std::vector<float>(8)), ints({2}, {2, 4})});
  ASSERT_FALSE(static_cast<bool>(contradicts));
  EXPECT_NE(llvm::toString(contradicts.takeError())
                .find("computed shape [2, 4] does not match the result type tensor<4x2xf32>"),
            std::string::npos);
}

TEST(OnnxInterpreter, ComparisonFollowsOnnxBackendTests) {
  Tensor e = floats({3}, {1.0f, 0.0f, NAN});
  EXPECT_TRUE(eval::compare(floats({3}, {1.0009f, 5e-8f, NAN}), e).ok);
  eval::Comparison c = eval::compare(floats({3}, {1.0011f, 0.0f, NAN}), e);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.mismatches, 1);
  EXPECT_NE(c.message.find("first at [0]"), std::string::npos);
  EXPECT_FALSE(eval::compare(floats({3}, {1.0f, 2e-7f, NAN}), e).ok);
  EXPECT_FALSE(eval::compare(floats({3}, {1.0f, 0.0f, 0.0f}), e).ok); // NaN only matches NaN
  EXPECT_FALSE(eval::compare(floats({1, 3}, {1.0f, 0.0f, NAN}), e).ok);
  EXPECT_FALSE(eval::compare(ints({2}, {1, 2}), ints({2}, {1, 3})).ok); // integers: exact
  EXPECT_FALSE(eval::compare(ints({3}, {1, 0, 0}), e).ok);              // types differ
}

} // namespace
