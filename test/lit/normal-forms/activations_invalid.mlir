// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s
// Near-misses the activation normal forms leave alone.

// Tests that log(2 + exp(x)) is not a softplus.
// CHECK-LABEL: func.func @log_two_plus_exp
// CHECK: onnx.Log
// CHECK-NOT: onnx.Softplus
func.func @log_two_plus_exp(%x: tensor<4xf32>) -> tensor<4xf32> {
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %e = onnx.Exp %x : (tensor<4xf32>) -> tensor<4xf32>
  %a = onnx.Add %e, %two : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %l = onnx.Log %a : (tensor<4xf32>) -> tensor<4xf32>
  return %l : tensor<4xf32>
}

// -----

// Tests that log(1 + exp(x)) whose one broadcasts x to a larger shape is left alone.
// CHECK-LABEL: func.func @log_one_plus_exp_broadcast
// CHECK: onnx.Log
// CHECK-NOT: onnx.Softplus
func.func @log_one_plus_exp_broadcast(%x: tensor<4xf32>) -> tensor<3x4xf32> {
  %one = onnx.Constant {value = dense<1.0> : tensor<3x1xf32>} : () -> tensor<3x1xf32>
  %e = onnx.Exp %x : (tensor<4xf32>) -> tensor<4xf32>
  %a = onnx.Add %e, %one : (tensor<4xf32>, tensor<3x1xf32>) -> tensor<3x4xf32>
  %l = onnx.Log %a : (tensor<3x4xf32>) -> tensor<3x4xf32>
  return %l : tensor<3x4xf32>
}

// -----

// Tests that 1 / (1 + exp(x)) (no negation: sigmoid(-x)) is not rewritten to Sigmoid(x).
// CHECK-LABEL: func.func @no_negation
// CHECK: onnx.Reciprocal
// CHECK-NOT: onnx.Sigmoid
func.func @no_negation(%x: tensor<4xf32>) -> tensor<4xf32> {
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %e = onnx.Exp %x : (tensor<4xf32>) -> tensor<4xf32>
  %a = onnx.Add %one, %e : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %d = onnx.Div %one, %a : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

// Tests that y / (1 + exp(-x)) with y other than x is neither a SiLU nor a sigmoid.
// CHECK-LABEL: func.func @other_numerator
// CHECK: onnx.Div
// CHECK-NOT: onnx.Sigmoid
func.func @other_numerator(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %n = onnx.Neg %x : (tensor<4xf32>) -> tensor<4xf32>
  %e = onnx.Exp %n : (tensor<4xf32>) -> tensor<4xf32>
  %a = onnx.Add %one, %e : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %d = onnx.Div %y, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %d : tensor<4xf32>
}
