// ovl-fuse records the groups the emitter runs as one kernel, found by operands' producers and
// uses (Plan.h matchFuseGroup): `ssmstep` (the scan, the producer of dt·x that y overwrites, and
// B and C at a fixed offset), `logits` (the lm_head and the ops that finish its tiles),
// `mulsumsq` (a sum of squares of the product made right before it: the gating and the gated
// norm's reduction), `conv4pwl` (a conv4, a per-channel multiply or none, and a table: the
// conv1d and its SiLU), `pwlmulpwl` (a table, a product by a constant, a table: softplus(dt)
// and exp(dt·A)) and `addsumsq` (the residual add and the next norm's sum of squares).
// RUN: mamba2-opt --ovl-fuse %s | FileCheck %s
// The one-layer model of emit.mlir: the scan and the lm_head.
// RUN: mamba2-opt --ovl-fuse %S/emit.mlir | FileCheck %s --check-prefix=MODEL
// The emitter reads the groups: the same program with and without the pass (and ovl-tile).
// RUN: mamba2-opt --ovl-fuse --ovl-tile=target=u280 %S/emit.mlir -o %t.u280.mlir
// RUN: mamba2c %t.u280.mlir --target u280 -o %t.recorded.m2b
// RUN: mamba2c %S/emit.mlir --target u280 -o %t.computed.m2b
// RUN: cmp %t.recorded.m2b %t.computed.m2b
// RUN: mamba2-opt --ovl-fuse %S/emit.mlir -o %t.kv.mlir
// RUN: mamba2c %t.kv.mlir --target kv260 --t-block 4 --row-blocks 1 --emit=asm > %t.recorded.s
// RUN: mamba2c %S/emit.mlir --target kv260 --t-block 4 --row-blocks 1 --emit=asm > %t.computed.s
// RUN: diff %t.recorded.s %t.computed.s
// Recorded groups are what the emitter fuses: with the scan's group taken out (one group left,
// the lm_head's), the scan is an ssmupd run then an ssmout run per row, not one ssmstep.
// RUN: sed -e 's/, ovl.fuse = {group = 1 : i64, kind = "ssmstep"}//' -e 's/ovl.fuse_of = array<i64: 1>, //' -e 's/ovl.fuse_groups = 3/ovl.fuse_groups = 2/' %t.kv.mlir > %t.unfused.mlir
// RUN: mamba2c %t.unfused.mlir --target kv260 --t-block 4 --row-blocks 1 --emit=asm | FileCheck %s --check-prefix=UNFUSED
// And a second run of the pass keeps the groups it finds recorded.
// RUN: mamba2-opt --ovl-fuse %t.unfused.mlir | FileCheck %s --check-prefix=KEPT
// With the conv's group taken out, the conv is a conv4 run and its SiLU a pwl run.
// RUN: sed -e 's/, ovl.fuse = {group = 0 : i64, kind = "conv4pwl"}//' -e 's/ {ovl.fuse_of = array<i64: 0>}//' -e 's/ovl.fuse_groups = 3/ovl.fuse_groups = 2/' %t.kv.mlir > %t.unconv.mlir
// RUN: mamba2c %t.unconv.mlir --target kv260 --t-block 4 --row-blocks 1 --emit=asm | FileCheck %s --check-prefix=UNCONV
// RUN: mamba2-codegen-check %t.unconv.mlir --target kv260 --t-block 4 --prompt 9 --decode 3
// RUN: mamba2-codegen-check %t.kv.mlir --target kv260 --t-block 4 --prompt 9 --decode 3

