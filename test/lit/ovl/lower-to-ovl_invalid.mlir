// RUN: mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl)' --split-input-file --verify-diagnostics %s
// RUN: not mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl{exp-segments=300})' %S/lower-to-ovl.mlir 2>&1 | FileCheck %s --check-prefix=SEG
// RUN: not mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl{silu-segments=-1})' %S/lower-to-ovl.mlir 2>&1 | FileCheck %s --check-prefix=SILU
// Tests what m2-lower-to-ovl refuses, each with a message naming the op.
// SEG: error: m2-lower-to-ovl: softplus-segments and exp-segments take 1..255, not 300
// SILU: error: m2-lower-to-ovl: silu-segments takes 0..256, not -1

// Dynamic per-token activation scales: the ISA has no max|x|.
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %emb = m2.constant dense<0.5> : tensor<4x4xf32>
  %h = m2.embedding %ids, %emb : (tensor<1x?xi64>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  %one = m2.constant dense<1.0> : tensor<4xf32>
  %n = m2.rms_norm %h, %one {eps = 1.0e-5 : f32, calib.in_absmax = 1.0 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  %w = m2.constant dense<1> : tensor<4x4xi8>
  %s = m2.constant dense<16777216> : tensor<4x1xi32>
  %o = m2.constant dense<1.0e-3> : tensor<4xf32>
  // expected-error @+1 {{m2-lower-to-ovl: m2.qlinear with dynamic per-token activation scales cannot be lowered (the ISA has no max|x|); quantise with static scales}}
  %l = m2.qlinear %n, %w, %s, %o {act_bits = 8 : i64, act_mode = "token", group = 4 : i64, shift = 10 : i64, weight_bits = 8 : i64} : (tensor<1x?x4xf32>, tensor<4x4xi8>, tensor<4x1xi32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  return %l : tensor<1x?x4xf32>
}

// -----

// No calibration of the residual stream.
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %emb = m2.constant dense<0.5> : tensor<4x4xf32>
  %h = m2.embedding %ids, %emb : (tensor<1x?xi64>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  %one = m2.constant dense<1.0> : tensor<4xf32>
  // expected-error @+1 {{m2-lower-to-ovl: m2.rms_norm has no calib.in_absmax (run m2-calibrate on the model first)}}
  %n = m2.rms_norm %h, %one {eps = 1.0e-5 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  return %n : tensor<1x?x4xf32>
}

// -----

// A norm weight other than ones.
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %emb = m2.constant dense<0.5> : tensor<4x4xf32>
  %h = m2.embedding %ids, %emb : (tensor<1x?xi64>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  %w = m2.constant dense<[1.0, 2.0, 1.0, 1.0]> : tensor<4xf32>
  // expected-error @+1 {{m2-lower-to-ovl: m2.rms_norm has a weight other than ones (run m2-fold-norms first)}}
  %n = m2.rms_norm %h, %w {eps = 1.0e-5 : f32, calib.in_absmax = 1.0 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  return %n : tensor<1x?x4xf32>
}

// -----

// An fp32 linear layer.
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %emb = m2.constant dense<0.5> : tensor<4x4xf32>
  %h = m2.embedding %ids, %emb : (tensor<1x?xi64>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  %one = m2.constant dense<1.0> : tensor<4xf32>
  %n = m2.rms_norm %h, %one {eps = 1.0e-5 : f32, calib.in_absmax = 1.0 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  // expected-error @+1 {{m2-lower-to-ovl: m2.lm_head is not quantised (run m2-quantize-linear; the lm_head needs lm-head-bits 8 or 4)}}
  %l = m2.lm_head %n, %emb : (tensor<1x?x4xf32>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  return %l : tensor<1x?x4xf32>
}

// -----

// A conv without power-of-two exponents.
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %emb = m2.constant dense<0.5> : tensor<4x4xf32>
  %h = m2.embedding %ids, %emb : (tensor<1x?xi64>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  %one = m2.constant dense<1.0> : tensor<4xf32>
  %n = m2.rms_norm %h, %one {eps = 1.0e-5 : f32, calib.in_absmax = 1.0 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  %cw = m2.constant dense<0.25> : tensor<4x4xf32>
  %cb = m2.constant dense<0.0> : tensor<4xf32>
  // expected-error @+1 {{m2-lower-to-ovl: m2.conv1d has no quant.in_exp / quant.w_exp (run m2-calibrate and m2-quantize-ssm first, mamba2c --ssm-pot)}}
  %c = m2.conv1d %n, %cw, %cb : (tensor<1x?x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  return %c : tensor<1x?x4xf32>
}

// -----

// An exact SiLU (m2-pwl has not run).
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %emb = m2.constant dense<0.5> : tensor<4x4xf32>
  %h = m2.embedding %ids, %emb : (tensor<1x?xi64>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  %one = m2.constant dense<1.0> : tensor<4xf32>
  %n = m2.rms_norm %h, %one {eps = 1.0e-5 : f32, calib.in_absmax = 1.0 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  // expected-error @+1 {{m2-lower-to-ovl: m2.silu is exact; run m2-pwl first (mamba2c --pwl N)}}
  %s = m2.silu %n : tensor<1x?x4xf32>
  return %s : tensor<1x?x4xf32>
}

// -----

// An explicit-state step function (the states must become @main's own arguments).
// expected-error @+1 {{m2-lower-to-ovl: @main must take the token ids and return the logits only (a whole-sequence model; explicit-state step functions are not lowered)}}
func.func @main(%ids: tensor<1x?xi64>, %st: tensor<1x4x4xf32>) -> (tensor<1x?x4xf32>, tensor<1x4x4xf32>) {
  %emb = m2.constant dense<0.5> : tensor<4x4xf32>
  %h = m2.embedding %ids, %emb : (tensor<1x?xi64>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  return %h, %st : tensor<1x?x4xf32>, tensor<1x4x4xf32>
}

// -----

// A positive A (exp(dt * A) would not be a decay).
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
  %emb = m2.constant dense<0.5> : tensor<4x4xf32>
  %h = m2.embedding %ids, %emb : (tensor<1x?xi64>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
  %one = m2.constant dense<1.0> : tensor<4xf32>
  %n = m2.rms_norm %h, %one {eps = 1.0e-5 : f32, calib.in_absmax = 1.0 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
  %x, %B, %C, %dt = m2.split %n {sizes = array<i64: 1, 1, 1, 1>} : (tensor<1x?x4xf32>) -> (tensor<1x?x1xf32>, tensor<1x?x1xf32>, tensor<1x?x1xf32>, tensor<1x?x1xf32>)
  %dtb = m2.constant dense<-4.0> : tensor<1xf32>
  %A = m2.constant dense<1.0> : tensor<1xf32>
  %D = m2.constant dense<1.0> : tensor<1xf32>
  // expected-error @+1 {{m2-lower-to-ovl: m2.ssd has a positive A (head 0)}}
  %y = m2.ssd %x, %dt, %dtb, %A, %B, %C, %D {ngroups = 1 : i64, quant.b_exp = -5 : i64, quant.c_exp = -5 : i64, quant.decay_frac = 15 : i64, quant.dt_frac = 10 : i64, quant.state_bits = 16 : i64, quant.state_exp = -12 : i64, quant.x_exp = -5 : i64} : (tensor<1x?x1xf32>, tensor<1x?x1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x?x1xf32>, tensor<1x?x1xf32>, tensor<1xf32>) -> tensor<1x?x1xf32>
  return %h : tensor<1x?x4xf32>
}

// -----

// B's exponents differ inside its one group of N = 2 (ssmout sums over N with one shift).
func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x6xf32> {
  %emb = m2.constant dense<0.5> : tensor<4x6xf32>
  %h = m2.embedding %ids, %emb : (tensor<1x?xi64>, tensor<4x6xf32>) -> tensor<1x?x6xf32>
  %one = m2.constant dense<1.0> : tensor<6xf32>
  %n = m2.rms_norm %h, %one {eps = 1.0e-5 : f32, calib.in_absmax = 1.0 : f32} : (tensor<1x?x6xf32>, tensor<6xf32>) -> tensor<1x?x6xf32>
  %x, %B, %C, %dt = m2.split %n {sizes = array<i64: 1, 2, 2, 1>} : (tensor<1x?x6xf32>) -> (tensor<1x?x1xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<1x?x1xf32>)
  %dtb = m2.constant dense<-4.0> : tensor<1xf32>
  %A = m2.constant dense<-1.0> : tensor<1xf32>
  %D = m2.constant dense<1.0> : tensor<1xf32>
  // expected-error @+1 {{B's and C's exponents must be equal within each of the 1 groups (ssmout sums over N with one shift)}}
  %y = m2.ssd %x, %dt, %dtb, %A, %B, %C, %D {ngroups = 1 : i64, quant.b_exp = dense<[-5, -6]> : tensor<2xi32>, quant.c_exp = -5 : i64, quant.decay_frac = 15 : i64, quant.dt_frac = 10 : i64, quant.state_bits = 16 : i64, quant.state_exp = -12 : i64, quant.x_exp = -5 : i64} : (tensor<1x?x1xf32>, tensor<1x?x1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<1xf32>) -> tensor<1x?x1xf32>
  return %h : tensor<1x?x6xf32>
}
