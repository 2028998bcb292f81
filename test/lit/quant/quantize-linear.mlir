// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-fold-norms,m2-quantize-linear))' %S/Inputs/tiny.m2 | FileCheck %s
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-fold-norms,m2-quantize-linear{weight-bits=4 act-bits=4 group=2 lm-head-bits=0}))' %S/Inputs/tiny.m2 | FileCheck %s --check-prefix=W4

// Tests W8A8: per output channel, the folded in_proj column 0 = (1, 0, 0.125, 0) -> round(127 *
// w / 1) = (127, 0, 16, 0); one group, scale 2^24; F = 14 fraction bits (4 * 127 * 127 * 2^15
// would pass 2^30), so shift = 10; out_scale = (1 / 127) * 2^-14 = 4.8059e-7.
// CHECK: %[[W:.*]] = m2.constant dense<{{\[\[}}127, 0, 16, 0], [0, 127, 0, -127]
// CHECK-SAME: tensor<8x4xi8>
// CHECK: %[[S:.*]] = m2.constant dense<16777216> : tensor<8x1xi32>
// CHECK: %[[O:.*]] = m2.constant dense<[4.8059178E-7,
// CHECK: m2.qlinear %{{.*}}, %[[W]], %[[S]], %[[O]] {act_bits = 8 : i64, act_mode = "token", group = 4 : i64, shift = 10 : i64, weight_bits = 8 : i64} : (tensor<1x?x4xf32>, tensor<8x4xi8>, tensor<8x1xi32>, tensor<8xf32>) -> tensor<1x?x8xf32>
// CHECK: m2.qlinear {{.*}} shift = 11 : i64, weight_bits = 8 : i64} : (tensor<1x?x8xf32>, tensor<4x8xi8>
// The lm_head becomes a qlinear on the (vocab, d) table:
// CHECK: m2.qlinear {{.*}} : (tensor<1x?x4xf32>, tensor<3x4xi8>, tensor<3x1xi32>, tensor<3xf32>) -> tensor<1x?x3xf32>
// CHECK-NOT: m2.linear

// Tests W4A4 with groups of 2: column 0 = (1, 0 | 0.125, 0) -> (7, 0 | 7, 0), the second
// group's scale is 0.125 of the first: 2^21 = 2097152.
// W4: m2.constant dense<{{\[\[}}7, 0, 7, 0],
// W4: m2.constant dense<{{\[\[}}16777216, 2097152],
// W4: m2.qlinear {{.*}} {act_bits = 4 : i64, act_mode = "token", group = 2 : i64, shift = 2 : i64, weight_bits = 4 : i64}
// W4: m2.lm_head
