// RUN: mamba2c %s --emit=asm --target kv260 --t-block 4 --row-blocks 1 | FileCheck %s
// RUN: mamba2c %s -o %t.m2b --target u280 --row-blocks 1 && mamba2-objdump %t.m2b | FileCheck %s --check-prefix=OBJ
// The emitter on a one-layer model (d_model 4, d_inner 4, 2 heads of 2, d_state 2, vocab 8):
// the ABI's tensors and entries, matmul weights streamed through the weight ring, every other
// op one micro-op run over the rows, conv4 and the SSM per row in order, states written back.

// The ABI: model header and embedding (const), x and logits (io), one tensor per state.
// CHECK: .target kv260
// Header {abi 1, d_model 4, vocab 8, t_block 4, logit_frac 5, layers 1, 0, 0}.
// CHECK: .data const 0 x 0100000004000000080000000400000005000000010000000000000000000000
// CHECK-DAG: .tensor model const 0 32 i32
// CHECK-DAG: .tensor embedding const 64 128 i32
// CHECK-DAG: .tensor x io 0 64 i32
// CHECK-DAG: .tensor logits io 64 128 i32
// CHECK-DAG: .tensor state1 state 0 24 i8
// CHECK-DAG: .tensor state2 state 64 32 i32
// CHECK: .entry prefill 0
// CHECK: .entry decode
// The norm: sum of squares per row, rsqrt, the per-row broadcast multiply.
// CHECK: sumsq {{.*}}len=4 p0=4
// CHECK: rsqrt {{.*}}len=4
// CHECK: mulsh32 {{.*}}len=4 p0=16 p1=1
// in_proj: gmm8 one row per iteration in prefill (m=1 over 14 channels, K 4 in groups of 2).
// CHECK: gmm8 {{.*}}wgt={{[0-9]+}} scl={{[0-9]+}} m=1 k=4 n=14 group=2 shift=10
// conv4 and its SiLU (ovl-fuse's conv4pwl group) over the 8 conv channels: the table at src1,
// the conv weights and bias p4 = 24 bytes (the 6-word table) after it, the state at src2.
// CHECK: conv4pwl {{.*}}src1={{[0-9]+}} src2={{[0-9]+}} len=8 p4=24
// The SSM: per row one fused ssmstep run over the 2 heads (P = 2, N = 2): y over dtx, C two
// bytes after B (adjacent slices of the conv output), output shift 8 in p3.
// CHECK: ssmstep {{.*}}len=2 p0=2 p1=15 p2=6 p3=8 p4=2
// CHECK-NEXT: ssmstep {{.*}}len=2 p0=2 p1=15 p2=6 p3=8 p4=2
// CHECK-NOT: ssmupd
// CHECK: fwht {{.*}}len=4
// lm_head: the logits tile as one m=4 matmul, stored to the io tensor.
// CHECK: gmm8 {{.*}}m=4 k=4 n=8 group=2 shift=9
// Prefill: x loaded, the conv4pwl run over 4 rows, the state stored back, halt at the end.
// CHECK: { load.dma spad={{[0-9]+}} region=io rows=1 rowb=64
// CHECK: vector.run ustart={{[0-9]+}} ulen=1 iters=4 sdst=32 ssrc0=8
// CHECK: store.dma spad={{[0-9]+}} region=state rows=1 rowb=24
// CHECK: { ctrl.halt ; store.dma {{.*}}region=io dram=64 rows=1 rowb=128 stride=128 wait=
// Decode: one row.
// CHECK: { load.dma spad={{[0-9]+}} region=io rows=1 rowb=16
// CHECK: { ctrl.halt ; store.dma {{.*}}region=io dram=64 rows=1 rowb=32 stride=32 wait=

// The container loads (the loader validates it) and keeps the symbols.
// OBJ: .target u280
// OBJ: .tensor logits io
// OBJ: .entry prefill 0
// OBJ: .entry decode

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
  %x32 = ovl.sext %xs {shift = 0} : (tensor<?x4xi8>) -> tensor<?x4xi32>
  %dtx = ovl.mul %x32, %dt {shift = 4} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
  %ys, %ss1 = ovl.ssm %dtx, %dt, %B, %C, %ss {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>)
        -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  %zg = ovl.mul %ys, %z {shift = 4} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %hd = ovl.fwht %zg : (tensor<?x4xi32>) -> tensor<?x4xi32>
  %o8 = ovl.shr %hd {shift = 4} : (tensor<?x4xi32>) -> tensor<?x4xi8>
  %o = ovl.matmul %o8, %wo, %so {bits = 4, group = 2, shift = 8}
      : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4x2xi32>) -> tensor<?x4xi32>
  %h1 = ovl.add %h, %o : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %a1 = ovl.requant %h1, %m, %sh : (tensor<?x4xi32>, tensor<1xi32>, tensor<1xi8>) -> tensor<?x4xi8>
  %logits = ovl.matmul %a1, %wh, %sw {bits = 8, group = 2, shift = 9}
      : (tensor<?x4xi8>, tensor<8x4xi8>, tensor<8x2xi32>) -> tensor<?x8xi32>
  return %logits, %cs1, %ss1 : tensor<?x8xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>
}
