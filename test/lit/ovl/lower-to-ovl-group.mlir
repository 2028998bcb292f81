// RUN: mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl)' %s | FileCheck %s
// Tests m2-lower-to-ovl on lower-to-ovl.mlir's one-layer model with per-group power-of-two
// exponents (m2-quantize-ssm's group=head): the conv input per channel group (2^-4 for x's first
// head, 2^-5 for its second, 2^-3 for B and C), x per head (2^-5, 2^-6), the state per head
// (2^-12, 2^-14), B and C per group. The unchanged ovl.ssm has one input shift: head 0 needs
// -12 - (-5 - 10 - 5) = 8, head 1 -14 - (-6 - 10 - 5) = 7, so head 1's dt * x is doubled first
// and the scan shifts by 8. y has a unit per head (2^-17, 2^-19): the D skip is per channel and
// the gated norm takes y in the coarser unit.

// The conv: its input requantised per channel, its output (units 2^-12, 2^-13, 2^-11) to the SiLU
// table's 2^-16 by a per-channel multiplier (2^4, 2^3, 2^5 as 2^28, 2^27, 2^29 with a shift of 24).
// CHECK: %[[XQ:.*]] = ovl.requant %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x8xi32>, tensor<8xi32>, tensor<8xi8>) -> tensor<?x8xi8>
// CHECK: %[[CY:.*]], %[[CS:.*]] = ovl.conv4 %[[XQ]]
// CHECK: %[[C16M:.*]] = ovl.constant dense<{{\[\[}}268435456, 268435456, 134217728, 134217728, 536870912, 536870912, 536870912, 536870912]]> : tensor<1x8xi32>
// CHECK: %[[C16:.*]] = ovl.mul %[[CY]], %[[C16M]] {shift = 24 : i64}
// CHECK: %[[SILU:.*]] = ovl.pwl %[[C16]], %{{.*}} {function = "silu"}
// CHECK: %[[XS:.*]] = ovl.slice %[[SILU]] {offset = 0 : i64, size = 4 : i64}
// x to int8 per head (a requantisation per channel); B and C by a shift of 16 - 5 as before.
// CHECK: %[[X8:.*]] = ovl.requant %[[XS]], %{{.*}}, %{{.*}} : (tensor<?x4xi32>, tensor<4xi32>, tensor<4xi8>) -> tensor<?x4xi8>
// CHECK: %[[B8:.*]] = ovl.shr %{{.*}} {shift = 11 : i64} : (tensor<?x2xi32>) -> tensor<?x2xi8>
// CHECK: %[[C8:.*]] = ovl.shr %{{.*}} {shift = 11 : i64} : (tensor<?x2xi32>) -> tensor<?x2xi8>
// CHECK: %[[SP:.*]] = ovl.pwl %{{.*}}, %{{.*}} {function = "softplus"}
// CHECK: %[[DECAY:.*]] = ovl.pwl %{{.*}}, %{{.*}} {function = "exp"}
// CHECK: %[[X32:.*]] = ovl.sext %[[X8]] {shift = 0 : i64}
// CHECK: %[[DTX:.*]] = ovl.mul %[[X32]], %[[SP]] {shift = 0 : i64} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
// CHECK: %[[J:.*]] = ovl.constant dense<{{\[\[}}1, 1, 2, 2]]> : tensor<1x4xi32>
// CHECK: %[[DTX2:.*]] = ovl.mul %[[DTX]], %[[J]] {shift = 0 : i64}
// CHECK: %[[Y:.*]], %[[SS1:.*]] = ovl.ssm %[[DTX2]], %[[DECAY]], %[[B8]], %[[C8]], %arg2 {decay_shift = 15 : i64, in_shift = 8 : i64, ngroups = 1 : i64, out_shift = 0 : i64}
// D skip per channel (D = 1, 0.5 at x's 2^-16 in y's 2^-17, 2^-19: 2, 2, 4, 4 times 2^27).
// CHECK: %[[DQ:.*]] = ovl.constant dense<{{\[\[}}268435456, 268435456, 536870912, 536870912]]> : tensor<1x4xi32>
// CHECK: %[[DX:.*]] = ovl.mul %[[XS]], %[[DQ]] {shift = 27 : i64}
// CHECK: %[[YD:.*]] = ovl.add %[[Y]], %[[DX]]
// The gated norm: y in the coarser unit 2^-17 (head 1 shifted right by 2).
// CHECK: %[[YM:.*]] = ovl.constant dense<{{\[\[}}536870912, 536870912, 134217728, 134217728]]> : tensor<1x4xi32>
// CHECK: %[[Y17:.*]] = ovl.mul %[[YD]], %[[YM]] {shift = 29 : i64}
// CHECK: %[[SZ:.*]] = ovl.pwl %{{.*}}, %{{.*}} {function = "silu"}
// CHECK: ovl.mul %[[Y17]], %[[SZ]]
// CHECK: return %{{.*}}, %[[CS]], %[[SS1]] : tensor<?x4xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>

