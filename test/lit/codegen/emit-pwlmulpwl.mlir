// The emitter runs a pwlmulpwl group (ovl-fuse) as one `pwlmulpwl` run on the SSM unit:
// softplus(dt + bias), its product by the per-head A and exp of that, with dt written for the
// scan's dt * x and the product never written (emit-mulsumsq.mlir's one-layer model with the
// decay made from dt as m2-lower-to-ovl makes it).
// RUN: mamba2-opt --ovl-fuse %s -o %t.fused.mlir
// RUN: FileCheck %s --check-prefix=PASS < %t.fused.mlir
// RUN: mamba2c %t.fused.mlir --emit=asm --target kv260 --t-block 4 --row-blocks 1 | FileCheck %s
// The program equals the ovl evaluator bit for bit (functional and cycle simulators), in row
// blocks too, on kv260 and u280.
// RUN: mamba2-codegen-check %t.fused.mlir --target kv260 --t-block 4 --prompt 9 --decode 3
// RUN: mamba2-codegen-check %t.fused.mlir --target u280 --t-block 8 --row-blocks 4 --prompt 9 --decode 3
// The group taken out of the record: a pwl run, a mulsh32 run and a pwl run, the same results.
// RUN: sed -e 's/, ovl.fuse = {group = 1 : i64, kind = "pwlmulpwl"}//' -e 's/ovl.fuse_of = array<i64: 1>, //' -e 's/ {ovl.fuse_of = array<i64: 1>}//' -e 's/, ovl.fuse_of = array<i64: 1>}/}/' -e 's/ovl.fuse_groups = 5/ovl.fuse_groups = 4/' %t.fused.mlir > %t.unfused.mlir
// RUN: mamba2c %t.unfused.mlir --emit=asm --target kv260 --t-block 4 --row-blocks 1 | FileCheck %s --check-prefix=UNFUSED
// RUN: mamba2-codegen-check %t.unfused.mlir --target kv260 --t-block 4 --prompt 9 --decode 3
// A multiplier for every head ([1][1]) is the broadcast bit.
// RUN: sed -e 's/dense<\[\[-3, -5\]\]> : tensor<1x2xi32>/dense<-3> : tensor<1x1xi32>/' -e 's/%d, %A {shift = 2} : (tensor<?x2xi32>, tensor<1x2xi32>)/%d, %A {shift = 2} : (tensor<?x2xi32>, tensor<1x1xi32>)/' %s | mamba2-opt --ovl-fuse -o %t.bcast.mlir
// RUN: mamba2c %t.bcast.mlir --emit=asm --target kv260 --t-block 4 --row-blocks 1 | FileCheck %s --check-prefix=BCAST
// RUN: mamba2-codegen-check %t.bcast.mlir --target u280 --t-block 4 --prompt 9 --decode 3

// PASS: ovl.fuse_groups = 5
// PASS: %[[D:.*]] = ovl.pwl %{{.*}}, %{{.*}} {function = "softplus", ovl.fuse_of = array<i64: 1>}
// PASS: %[[DA:.*]] = ovl.mul %[[D]], %{{.*}} {ovl.fuse_of = array<i64: 1>, shift = 2 : i64}
// PASS: ovl.pwl %[[DA]], %{{.*}} {function = "exp", ovl.fuse = {group = 1 : i64, kind = "pwlmulpwl"}}

// One word per row block's run over the rows: 2 heads, the product's shift 2 in p0, the
// multipliers per head (p1 = 0), the second table 40 bytes on (p3) and A 88 bytes on (p4).
// CHECK-NOT: {{^}}.uop {{[0-9]+}} pwl {{.*}}len=2
// CHECK: pwlmulpwl {{.*}}len=2 p0=2 p3=40 p4=88
// CHECK-NOT: {{^}}.uop {{[0-9]+}} pwl {{.*}}len=2
// UNFUSED-NOT: pwlmulpwl
// (the prefill's 4 rows of 2 heads in one pwl word, the multiply by A a run over the rows)
// UNFUSED: {{^}}.uop {{[0-9]+}} pwl {{.*}}len=8
// UNFUSED-NEXT: mulsh32 {{.*}}len=2 p0=2
// UNFUSED-NEXT: {{^}}.uop {{[0-9]+}} pwl {{.*}}len=8
// UNFUSED-NOT: pwlmulpwl
// BCAST: pwlmulpwl {{.*}}len=2 p0=2 p1=1 p3=40 p4=88

