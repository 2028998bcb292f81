// RUN: mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl)' %s | FileCheck %s
// RUN: mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl)' %s | mamba2-opt | FileCheck %s
// Tests m2-lower-to-ovl alone on a one-layer quantised model (d_model 4, d_inner 4, 2 heads of
// 2, d_state 2, W8A8 in_proj and lm_head, W4A4 out_proj, calibration statistics by hand): the
// signature, the residual stream at 30 - ceil(log2(8 * 2.0)) = 26 fraction bits, and each op's
// lowering in order.

// CHECK-LABEL: func.func @main(%arg0: tensor<?xi32>, %arg1: tensor<8x3xi8>, %arg2: tensor<2x2x2xi32>)
// CHECK-SAME: -> (tensor<?x4xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>)
// CHECK-SAME: attributes {ovl.logit_frac = {{[0-9]+}} : i64, ovl.residual_frac = 26 : i64}
// The embedding at 2^-26: 0.5 -> 2^25.
// CHECK: %[[TAB:.*]] = ovl.constant {name = "embedding"} dense<{{\[\[}}33554432, -16777216, 8388608, 67108864]
// CHECK: %[[H:.*]] = ovl.embed %arg0, %[[TAB]]
// RMSNorm: sum of squares, + eps, rsqrt, h * r, requantised to the static act scale.
// CHECK: %[[SS:.*]] = ovl.sumsq %[[H]] {groups = 1 : i64, shift = {{[0-9]+}} : i64}
// CHECK: ovl.add %[[SS]]
// CHECK: %[[R:.*]] = ovl.rsqrt
// CHECK: %[[N:.*]] = ovl.mul %[[H]], %[[R]]
// CHECK: %[[A:.*]] = ovl.requant %[[N]], %{{.*}}, %{{.*}} : (tensor<?x4xi32>, tensor<1xi32>, tensor<1xi8>) -> tensor<?x4xi8>
// in_proj: gmm8, then the three parts.
// CHECK: %[[P:.*]] = ovl.matmul %[[A]], %{{.*}}, %{{.*}} {bits = 8 : i64, group = 4 : i64, shift = 10 : i64}
// CHECK: %[[Z:.*]] = ovl.slice %[[P]] {offset = 0 : i64, size = 4 : i64}
// CHECK: %[[XBC:.*]] = ovl.slice %[[P]] {offset = 4 : i64, size = 8 : i64}
// CHECK: %[[DT:.*]] = ovl.slice %[[P]] {offset = 12 : i64, size = 2 : i64}
// The conv input per channel to 2^in_exp, conv4 on the first state, its output (2^-12) to the
// SiLU table's 2^-16, and x, B, C to their 2^-5 by a shift of 16 - 5.
// CHECK: %[[XQ:.*]] = ovl.requant %[[XBC]], %{{.*}}, %{{.*}} : (tensor<?x8xi32>, tensor<8xi32>, tensor<8xi8>) -> tensor<?x8xi8>
// CHECK: %[[CY:.*]], %[[CS:.*]] = ovl.conv4 %[[XQ]], %{{.*}}, %{{.*}}, %arg1
// CHECK: %[[C16:.*]] = ovl.shift %[[CY]] {shift = -4 : i64}
// CHECK: %[[SILU:.*]] = ovl.pwl %[[C16]], %{{.*}} {function = "silu"}
// CHECK: ovl.slice %[[SILU]] {offset = 0 : i64, size = 4 : i64}
// CHECK: ovl.slice %[[SILU]] {offset = 4 : i64, size = 2 : i64}
// CHECK: ovl.slice %[[SILU]] {offset = 6 : i64, size = 2 : i64}
// CHECK: %[[X8:.*]] = ovl.shr %{{.*}} {shift = 11 : i64} : (tensor<?x4xi32>) -> tensor<?x4xi8>
// CHECK: %[[B8:.*]] = ovl.shr %{{.*}} {shift = 11 : i64} : (tensor<?x2xi32>) -> tensor<?x2xi8>
// CHECK: %[[C8:.*]] = ovl.shr %{{.*}} {shift = 11 : i64} : (tensor<?x2xi32>) -> tensor<?x2xi8>
// dt: to 2^-16, + dt_bias (-4 * 2^16), softplus to 2^-10, * A (2^16) >> 10, exp to 2^-15.
// CHECK: %[[DT16:.*]] = ovl.mul %[[DT]], %{{.*}} {shift = {{[0-9]+}} : i64} : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
// CHECK: %[[BIAS:.*]] = ovl.constant dense<{{\[\[}}-262144, -196608]]> : tensor<1x2xi32>
// CHECK: %[[DTB:.*]] = ovl.add %[[DT16]], %[[BIAS]]
// CHECK: %[[SP:.*]] = ovl.pwl %[[DTB]], %{{.*}} {function = "softplus"}
// CHECK: %[[AQ:.*]] = ovl.constant dense<{{\[\[}}-65536, -131072]]> : tensor<1x2xi32>
// CHECK: %[[DA:.*]] = ovl.mul %[[SP]], %[[AQ]] {shift = 10 : i64}
// CHECK: %[[DECAY:.*]] = ovl.pwl %[[DA]], %{{.*}} {function = "exp"}
// dtx = x * dt per head; the scan with in_shift = -12 - (-5 - 10 - 5) = 8.
// CHECK: %[[X32:.*]] = ovl.sext %[[X8]] {shift = 0 : i64}
// CHECK: %[[DTX:.*]] = ovl.mul %[[X32]], %[[SP]] {shift = 0 : i64} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
// CHECK: %[[Y:.*]], %[[SS1:.*]] = ovl.ssm %[[DTX]], %[[DECAY]], %[[B8]], %[[C8]], %arg2 {decay_shift = 15 : i64, in_shift = 8 : i64, ngroups = 1 : i64, out_shift = 0 : i64}
// The D skip in y's unit.
// CHECK: %[[DX:.*]] = ovl.mul %[[X32]], %{{.*}} : (tensor<?x4xi32>, tensor<1x2xi32>) -> tensor<?x4xi32>
// CHECK: %[[YD:.*]] = ovl.add %[[Y]], %[[DX]]
// Gated norm: z to 2^-16, SiLU, y * silu(z), the group's norm, the online Hadamard.
// CHECK: %[[Z16:.*]] = ovl.mul %[[Z]]
// CHECK: %[[SZ:.*]] = ovl.pwl %[[Z16]], %{{.*}} {function = "silu"}
// CHECK: %[[G:.*]] = ovl.mul %[[YD]], %[[SZ]]
// CHECK: ovl.sumsq %[[G]] {groups = 1 : i64
// CHECK: ovl.rsqrt
// CHECK: %[[GN:.*]] = ovl.mul %[[G]]
// CHECK: %[[HD:.*]] = ovl.fwht %[[GN]]
// out_proj with 4-bit activations: requantised (a shift here: the unit ratio is 2^-27), clamped to [-7, 7] by a table of 16 unit
// segments, gmm4, then per channel to the residual's 2^-26 and added.
// CHECK: %[[Q4:.*]] = ovl.{{requant|shr}} %[[HD]]
// CHECK: %[[Q32:.*]] = ovl.sext %[[Q4]] {shift = 0 : i64}
// CHECK: %[[CT:.*]] = ovl.constant dense<[-8, 0, 16, 0, -7, 0, -7, 0, -6, 0, -5, 0, -4, 0, -3, 0, -2, 0, -1, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0]> : tensor<36xi32>
// CHECK: %[[CL:.*]] = ovl.pwl %[[Q32]], %[[CT]] {function = "clamp"}
// CHECK: %[[QC:.*]] = ovl.shr %[[CL]] {shift = 0 : i64}
// CHECK: %[[O:.*]] = ovl.matmul %[[QC]], %{{.*}}, %{{.*}} {bits = 4 : i64, group = 4 : i64
// CHECK: %[[O26:.*]] = ovl.mul %[[O]], %{{.*}} : (tensor<?x4xi32>, tensor<1x4xi32>) -> tensor<?x4xi32>
// CHECK: %[[H2:.*]] = ovl.add %[[H]], %[[O26]]
// The final norm and the lm_head, per channel to the common logit unit.
// CHECK: ovl.sumsq %[[H2]]
// CHECK: %[[L:.*]] = ovl.matmul
// CHECK: %[[LOG:.*]] = ovl.mul %[[L]]
// CHECK: return %[[LOG]], %[[CS]], %[[SS1]] : tensor<?x4xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>
// CHECK-NOT: m2.

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
    %c = m2.conv1d %xbc, %cw, %cb {quant.in_exp = -4 : i64, quant.state_bits = 8 : i64, quant.w_exp = -8 : i64} : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
    %t = m2.constant dense<[-524288, 20, 1, 28, 0, 134217728]> : tensor<6xi32>
    %sc = m2.pwl %c, %t {function = "silu", in_frac = 16 : i64, out_frac = 16 : i64} : (tensor<1x?x8xf32>, tensor<6xi32>) -> tensor<1x?x8xf32>
    %x, %B, %C = m2.split %sc {sizes = array<i64: 4, 2, 2>} : (tensor<1x?x8xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>)
    %dtb = m2.constant dense<[-4.0, -3.0]> : tensor<2xf32>
    %A = m2.constant dense<[-1.0, -2.0]> : tensor<2xf32>
    %D = m2.constant dense<[1.0, 0.5]> : tensor<2xf32>
    %y = m2.ssd %x, %dt, %dtb, %A, %B, %C, %D {ngroups = 1 : i64, quant.b_exp = -5 : i64, quant.c_exp = -5 : i64, quant.decay_frac = 15 : i64, quant.dt_frac = 10 : i64, quant.state_bits = 16 : i64, quant.state_exp = -12 : i64, quant.x_exp = -5 : i64} : (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<2xf32>) -> tensor<1x?x4xf32>
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
