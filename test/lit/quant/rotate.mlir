// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-fold-norms,m2-rotate))' %S/Inputs/tiny.m2 | FileCheck %s
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-fold-norms,m2-rotate{online=false}))' %S/Inputs/tiny.m2 | FileCheck %s --check-prefix=OFFLINE
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-fold-norms,m2-rotate{seed=5}))' %S/Inputs/tiny.m2 | FileCheck %s --check-prefix=RANDOM

// Tests that the embedding rows become H e / 2 (H the order-4 Sylvester matrix of isa's fwht):
// e0 -> [.5 .5 .5 .5], 2 e1 -> [1 -1 1 -1], (1 1 1 1) -> [2 0 0 0]; the lm_head table rotates
// the same way; an online Hadamard of d_inner = 8 comes before out_proj.
// CHECK: %[[T:.*]] = m2.constant dense<{{\[\[}}5.000000e-01, 5.000000e-01, 5.000000e-01, 5.000000e-01], [1.000000e+00, -1.000000e+00, 1.000000e+00, -1.000000e+00], [2.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<3x4xf32>
// CHECK: m2.embedding %arg0, %[[T]]
// CHECK: %[[S:.*]] = m2.silu
// CHECK: %[[H:.*]] = m2.hadamard %[[S]] : tensor<1x?x8xf32>
// CHECK: m2.linear %[[H]], %{{.*}} : (tensor<1x?x8xf32>, tensor<8x4xf32>)
// CHECK: m2.constant dense<{{\[\[}}2.500000e-01, 2.500000e-01, 2.500000e-01, 2.500000e-01], [1.000000e+00, -1.000000e+00, 1.000000e+00, -1.000000e+00], [2.500000e+00, -5.000000e-01, -1.000000e+00, 0.000000e+00]]>

// OFFLINE-NOT: m2.hadamard
// OFFLINE: m2.lm_head

// Tests that random signs change the rotation and the online transform records its seed.
// RANDOM-NOT: dense<{{\[\[}}5.000000e-01, 5.000000e-01, 5.000000e-01, 5.000000e-01]
// RANDOM: m2.hadamard %{{.*}} {seed = 6 : i64}
