// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(onnx-normal-forms))' --split-input-file %s | FileCheck %s

// Tests that a softplus tail at a low threshold (where softplus(x) differs from x in float32)
// stays as it is.
// CHECK-LABEL: func.func @threshold_too_low
// CHECK: onnx.Where
func.func @threshold_too_low(%x: tensor<4xf32>) -> tensor<4xf32> {
  %t = onnx.Constant {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %s = onnx.Softplus %x : (tensor<4xf32>) -> tensor<4xf32>
  %g = onnx.Greater %x, %t : (tensor<4xf32>, tensor<f32>) -> tensor<4xi1>
  %y = onnx.Where %g, %x, %s : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Tests that a Where whose branches read different tensors is not taken for a softplus.
// CHECK-LABEL: func.func @other_tensor
// CHECK: onnx.Where
func.func @other_tensor(%x: tensor<4xf32>, %z: tensor<4xf32>) -> tensor<4xf32> {
  %t = onnx.Constant {value = dense<20.0> : tensor<f32>} : () -> tensor<f32>
  %s = onnx.Softplus %x : (tensor<4xf32>) -> tensor<4xf32>
  %g = onnx.Greater %x, %t : (tensor<4xf32>, tensor<f32>) -> tensor<4xi1>
  %y = onnx.Where %g, %z, %s : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Tests that a product of a sigmoid of one tensor and another tensor (a gate, not a SiLU) keeps
// its Transpose after it.
// CHECK-LABEL: func.func @gate_not_silu
// CHECK: onnx.Mul
// CHECK-NEXT: onnx.Transpose
func.func @gate_not_silu(%x: tensor<1x6x5xf32>, %z: tensor<1x6x5xf32>) -> tensor<1x5x6xf32> {
  %s = onnx.Sigmoid %z : (tensor<1x6x5xf32>) -> tensor<1x6x5xf32>
  %m = onnx.Mul %x, %s : (tensor<1x6x5xf32>, tensor<1x6x5xf32>) -> tensor<1x6x5xf32>
  %t = onnx.Transpose %m {perm = [0, 2, 1]} : (tensor<1x6x5xf32>) -> tensor<1x5x6xf32>
  return %t : tensor<1x5x6xf32>
}

// -----

// Tests that a product with ones that broadcasts x to a larger shape stays.
// CHECK-LABEL: func.func @ones_broadcast
// CHECK: onnx.Mul
func.func @ones_broadcast(%x: tensor<8xf32>) -> tensor<2x8xf32> {
  %one = onnx.Constant {value = dense<1.0> : tensor<2x1xf32>} : () -> tensor<2x1xf32>
  %y = onnx.Mul %x, %one : (tensor<8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Tests that other powers stay powers.
// CHECK-LABEL: func.func @pow_of_three
// CHECK: onnx.Pow
func.func @pow_of_three(%x: tensor<2x1xf32>) -> tensor<2x1xf32> {
  %two = onnx.Constant {value = dense<3.0> : tensor<f32>} : () -> tensor<f32>
  %p = onnx.Pow %x, %two : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  return %p : tensor<2x1xf32>
}
