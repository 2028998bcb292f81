// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that softplus spelled log(1 + exp(x)) becomes Softplus(x), the one in either order.
// CHECK-LABEL: func.func @log_one_plus_exp
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>)
// CHECK-NEXT: %[[S:.+]] = onnx.Softplus %[[X]]
// CHECK-NEXT: %[[T:.+]] = onnx.Softplus %[[X]]
// CHECK-NEXT: return %[[S]], %[[T]]
func.func @log_one_plus_exp(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %e = onnx.Exp %x : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %a = onnx.Add %e, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %l = onnx.Log %a : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %b = onnx.Add %one, %e : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %m = onnx.Log %b : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %l, %m : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Tests that the sigmoid spelled 1 / (1 + exp(-x)), as a Div of one or a Reciprocal, becomes
// Sigmoid(x).
// CHECK-LABEL: func.func @sigmoid_spelled
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-DAG: %[[S:.+]] = onnx.Sigmoid %[[X]]
// CHECK-DAG: %[[T:.+]] = onnx.Sigmoid %[[X]]
// CHECK: return %[[S]], %[[T]]
func.func @sigmoid_spelled(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %n = onnx.Neg %x : (tensor<4xf32>) -> tensor<4xf32>
  %e = onnx.Exp %n : (tensor<4xf32>) -> tensor<4xf32>
  %a = onnx.Add %one, %e : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %d = onnx.Div %one, %a : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %r = onnx.Reciprocal %a : (tensor<4xf32>) -> tensor<4xf32>
  return %d, %r : tensor<4xf32>, tensor<4xf32>
}

// -----

// Tests that the SiLU spelled x / (1 + exp(-x)) becomes x * Sigmoid(x).
// CHECK-LABEL: func.func @silu_as_division
// CHECK-SAME: (%[[X:.+]]: tensor<1x3x4xf32>)
// CHECK: %[[S:.+]] = onnx.Sigmoid %[[X]]
// CHECK-NEXT: %[[M:.+]] = onnx.Mul %[[X]], %[[S]]
// CHECK-NEXT: return %[[M]]
func.func @silu_as_division(%x: tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
  %one = onnx.Constant {value = dense<1.0> : tensor<1xf32>} : () -> tensor<1xf32>
  %n = onnx.Neg %x : (tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
  %e = onnx.Exp %n : (tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
  %a = onnx.Add %e, %one : (tensor<1x3x4xf32>, tensor<1xf32>) -> tensor<1x3x4xf32>
  %d = onnx.Div %x, %a : (tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
  return %d : tensor<1x3x4xf32>
}
