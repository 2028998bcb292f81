// RUN: mamba2-opt --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2))' %s | FileCheck %s

// Tests that softplus written as Log(1 + Exp(x)) becomes m2.softplus.
// CHECK-LABEL: func.func @softplus_log_exp
// CHECK: %[[L:.+]] = m2.linear
// CHECK: %[[S:.+]] = m2.softplus %[[L]] : tensor<1x4x2xf32>
// CHECK: return %[[S]]
// CHECK-NOT: onnx.Log
func.func @softplus_log_exp(%x: tensor<1x4x2xf32>) -> tensor<1x4x2xf32> {
  %w = onnx.Constant {value = dense<0.5> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %l = onnx.MatMul %x, %w : (tensor<1x4x2xf32>, tensor<2x2xf32>) -> tensor<1x4x2xf32>
  %e = onnx.Exp %l : (tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %one, %e : (tensor<f32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s = onnx.Log %a : (tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  return %s : tensor<1x4x2xf32>
}

// -----

// Tests that a Softplus no SSD consumes becomes m2.softplus.
// CHECK-LABEL: func.func @softplus_op
// CHECK: %[[L:.+]] = m2.linear
// CHECK: %[[S:.+]] = m2.softplus %[[L]] : tensor<1x4x2xf32>
// CHECK: return %[[S]]
// CHECK-NOT: onnx.Softplus
func.func @softplus_op(%x: tensor<1x4x2xf32>) -> tensor<1x4x2xf32> {
  %w = onnx.Constant {value = dense<0.5> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %l = onnx.MatMul %x, %w : (tensor<1x4x2xf32>, tensor<2x2xf32>) -> tensor<1x4x2xf32>
  %s = onnx.Softplus %l : (tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  return %s : tensor<1x4x2xf32>
}
