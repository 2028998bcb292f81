// RUN: mamba2-opt --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2))' %s | FileCheck %s

// Tests that MatMul with a constant weight becomes m2.linear, a last-axis Split with constant
// sizes m2.split, x * Sigmoid(x) m2.silu, and the residual Add of a linear m2.residual_add.
// CHECK-LABEL: func.func @linear_split_silu_residual
// CHECK: %[[L:.+]] = m2.linear %[[X:.+]], %{{.+}} : (tensor<1x4x8xf32>, tensor<8x12xf32>) -> tensor<1x4x12xf32>
// CHECK: %[[S:.+]]:2 = m2.split %[[L]] {sizes = array<i64: 8, 4>}
// CHECK: %[[A:.+]] = m2.silu %[[S]]#0 : tensor<1x4x8xf32>
// CHECK: %[[O:.+]] = m2.linear %[[A]], %{{.+}} : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
// CHECK: %[[R:.+]] = m2.residual_add %[[X]], %[[O]] : tensor<1x4x8xf32>
// CHECK-NOT: onnx.
func.func @linear_split_silu_residual(%x: tensor<1x4x8xf32>) -> (tensor<1x4x8xf32>, tensor<1x4x4xf32>) {
  %w = onnx.Constant {value = dense<0.25> : tensor<8x12xf32>} : () -> tensor<8x12xf32>
  %l = onnx.MatMul %x, %w : (tensor<1x4x8xf32>, tensor<8x12xf32>) -> tensor<1x4x12xf32>
  %sizes = onnx.Constant {value = dense<[8, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  %a, %b = onnx.Split %l, %sizes {axis = -1 : i64} : (tensor<1x4x12xf32>, tensor<2xi64>) -> (tensor<1x4x8xf32>, tensor<1x4x4xf32>)
  %sg = onnx.Sigmoid %a : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %si = onnx.Mul %a, %sg : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %w2 = onnx.Constant {value = dense<0.5> : tensor<8x8xf32>} : () -> tensor<8x8xf32>
  %o = onnx.MatMul %si, %w2 : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
  %r = onnx.Add %x, %o : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %r, %b : tensor<1x4x8xf32>, tensor<1x4x4xf32>
}