// MODEL: func.func @main{{.*}}attributes {ovl.fuse_groups = 3 : i64, ovl.logit_frac = 5 : i64}
// The conv1d and its SiLU right after it (no multiply between).
// MODEL: %[[Y:.*]], %{{.*}} = ovl.conv4 {{.*}} {ovl.fuse_of = array<i64: 0>}
// MODEL-NEXT: ovl.pwl %[[Y]], {{.*}}ovl.fuse = {group = 0 : i64, kind = "conv4pwl"}
// B and C: adjacent slices of the SiLU's output (C 2 bytes after B); dt·x dies at the scan.
// MODEL: %[[B:.*]] = ovl.slice %{{.*}} {offset = 4 : i64, ovl.fuse_of = array<i64: 1>, size = 2 : i64}
// MODEL: %[[C:.*]] = ovl.slice %{{.*}} {offset = 6 : i64, ovl.fuse_of = array<i64: 1>, size = 2 : i64}
// MODEL: %[[DTX:.*]] = ovl.mul {{.*}}ovl.fuse_of = array<i64: 1>
// MODEL: ovl.ssm %[[DTX]], %{{.*}}, %[[B]], %[[C]], {{.*}}ovl.fuse = {group = 1 : i64, kind = "ssmstep"}
// The out_proj is not the lm_head: no group.
// MODEL-NOT: ovl.fuse
// MODEL: ovl.matmul {{.*}}ovl.fuse = {group = 2 : i64, kind = "logits"}

// UNFUSED-NOT: ssmstep
// UNFUSED: ssmupd {{.*}}len=2
// UNFUSED: ssmout {{.*}}len=2
// UNFUSED-NOT: ssmstep
// KEPT: ovl.fuse_groups = 2
// KEPT-NOT: kind = "ssmstep"
// UNCONV-NOT: conv4pwl
// UNCONV: conv4 {{.*}}len=8
// UNCONV-NEXT: pwl {{.*}}len=32
// UNCONV-NOT: conv4pwl

// An lm_head whose tiles are finished in place: per-channel multiply, shift, and the slice that
// cuts a padded vocabulary. All three are members of its group.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: ovl.fuse_groups = 1 : i64
// CHECK: ovl.matmul {{.*}}ovl.fuse = {group = 0 : i64, kind = "logits"}
// CHECK: ovl.mul {{.*}}ovl.fuse_of = array<i64: 0>
// CHECK: ovl.shift {{.*}}ovl.fuse_of = array<i64: 0>
// CHECK: ovl.slice {{.*}}ovl.fuse_of = array<i64: 0>
func.func @chain(%a: tensor<?x4xi8>) -> tensor<?x6xi32> {
  %w = ovl.constant dense<1> : tensor<8x4xi8>
  %s = ovl.constant dense<1> : tensor<8x2xi32>
  %k = ovl.constant dense<3> : tensor<1x8xi32>
  %l = ovl.matmul %a, %w, %s {bits = 8, group = 2, shift = 0} : (tensor<?x4xi8>, tensor<8x4xi8>, tensor<8x2xi32>) -> tensor<?x8xi32>
  %m = ovl.mul %l, %k {shift = 1} : (tensor<?x8xi32>, tensor<1x8xi32>) -> tensor<?x8xi32>
  %h = ovl.shift %m {shift = -2} : (tensor<?x8xi32>) -> tensor<?x8xi32>
  %v = ovl.slice %h {offset = 0, size = 6} : (tensor<?x8xi32>) -> tensor<?x6xi32>
  return %v : tensor<?x6xi32>
}

