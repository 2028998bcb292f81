// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that a sum divided by a count other than the number of summed elements is not a mean.
// CHECK-LABEL: func.func @sum_over_wrong_count
// CHECK: onnx.ReduceSum
// CHECK-NOT: onnx.ReduceMean
func.func @sum_over_wrong_count(%x: tensor<3x8xf32>) -> tensor<3x1xf32> {
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %s = onnx.ReduceSum %x, %ax : (tensor<3x8xf32>, tensor<1xi64>) -> tensor<3x1xf32>
  %n = onnx.Constant {value = dense<7.0> : tensor<f32>} : () -> tensor<f32>
  %m = onnx.Div %s, %n : (tensor<3x1xf32>, tensor<f32>) -> tensor<3x1xf32>
  return %m : tensor<3x1xf32>
}

// -----

// Tests that a sum over a dynamic axis (its count unknown) is not taken for a mean.
// CHECK-LABEL: func.func @sum_over_dynamic_axis
// CHECK: onnx.ReduceSum
// CHECK-NOT: onnx.ReduceMean
func.func @sum_over_dynamic_axis(%x: tensor<3x?xf32>) -> tensor<3x1xf32> {
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %s = onnx.ReduceSum %x, %ax : (tensor<3x?xf32>, tensor<1xi64>) -> tensor<3x1xf32>
  %n = onnx.Constant {value = dense<8.0> : tensor<f32>} : () -> tensor<f32>
  %m = onnx.Div %s, %n : (tensor<3x1xf32>, tensor<f32>) -> tensor<3x1xf32>
  return %m : tensor<3x1xf32>
}

// -----

// Tests that a quotient by something other than a Sqrt stays a Div, and 2 / y is not 1 / y.
// CHECK-LABEL: func.func @div_not_rsqrt
// CHECK: onnx.Div
// CHECK: onnx.Div
// CHECK-NOT: onnx.Reciprocal
func.func @div_not_rsqrt(%x: tensor<3x8xf32>, %y: tensor<3x8xf32>) -> (tensor<3x8xf32>, tensor<3x8xf32>) {
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %e = onnx.Exp %y : (tensor<3x8xf32>) -> tensor<3x8xf32>
  %d = onnx.Div %x, %e : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %t = onnx.Div %two, %y : (tensor<f32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  return %d, %t : tensor<3x8xf32>, tensor<3x8xf32>
}

// -----

// Tests that a tensor (not a scalar) added inside the mean stays inside.
// CHECK-LABEL: func.func @tensor_inside_mean
// CHECK: onnx.Add
// CHECK-NEXT: onnx.ReduceMean
func.func @tensor_inside_mean(%x: tensor<3x8xf32>, %b: tensor<8xf32>) -> tensor<3x1xf32> {
  %a = onnx.Add %x, %b : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  %m = onnx.ReduceMean %a {axes = [-1], keepdims = 1 : i64} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  return %m : tensor<3x1xf32>
}
