// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that PyTorch's softplus with its linear tail, Where(x > 20, x, Softplus(x)), becomes
// Softplus(x).
// CHECK-LABEL: func.func @softplus_threshold
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>)
// CHECK-NEXT: %[[S:.+]] = onnx.Softplus %[[X]]
// CHECK-NEXT: return %[[S]]
func.func @softplus_threshold(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %t = onnx.Constant {value = dense<20.0> : tensor<f32>} : () -> tensor<f32>
  %s = onnx.Softplus %x : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %g = onnx.Greater %x, %t : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xi1>
  %y = onnx.Where %g, %x, %s : (tensor<2x8xi1>, tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Tests that a SiLU before a Transpose moves after it: Transpose(x * Sigmoid(x)) becomes
// t * Sigmoid(t) of t = Transpose(x).
// CHECK-LABEL: func.func @transpose_of_silu
// CHECK-SAME: (%[[X:.+]]: tensor<1x6x5xf32>)
// CHECK-NEXT: %[[T:.+]] = onnx.Transpose %[[X]] {perm = [0, 2, 1]} : (tensor<1x6x5xf32>) -> tensor<1x5x6xf32>
// CHECK-NEXT: %[[S:.+]] = onnx.Sigmoid %[[T]] : (tensor<1x5x6xf32>) -> tensor<1x5x6xf32>
// CHECK-NEXT: %[[M:.+]] = onnx.Mul %[[T]], %[[S]]
// CHECK-NEXT: return %[[M]]
func.func @transpose_of_silu(%x: tensor<1x6x5xf32>) -> tensor<1x5x6xf32> {
  %s = onnx.Sigmoid %x : (tensor<1x6x5xf32>) -> tensor<1x6x5xf32>
  %m = onnx.Mul %s, %x : (tensor<1x6x5xf32>, tensor<1x6x5xf32>) -> tensor<1x6x5xf32>
  %t = onnx.Transpose %m {perm = [0, 2, 1]} : (tensor<1x6x5xf32>) -> tensor<1x5x6xf32>
  return %t : tensor<1x5x6xf32>
}

// -----

// Tests that a product with a scalar one (torch's torch.reciprocal(v) is Reciprocal(v) * 1) is
// the other factor.
// CHECK-LABEL: func.func @mul_by_one
// CHECK-NEXT: %[[R:.+]] = onnx.Reciprocal %arg0
// CHECK-NEXT: %[[N:.+]] = onnx.Neg %[[R]] : (tensor<2x8xf32>) -> tensor<*xf32>
// CHECK-NEXT: return %[[N]]
func.func @mul_by_one(%x: tensor<2x8xf32>) -> tensor<*xf32> {
  %r = onnx.Reciprocal %x : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %y = onnx.Mul %r, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<*xf32>
  %n = onnx.Neg %y : (tensor<*xf32>) -> tensor<*xf32>
  return %n : tensor<*xf32>
}

// -----

// Tests that powers of 0.5 and -0.5 (an RMS norm's 1 / sqrt(mean + eps) as (mean + eps)^-0.5)
// become Sqrt and Reciprocal(Sqrt).
// CHECK-LABEL: func.func @pow_of_half
// CHECK-NEXT: %[[S:.+]] = onnx.Sqrt %arg0
// CHECK-NEXT: %[[Q:.+]] = onnx.Sqrt %arg0
// CHECK-NEXT: %[[R:.+]] = onnx.Reciprocal %[[Q]]
// CHECK-NEXT: return %[[S]], %[[R]]
func.func @pow_of_half(%x: tensor<2x1xf32>) -> (tensor<2x1xf32>, tensor<2x1xf32>) {
  %h = onnx.Constant {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %m = onnx.Constant {value = dense<-0.5> : tensor<f32>} : () -> tensor<f32>
  %s = onnx.Pow %x, %h : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %r = onnx.Pow %x, %m : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  return %s, %r : tensor<2x1xf32>, tensor<2x1xf32>
}