module {
  func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
    %emb = m2.constant dense<[[0.5, -0.25, 0.125, 1.0], [1.0, 0.5, -0.5, 0.25], [-1.0, 0.0, 0.5, 0.5], [0.25, 0.25, -0.25, -0.25]]> : tensor<4x4xf32>
    %h = m2.embedding %ids, %emb : (tensor<1x?xi64>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
    %one = m2.constant dense<1.0> : tensor<4xf32>
    %n = m2.rms_norm %h, %one {eps = 1.0e-5 : f32, calib.in_absmax = 1.0 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %wi = m2.constant dense<[[127, 0, -64, 3], [1, 2, 3, 4], [-5, 6, -7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20], [21, 22, 23, 24], [25, 26, 27, 28], [29, 30, 31, 32], [33, 34, 35, 36], [37, 38, 39, 40], [41, 42, 43, 44], [45, 46, 47, 48], [49, 50, 51, 52]]> : tensor<14x4xi8>
    %si = m2.constant dense<16777216> : tensor<14x1xi32>
    %oi = m2.constant dense<[1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3]> : tensor<14xf32>
    %p = m2.qlinear %n, %wi, %si, %oi {act_bits = 8 : i64, act_mode = "tensor", act_scale = 0.03 : f32, group = 4 : i64, shift = 10 : i64, weight_bits = 8 : i64} : (tensor<1x?x4xf32>, tensor<14x4xi8>, tensor<14x1xi32>, tensor<14xf32>) -> tensor<1x?x14xf32>
    %z, %xbc, %dt = m2.split %p {sizes = array<i64: 4, 8, 2>} : (tensor<1x?x14xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x8xf32>, tensor<1x?x2xf32>)
    %cw = m2.constant dense<0.25> : tensor<8x4xf32>
    %cb = m2.constant dense<0.5> : tensor<8xf32>
    %c = m2.conv1d %xbc, %cw, %cb {quant.in_exp = dense<[-4, -4, -5, -5, -3, -3, -3, -3]> : tensor<8xi32>, quant.state_bits = 8 : i64, quant.w_exp = dense<-8> : tensor<8xi32>} : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
    %t = m2.constant dense<[-524288, 20, 1, 28, 0, 134217728]> : tensor<6xi32>
    %sc = m2.pwl %c, %t {function = "silu", in_frac = 16 : i64, out_frac = 16 : i64} : (tensor<1x?x8xf32>, tensor<6xi32>) -> tensor<1x?x8xf32>
    %x, %B, %C = m2.split %sc {sizes = array<i64: 4, 2, 2>} : (tensor<1x?x8xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>)
    %dtb = m2.constant dense<[-4.0, -3.0]> : tensor<2xf32>
    %A = m2.constant dense<[-1.0, -2.0]> : tensor<2xf32>
    %D = m2.constant dense<[1.0, 0.5]> : tensor<2xf32>
    %y = m2.ssd %x, %dt, %dtb, %A, %B, %C, %D {ngroups = 1 : i64, quant.b_exp = -5 : i64, quant.c_exp = -5 : i64, quant.decay_frac = 15 : i64, quant.dt_frac = 10 : i64, quant.state_bits = 16 : i64, quant.state_exp = dense<[-12, -12, -14, -14]> : tensor<4xi32>, quant.x_exp = dense<[-5, -5, -6, -6]> : tensor<4xi32>} : (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<2xf32>) -> tensor<1x?x4xf32>
    %g = m2.gated_rms_norm %y, %z, %one {eps = 1.0e-5 : f32, ngroups = 1 : i64, calib.g_absmax = 4.0 : f32} : (tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %r = m2.hadamard %g : tensor<1x?x4xf32>
    %wo = m2.constant dense<[[7, -8, 1, 0], [2, 3, -4, 5], [-1, -1, 1, 1], [6, 5, 4, 3]]> : tensor<4x4xi8>
    %so = m2.constant dense<16777216> : tensor<4x1xi32>
    %oo = m2.constant dense<[1.0e-2, 2.0e-2, 3.0e-2, 4.0e-2]> : tensor<4xf32>
    %u = m2.qlinear %r, %wo, %so, %oo {act_bits = 4 : i64, act_mode = "tensor", act_scale = 0.5 : f32, group = 4 : i64, shift = 12 : i64, weight_bits = 4 : i64} : (tensor<1x?x4xf32>, tensor<4x4xi8>, tensor<4x1xi32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %h2 = m2.residual_add %h, %u : tensor<1x?x4xf32>
    %n2 = m2.rms_norm %h2, %one {eps = 1.0e-5 : f32, calib.in_absmax = 2.0 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %wl = m2.constant dense<[[1, 2, 3, 4], [-4, -3, -2, -1], [100, 0, 0, 0], [0, 0, 0, -100]]> : tensor<4x4xi8>
    %sl = m2.constant dense<16777216> : tensor<4x1xi32>
    %ol = m2.constant dense<[5.0e-3, 5.0e-3, 1.0e-2, 1.0e-2]> : tensor<4xf32>
    %l = m2.qlinear %n2, %wl, %sl, %ol {act_bits = 8 : i64, act_mode = "tensor", act_scale = 0.04 : f32, group = 4 : i64, shift = 10 : i64, weight_bits = 8 : i64} : (tensor<1x?x4xf32>, tensor<4x4xi8>, tensor<4x1xi32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    return %l : tensor<1x?x4xf32>
  }
}
