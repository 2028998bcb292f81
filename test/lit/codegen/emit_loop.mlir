// RUN: mamba2c %s --emit=asm --target kv260 --t-block 4 --row-blocks 1 -o %t.s 2> %t.err
// RUN: FileCheck %s --input-file=%t.s
// RUN: FileCheck %s --input-file=%t.err --check-prefix=REMARK
// RUN: mamba2c %s --no-layer-loop --emit=asm --target kv260 --t-block 4 --row-blocks 1 -o %t.unrolled.s
// RUN: FileCheck %s --input-file=%t.unrolled.s --check-prefix=UNROLLED
// RUN: mamba2c %s -o %t.m2b --target u280 --row-blocks 1 && mamba2-objdump %t.m2b | FileCheck %s --check-prefix=OBJ
// RUN: sed 's/%%o8c = ovl.shr %%hdc {shift = 4}/%%o8c = ovl.shr %%hdc {shift = 5}/' %s > %t.shift.mlir
// RUN: mamba2c %t.shift.mlir --emit=asm --target kv260 --t-block 4 --row-blocks 1 -o %t.shift.s 2> %t.shift.err
// RUN: FileCheck %s --input-file=%t.shift.s --check-prefix=SHIFT
// RUN: FileCheck %s --input-file=%t.shift.err --check-prefix=SHIFTERR
// RUN: mamba2c %t.shift.mlir -o %t.shift.m2b --target u280 && mamba2-objdump %t.shift.m2b | FileCheck %s --check-prefix=SHIFTOBJ
// RUN: mamba2-codegen-check %s --target kv260 --t-block 4 --row-blocks 1 --prompt 9 --decode 3
// RUN: mamba2-codegen-check %s --target u280 --t-block 4 --prompt 9 --decode 3
// Per-layer hardware loops: the one-layer model of emit.mlir three times (its constants shared,
// each layer its own matmul weights and states), then a final norm. Each residual add and the
// next norm's sum of squares are one addsumsq run (ovl-fuse's addsumsq group), which ends each
// layer (the loop body rotated by one op); the sumsq of the embedding comes before layer 0.
// The programs equal the ovl evaluator bit for bit. Layer 0 loads the shared constants at their
// first use, so layers 1 and 2 repeat: one ctrl.loop of two iterations, the layer's DMA offsets
// moved by address registers (dreg), advanced by ctrl.addi at the end of the body.
// CHECK: # entry prefill: layers 1..2 in a hardware loop (2 iterations of 1 layer)
// CHECK: # entry prefill: layer 0 unrolled: layer 1 has {{[0-9]+}} instructions, layer 0 {{[0-9]+}}
// CHECK: # entry decode: layers 1..2 in a hardware loop (2 iterations of 1 layer)
// CHECK: .entry prefill 0
// CHECK: .uop [[#AS:]] addsumsq {{.*}}len=4 p2=4
// CHECK: { ctrl.seti rd=[[R:[0-9]+]] }
// CHECK: { ctrl.loop count=2 body={{[0-9]+}} }
// CHECK: load.dma {{.*}}region=state dreg={{[0-9]+}} dram=
// CHECK: store.dma {{.*}}region=state dreg={{[0-9]+}} dram=
// The body ends with the addsumsq of its residual add and the next norm's sum of squares (the
// body rotated by one op: layer 0's sum of squares of the embedding comes before the loop, the
// last layer's addsumsq is the final norm's).
// CHECK: vector.run ustart=[[#AS]] ulen=1
// CHECK-NEXT: { ctrl.addi rd=[[R]] rs=[[R]] imm={{[0-9]+}} }
// CHECK: ctrl.halt
// CHECK: { ctrl.loop count=2 body={{[0-9]+}} }
// CHECK: ctrl.halt
// REMARK: mamba2c: remark: entry prefill: layer 0 unrolled
// REMARK-NOT: in a hardware loop

// --no-layer-loop: every layer unrolled.
// UNROLLED-NOT: ctrl.loop
// UNROLLED-NOT: dreg=

// The container passes the loader (it walks the loop) and keeps it.
// OBJ: ctrl.loop count=2

