// RUN: mamba2-opt --pass-pipeline='builtin.module(ovl-ssd-form{form=chunked})' --split-input-file --verify-diagnostics %s
// RUN: not mamba2-opt --pass-pipeline='builtin.module(ovl-ssd-form{form=chunked chunk=65})' %s --split-input-file 2>&1 | FileCheck %s --check-prefix=CHUNK
// RUN: not mamba2-opt --pass-pipeline='builtin.module(ovl-ssd-form{form=matrix})' %s --split-input-file 2>&1 | FileCheck %s --check-prefix=FORM
// RUN: not mamba2-opt --pass-pipeline='builtin.module(ovl-ssd-form{form=auto target=vc707})' %s --split-input-file 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not mamba2-opt --pass-pipeline='builtin.module(ovl-ssd-form{form=auto rows=0})' %s --split-input-file 2>&1 | FileCheck %s --check-prefix=ROWS
// Tests what ovl-ssd-form refuses, each with a message naming the op and why: a multiplier that
// differs inside a head, a dtx from elsewhere (a function argument), a product with a rounding
// mul, a d that no table bounds; and options out of range.
// CHUNK: error: ovl-ssd-form: chunk must be in 1..64 (the matrix unit's rows of a segment), not 65
// FORM: error: ovl-ssd-form: form must be scan, chunked or auto, not 'matrix'
// TARGET: error: ovl-ssd-form: unknown target 'vc707'
// ROWS: error: ovl-ssd-form: rows must be in 1..64, not 0

module {
  func.func @main(%x: tensor<?x4xi8>, %dt: tensor<?x2xi32>, %a: tensor<?x2xi32>, %b: tensor<?x2xi8>,
                  %c: tensor<?x2xi8>, %s: tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>) {
    %t = ovl.constant dense<[0, 4, 2, 0, 0, 1, 16, 1]> : tensor<8xi32>
    %d = ovl.pwl %dt, %t {function = "softplus"} : (tensor<?x2xi32>, tensor<8xi32>) -> tensor<?x2xi32>
    %x32 = ovl.sext %x {shift = 0 : i64} : (tensor<?x4xi8>) -> tensor<?x4xi32>
    %m = ovl.constant dense<[[1, 2, 4, 4]]> : tensor<1x4xi32>
    %xm = ovl.mul %x32, %m {shift = 0 : i64} : (tensor<?x4xi32>, tensor<1x4xi32>) -> tensor<?x4xi32>
    %dtx = ovl.mul %xm, %d {shift = 0 : i64} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
    // expected-error @+1 {{ovl-ssd-form: this ovl.ssm cannot take the chunked form: the multiplier of dtx differs between the channels of head 0 (per-channel multipliers inside a head)}}
    %y, %s1 = ovl.ssm %dtx, %a, %b, %c, %s {decay_shift = 15 : i64, in_shift = 8 : i64, ngroups = 1 : i64, out_shift = 0 : i64} : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
    return %y, %s1 : tensor<?x4xi32>, tensor<2x2x2xi32>
  }
}

// -----

module {
  func.func @main(%dtx: tensor<?x4xi32>, %a: tensor<?x2xi32>, %b: tensor<?x2xi8>,
                  %c: tensor<?x2xi8>, %s: tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>) {
    // expected-error @+1 {{ovl-ssd-form: this ovl.ssm cannot take the chunked form: a factor of dtx (a function argument, width 4) is none of x8, d per head, a power of two}}
    %y, %s1 = ovl.ssm %dtx, %a, %b, %c, %s {decay_shift = 15 : i64, in_shift = 8 : i64, ngroups = 1 : i64, out_shift = 0 : i64} : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
    return %y, %s1 : tensor<?x4xi32>, tensor<2x2x2xi32>
  }
}

// -----

module {
  func.func @main(%x: tensor<?x4xi8>, %d: tensor<?x2xi32>, %a: tensor<?x2xi32>, %b: tensor<?x2xi8>,
                  %c: tensor<?x2xi8>, %s: tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>) {
    %x32 = ovl.sext %x {shift = 0 : i64} : (tensor<?x4xi8>) -> tensor<?x4xi32>
    %dtx = ovl.mul %x32, %d {shift = 3 : i64} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
    // expected-error @+1 {{ovl-ssd-form: this ovl.ssm cannot take the chunked form: dtx is a product with a rounding mul (shift 3), not x8 * d * a power of two per head}}
    %y, %s1 = ovl.ssm %dtx, %a, %b, %c, %s {decay_shift = 15 : i64, in_shift = 8 : i64, ngroups = 1 : i64, out_shift = 0 : i64} : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
    return %y, %s1 : tensor<?x4xi32>, tensor<2x2x2xi32>
  }
}

// -----

module {
  func.func @main(%x: tensor<?x4xi8>, %d: tensor<?x2xi32>, %a: tensor<?x2xi32>, %b: tensor<?x2xi8>,
                  %c: tensor<?x2xi8>, %s: tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>) {
    %x32 = ovl.sext %x {shift = 0 : i64} : (tensor<?x4xi8>) -> tensor<?x4xi32>
    %dtx = ovl.mul %x32, %d {shift = 0 : i64} : (tensor<?x4xi32>, tensor<?x2xi32>) -> tensor<?x4xi32>
    // expected-error @+1 {{ovl-ssd-form: this ovl.ssm cannot take the chunked form: its d is no piecewise-linear table's output, so nothing bounds it}}
    %y, %s1 = ovl.ssm %dtx, %a, %b, %c, %s {decay_shift = 15 : i64, in_shift = 8 : i64, ngroups = 1 : i64, out_shift = 0 : i64} : (tensor<?x4xi32>, tensor<?x2xi32>, tensor<?x2xi8>, tensor<?x2xi8>, tensor<2x2x2xi32>) -> (tensor<?x4xi32>, tensor<2x2x2xi32>)
    return %y, %s1 : tensor<?x4xi32>, tensor<2x2x2xi32>
  }
}
