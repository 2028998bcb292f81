// RUN: mamba2-opt --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2))' %s | FileCheck %s

// Tests the norm variant x / sqrt(mean(x * x) + eps) * w.
// CHECK-LABEL: func.func @norm_div_variant
// CHECK: m2.rms_norm %{{.+}}, %{{.+}} {eps = 1.000000e-03 : f32}
// CHECK-NOT: onnx.Sqrt
func.func @norm_div_variant(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %p = onnx.Mul %x, %x : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %m = onnx.ReduceMean %p {axes = [2], keepdims = 1 : i64} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-3> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %eps, %m : (tensor<f32>, tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %s = onnx.Sqrt %a : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %n = onnx.Div %x, %s : (tensor<2x3x8xf32>, tensor<2x3x1xf32>) -> tensor<2x3x8xf32>
  %w = onnx.Constant {value = dense<1.0> : tensor<8xf32>} : () -> tensor<8xf32>
  %y = onnx.Mul %w, %n : (tensor<8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// -----

// Tests the norm variant x * Reciprocal(Sqrt(ReduceMean(x * x) + eps)) * w.
// CHECK-LABEL: func.func @norm_reciprocal_variant
// CHECK: m2.rms_norm %{{.+}}, %{{.+}} {eps = 9.99999974E-6 : f32} : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
// CHECK-NOT: onnx.
func.func @norm_reciprocal_variant(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %p = onnx.Mul %x, %x : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %m = onnx.ReduceMean %p {axes = [-1], keepdims = 1 : i64} : (tensor<2x3x8xf32>) -> tensor<2x3x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
  %s = onnx.Sqrt %a : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %r = onnx.Reciprocal %s : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %n = onnx.Mul %r, %x : (tensor<2x3x1xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  %w = onnx.Constant {value = dense<1.0> : tensor<8xf32>} : () -> tensor<8xf32>
  %y = onnx.Mul %n, %w : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}
