// RUN: mamba2-opt --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(raise-onnx-to-m2{strict=true}))' %s

// Tests that an Add of two values neither of which is a linear's output is not taken for a
// residual add, and says why.
// expected-error @+2 {{not raised: residual at node 'onnx.Add' (Add): the update 'm2.silu' (silu) is not the output of a linear (out_proj)}}
// expected-note @+1 {{1 onnx op(s) not raised to m2: Add x1}}
func.func @no_linear(%ids: tensor<1x4xi64>) -> tensor<1x4x6xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %x = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  %s = m2.silu %x : tensor<1x4x6xf32>
  %y = onnx.Add %x, %s : (tensor<1x4x6xf32>, tensor<1x4x6xf32>) -> tensor<1x4x6xf32>
  return %y : tensor<1x4x6xf32>
}

// -----

// Tests that a residual add whose update has another shape than the stream ((1, 1, 6), one
// position, against (1, 4, 6)) says both.
// expected-error @+2 {{not raised: residual at node 'onnx.Add' (Add): the two terms 'm2.embedding' (embedding) and 'm2.linear' (linear) are not float32 tensors of one shape (tensor<1x4x6xf32> and tensor<1x1x6xf32>)}}
// expected-note @+1 {{1 onnx op(s) not raised to m2: Add x1}}
func.func @update_shape(%ids: tensor<1x4xi64>, %one: tensor<1x1xi64>) -> tensor<1x4x6xf32> {
  %table = m2.constant dense<0.5> : tensor<16x6xf32>
  %x = m2.embedding %ids, %table : (tensor<1x4xi64>, tensor<16x6xf32>) -> tensor<1x4x6xf32>
  %u = m2.embedding %one, %table : (tensor<1x1xi64>, tensor<16x6xf32>) -> tensor<1x1x6xf32>
  %w = m2.constant dense<0.5> : tensor<6x6xf32>
  %l = m2.linear %u, %w : (tensor<1x1x6xf32>, tensor<6x6xf32>) -> tensor<1x1x6xf32>
  %y = onnx.Add %x, %l : (tensor<1x4x6xf32>, tensor<1x1x6xf32>) -> tensor<1x4x6xf32>
  return %y : tensor<1x4x6xf32>
}