// Not groups: a logits chain through an add of a computed value (the tile cannot be finished
// alone), a scan whose dt·x is read again after it (y cannot overwrite it), a scan whose B is a
// function argument (C cannot be placed after it).
// CHECK-LABEL: func.func @none
// CHECK-SAME: ovl.fuse_groups = 0 : i64
// CHECK-NOT: ovl.fuse =
// CHECK-NOT: ovl.fuse_of
// CHECK: return
func.func @none(%a: tensor<?x4xi8>, %x: tensor<?x4xi32>, %d: tensor<?x2xi32>, %b: tensor<?x2xi8>,
                %c: tensor<?x2xi8>, %st: tensor<2x2x2xi32>)
    -> (tensor<?x8xi32>, tensor<?x4xi32>, tensor<?x4xi32>, tensor<?x4xi32>) {
  %w = ovl.constant dense<1> : tensor<8x4xi8>
  %s = ovl.constant dense<1> : tensor<8x2xi32>
  %l = ovl.matmul %a, %w, %s {bits = 8, group = 2, shift = 0} : (tensor<?x4xi8>, tensor<8x4xi8>, tensor<8x2xi32>) -> tensor<?x8xi32>
  %l2 = ovl.add %l, %l : (tensor<?x8xi32>, tensor<?x8xi32>) -> tensor<?x8xi32>
  %dtx = ovl.mul %x, %x {shift = 0} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %b8 = ovl.shr %x {shift = 0} : (tensor<?x4xi32>) -> tensor<?x4xi8>
  %bs = ovl.slice %b8 {offset = 0, size = 2} : (tensor<?x4xi8>) -> tensor<?x2xi8>
  %cs = ovl.slice %b8 {offset = 2, size = 2} : (tensor<?x4xi8>) -> tensor<?x2xi8>
  %y, %st1 = ovl.ssm %dtx, %d, %bs, %cs, %st {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  %dtx2 = ovl.mul %x, %x {shift = 1} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %y2, %st2 = ovl.ssm %dtx2, %d, %b, %c, %st1 {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  return %l2, %y, %dtx, %y2 : tensor<?x8xi32>, tensor<?x4xi32>, tensor<?x4xi32>, tensor<?x4xi32>
}

// Two scans reading one pair of buffers the other way round: the emitter places C's buffer
// right after B's once, so the first scan is a group and the second is not.
// CHECK-LABEL: func.func @swapped
// CHECK-SAME: ovl.fuse_groups = 1 : i64
// CHECK: ovl.shr {{.*}}ovl.fuse_of = array<i64: 0>
// CHECK: ovl.shr {{.*}}ovl.fuse_of = array<i64: 0>
// CHECK: ovl.ssm {{.*}}ovl.fuse = {group = 0 : i64, kind = "ssmstep"}
// CHECK-NOT: ovl.fuse
// CHECK: return
func.func @swapped(%x: tensor<?x4xi32>, %d: tensor<?x2xi32>, %v: tensor<?x2xi32>, %w: tensor<?x2xi32>,
                   %st: tensor<2x2x2xi32>, %st2: tensor<2x2x2xi32>)
    -> (tensor<?x4xi32>, tensor<?x4xi32>, tensor<2x2x2xi32>, tensor<2x2x2xi32>) {
  %dtx = ovl.mul %x, %x {shift = 0} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %b = ovl.shr %v {shift = 0} : (tensor<?x2xi32>) -> tensor<?x2xi8>
  %c = ovl.shr %w {shift = 0} : (tensor<?x2xi32>) -> tensor<?x2xi8>
  %y, %s1 = ovl.ssm %dtx, %d, %b, %c, %st {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  %dtx2 = ovl.mul %x, %x {shift = 1} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %y2, %s2 = ovl.ssm %dtx2, %d, %c, %b, %st2 {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  return %y, %y2, %s1, %s2 : tensor<?x4xi32>, tensor<?x4xi32>, tensor<2x2x2xi32>, tensor<2x2x2xi32>
}

// The gating y * silu(z) and the gated norm's sum of squares by groups: the sumsq anchors the
// group, the mul right before it (constants between do not count) is its member. A [1][C]
// per-channel second operand fuses too.
// CHECK-LABEL: func.func @gated
// CHECK-SAME: ovl.fuse_groups = 2 : i64
// CHECK: ovl.mul {{.*}}ovl.fuse_of = array<i64: 0>
// CHECK: ovl.sumsq {{.*}}ovl.fuse = {group = 0 : i64, kind = "mulsumsq"}
// CHECK: ovl.mul {{.*}}ovl.fuse_of = array<i64: 1>
// CHECK: ovl.sumsq {{.*}}ovl.fuse = {group = 1 : i64, kind = "mulsumsq"}
func.func @gated(%y: tensor<?x8xi32>, %z: tensor<?x8xi32>) -> (tensor<?x8xi32>, tensor<?x2xi32>, tensor<?x8xi32>, tensor<?x1xi32>) {
  %g = ovl.mul %y, %z {shift = 3} : (tensor<?x8xi32>, tensor<?x8xi32>) -> tensor<?x8xi32>
  %s = ovl.sumsq %g {groups = 2, shift = 4} : (tensor<?x8xi32>) -> tensor<?x2xi32>
  %k = ovl.constant dense<5> : tensor<1x8xi32>
  %g2 = ovl.mul %y, %k {shift = 1} : (tensor<?x8xi32>, tensor<1x8xi32>) -> tensor<?x8xi32>
  %u = ovl.constant dense<7> : tensor<1x8xi32>
  %s2 = ovl.sumsq %g2 {groups = 1, shift = 0} : (tensor<?x8xi32>) -> tensor<?x1xi32>
  return %g, %s, %g2, %s2 : tensor<?x8xi32>, tensor<?x2xi32>, tensor<?x8xi32>, tensor<?x1xi32>
}

// Not mulsumsq groups: a product broadcast per row (the norm's rsqrt scale), an op between the
// mul and the sumsq, a sum of squares of a value that is not a product.
// CHECK-LABEL: func.func @notgated
// CHECK-SAME: ovl.fuse_groups = 0 : i64
// CHECK-NOT: ovl.fuse
// CHECK: return
func.func @notgated(%y: tensor<?x8xi32>, %z: tensor<?x8xi32>, %r: tensor<?x1xi32>)
    -> (tensor<?x1xi32>, tensor<?x1xi32>, tensor<?x8xi32>, tensor<?x1xi32>) {
  %n = ovl.mul %y, %r {shift = 3} : (tensor<?x8xi32>, tensor<?x1xi32>) -> tensor<?x8xi32>
  %s = ovl.sumsq %n {groups = 1, shift = 4} : (tensor<?x8xi32>) -> tensor<?x1xi32>
  %g = ovl.mul %y, %z {shift = 3} : (tensor<?x8xi32>, tensor<?x8xi32>) -> tensor<?x8xi32>
  %h = ovl.shift %z {shift = 1} : (tensor<?x8xi32>) -> tensor<?x8xi32>
  %s2 = ovl.sumsq %g {groups = 1, shift = 4} : (tensor<?x8xi32>) -> tensor<?x1xi32>
  %s3 = ovl.sumsq %h {groups = 1, shift = 4} : (tensor<?x8xi32>) -> tensor<?x1xi32>
  return %s, %s2, %h, %s3 : tensor<?x1xi32>, tensor<?x1xi32>, tensor<?x8xi32>, tensor<?x1xi32>
}

// conv1d + SiLU: the conv4, its product by a [1][C] constant (constants between do not count)
// and the table; without the multiply too.
// CHECK-LABEL: func.func @conv
// CHECK-SAME: ovl.fuse_groups = 2 : i64
// CHECK: ovl.conv4 {{.*}}ovl.fuse_of = array<i64: 0>
// CHECK: ovl.mul {{.*}}ovl.fuse_of = array<i64: 0>
// CHECK: ovl.pwl {{.*}}ovl.fuse = {group = 0 : i64, kind = "conv4pwl"}
// CHECK: ovl.conv4 {{.*}}ovl.fuse_of = array<i64: 1>
// CHECK: ovl.pwl {{.*}}ovl.fuse = {group = 1 : i64, kind = "conv4pwl"}
func.func @conv(%x: tensor<?x4xi8>, %st: tensor<4x3xi8>, %st2: tensor<4x3xi8>) -> (tensor<?x4xi32>, tensor<4x3xi8>, tensor<?x4xi32>, tensor<4x3xi8>) {
  %w = ovl.constant dense<1> : tensor<4x4xi8>
  %b = ovl.constant dense<2> : tensor<4xi32>
  %t = ovl.constant dense<[0, 16, 1, 0, 0, 1]> : tensor<6xi32>
  %y, %s1 = ovl.conv4 %x, %w, %b, %st : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4xi32>, tensor<4x3xi8>) -> (tensor<?x4xi32>, tensor<4x3xi8>)
  %m = ovl.constant dense<3> : tensor<1x4xi32>
  %ym = ovl.mul %y, %m {shift = 1} : (tensor<?x4xi32>, tensor<1x4xi32>) -> tensor<?x4xi32>
  %g = ovl.pwl %ym, %t {function = "silu"} : (tensor<?x4xi32>, tensor<6xi32>) -> tensor<?x4xi32>
  %y2, %s2 = ovl.conv4 %x, %w, %b, %st2 : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4xi32>, tensor<4x3xi8>) -> (tensor<?x4xi32>, tensor<4x3xi8>)
  %g2 = ovl.pwl %y2, %t {function = "silu"} : (tensor<?x4xi32>, tensor<6xi32>) -> tensor<?x4xi32>
  return %g, %s1, %g2, %s2 : tensor<?x4xi32>, tensor<4x3xi8>, tensor<?x4xi32>, tensor<4x3xi8>
}

// Not conv4pwl groups: a conv output read again after the table, a product by a computed value
// (not a per-channel constant), an op between the conv and the table.
// CHECK-LABEL: func.func @notconv
// CHECK-SAME: ovl.fuse_groups = 0 : i64
// CHECK-NOT: ovl.fuse
// CHECK: return
func.func @notconv(%x: tensor<?x4xi8>, %v: tensor<?x4xi32>, %st: tensor<4x3xi8>, %st2: tensor<4x3xi8>, %st3: tensor<4x3xi8>)
    -> (tensor<?x4xi32>, tensor<?x4xi32>, tensor<?x4xi32>, tensor<?x4xi32>, tensor<?x4xi32>, tensor<4x3xi8>, tensor<4x3xi8>, tensor<4x3xi8>) {
  %w = ovl.constant dense<1> : tensor<4x4xi8>
  %b = ovl.constant dense<2> : tensor<4xi32>
  %t = ovl.constant dense<[0, 16, 1, 0, 0, 1]> : tensor<6xi32>
  %y, %s1 = ovl.conv4 %x, %w, %b, %st : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4xi32>, tensor<4x3xi8>) -> (tensor<?x4xi32>, tensor<4x3xi8>)
  %g = ovl.pwl %y, %t {function = "silu"} : (tensor<?x4xi32>, tensor<6xi32>) -> tensor<?x4xi32>
  %y2, %s2 = ovl.conv4 %x, %w, %b, %st2 : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4xi32>, tensor<4x3xi8>) -> (tensor<?x4xi32>, tensor<4x3xi8>)
  %ym = ovl.mul %y2, %v {shift = 1} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %g2 = ovl.pwl %ym, %t {function = "silu"} : (tensor<?x4xi32>, tensor<6xi32>) -> tensor<?x4xi32>
  %y3, %s3 = ovl.conv4 %x, %w, %b, %st3 : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4xi32>, tensor<4x3xi8>) -> (tensor<?x4xi32>, tensor<4x3xi8>)
  %h = ovl.shift %v {shift = 1} : (tensor<?x4xi32>) -> tensor<?x4xi32>
  %g3 = ovl.pwl %y3, %t {function = "silu"} : (tensor<?x4xi32>, tensor<6xi32>) -> tensor<?x4xi32>
  return %g, %y, %g2, %g3, %h, %s1, %s2, %s3 : tensor<?x4xi32>, tensor<?x4xi32>, tensor<?x4xi32>, tensor<?x4xi32>, tensor<?x4xi32>, tensor<4x3xi8>, tensor<4x3xi8>, tensor<4x3xi8>
}

