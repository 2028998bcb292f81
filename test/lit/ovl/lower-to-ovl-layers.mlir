// RUN: mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl)' %s | FileCheck %s
// RUN: mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl{layer-forms=false})' %s | FileCheck %s --check-prefix=OWN
// Tests m2-lower-to-ovl's one op form for every layer (option layer-forms, on by default) on a
// two-layer model: layer 0 is lower-to-ovl-group.mlir's layer (per-head exponents that differ:
// conv input 2^-4 / 2^-5 / 2^-3, x 2^-5 / 2^-6, state 2^-12 / 2^-14), layer 1 the same with
// per-channel exponents that all agree (conv input 2^-4, x 2^-5, state 2^-12) and a norm eps
// (1e-20) that rounds to 0. Layer 1 must have layer 0's ops with its own parameters, each equal
// to the narrower form it had before (OWN, layer-forms=false): the conv output by a `mul` per
// channel (2^4 as 2^29 >> 25, not a shift by -4), x by a `requant` per channel (2^-11 as 2^29
// >> 40, not a shr by 11), dt * x times 2^0 per channel, the D skip and y's unit per channel,
// and the add of eps (0). B and C keep their shr: their exponents agree in every layer.

// Layer 1's input norm (after layer 0's conv and gated norm), then its conv (state %arg3).
// CHECK: ovl.conv4 %{{.*}}, %{{.*}}, %{{.*}}, %arg1
// CHECK: ovl.sumsq
// CHECK: %[[SS1:.*]] = ovl.sumsq
// CHECK-NEXT: %[[EPS:.*]] = ovl.constant dense<0> : tensor<1x1xi32>
// CHECK-NEXT: %[[E:.*]] = ovl.add %[[SS1]], %[[EPS]]
// CHECK: ovl.rsqrt %[[E]]
// CHECK: %[[CY:.*]], %{{.*}} = ovl.conv4 %{{.*}}, %{{.*}}, %{{.*}}, %arg3
// CHECK-NEXT: %[[CM:.*]] = ovl.constant dense<536870912> : tensor<1x8xi32>
// CHECK-NEXT: %[[C16:.*]] = ovl.mul %[[CY]], %[[CM]] {shift = 25 : i64}
// CHECK: %[[SILU:.*]] = ovl.pwl %[[C16]], %{{.*}} {function = "silu"}
// CHECK: %[[XS:.*]] = ovl.slice %[[SILU]] {offset = 0 : i64, size = 4 : i64}
// CHECK-DAG: %[[XSH:.*]] = ovl.constant dense<40> : tensor<4xi8>
// CHECK-DAG: %[[XM:.*]] = ovl.constant dense<536870912> : tensor<4xi32>
// CHECK: %[[X8:.*]] = ovl.requant %[[XS]], %[[XM]], %[[XSH]] : (tensor<?x4xi32>, tensor<4xi32>, tensor<4xi8>) -> tensor<?x4xi8>
// CHECK: ovl.shr %{{.*}} {shift = 11 : i64} : (tensor<?x2xi32>) -> tensor<?x2xi8>
// CHECK: ovl.shr %{{.*}} {shift = 11 : i64} : (tensor<?x2xi32>) -> tensor<?x2xi8>
// CHECK: %[[X32:.*]] = ovl.sext %[[X8]]
// CHECK-NEXT: %[[DTX:.*]] = ovl.mul %[[X32]]
// CHECK-NEXT: %[[J:.*]] = ovl.constant dense<1> : tensor<1x4xi32>
// CHECK-NEXT: %[[DTX1:.*]] = ovl.mul %[[DTX]], %[[J]] {shift = 0 : i64}
// CHECK-NEXT: %[[Y:.*]], %{{.*}} = ovl.ssm %[[DTX1]], {{.*}}, %arg4
// CHECK-NEXT: %[[DQ:.*]] = ovl.constant {{.*}} : tensor<1x4xi32>
// CHECK-NEXT: %[[DX:.*]] = ovl.mul %[[XS]], %[[DQ]]
// CHECK-NEXT: %[[YD:.*]] = ovl.add %[[Y]], %[[DX]]
// CHECK: %[[YM:.*]] = ovl.constant dense<536870912> : tensor<1x4xi32>
// CHECK-NEXT: ovl.mul %[[YD]], %[[YM]] {shift = 29 : i64}

