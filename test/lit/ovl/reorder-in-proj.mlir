// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-reorder-in-proj))' %s | FileCheck %s
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-reorder-in-proj),func.func(m2-reorder-in-proj))' %s | FileCheck %s
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-reorder-in-proj),m2-lower-to-ovl)' %s | FileCheck %s --check-prefix=OVL
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-reorder-in-proj))' %S/lower-to-ovl-group.mlir | FileCheck %s --check-prefix=GROUP
// Tests m2-reorder-in-proj alone on the one-layer model of lower-to-ovl.mlir (d_inner 4, 2 heads
// of 2, d_state 2; here with a different weight and bias per conv channel): in_proj's rows move
// from [z 0..3, x 4..7, B 8..9, C 10..11, dt 12..13] to [dt, B, C, x, z], the conv's channels
// from [x, B, C] to [B, C, x], and the splits follow, so every reader gets the same values (a
// second run changes nothing; the logits are compared in unit/lowerovl/HeadGroups).

// In_proj's weight rows in the new order (row i >= 1 of the original holds 4i-3..4i).
// CHECK-LABEL: func.func @main
// CHECK: %[[W:.*]] = m2.constant dense<{{\[\[}}45, 46, 47, 48], [49, 50, 51, 52], [29, 30, 31, 32], [33, 34, 35, 36], [37, 38, 39, 40], [41, 42, 43, 44], [13, 14, 15, 16], [17, 18, 19, 20], [21, 22, 23, 24], [25, 26, 27, 28], [127, 0, -64, 3], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]> : tensor<14x4xi8>
// CHECK: %[[P:.*]] = m2.qlinear %{{.*}}, %[[W]]
// CHECK: %[[S:.*]]:3 = m2.split %[[P]] {sizes = array<i64: 2, 8, 4>}
// The conv's taps and bias: channels B (old 4, 5), C (6, 7), then x (0..3).
// CHECK: m2.constant dense<{{\[\[}}2.500000e-01, {{.*}}], [3.125000e-01, {{.*}}], [3.750000e-01, {{.*}}], [4.375000e-01, {{.*}}], [0.000000e+00, {{.*}}], [6.250000e-02, {{.*}}], [1.250000e-01, {{.*}}], [1.875000e-01, {{.*}}]]> : tensor<8x4xf32>
// CHECK: m2.constant dense<[4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<8xf32>
// CHECK: %[[C:.*]] = m2.conv1d %[[S]]#1
// CHECK: %[[SC:.*]] = m2.pwl %[[C]]
// CHECK: %[[I:.*]]:3 = m2.split %[[SC]] {sizes = array<i64: 2, 2, 4>}
// x, dt, B, C of the scan and z of the gated norm: the same values as before.
// CHECK: m2.ssd %[[I]]#2, %[[S]]#0, %{{.*}}, %{{.*}}, %[[I]]#0, %[[I]]#1,
// CHECK: m2.gated_rms_norm %{{.*}}, %[[S]]#2,

// With per-group exponents (lower-to-ovl-group.mlir: the conv input 2^-4 for x's first head, 2^-5
// for its second, 2^-3 for B and C) the conv's per-channel attributes follow its channels.
// GROUP: m2.conv1d {{.*}}quant.in_exp = dense<[-3, -3, -3, -3, -4, -4, -5, -5]> : tensor<8xi32>

// Lowered: one matmul whose slices are dt (0..1), B/C/x (2..9) and z (10..13).
// OVL: %[[M:.*]] = ovl.matmul
// OVL-DAG: ovl.slice %[[M]] {offset = 0 : i64, size = 2 : i64}
// OVL-DAG: ovl.slice %[[M]] {offset = 2 : i64, size = 8 : i64}
// OVL-DAG: ovl.slice %[[M]] {offset = 10 : i64, size = 4 : i64}

module {
  func.func @main(%ids: tensor<1x?xi64>) -> tensor<1x?x4xf32> {
    %emb = m2.constant dense<[[0.5, -0.25, 0.125, 1.0], [1.0, 0.5, -0.5, 0.25], [-1.0, 0.0, 0.5, 0.5], [0.25, 0.25, -0.25, -0.25]]> : tensor<4x4xf32>
    %h = m2.embedding %ids, %emb : (tensor<1x?xi64>, tensor<4x4xf32>) -> tensor<1x?x4xf32>
    %one = m2.constant dense<1.0> : tensor<4xf32>
    %n = m2.rms_norm %h, %one {eps = 1.0e-5 : f32, calib.in_absmax = 1.0 : f32} : (tensor<1x?x4xf32>, tensor<4xf32>) -> tensor<1x?x4xf32>
    %wi = m2.constant dense<[[127, 0, -64, 3], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20], [21, 22, 23, 24], [25, 26, 27, 28], [29, 30, 31, 32], [33, 34, 35, 36], [37, 38, 39, 40], [41, 42, 43, 44], [45, 46, 47, 48], [49, 50, 51, 52]]> : tensor<14x4xi8>
    %si = m2.constant dense<16777216> : tensor<14x1xi32>
    %oi = m2.constant dense<[1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3, 1.0e-3, 2.0e-3]> : tensor<14xf32>
    %p = m2.qlinear %n, %wi, %si, %oi {act_bits = 8 : i64, act_mode = "tensor", act_scale = 0.03 : f32, group = 4 : i64, shift = 10 : i64, weight_bits = 8 : i64} : (tensor<1x?x4xf32>, tensor<14x4xi8>, tensor<14x1xi32>, tensor<14xf32>) -> tensor<1x?x14xf32>
    %z, %xbc, %dt = m2.split %p {sizes = array<i64: 4, 8, 2>} : (tensor<1x?x14xf32>) -> (tensor<1x?x4xf32>, tensor<1x?x8xf32>, tensor<1x?x2xf32>)
    %cw = m2.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.0625, 0.0625, 0.0625, 0.0625], [0.125, 0.125, 0.125, 0.125], [0.1875, 0.1875, 0.1875, 0.1875], [0.25, 0.25, 0.25, 0.25], [0.3125, 0.3125, 0.3125, 0.3125], [0.375, 0.375, 0.375, 0.375], [0.4375, 0.4375, 0.4375, 0.4375]]> : tensor<8x4xf32>
    %cb = m2.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]> : tensor<8xf32>
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