// softplus(dt) + exp(dt * A): the first table, its product by a [1][C] constant (or [1][1];
// constants between do not count) and the second table. The first table's value is read after
// the group (the scan's dt * x) and is written by the fused run; the product is not.
// CHECK-LABEL: func.func @dtdecay
// CHECK-SAME: ovl.fuse_groups = 2 : i64
// CHECK: ovl.pwl {{.*}}ovl.fuse_of = array<i64: 0>
// CHECK: ovl.mul {{.*}}ovl.fuse_of = array<i64: 0>
// CHECK: ovl.pwl {{.*}}ovl.fuse = {group = 0 : i64, kind = "pwlmulpwl"}
// CHECK: ovl.pwl {{.*}}ovl.fuse_of = array<i64: 1>
// CHECK: ovl.mul {{.*}}ovl.fuse_of = array<i64: 1>
// CHECK: ovl.pwl {{.*}}ovl.fuse = {group = 1 : i64, kind = "pwlmulpwl"}
// CHECK: ovl.mul %{{.*}}, %{{.*}} {shift = 0 : i64}
func.func @dtdecay(%v: tensor<?x2xi32>, %x: tensor<?x2xi32>) -> (tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>) {
  %sp = ovl.constant dense<[0, 16, 1, 0, 0, 1]> : tensor<6xi32>
  %d = ovl.pwl %v, %sp {function = "softplus"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %a = ovl.constant dense<[[-3, -5]]> : tensor<1x2xi32>
  %da = ovl.mul %d, %a {shift = 2} : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
  %ex = ovl.constant dense<[-64, 16, 1, 0, 7, 1]> : tensor<6xi32>
  %e = ovl.pwl %da, %ex {function = "exp"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %d2 = ovl.pwl %x, %sp {function = "softplus"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %a1 = ovl.constant dense<-3> : tensor<1x1xi32>
  %da2 = ovl.mul %d2, %a1 {shift = 2} : (tensor<?x2xi32>, tensor<1x1xi32>) -> tensor<?x2xi32>
  %e2 = ovl.pwl %da2, %ex {function = "exp"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %dx = ovl.mul %d, %x {shift = 0} : (tensor<?x2xi32>, tensor<?x2xi32>) -> tensor<?x2xi32>
  return %e, %e2, %dx : tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>
}

// Not pwlmulpwl groups: a table after a product of a fused chain's end (an op runs in one
// group), a product by a computed value, an op between the first table and the multiply, the
// product read again.
// CHECK-LABEL: func.func @notdtdecay
// CHECK-SAME: ovl.fuse_groups = 1 : i64
// CHECK: ovl.pwl {{.*}}ovl.fuse = {group = 0 : i64, kind = "pwlmulpwl"}
// CHECK-NOT: ovl.fuse
// CHECK: return
func.func @notdtdecay(%v: tensor<?x2xi32>, %w: tensor<?x2xi32>)
    -> (tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>) {
  %t = ovl.constant dense<[0, 16, 1, 0, 0, 1]> : tensor<6xi32>
  %a = ovl.constant dense<[[-3, -5]]> : tensor<1x2xi32>
  %d = ovl.pwl %v, %t {function = "softplus"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %da = ovl.mul %d, %a {shift = 2} : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
  %e = ovl.pwl %da, %t {function = "exp"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %db = ovl.mul %e, %a {shift = 2} : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
  %f = ovl.pwl %db, %t {function = "exp"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %d2 = ovl.pwl %w, %t {function = "softplus"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %db2 = ovl.mul %d2, %w {shift = 2} : (tensor<?x2xi32>, tensor<?x2xi32>) -> tensor<?x2xi32>
  %f2 = ovl.pwl %db2, %t {function = "exp"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %d3 = ovl.pwl %w, %t {function = "softplus"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %h = ovl.shift %w {shift = 1} : (tensor<?x2xi32>) -> tensor<?x2xi32>
  %da3 = ovl.mul %d3, %a {shift = 2} : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
  %e3 = ovl.pwl %da3, %t {function = "exp"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %d4 = ovl.pwl %w, %t {function = "softplus"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %da4 = ovl.mul %d4, %a {shift = 2} : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
  %e4 = ovl.pwl %da4, %t {function = "exp"} : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  return %f, %f2, %h, %e3, %e4, %da4 : tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>
}

// The residual add and the next norm's sum of squares: the add right before the sumsq (its sum
// read again after: the norm's scaling); a per-channel [1][C] second operand too.
// CHECK-LABEL: func.func @residual
// CHECK-SAME: ovl.fuse_groups = 2 : i64
// CHECK: ovl.add {{.*}}ovl.fuse_of = array<i64: 0>
// CHECK: ovl.sumsq {{.*}}ovl.fuse = {group = 0 : i64, kind = "addsumsq"}
// CHECK: ovl.add {{.*}}ovl.fuse_of = array<i64: 1>
// CHECK: ovl.sumsq {{.*}}ovl.fuse = {group = 1 : i64, kind = "addsumsq"}
func.func @residual(%h: tensor<?x8xi32>, %o: tensor<?x8xi32>) -> (tensor<?x8xi32>, tensor<?x2xi32>, tensor<?x8xi32>, tensor<?x1xi32>) {
  %h1 = ovl.add %h, %o : (tensor<?x8xi32>, tensor<?x8xi32>) -> tensor<?x8xi32>
  %s = ovl.sumsq %h1 {groups = 2, shift = 4} : (tensor<?x8xi32>) -> tensor<?x2xi32>
  %b = ovl.constant dense<7> : tensor<1x8xi32>
  %h2 = ovl.add %h1, %b : (tensor<?x8xi32>, tensor<1x8xi32>) -> tensor<?x8xi32>
  %c = ovl.constant dense<1> : tensor<1xi32>
  %s2 = ovl.sumsq %h2 {groups = 1, shift = 4} : (tensor<?x8xi32>) -> tensor<?x1xi32>
  return %h1, %s, %h2, %s2 : tensor<?x8xi32>, tensor<?x2xi32>, tensor<?x8xi32>, tensor<?x1xi32>
}

// Not addsumsq groups: an add broadcast per row, an op between the add and the sumsq.
// CHECK-LABEL: func.func @notresidual
// CHECK-SAME: ovl.fuse_groups = 0 : i64
// CHECK-NOT: ovl.fuse
// CHECK: return
func.func @notresidual(%h: tensor<?x8xi32>, %o: tensor<?x8xi32>, %r: tensor<?x1xi32>)
    -> (tensor<?x1xi32>, tensor<?x8xi32>, tensor<?x1xi32>) {
  %h1 = ovl.add %h, %r : (tensor<?x8xi32>, tensor<?x1xi32>) -> tensor<?x8xi32>
  %s = ovl.sumsq %h1 {groups = 1, shift = 4} : (tensor<?x8xi32>) -> tensor<?x1xi32>
  %h2 = ovl.add %h, %o : (tensor<?x8xi32>, tensor<?x8xi32>) -> tensor<?x8xi32>
  %k = ovl.shift %h {shift = 1} : (tensor<?x8xi32>) -> tensor<?x8xi32>
  %s2 = ovl.sumsq %h2 {groups = 1, shift = 4} : (tensor<?x8xi32>) -> tensor<?x1xi32>
  return %s, %k, %s2 : tensor<?x1xi32>, tensor<?x8xi32>, tensor<?x1xi32>
}
