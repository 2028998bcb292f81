// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-reorder-in-proj),m2-lower-to-ovl)' %S/reorder-in-proj.mlir | mamba2-opt --pass-pipeline='builtin.module(ovl-decode-function,func.func(ovl-split-head-groups{heads-per-group=1 entry=decode}))' | FileCheck %s
// RUN: mamba2-opt --pass-pipeline='builtin.module(func.func(m2-reorder-in-proj),m2-lower-to-ovl)' %S/reorder-in-proj.mlir | mamba2-opt --pass-pipeline='builtin.module(ovl-decode-function)' | FileCheck %s --check-prefix=CLONE
// Tests ovl-decode-function and ovl-split-head-groups{entry=decode} (head groups per phase) on
// the lowered one-layer model of reorder-in-proj.mlir (2 heads of 2, d_state 2): @main stays
// whole (one scan, one conv state of 8 channels, one SSM state), the clone @decode, marked
// ovl.entry = "decode", is split into one group per head with its states cut in column order
// (B, C, x of each head; the SSM state by head), so the two functions' states are the same
// bytes. (The emitter's use of it: unit/codegen EmitterTest HeadGroupsPerPhase.)

// CHECK-LABEL: func.func @main(%arg0: tensor<?xi32>, %arg1: tensor<8x3xi8>, %arg2: tensor<2x2x2xi32>)
// CHECK-NOT: ovl.head_group
// CHECK-COUNT-1: ovl.ssm
// CHECK-NOT: ovl.concat
// CHECK: return
// CHECK-LABEL: func.func @decode(%arg0: tensor<?xi32>, %arg1: tensor<2x3xi8>, %arg2: tensor<2x3xi8>, %arg3: tensor<2x3xi8>, %arg4: tensor<2x3xi8>, %arg5: tensor<1x2x2xi32>, %arg6: tensor<1x2x2xi32>)
// CHECK-SAME: ovl.entry = "decode"
// CHECK: ovl.ssm {{.*}}ovl.head_group = array<i64: 0, 2>
// CHECK: ovl.ssm {{.*}}ovl.head_group = array<i64: 1, 2>
// CHECK: ovl.concat

// The clone alone: the same body, the attribute, after @main.
// CLONE-LABEL: func.func @main(
// CLONE-COUNT-1: ovl.ssm
// CLONE-LABEL: func.func @decode(%arg0: tensor<?xi32>, %arg1: tensor<8x3xi8>, %arg2: tensor<2x2x2xi32>)
// CLONE-SAME: ovl.entry = "decode"
// CLONE-COUNT-1: ovl.ssm
// CLONE-NOT: ovl.head_group