// A shift that differs in layer 2 (a micro-op immediate): the same loop; the shr's run takes
// its micro-op from store word ustart + r[ureg], one word per iteration (layer 1's, then layer
// 2's), the register advanced by 1 with the DRAM ones.
// SHIFT: # entry prefill: layers 1..2 in a hardware loop (2 iterations of 1 layer)
// SHIFT: # entry prefill: per-iteration micro-ops (ureg): 1 run(s) whose immediates differ from layer to layer, 1 word(s) per iteration
// SHIFT: .uop [[#W:]] shr8 {{.*}}len=16 p0=5
// SHIFT: { ctrl.loop count=2 body={{[0-9]+}} }
// SHIFT: vector.run ustart=[[#W-1]] ulen=1 iters=1 ureg=[[U:[0-9]+]]
// SHIFT: { ctrl.addi rd=[[U]] rs=[[U]] imm=1 }
// SHIFTERR: remark: entry prefill: per-iteration micro-ops (ureg)
// SHIFTERR-NOT: no layer loop
// SHIFTOBJ: ctrl.loop count=2
// SHIFTOBJ: ureg=

func.func @main(%ids: tensor<?xi32>, %cs: tensor<8x3xi8>, %ss: tensor<2x2x2xi32>, %csb: tensor<8x3xi8>, %ssb: tensor<2x2x2xi32>, %csc: tensor<8x3xi8>, %ssc: tensor<2x2x2xi32>)
    -> (tensor<?x8xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>) attributes {ovl.logit_frac = 5 : i64} {
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
  %ss2b = ovl.sumsq %h1 {groups = 1, shift = 4} : (tensor<?x4xi32>) -> tensor<?x1xi32>
  %rb = ovl.rsqrt %ss2b, %t : (tensor<?x1xi32>, tensor<6xi32>) -> tensor<?x1xi32>
  %nb = ovl.mul %h1, %rb {shift = 16} : (tensor<?x4xi32>, tensor<?x1xi32>) -> tensor<?x4xi32>
  %ab = ovl.requant %nb, %m, %sh : (tensor<?x4xi32>, tensor<1xi32>, tensor<1xi8>) -> tensor<?x4xi8>
  %pb = ovl.matmul %ab, %w, %s {bits = 8, group = 2, shift = 10}
      : (tensor<?x4xi8>, tensor<14x4xi8>, tensor<14x2xi32>) -> tensor<?x14xi32>
  %zb = ovl.slice %pb {offset = 0, size = 4} : (tensor<?x14xi32>) -> tensor<?x4xi32>
  %xbcb = ovl.slice %pb {offset = 4, size = 8} : (tensor<?x14xi32>) -> tensor<?x8xi32>
  %dtb = ovl.slice %pb {offset = 12, size = 2} : (tensor<?x14xi32>) -> tensor<?x2xi32>
  %x8b = ovl.shr %xbcb {shift = 3} : (tensor<?x8xi32>) -> tensor<?x8xi8>
  %yb, %cs1b = ovl.conv4 %x8b, %cw, %cb, %csb
      : (tensor<?x8xi8>, tensor<8x4xi8>, tensor<8xi32>, tensor<8x3xi8>) -> (tensor<?x8xi32>, tensor<8x3xi8>)
  %gb = ovl.pwl %yb, %t {function = "silu"} : (tensor<?x8xi32>, tensor<6xi32>) -> tensor<?x8xi32>
  %g8b = ovl.shr %gb {shift = 2} : (tensor<?x8xi32>) -> tensor<?x8xi8>
  %xsb = ovl.slice %g8b {offset = 0, size = 4} : (tensor<?x8xi8>) -> tensor<?x4xi8>
  %Bb = ovl.slice %g8b {offset = 4, size = 2} : (tensor<?x8xi8>) -> tensor<?x2xi8>
  %Cb = ovl.slice %g8b {offset = 6, size = 2} : (tensor<?x8xi8>) -> tensor<?x2xi8>
  %x32b = ovl.sext %xsb {shift = 0} : (tensor<?x4xi8>) -> tensor<?x4xi32>
  %dtxb = ovl.mul %x32b, %dtb {shift = 4} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
  %ysb, %ss1b = ovl.ssm %dtxb, %dtb, %Bb, %Cb, %ssb {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>)
        -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  %zgb = ovl.mul %ysb, %zb {shift = 4} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %hdb = ovl.fwht %zgb : (tensor<?x4xi32>) -> tensor<?x4xi32>
  %o8b = ovl.shr %hdb {shift = 4} : (tensor<?x4xi32>) -> tensor<?x4xi8>
  %ob = ovl.matmul %o8b, %wo, %so {bits = 4, group = 2, shift = 8}
      : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4x2xi32>) -> tensor<?x4xi32>
  %h1b = ovl.add %h1, %ob : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %ss2c = ovl.sumsq %h1b {groups = 1, shift = 4} : (tensor<?x4xi32>) -> tensor<?x1xi32>
  %rc = ovl.rsqrt %ss2c, %t : (tensor<?x1xi32>, tensor<6xi32>) -> tensor<?x1xi32>
  %nc = ovl.mul %h1b, %rc {shift = 16} : (tensor<?x4xi32>, tensor<?x1xi32>) -> tensor<?x4xi32>
  %ac = ovl.requant %nc, %m, %sh : (tensor<?x4xi32>, tensor<1xi32>, tensor<1xi8>) -> tensor<?x4xi8>
  %pc = ovl.matmul %ac, %w, %s {bits = 8, group = 2, shift = 10}
      : (tensor<?x4xi8>, tensor<14x4xi8>, tensor<14x2xi32>) -> tensor<?x14xi32>
  %zc = ovl.slice %pc {offset = 0, size = 4} : (tensor<?x14xi32>) -> tensor<?x4xi32>
  %xbcc = ovl.slice %pc {offset = 4, size = 8} : (tensor<?x14xi32>) -> tensor<?x8xi32>
  %dtc = ovl.slice %pc {offset = 12, size = 2} : (tensor<?x14xi32>) -> tensor<?x2xi32>
  %x8c = ovl.shr %xbcc {shift = 3} : (tensor<?x8xi32>) -> tensor<?x8xi8>
  %yc, %cs1c = ovl.conv4 %x8c, %cw, %cb, %csc
      : (tensor<?x8xi8>, tensor<8x4xi8>, tensor<8xi32>, tensor<8x3xi8>) -> (tensor<?x8xi32>, tensor<8x3xi8>)
  %gc = ovl.pwl %yc, %t {function = "silu"} : (tensor<?x8xi32>, tensor<6xi32>) -> tensor<?x8xi32>
  %g8c = ovl.shr %gc {shift = 2} : (tensor<?x8xi32>) -> tensor<?x8xi8>
  %xsc = ovl.slice %g8c {offset = 0, size = 4} : (tensor<?x8xi8>) -> tensor<?x4xi8>
  %Bc = ovl.slice %g8c {offset = 4, size = 2} : (tensor<?x8xi8>) -> tensor<?x2xi8>
  %Cc = ovl.slice %g8c {offset = 6, size = 2} : (tensor<?x8xi8>) -> tensor<?x2xi8>
  %x32c = ovl.sext %xsc {shift = 0} : (tensor<?x4xi8>) -> tensor<?x4xi32>
  %dtxc = ovl.mul %x32c, %dtc {shift = 4} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
  %ysc, %ss1c = ovl.ssm %dtxc, %dtc, %Bc, %Cc, %ssc {ngroups = 1, decay_shift = 15, in_shift = 6, out_shift = 8}
      : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>)
        -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
  %zgc = ovl.mul %ysc, %zc {shift = 4} : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %hdc = ovl.fwht %zgc : (tensor<?x4xi32>) -> tensor<?x4xi32>
  %o8c = ovl.shr %hdc {shift = 4} : (tensor<?x4xi32>) -> tensor<?x4xi8>
  %oc = ovl.matmul %o8c, %wo, %so {bits = 4, group = 2, shift = 8}
      : (tensor<?x4xi8>, tensor<4x4xi8>, tensor<4x2xi32>) -> tensor<?x4xi32>
  %h1c = ovl.add %h1b, %oc : (tensor<?x4xi32>, tensor<?x4xi32>) -> tensor<?x4xi32>
  %ssf = ovl.sumsq %h1c {groups = 1, shift = 4} : (tensor<?x4xi32>) -> tensor<?x1xi32>
  %rf = ovl.rsqrt %ssf, %t : (tensor<?x1xi32>, tensor<6xi32>) -> tensor<?x1xi32>
  %nf = ovl.mul %h1c, %rf {shift = 16} : (tensor<?x4xi32>, tensor<?x1xi32>) -> tensor<?x4xi32>
  %a1 = ovl.requant %nf, %m, %sh : (tensor<?x4xi32>, tensor<1xi32>, tensor<1xi8>) -> tensor<?x4xi8>
  %logits = ovl.matmul %a1, %wh, %sw {bits = 8, group = 2, shift = 9}
      : (tensor<?x4xi8>, tensor<8x4xi8>, tensor<8x2xi32>) -> tensor<?x8xi32>
  return %logits, %cs1, %ss1, %cs1b, %ss1b, %cs1c, %ss1c : tensor<?x8xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>, tensor<8x3xi8>, tensor<2x2x2xi32>
}
