// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-pwl{segments=4}))' %S/Inputs/tiny.m2 | FileCheck %s

// Tests that the SiLU becomes a 4-segment chord table over [-8, 8] (16 fraction bits): header
// x0 = -8 * 2^16, segShift 18 (4 segments of 2^18 = 4.0), n 4, slopeShift 26, then the
// (intercept, slope) pairs; silu(-8) * 2^16 = -176.
// CHECK: %[[T:.*]] = m2.constant dense<[-524288, 18, 4, 26, -176, {{.*}}]> : tensor<12xi32>
// CHECK: m2.pwl %{{.*}}, %[[T]] {function = "silu", in_frac = 16 : i64, out_frac = 16 : i64} : (tensor<1x?x8xf32>, tensor<12xi32>) -> tensor<1x?x8xf32>
// CHECK-NOT: m2.silu