// OWN: ovl.conv4 %{{.*}}, %{{.*}}, %{{.*}}, %arg1
// OWN: ovl.sumsq
// OWN: %[[SS1:.*]] = ovl.sumsq
// OWN-NEXT: ovl.constant
// OWN-NEXT: ovl.rsqrt %[[SS1]]
// OWN: %[[CY:.*]], %{{.*}} = ovl.conv4 %{{.*}}, %{{.*}}, %{{.*}}, %arg3
// OWN-NEXT: %[[C16:.*]] = ovl.shift %[[CY]] {shift = -4 : i64}
// OWN: %[[SILU:.*]] = ovl.pwl %[[C16]], %{{.*}} {function = "silu"}
// OWN: %[[XS:.*]] = ovl.slice %[[SILU]] {offset = 0 : i64, size = 4 : i64}
// OWN: %[[X8:.*]] = ovl.shr %[[XS]] {shift = 11 : i64} : (tensor<?x4xi32>) -> tensor<?x4xi8>
// OWN: %[[X32:.*]] = ovl.sext %[[X8]]
// OWN-NEXT: %[[DTX:.*]] = ovl.mul %[[X32]]
// OWN-NEXT: %[[Y:.*]], %{{.*}} = ovl.ssm %[[DTX]], {{.*}}, %arg4
// OWN-NEXT: %[[DQ:.*]] = ovl.constant {{.*}} : tensor<1x2xi32>
// OWN-NEXT: %[[DX:.*]] = ovl.mul %[[XS]], %[[DQ]]
// OWN-NEXT: %[[YD:.*]] = ovl.add %[[Y]], %[[DX]]
// OWN: %[[SZ:.*]] = ovl.pwl %{{.*}}, %{{.*}} {function = "silu"}
// OWN-NEXT: ovl.mul %[[YD]], %[[SZ]]

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
    %n_1 = m2.rms_norm %h2, %one {eps = 1.0e-20 : f32, calib.in_absmax = 1.0 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %wi_1 = m2.constant dense<[[127, 0, -64, 3], [1, 2, 3, 4], [-5, 6, -7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20], [21, 22, 23, 24], [25, 26, 27, 28], [29, 30, 31, 32], [33, 34, 35, 36], [37, 38, 39, 40], [41, 42, 43, 44], [45, 46, 47, 48], [49, 50, 51, 52]]> : tensor<14x4xi8>
    %si_1 = m2.constant dense<16777216> : tensor<14x1xi32>
    %oi_1 = m2.constant dense<[1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3]> : tensor<14xf32>
    %p_1 = m2.qlinear %n_1, %wi_1, %si_1, %oi_1 {act_bits = 8 : i64, act_mode = "tensor", act_scale = 0.03 : f32, group = 4 : i64, shift = 10 : i64, weight_bits = 8 : i64} : (tensor<1x?x4xf32>, tensor<14x4xi8>, tensor<14x1xi32>, tensor<14xf32>) -> tensor<1x?x14xf32>
    %z_1, %xbc_1, %dt_1 = m2.split %p_1 {sizes = array<i64: 4, 8, 2>} : (tensor<1x?x14xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x8xf32>, tensor<1x?x2xf32>)
    %cw_1 = m2.constant dense<0.25> : tensor<8x4xf32>
    %cb_1 = m2.constant dense<0.5> : tensor<8xf32>
    %c_1 = m2.conv1d %xbc_1, %cw_1, %cb_1 {quant.in_exp = dense<-4> : tensor<8xi32>, quant.state_bits = 8 : i64, quant.w_exp = dense<-8> : tensor<8xi32>} : (tensor<1x?x8xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<1x?x8xf32>
    %t_1 = m2.constant dense<[-524288, 20, 1, 28, 0, 134217728]> : tensor<6xi32>
    %sc_1 = m2.pwl %c_1, %t_1 {function = "silu", in_frac = 16 : i64, out_frac = 16 : i64} : (tensor<1x?x8xf32>, tensor<6xi32>) -> tensor<1x?x8xf32>
    %x_1, %B_1, %C_1 = m2.split %sc_1 {sizes = array<i64: 4, 2, 2>} : (tensor<1x?x8xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>)
    %dtb_1 = m2.constant dense<[-4.0, -3.0]> : tensor<2xf32>
    %A_1 = m2.constant dense<[-1.0, -2.0]> : tensor<2xf32>
    %D_1 = m2.constant dense<[1.0, 0.5]> : tensor<2xf32>
    %y_1 = m2.ssd %x_1, %dt_1, %dtb_1, %A_1, %B_1, %C_1, %D_1 {ngroups = 1 : i64, quant.b_exp = -5 : i64, quant.c_exp = -5 : i64, quant.decay_frac = 15 : i64, quant.dt_frac = 10 : i64, quant.state_bits = 16 : i64, quant.state_exp = dense<-12> : tensor<4xi32>, quant.x_exp = dense<-5> : tensor<4xi32>} : (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<2xf32>) -> tensor<1x?x4xf32>
    %g_1 = m2.gated_rms_norm %y_1, %z_1, %one {eps = 1.0e-5 : f32, ngroups = 1 : i64, calib.g_absmax = 4.0 : f32} : (tensor<1x?x4xf32>, tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %r_1 = m2.hadamard %g_1 : tensor<1x?x4xf32>
    %wo_1 = m2.constant dense<[[7, -8, 1, 0], [2, 3, -4, 5], [-1, -1, 1, 1], [6, 5, 4, 3]]> : tensor<4x4xi8>
    %so_1 = m2.constant dense<16777216> : tensor<4x1xi32>
    %oo_1 = m2.constant dense<[1.0e-2, 2.0e-2, 3.0e-2, 4.0e-2]> : tensor<4xf32>
    %u_1 = m2.qlinear %r_1, %wo_1, %so_1, %oo_1 {act_bits = 4 : i64, act_mode = "tensor", act_scale = 0.5 : f32, group = 4 : i64, shift = 12 : i64, weight_bits = 4 : i64} : (tensor<1x?x4xf32>, tensor<4x4xi8>, tensor<4x1xi32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %h3 = m2.residual_add %h2, %u_1 : tensor<1x?x4xf32>
    %n2 = m2.rms_norm %h3, %one {eps = 1.0e-5 : f32, calib.in_absmax = 2.0 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %wl = m2.constant dense<[[1, 2, 3, 4], [-4, -3, -2, -1], [100, 0, 0, 0], [0, 0, 0, -100]]> : tensor<4x4xi8>
    %sl = m2.constant dense<16777216> : tensor<4x1xi32>
    %ol = m2.constant dense<[5.0e-3, 5.0e-3, 1.0e-2, 1.0e-2]> : tensor<4xf32>
    %l = m2.qlinear %n2, %wl, %sl, %ol {act_bits = 8 : i64, act_mode = "tensor", act_scale = 0.04 : f32, group = 4 : i64, shift = 10 : i64, weight_bits = 8 : i64} : (tensor<1x?x4xf32>, tensor<4x4xi8>, tensor<4x1xi32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    return %l : tensor<1x?x4xf32>
  }
}
