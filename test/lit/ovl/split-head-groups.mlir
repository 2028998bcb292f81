// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-reorder-in-proj),m2-lower-to-ovl)' %S/reorder-in-proj.mlir | mamba2-opt --pass-pipeline='builtin.module(func.func(ovl-split-head-groups{heads-per-group=1}))' | FileCheck %s
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-reorder-in-proj),m2-lower-to-ovl)' %S/reorder-in-proj.mlir | mamba2-opt --pass-pipeline='builtin.module(func.func(ovl-split-head-groups{target=u280}))' | FileCheck %s --check-prefix=COST
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-reorder-in-proj),m2-lower-to-ovl)' %S/reorder-in-proj.mlir | mamba2-opt --pass-pipeline='builtin.module(func.func(ovl-split-head-groups{heads-per-group=1 release-weights=true}))' | FileCheck %s
// Tests ovl-split-head-groups alone on the lowered one-layer model of reorder-in-proj.mlir (2
// heads of 2, d_state 2, in_proj [dt 0..1, B 2..3, C 4..5, x 6..9, z 10..13]) with one head per
// group: one matmul for dt/B/C, B and C convs, then per head its x matmul, conv and scan (the D
// skip of a head after the next head's scan), a concat, and z's matmul before the gated norm. The conv state becomes four states (B,
// C, x of each head), the SSM state two. (The logits: unit/lowerovl/HeadGroups.)

// CHECK-LABEL: func.func @main(%arg0: tensor<?xi32>, %arg1: tensor<2x3xi8>, %arg2: tensor<2x3xi8>, %arg3: tensor<2x3xi8>, %arg4: tensor<2x3xi8>, %arg5: tensor<1x2x2xi32>, %arg6: tensor<1x2x2xi32>)
// CHECK-SAME: -> (tensor<?x4xi32>, tensor<2x3xi8>, tensor<2x3xi8>, tensor<2x3xi8>, tensor<2x3xi8>, tensor<1x2x2xi32>, tensor<1x2x2xi32>)
// dt, B and C: in_proj's first six rows in one matmul.
// CHECK: %[[A:.*]] = ovl.requant
// CHECK: ovl.constant dense<{{\[\[}}45, 46, 47, 48], [49, 50, 51, 52], [29, 30, 31, 32], [33, 34, 35, 36], [37, 38, 39, 40], [41, 42, 43, 44]]> : tensor<6x4xi8>
// CHECK: %[[DBC:.*]] = ovl.matmul %[[A]], {{.*}} -> tensor<?x6xi32>
// CHECK-DAG: %[[DT:.*]] = ovl.slice %[[DBC]] {offset = 0 : i64, size = 2 : i64}
// CHECK-DAG: %[[BS:.*]] = ovl.slice %[[DBC]] {offset = 2 : i64, size = 2 : i64}
// CHECK-DAG: %[[CS:.*]] = ovl.slice %[[DBC]] {offset = 4 : i64, size = 2 : i64}
// CHECK: %[[SP:.*]] = ovl.pwl %{{.*}} {function = "softplus"}
// CHECK: %[[DECAY:.*]] = ovl.pwl %{{.*}} {function = "exp"}
// B's conv (channels 0..1 of the old conv: taps 0.25 -> 64) and C's.
// CHECK: %[[BQ:.*]] = ovl.requant %[[BS]]
// CHECK: ovl.constant dense<{{\[\[}}64, 64, 64, 64], [80, 80, 80, 80]]> : tensor<2x4xi8>
// CHECK: ovl.conv4 %[[BQ]], %{{.*}}, %{{.*}}, %arg1
// CHECK: %[[B8:.*]] = ovl.shr
// CHECK: %[[CQ:.*]] = ovl.requant %[[CS]]
// CHECK: ovl.conv4 %[[CQ]], %{{.*}}, %{{.*}}, %arg2
// CHECK: %[[C8:.*]] = ovl.shr
// Head 0: its x rows of in_proj, conv, SiLU, dt * x, scan on its state, D skip.
// CHECK: ovl.constant dense<{{\[\[}}13, 14, 15, 16], [17, 18, 19, 20]]> : tensor<2x4xi8>
// CHECK: %[[X0:.*]] = ovl.matmul %[[A]], {{.*}} -> tensor<?x2xi32>
// CHECK: %[[X0Q:.*]] = ovl.requant %[[X0]]
// CHECK: %{{.*}}, %[[NS3:.*]] = ovl.conv4 %[[X0Q]], %{{.*}}, %{{.*}}, %arg3
// CHECK: %[[DT0:.*]] = ovl.slice %[[SP]] {offset = 0 : i64, size = 1 : i64}
// CHECK: %[[DTX0:.*]] = ovl.mul %{{.*}}, %[[DT0]] {shift = 0 : i64} : (tensor<?x2xi32>, tensor<?x1xi32>) -> tensor<?x2xi32>
// CHECK: %[[DEC0:.*]] = ovl.slice %[[DECAY]] {offset = 0 : i64, size = 1 : i64}
// CHECK: %[[Y0:.*]], %[[NS5:.*]] = ovl.ssm %[[DTX0]], %[[DEC0]], %[[B8]], %[[C8]], %arg5 {{{.*}}ovl.head_group = array<i64: 0, 2>}
// Head 1, then head 0's D skip (the vector unit prepares head 1 while head 0 scans), then head 1's.
// CHECK: ovl.constant dense<{{\[\[}}21, 22, 23, 24], [25, 26, 27, 28]]> : tensor<2x4xi8>
// CHECK: %[[X1:.*]] = ovl.matmul %[[A]], {{.*}} -> tensor<?x2xi32>
// CHECK: ovl.conv4 %{{.*}}, %{{.*}}, %{{.*}}, %arg4
// CHECK: %[[Y1:.*]], %{{.*}} = ovl.ssm %{{.*}}, %{{.*}}, %[[B8]], %[[C8]], %arg6 {{{.*}}ovl.head_group = array<i64: 1, 2>}
// CHECK: %[[Y0D:.*]] = ovl.add %[[Y0]], %{{.*}} : (tensor<?x2xi32>, tensor<?x2xi32>) -> tensor<?x2xi32>
// CHECK: %[[Y1D:.*]] = ovl.add %[[Y1]]
// The heads joined, then z's rows (the last four) before the gated norm.
// CHECK: %[[Y:.*]] = ovl.concat %[[Y0D]], %[[Y1D]] : (tensor<?x2xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
// CHECK: ovl.constant dense<{{\[\[}}127, 0, -64, 3], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]> : tensor<4x4xi8>
// CHECK: %[[Z:.*]] = ovl.matmul %[[A]], {{.*}} -> tensor<?x4xi32>
// CHECK: ovl.mul %[[Y]], %{{.*}} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %[[NS3]], %{{.*}}, %[[NS5]], %{{.*}} :
// CHECK-NOT: ovl.ssm

// The cost model on the U280 keeps 2 heads together (a group's fixed cost outweighs the overlap).
// COST-COUNT-1: ovl.ssm
// COST-NOT: ovl.concat
