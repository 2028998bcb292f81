// RUN: mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl)' %S/lower-to-ovl.mlir | mamba2-opt --pass-pipeline='builtin.module(ovl-ssd-form{form=chunked chunk=4})' | FileCheck %s --check-prefix=LOWERED
// RUN: mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl)' %S/lower-to-ovl.mlir | mamba2-opt --pass-pipeline='builtin.module(ovl-ssd-form)' | FileCheck %s --check-prefix=SCAN
// RUN: mamba2-opt --pass-pipeline='builtin.module(ovl-ssd-form{form=chunked chunk=16})' %s | FileCheck %s
// RUN: mamba2-opt --pass-pipeline='builtin.module(ovl-decode-function,ovl-ssd-form{form=chunked})' %s | FileCheck %s --check-prefix=HASDECODE
// RUN: mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl)' %S/lower-to-ovl.mlir | mamba2-opt --pass-pipeline='builtin.module(ovl-ssd-form{form=auto target=u280 rows=16})' 2>&1 | FileCheck %s --check-prefix=AUTO
// RUN: mamba2-opt --pass-pipeline='builtin.module(m2-lower-to-ovl)' %S/lower-to-ovl.mlir | mamba2-opt --pass-pipeline='builtin.module(ovl-ssd-form{form=auto target=kv260})' 2>&1 | FileCheck %s --check-prefix=AUTOKV
// Tests ovl-ssd-form alone. On the lowered one-layer model of lower-to-ovl.mlir (2 heads of 2,
// d_state 2): @main's scan becomes ovl.ssd_chunk on the int8 x (the operand of the sext), d (the
// softplus table's output), the decay, B, C and the state, with multiplier 2^0 per head and the
// shifts from the bounds (N = 2: |G| <= 2^15, |D| <= 2^15, d <= the softplus table's largest
// output); dt * x is gone from @main; @decode, the clone made first, keeps the scan. form=scan
// leaves the module as it is. On a hand-written scan whose dtx is (sext(x) << 1) * [2, 8] per
// head * d, in that order: the multipliers 2^2 and 2^4. A module with a decode function keeps
// it (and gets no second one). form=auto asks the SSD form's cost model (codegen::chooseSsdForm)
// and says so in a remark: on the U280 it keeps the scan for 16-row calls (the chunked form's
// estimate with its chunk beside it), on the KV260 (built without the form's micro-ops) always.

// LOWERED-LABEL: func.func @main(
// LOWERED-NOT: ovl.ssm
// LOWERED: %[[X:[0-9]+]] = ovl.shr %{{[0-9]+}} {shift = 11 : i64} : (tensor<?x4xi32>) -> tensor<?x4xi8>
// LOWERED: %[[D:.*]] = ovl.pwl {{.*}} {function = "softplus"}
// LOWERED: %[[A:.*]] = ovl.pwl {{.*}} {function = "exp"}
// LOWERED-NOT: ovl.sext
// LOWERED: ovl.ssd_chunk %[[X]], %[[D]], %[[A]], %{{.*}}, %{{.*}}, %arg2 {bw_shift = {{[0-9]+}} : i64, bw_split = {{[0-9]+}} : i64, c_shift = 15 : i64, chunk = 4 : i64, decay_shift = 15 : i64, gd_shift = 0 : i64, m_split = {{[0-9]+}} : i64, md_shift = {{[0-9]+}} : i64, mult_exp = array<i64: 0, 0>, ngroups = 1 : i64, s_shift = {{-?[0-9]+}} : i64, state_split = 0 : i64, w_shift = {{[0-9]+}} : i64, y_shift = {{-?[0-9]+}} : i64} : (tensor<?x4xi8>, tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
// LOWERED-NOT: ovl.ssm
// LOWERED: return
// LOWERED-LABEL: func.func @decode(
// LOWERED-SAME: ovl.entry = "decode"
// LOWERED: ovl.sext
// LOWERED: ovl.ssm
// LOWERED-NOT: ovl.ssd_chunk

// SCAN-NOT: ovl.ssd_chunk
// SCAN-NOT: @decode
// SCAN: ovl.ssm
// SCAN-NOT: ovl.ssd_chunk
// SCAN-NOT: @decode

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x4xi8>
// CHECK: %[[D:.*]] = ovl.pwl
// CHECK-NOT: ovl.mul
// CHECK: ovl.ssd_chunk %[[X]], %[[D]], %arg2, %arg3, %arg4, %arg5 {{{.*}}chunk = 16 : i64{{.*}}mult_exp = array<i64: 2, 4>
// CHECK-LABEL: func.func @decode(
// CHECK: ovl.mul
// CHECK: ovl.ssm

// HASDECODE-COUNT-1: func.func @decode(
// HASDECODE-NOT: func.func @decode(
module {
  func.func @main(%x: tensor<?x4xi8>, %dt: tensor<?x2xi32>, %a: tensor<?x2xi32>, %b: tensor<?x2xi8>,
                  %c: tensor<?x2xi8>, %s: tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>) {
    %t = ovl.constant dense<[0, 4, 2, 0, 0, 1, 16, 1]> : tensor<8xi32>
    %d = ovl.pwl %dt, %t {function = "softplus"} : (tensor<?x2xi32>, tensor<8xi32>) -> tensor<?x2xi32>
    %x32 = ovl.sext %x {shift = 1 : i64} : (tensor<?x4xi8>) -> tensor<?x4xi32>
    %m = ovl.constant dense<[[2, 8]]> : tensor<1x2xi32>
    %xm = ovl.mul %x32, %m {shift = 0 : i64} : (tensor<?x4xi32>, tensor<1x2xi32>) -> tensor<?x4xi32>
    %dtx = ovl.mul %xm, %d {shift = 0 : i64} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
    %y, %s1 = ovl.ssm %dtx, %a, %b, %c, %s {decay_shift = 15 : i64, in_shift = 8 : i64, ngroups = 1 : i64, out_shift = 0 : i64} : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
    return %y, %s1 : tensor<?x4xi32>, tensor<2x2x2xi32>
  }
}

// AUTO: remark: ovl-ssd-form: the recurrent scan for 16-row calls{{.*}} by the cost model: estimated {{[0-9,]+}} cycles a call (matrix {{[0-9,]+}}, SSM {{[0-9,]+}}, vector {{[0-9,]+}}); the chunked form {{[0-9,]+}} ({{.*}}, chunks of {{[0-9]+}} rows
// AUTO-LABEL: func.func @main(
// AUTO: ovl.ssm
// AUTO-NOT: ovl.ssd_chunk
// AUTOKV: remark: ovl-ssd-form: the recurrent scan for 32-row calls: the kv260 overlay is built without the chunked form's micro-ops (board feature chunked_ssd)
// AUTOKV-NOT: ovl.ssd_chunk