func.func @main(%ids: tensor<?xi32>, %cs: tensor<8x3xi8>, %ss: tensor<2x2x2xi32>)
    -> (tensor<?x8xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>) attributes {ovl.logit_frac = 5 : i64} {
  %table = ovl.constant {name = "embedding"} dense<[[1, 2, 3, 4], [5, 6, 7, 8], [-1, -2, -3, -4], [9, 10, 11, 12],
      [13, 14, 15, 16], [-5, -6, -7, -8], [17, 18, 19, 20], [21, 22, 23, 24]]> : tensor<8x4xi32>
  %w = ovl.constant dense<[[1, 2, 3, 4], [5, 6, 7, 8], [1, -2, 3, -4], [5, -6, 7, -8], [2, 2, 2, 2], [3, 3, 3, 3],
      [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [4, 3, 2, 1], [8, 7, 6, 5], [1, 1, 1, 1], [2, 1, 2, 1]]> : tensor<14x4xi8>
  %s = ovl.constant dense<65536> : tensor<14x2xi32>
  %m = ovl.constant dense<3> : tensor<1xi32>
  %sh = ovl.constant dense<2> : tensor<1xi8>
  %t = ovl.constant dense<[0, 16, 1, 0, 0, 1]> : tensor<6xi32>
  %cw = ovl.constant dense<[[1, 2, 3, 4], [1, 1, 1, 1], [2, 0, 0, 2], [0, 1, 1, 0], [1, -1, 1, -1], [3, 2, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]]> : tensor<8x4xi8>
  %cb = ovl.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>
  %wo = ovl.constant dense<[[1, -1, 2, -2], [3, -3, 4, -4], [5, -5, 6, -6], [7, -7, -8, 0]]> : tensor<4x4xi8>
  %so = ovl.constant dense<4096> : tensor<4x2xi32>
  %wh = ovl.constant dense<[[1, 2, 3, 4], [4, 3, 2, 1], [1, 0, 1, 0], [0, 1, 0, 1], [2, 2, 1, 1], [1, 1, 2, 2], [3, 0, 0, 3], [0, 3, 3, 0]]> : tensor<8x4xi8>
  %sw = ovl.constant dense<1024> : tensor<8x2xi32>
  %h = ovl.embed %ids, %table : (tensor<?xi32>, tensor<8x4xi32>) -> tensor<?x4xi32>
  %ss2 = ovl.sumsq %h {groups = 1, shift = 4} : (tensor<?x4xi32>) -> tensor<?x1xi32>
  %r = ovl.rsqrt %ss2, %t : (tensor<?x1xi32>, tensor<6xi32>) -> tensor<?x1xi32>
  %n = ovl.mul %h, %r {shift = 16} : (tensor<?x4xi32>, tensor<?x1xi32>) -> tensor<?x4xi32>
  %a = ovl.requant %n, %m, %sh : (tensor<?x4xi32>, tensor<1xi32>, tensor<1xi8>) -> tensor<?x4xi8>
  %p = ovl.matmul %a, %w, %s {bits = 8, group = 2, shift = 10}
      : (tensor<?x4xi8>, tensor<14x4xi8>, tensor<14x2xi32>) -> tensor<?x14xi32>
  %z = ovl.slice %p {offset = 0, size = 4} : (tensor<?x14xi32>) -> tensor<?x4xi32>
  %xbc = ovl.slice %p {offset = 4, size = 8} : (tensor<?x14xi32>) -> tensor<?x8xi32>
  %dt = ovl.slice %p {offset = 12, size = 2} : (tensor<?x14xi32>) -> tensor<?x2xi32>
  %x8 = ovl.shr %xbc {shift = 3} : (tensor<?x8xi32>) -> tensor<?x8xi8>
  %y, %cs1 = ovl.conv4 %x8, %cw, %cb, %cs
      : (tensor<?x8xi8>, tensor<8x4xi8>, tensor<8xi32>, tensor<8x3xi8>) -> (tensor<?x8xi32>, tensor<8x3xi8>)
  %g = ovl.pwl %y, %t {function = "silu"} : (tensor<?x8xi32>, tensor<6xi32>) -> tensor<?x8xi32>
  %g8 = ovl.shr %g {shift = 2} : (tensor<?x8xi32>) -> tensor<?x8xi8>
  %xs = ovl.slice %g8 {offset = 0, size = 4} : (tensor<?x8xi8>) -> tensor<?x4xi8>
  %B = ovl.slice %g8 {offset = 4, size = 2} : (tensor<?x8xi8>) -> tensor<?x2xi8>
  %C = ovl.slice %g8 {offset = 6, size = 2} : (tensor<?x8xi8>) -> tensor<?x2xi8>
  %dtb = ovl.constant dense<[[3, -2]]> : tensor<1x2xi32>
  %d0 = ovl.add %dt, %dtb : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
  %sp = ovl.constant dense<[-8, 3, 3, 1, 2, 1, 6, 3, 20, 4]> : tensor<10xi32>
  %d = ovl.pwl %d0, %sp {function = "softplus"} : (tensor<?x2xi32>, tensor<10xi32>) -> tensor<?x2xi32>
  %A = ovl.constant dense<[[-3, -5]]> : tensor<1x2xi32>
  %dA = ovl.mul %d, %A {shift = 2} : (tensor<?x2xi32>, tensor<1x2xi32>) -> tensor<?x2xi32>
  %et = ovl.constant dense<[-40, 3, 4, 2, 30000, 100, 31000, 90, 32000, 60, 32700, 10]> : tensor<12xi32>
  %decay = ovl.pwl %dA, %et {function = "exp"} : (tensor<?x2xi32>, tensor<12xi32>) -> tensor<?x2xi32>
  %x32 = ovl.sext %xs {shift = 0} : (tensor<?x4xi8>) -> tensor<?x4xi32>
  %dtx = ovl.mul %x32, %d {shift = 4} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
  %ys, %ss1 = ovl.ssm %dtx, %decay, %B, %C, %ss {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>)
        -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  %zg = ovl.mul %ys, %z {shift = 4} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %gs = ovl.sumsq %zg {groups = 2, shift = 2} : (tensor<?x4xi32>) -> tensor<?x2xi32>
  %gr = ovl.rsqrt %gs, %t : (tensor<?x2xi32>, tensor<6xi32>) -> tensor<?x2xi32>
  %gn = ovl.mul %zg, %gr {shift = 6} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
  %hd = ovl.fwht %gn : (tensor<?x4xi32>) -> tensor<?x4xi32>
  %o8 = ovl.shr %hd {shift = 4} : (tensor<?x4xi32>) -> tensor<?x4xi8>
  %o = ovl.matmul %o8, %wo, %so {bits = 4, group = 2, shift = 8}
      : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4x2xi32>) -> tensor<?x4xi32>
  %h1 = ovl.add %h, %o : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %a1 = ovl.requant %h1, %m, %sh : (tensor<?x4xi32>, tensor<1xi32>, tensor<1xi8>) -> tensor<?x4xi8>
  %logits = ovl.matmul %a1, %wh, %sw {bits = 8, group = 2, shift = 9}
      : (tensor<?x4xi8>, tensor<8x4xi8>, tensor<8x2xi32>) -> tensor<?x8xi32>
  return %logits, %cs1, %ss1 : tensor<?x8xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>
}
