// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-rotate))' --split-input-file --verify-diagnostics %s

// Tests that a norm weight other than ones is refused (rotation does not commute with it).
func.func @unfolded(%ids: tensor<1x?xi64>) -> tensor<1x?x3xf32> {
  %t = m2.constant dense<1.0> : tensor<3x4xf32>
  %w = m2.constant dense<2.0> : tensor<4xf32>
  %h = m2.embedding %ids, %t : (tensor<1x?xi64>, tensor<3x4xf32>) -> tensor<1x?x4xf32>
  // expected-error @+1 {{the RMS norm weight is not all ones (run m2-fold-norms first)}}
  %n = m2.rms_norm %h, %w {eps = 1.0e-5 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  %l = m2.lm_head %n, %t : (tensor<1x?x4xf32>, tensor<3x4xf32>) -> tensor<1x?x3xf32>
  return %l : tensor<1x?x3xf32>
}

// -----

// Tests that a d_model that is not h * 2^k (h in 1, 12, 40) is refused.
func.func @size(%ids: tensor<1x?xi64>) -> tensor<1x?x6xf32> {
  %t = m2.constant dense<1.0> : tensor<3x6xf32>
  // expected-error @+1 {{d_model 6 is not h * 2^k with h in {1, 12, 40}}}
  %h = m2.embedding %ids, %t : (tensor<1x?xi64>, tensor<3x6xf32>) -> tensor<1x?x6xf32>
  return %h : tensor<1x?x6xf32>
}

// -----

// Tests that an op other than a norm or a residual add reading the residual stream is refused.
func.func @reader(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %t = m2.constant dense<1.0> : tensor<3x4xf32>
  %h = m2.embedding %ids, %t : (tensor<1x?xi64>, tensor<3x4xf32>) -> tensor<1x?x4xf32>
  // expected-error @+1 {{reads the residual stream; only RMS norms and residual adds may}}
  %s = m2.silu %h : tensor<1x?x4xf32>
  return %s : tensor<1x?x4xf32>
}
