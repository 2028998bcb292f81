// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-fold-norms))' --split-input-file --verify-diagnostics %s

// Tests that a norm weight that is not a constant is refused.
func.func @weight_argument(%x: tensor<1x?x4xf32>, %w: tensor<4xf32>) -> tensor<1x?x2xf32> {
  %lin = m2.constant dense<1.0> : tensor<4x2xf32>
  // expected-error @+1 {{m2-fold-norms: the norm weight is not an f32 constant}}
  %n = m2.rms_norm %x, %w {eps = 1.0e-5 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  %y = m2.linear %n, %lin : (tensor<1x?x4xf32>, tensor<4x2xf32>) -> tensor<1x?x2xf32>
  return %y : tensor<1x?x2xf32>
}

// -----

// Tests that a norm read by something other than a linear layer is left as it is, and says so.
func.func @read_by_silu(%x: tensor<1x?x4xf32>) -> tensor<1x?x4xf32> {
  %w = m2.constant dense<2.0> : tensor<4xf32>
  // expected-remark @+1 {{left unfolded, its result is read by m2.silu}}
  %n = m2.rms_norm %x, %w {eps = 1.0e-5 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  %y = m2.silu %n : tensor<1x?x4xf32>
  return %y : tensor<1x?x4xf32>
}
