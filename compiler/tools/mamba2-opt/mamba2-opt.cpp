// mamba2-opt: runs any single pass of the Mamba2 compiler over MLIR text, as mlir-opt does.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

#include "mamba2/CodeGen/Passes.h"
#include "mamba2/Dialect/M2/M2Dialect.h"
#include "mamba2/Dialect/Onnx/OnnxDialect.h"
#include "mamba2/Dialect/Ovl/OvlDialect.h"
#include "mamba2/Transforms/OvlPasses.h"
#include "mamba2/Transforms/Passes.h"
#include "mamba2/Transforms/QuantPasses.h"

int main(int argc, char **argv) {
  mlir::registerTransformsPasses();
  mamba2::registerMamba2Passes();
  mamba2::registerMamba2QuantPasses();
  mamba2::registerMamba2OvlPasses();
  mamba2::codegen::registerMamba2CodeGenPasses();
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect, mlir::arith::ArithDialect, mlir::tensor::TensorDialect,
                  mamba2::onnxir::OnnxDialect, mamba2::m2::M2Dialect, mamba2::ovl::OvlDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Mamba2 compiler pass driver\n", registry));
}
