// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that results whose types shape inference lost (after a Pad of pads computed at run time,
// here a Concat of constants that folds) take the types their operands determine, through a
// chain in one walk: Pad, Slice (the sliced axis dynamic), Mul (broadcast), Unsqueeze,
// ReduceSum; the result the function returns keeps its declared type.
// CHECK-LABEL: func.func @refined
// CHECK: onnx.Pad %{{.+}} : (tensor<2x5x4xf32>, tensor<6xi64>, none) -> tensor<2x7x4xf32>
// CHECK: onnx.Slice %{{.+}} : (tensor<2x7x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<2x?x4xf32>
// CHECK: onnx.Mul %{{.+}} : (tensor<2x?x4xf32>, tensor<4xf32>) -> tensor<2x?x4xf32>
// CHECK: onnx.Unsqueeze %{{.+}} : (tensor<2x?x4xf32>, tensor<1xi64>) -> tensor<2x?x4x1xf32>
// CHECK: onnx.ReduceSum %{{.+}} : (tensor<2x?x4x1xf32>, tensor<1xi64>) -> tensor<*xf32>
func.func @refined(%x: tensor<2x5x4xf32>) -> tensor<*xf32> {
  %a = onnx.Constant {value = dense<[0, 2, 0]> : tensor<3xi64>} : () -> tensor<3xi64>
  %b = onnx.Constant {value = dense<[0, 0, 0]> : tensor<3xi64>} : () -> tensor<3xi64>
  %pads = onnx.Concat %a, %b {axis = 0 : i64} : (tensor<3xi64>, tensor<3xi64>) -> tensor<?xi64>
  %none = onnx.NoValue : () -> none
  %p = onnx.Pad %x, %pads, %none : (tensor<2x5x4xf32>, tensor<?xi64>, none) -> tensor<*xf32>
  %s = onnx.Constant {value = dense<1> : tensor<1xi64>} : () -> tensor<1xi64>
  %e = onnx.Constant {value = dense<6> : tensor<1xi64>} : () -> tensor<1xi64>
  %sl = onnx.Slice %p, %s, %e, %s, %none : (tensor<*xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<*xf32>
  %w = onnx.Constant {value = dense<2.0> : tensor<4xf32>} : () -> tensor<4xf32>
  %m = onnx.Mul %sl, %w : (tensor<*xf32>, tensor<4xf32>) -> tensor<*xf32>
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %u = onnx.Unsqueeze %m, %ax : (tensor<*xf32>, tensor<1xi64>) -> tensor<*xf32>
  %r = onnx.ReduceSum %u, %ax : (tensor<*xf32>, tensor<1xi64>) -> tensor<*xf32>
  return %r : tensor<*xf32>
}
