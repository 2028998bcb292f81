// RUN: mamba2-opt --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2{strict=true}))' %s

// Tests that a norm whose mean runs over the batch axis (not the channels) is not taken for an
// RMS norm (its ops left in their normal form: Mul(x, x), Reciprocal(Sqrt)), and says why.
// expected-error @+2 {{not raised: layer 0 norm at node 'onnx.Mul' (Mul): the mean 'onnx.ReduceMean' (ReduceMean) reduces axis 0, not the last (channel) axis}}
// expected-note @+1 {{onnx op(s) not raised to m2: Add x1, Constant x2, Mul x3, Reciprocal x1, ReduceMean x1, Sqrt x1}}
func.func @mean_over_batch(%ids: tensor<1x4xi64>) -> tensor<1x4x6xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %x = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  %two = onnx.Constant {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %p = onnx.Pow %x, %two : (tensor<1x4x6xf32>, tensor<f32>) -> tensor<1x4x6xf32>
  %m = onnx.ReduceMean %p {axes = [0], keepdims = 1 : i64} : (tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %eps = onnx.Constant {value = dense<1.0e-5> : tensor<f32>} : () -> tensor<f32>
  %a = onnx.Add %m, %eps : (tensor<1x4x6xf32>, tensor<f32>) -> tensor<1x4x6xf32>
  %s = onnx.Sqrt %a : (tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %one = onnx.Constant {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %r = onnx.Div %one, %s : (tensor<f32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %n = onnx.Mul %x, %r : (tensor<1x4x6xf32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  %w = onnx.Constant {value = dense<1.0> : tensor<6xf32>} : () -> tensor<6xf32>
  %y = onnx.Mul %n, %w : (tensor<1x4x6xf32>, tensor<6xf32>) -> tensor<1x4x6xf32>
  return %y : tensor<1x4x6xf32>
}
