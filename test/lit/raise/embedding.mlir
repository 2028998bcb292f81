// RUN: mamba2-opt --split-input-file --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2))' %s | FileCheck %s

// Tests that an embedding Gather and an RMS norm written with Pow/ReduceMean/Add/Sqrt/Div/Mul
// become m2.embedding and m2.rms_norm, the weights m2.constant, and the onnx ops disappear.
// CHECK-LABEL: func.func @embedding_norm
// CHECK-DAG: %[[T:.+]] = m2.constant dense<5.000000e-01> : tensor<16x8xf32>
// CHECK-DAG: %[[W:.+]] = m2.constant dense<2.000000e+00> : tensor<8xf32>
// CHECK: %[[E:.+]] = m2.embedding %{{.+}}, %[[T]] : (tensor<1x?xi64>, tensor<16x8xf32>) -> tensor<1x?x8xf32>
// CHECK: %[[N:.+]] = m2.rms_norm %[[E]], %[[W]] {eps = 9.99999974E-6 : f32}
// CHECK: return %[[N]]
// CHECK-NOT: onnx.
func.func @embedding_norm(%ids: tensor<1x?xi64>) -> tensor<1x?x8xf32> {
  %t = onnx.Constant {value = dense<0.5> : tensor<16x8xf32>} : () -> tensor<16x8xf32>
  %e = onnx.Gather %t, %ids {axis = 0 : i64} : (tensor<16x8xf32>, tensor<1x?xi64>) -> tensor<1x?x8xf32>
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %p = onnx.Pow %e, %two : (tensor<1x?x8xf32>, tensor<f32>) -> tensor<1x?x8xf32>
  %m = onnx.ReduceMean %p {axes = [-1], keepdims = 1 : i64} : (tensor<1x?x8xf32>) -> tensor<1x?x1xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<1x?x1xf32>, tensor<f32>) -> tensor<1x?x1xf32>
  %s = onnx.Sqrt %a : (tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %r = onnx.Div %one, %s : (tensor<f32>, tensor<1x?x1xf32>) -> tensor<1x?x1xf32>
  %n = onnx.Mul %e, %r : (tensor<1x?x8xf32>, tensor<1x?x1xf32>) -> tensor<1x?x8xf32>
  %w = onnx.Constant {value = dense<2.0> : tensor<8xf32>} : () -> tensor<8xf32>
  %y = onnx.Mul %n, %w : (tensor<1x?x8xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
  return %y : tensor<1x?x8xf32>
}
