// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-fold-norms))' %S/Inputs/tiny.m2 | FileCheck %s

// Tests that RMS norm weights move into the in_proj rows and the lm_head columns (untying the
// table from the embedding), and the norms keep weights of ones.
// CHECK: %[[EMB:.*]] = m2.constant dense<{{\[\[}}1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 2.000000e+00
// CHECK: m2.embedding %arg0, %[[EMB]]
// CHECK: %[[ONES:.*]] = m2.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK: m2.rms_norm %{{.*}}, %[[ONES]]
// in_proj row i times w1[i] = [1, 2, 0.5, 4]:
// CHECK: %[[WIN:.*]] = m2.constant dense<{{\[\[}}1.000000e+00, 0.000000e+00, 5.000000e-01, 0.000000e+00, 1.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+00], [0.000000e+00, 2.000000e+00, 0.000000e+00, 1.000000e+00, 0.000000e+00, 2.000000e+00, 4.000000e+00, 0.000000e+00], [1.250000e-01, 0.000000e+00, 5.000000e-01
// CHECK: m2.linear %{{.*}}, %[[WIN]]
// lm_head column i times w2[i] = [0.5, 1, 1.5, 2]:
// CHECK: %[[HEAD:.*]] = m2.constant dense<{{\[\[}}5.000000e-01, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 2.000000e+00, 0.000000e+00, 0.000000e+00], [5.000000e-01, 1.000000e+00, 1.500000e+00, 2.000000e+00]]>
// CHECK: m2.lm_head %{{.*}}, %[[HEAD]]
// CHECK-NOT: dense<[1.000000e+00, 2.000000e+00, 5.000000e-01, 4.000000e+00]>
