// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that an RMS norm written x / sqrt(mean(x^2) + eps) with the square as Pow and the
// mean as ReduceSum / N becomes the normal form
// Mul(x, Reciprocal(Sqrt(Add(ReduceMean(Mul(x, x)), eps)))).
// CHECK-LABEL: func.func @norm_div_sum_pow
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x8xf32>)
// CHECK-DAG: %[[EPS:.+]] = onnx.Constant  {value = dense<9.99999974E-6> : tensor<f32>}
// CHECK: %[[SQ:.+]] = onnx.Mul %[[X]], %[[X]] : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
// CHECK-NEXT: %[[M:.+]] = onnx.ReduceMean %[[SQ]] {axes = [-1]}
// CHECK-NEXT: %[[A:.+]] = onnx.Add %[[M]], %[[EPS]]
// CHECK-NEXT: %[[S:.+]] = onnx.Sqrt %[[A]]
// CHECK-NEXT: %[[R:.+]] = onnx.Reciprocal %[[S]]
// CHECK-NEXT: %[[N:.+]] = onnx.Mul %[[X]], %[[R]]
// CHECK-NEXT: return %[[N]]
func.func @norm_div_sum_pow(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %p = onnx.Pow %x, %two : (tensor<2x3x8xf32>, tensor<f32>) -> tensor<2x3x8xf32>
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %s = onnx.ReduceSum %p, %ax : (tensor<2x3x8xf32>, tensor<1xi64>) -> tensor<2x3x1xf32>
  %n = onnx.Constant {value = dense<8.0> : tensor<f32>} : () -> tensor<f32>
  %m = onnx.Div %s, %n : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
  %q = onnx.Sqrt %a : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %y = onnx.Div %x, %q : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// -----

// Tests that eps before the mean (eps + mean, and mean(x*x + eps)), the mean as a sum times 1/N
// and 1 / Sqrt become the same normal form.
// CHECK-LABEL: func.func @norm_eps_placement
// CHECK-SAME: (%[[X:.+]]: tensor<3x8xf32>)
// CHECK-DAG: %[[EPS:.+]] = onnx.Constant  {value = dense<9.99999974E-6> : tensor<f32>}
// CHECK: %[[SQ:.+]] = onnx.Mul %[[X]], %[[X]]
// CHECK-NEXT: %[[M:.+]] = onnx.ReduceMean %[[SQ]] {axes = [-1]}
// CHECK-NEXT: %[[A:.+]] = onnx.Add %[[M]], %[[EPS]]
// CHECK-NEXT: %[[S:.+]] = onnx.Sqrt %[[A]]
// CHECK-NEXT: %[[R:.+]] = onnx.Reciprocal %[[S]]
// CHECK-NEXT: onnx.Mul %[[X]], %[[R]]
// CHECK: %[[SQ2:.+]] = onnx.Mul %[[X]], %[[X]]
// CHECK-NEXT: %[[M2:.+]] = onnx.ReduceMean %[[SQ2]] {axes = [-1]}
// CHECK-NEXT: %[[A2:.+]] = onnx.Add %[[M2]], %[[EPS]]
// CHECK-NEXT: %[[S2:.+]] = onnx.Sqrt %[[A2]]
// CHECK-NEXT: %[[R2:.+]] = onnx.Reciprocal %[[S2]]
// CHECK-NEXT: onnx.Mul %[[X]], %[[R2]]
func.func @norm_eps_placement(%x: tensor<3x8xf32>) -> (tensor<3x8xf32>, tensor<3x8xf32>) {
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %ax = onnx.Constant {value = dense<-1> : tensor<1xi64>} : () -> tensor<1xi64>
  %inv = onnx.Constant {value = dense<0.125> : tensor<f32>} : () -> tensor<f32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %sq = onnx.Mul %x, %x : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %s = onnx.ReduceSum %sq, %ax : (tensor<3x8xf32>, tensor<1xi64>) -> tensor<3x1xf32>
  %m = onnx.Mul %inv, %s : (tensor<f32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  %a = onnx.Add %eps, %m : (tensor<f32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  %q = onnx.Sqrt %a : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %r = onnx.Div %one, %q : (tensor<f32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  %y = onnx.Mul %x, %r : (tensor<3x8xf32>, tensor<3x1xf32>) -> tensor<3x8xf32>
  %sq2 = onnx.Mul %x, %x : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %in = onnx.Add %sq2, %eps : (tensor<3x8xf32>, tensor<f32>) -> tensor<3x8xf32>
  %m2 = onnx.ReduceMean %in {axes = [-1], keepdims = 1 : i64} : (tensor<3x8xf32>) -> tensor<3x1xf32>
  %q2 = onnx.Sqrt %m2 : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %r2 = onnx.Reciprocal %q2 : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %y2 = onnx.Mul %x, %r2 : (tensor<3x8xf32>, tensor<3x1xf32>) -> tensor<3x8xf32>
  return %y, %y2 : tensor<3x8xf32>, tensor<3x8xf32>
}
